/*
 * Priority rules at the TCP and event layers (DESIGN.md §8, README "Priority rules"): a high
 * segment marks its connection until the application has read past it; a 'conn' rule pins a
 * connection's class; a burst is processed high first without reordering a connection's bytes;
 * high connections are accepted first; per-class read counters.
 * Rules match on payload length here (the scenarios' payloads are a byte pattern).
 */
#include "pkt.h"

#include "dpsock.h" /* DPS_EV_HIGH */

#define HIGH_LEN_RULE "len 100-200 -> high; * -> low"

SCENARIO(established_high_segment_marks_until_read)
{
	engine_conf("priority", HIGH_LEN_RULE);
	struct conn *c = passive(OPT_MSS);

	IN(c, "P. 1:1001(1000) ack 1 win 65535");
	EVENTS(c, EPOLLIN | DPS_EV_HIGH, EPOLLIN); /* low data: readable, not high */
	IN(c, "P. 1001:1151(150) ack 1 win 65535");
	EVENTS(c, EPOLLIN | DPS_EV_HIGH, EPOLLIN | DPS_EV_HIGH);
	COUNTER("prio_tcp_marks", 1);
	/* still high while any byte of the high segment is unread */
	EQ(sock_recv(c, 1100), 1100);
	EVENTS(c, EPOLLIN | DPS_EV_HIGH, EPOLLIN | DPS_EV_HIGH);
	EQ(sock_recv(c, 50), 50);
	EVENTS(c, DPS_EV_HIGH, 0);
	COUNTER("prio_read_high_bytes", 150);
	COUNTER("prio_read_low_bytes", 1000);
	COUNTER("prio_delay_high_reads", 1);
	COUNTER("prio_delay_low_reads", 1);
	/* more low data later: low again */
	IN(c, "P. 1151:1651(500) ack 1 win 65535");
	EVENTS(c, EPOLLIN | DPS_EV_HIGH, EPOLLIN);
}

SCENARIO(established_no_rules_never_high)
{
	struct conn *c = passive(OPT_MSS);

	IN(c, "P. 1:151(150) ack 1 win 65535");
	EVENTS(c, EPOLLIN | DPS_EV_HIGH, EPOLLIN);
	COUNTER("prio_tcp_marks", 0);
	EQ(sock_recv(c, 150), 150);
	COUNTER("prio_read_low_bytes", 150); /* without rules, everything is low */
}

/* Mixed classes in one burst on one connection: the byte stream stays in order (sock_recv checks
 * every byte against the peer's stream), and the high segment still marks the connection. */
SCENARIO(established_mixed_burst_stream_in_order)
{
	engine_conf("priority", HIGH_LEN_RULE);
	struct conn *c = passive(OPT_MSS);

	BURST_BEGIN();
	IN(c, "P. 1:1001(1000) ack 1 win 65535");
	IN(c, "P. 1001:1151(150) ack 1 win 65535");
	IN(c, "P. 1151:2151(1000) ack 1 win 65535");
	IN(c, "P. 2151:2301(150) ack 1 win 65535");
	IN(c, "P. 2301:3301(1000) ack 1 win 65535");
	BURST_END();
	COUNTER("prio_rx_high", 2);
	EVENTS(c, EPOLLIN | DPS_EV_HIGH, EPOLLIN | DPS_EV_HIGH);
	EQ(sock_recv(c, 3300), 3300);
	EVENTS(c, EPOLLIN | DPS_EV_HIGH, 0);
	COUNTER("prio_read_high_bytes", 300);
	COUNTER("prio_read_low_bytes", 3000);
}

static int order[4], n_order;

static void record(void *arg, uint32_t events)
{
	if ((events & EPOLLIN) && n_order < 4)
		order[n_order++] = (int)(intptr_t)arg;
}

/* Two connections take a burst: a's 1000 bytes (low), then b's 150 (high with rules). Returns
 * which connection's readiness was reported first (1: a, 2: b). */
static int burst_first(void)
{
	int l = listen_on(LISTEN_PORT, 16);
	struct conn *a = accept_conn(l, OPT_MSS, 1);
	struct conn *b = accept_conn(l, OPT_MSS, 1);

	EQ(dps_tcp_set_callback(pkt_eng, a->fd, record, (void *)(intptr_t)1), 0);
	EQ(dps_tcp_set_callback(pkt_eng, b->fd, record, (void *)(intptr_t)2), 0);
	BURST_BEGIN();
	IN(a, "P. 1:1001(1000) ack 1 win 65535");
	IN(b, "P. 1:151(150) ack 1 win 65535");
	BURST_END();
	CHECK_THAT(n_order == 2 && order[0] != order[1]);
	return order[0];
}

/* The high connection is processed (and its readiness reported) first, although its segment
 * came second; without rules, arrival order. */
SCENARIO(established_burst_high_connection_first)
{
	engine_conf("priority", HIGH_LEN_RULE);
	EQ(burst_first(), 2);
}

SCENARIO(established_burst_no_rules_arrival_order)
{
	EQ(burst_first(), 1);
}

/* A 'conn' rule pins a connection high from its SYN: it is accepted before a low connection that
 * completed its handshake earlier, and stays high with low data and with none. */
SCENARIO(listen_conn_rule_pins_high_accepted_first)
{
	/* the SYN with all options has a 40-byte header; the plain one 24 */
	engine_conf("priority", "hdrlen 40 -> high conn; * -> low");
	int l = listen_on(LISTEN_PORT, 16);
	struct conn *lo = peer_conn(LISTEN_PORT, PEER_ISN);
	struct conn *hi = peer_conn(LISTEN_PORT, PEER_ISN);
	uint32_t addr;
	uint16_t port;

	IN(lo, "S 0:0(0) win 65535 <mss 1460>");
	OUT(lo, "S. 0:0(0) ack 1 win 65535 <mss 1460>");
	IN(lo, ". 1:1(0) ack 1 win 65535");
	IN(hi, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	OUT(hi, "S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 0 ecr 100,nop,wscale 7>");
	hi->ts = true;
	IN(hi, ". 1:1(0) ack 1 win 512 <nop,nop,TS val 110 ecr 0>");
	COUNTER("prio_tcp_pins", 1); /* the catch-all has no 'conn': lo is not pinned */
	EQ(dps_tcp_events(pkt_eng, l) & (EPOLLIN | DPS_EV_HIGH), EPOLLIN | DPS_EV_HIGH);
	/* accepted first although it came second */
	EQ(sock_accept(hi, l) >= 0, 1);
	EQ(dps_tcp_getpeername(pkt_eng, hi->fd, &addr, &port), 0);
	EQ(port, hi->rport);
	EQ(dps_tcp_events(pkt_eng, l) & (EPOLLIN | DPS_EV_HIGH), EPOLLIN);
	EQ(sock_accept(lo, l) >= 0, 1);
	EQ(dps_tcp_getpeername(pkt_eng, lo->fd, &addr, &port), 0);
	EQ(port, lo->rport);
	/* pinned: high with no data (writable), and with data of its own low class */
	EVENTS(hi, EPOLLOUT | DPS_EV_HIGH, EPOLLOUT | DPS_EV_HIGH);
	EVENTS(lo, EPOLLOUT | DPS_EV_HIGH, EPOLLOUT);
	IN(hi, "P. 1:1001(1000) ack 1 win 512 <nop,nop,TS val 120 ecr 0>");
	EQ(sock_recv(hi, 1000), 1000);
	EVENTS(hi, DPS_EV_HIGH, DPS_EV_HIGH);
	COUNTER("prio_read_high_bytes", 1000);
}

/* A 'low conn' pin keeps a connection low even when its segments match a high rule later. */
SCENARIO(established_pinned_low_ignores_high_segments)
{
	engine_conf("priority", "hdrlen 24 -> low conn; len 100-200 -> high");
	struct conn *c = passive(OPT_MSS);

	COUNTER("prio_tcp_pins", 1);
	IN(c, "P. 1:151(150) ack 1 win 65535");
	COUNTER("prio_rx_high", 1); /* the NIC layer still sees a high packet */
	EVENTS(c, EPOLLIN | DPS_EV_HIGH, EPOLLIN);
	COUNTER("prio_tcp_marks", 0);
}
