/*
 * Regressions: scenarios written from the review of the first TCP engine (each one failed before
 * its fix). Named <state>_<event>_<outcome> like the others.
 */
#include "pkt.h"

#include <string.h>

/* An RTO resends only what was sent (SND.MAX bounds it), never bytes Nagle still held back:
 * otherwise the peer's ACK of them lies beyond SND.MAX and is rejected (RFC 9293 §3.10.7.4). */
SCENARIO(established_rto_resends_only_sent_data)
{
	int l = listen_on(LISTEN_PORT, 16);
	struct conn *c = accept_conn(l, OPT_MSS, 100);

	EQ(sock_send(c, 1000), 1000);
	OUT(c, "P. 1:1001(1000) ack 1");
	EQ(sock_send(c, 100), 100); /* Nagle holds it: 1000 bytes are in flight */
	NOTHING();
	OUT_AFTER(c, 300, "P. 1:1001(1000) ack 1");
	IN(c, ". 1:1(0) ack 1001");
	OUT(c, "P. 1001:1101(100) ack 1");
	IN(c, ". 1:1(0) ack 1101");
	NOTHING_FOR(1000);
}

/* A zero-window probe byte the peer refused is sent again, as data, once the window opens. */
SCENARIO(established_persist_refused_byte_resent_when_window_opens)
{
	int l = listen_on(LISTEN_PORT, 16);
	struct conn *c = accept_conn(l, OPT_MSS, 100);

	IN(c, ". 1:1(0) ack 1 win 0");
	EQ(sock_send(c, 100), 100);
	OUT_AFTER(c, 300, "P. 1:2(1) ack 1");
	IN(c, ". 1:1(0) ack 1 win 0");
	IN(c, ". 1:1(0) ack 1 win 65535");
	OUT(c, "P. 1:101(100) ack 1");
	IN(c, ". 1:1(0) ack 101 win 65535");
	NOTHING_FOR(1000);
}

/* TCP_USER_TIMEOUT counts from the first SYN: a 30 s limit does not end the attempt at the first
 * SYN retransmission (Linux). */
SCENARIO(syn_sent_user_timeout_counts_from_first_syn)
{
	struct conn *c = connect_start();

	EQ(sock_setopt(c, IPPROTO_TCP, TCP_USER_TIMEOUT, 30000), 0);
	OUT(c, "S 0:0(0)");
	OUT_AFTER(c, 1000, "S 0:0(0)");
	WAIT(100);
	EQ(sock_error(c), 0);
	STATE(c, SYN_SENT);
	c->done = true;
}

/* shutdown(SHUT_WR), FIN acknowledged (FIN_WAIT_2), then close(): the orphan is freed after the
 * FIN_WAIT_2 limit even if the peer never sends its FIN (Linux tcp_fin_timeout, 60 s). */
SCENARIO(fin_wait_2_close_orphan_freed_after_60s)
{
	struct conn *c = passive(OPT_MSS);

	EQ(sock_shutdown(c, SHUT_WR), 0);
	OUT(c, "F. 1:1(0) ack 1");
	IN(c, ". 1:1(0) ack 2");
	STATE(c, FIN_WAIT_2);
	EQ(sock_close(c), 0);
	WAIT(61000);
	CHECK_THAT(pkt_eng->tcp->conns == 0);
	c->done = true;
}

/* A connection reset while the application still holds it; the peer comes back from the same
 * port; closing the old handle must not remove the new connection's flow entry. */
SCENARIO(closed_stale_handle_close_keeps_new_flow)
{
	int l = listen_on(LISTEN_PORT, 16);
	struct conn *c = accept_conn(l, OPT_MSS, 100);
	struct conn *d;
	int oldfd;

	IN(c, "R 1:1(0)");
	STATE(c, CLOSED);
	oldfd = c->fd;
	d = peer_conn(LISTEN_PORT, 2000000000u);
	d->rport = c->rport;
	IN(d, "S 0:0(0) win 65535 <mss 1460>");
	OUT(d, "S. 0:0(0) ack 1");
	IN(d, ". 1:1(0) ack 1");
	CHECK_THAT(dps_tcp_flow_find(pkt_eng, pkt_eng->nets.net[0].addr, LISTEN_PORT, PEER_IP,
				     c->rport) != NULL);
	EQ(dps_tcp_close(pkt_eng, oldfd, pkt_now()), 0);
	c->fd = -1;
	c->done = true;
	CHECK_THAT(dps_tcp_flow_find(pkt_eng, pkt_eng->nets.net[0].addr, LISTEN_PORT, PEER_IP,
				     c->rport) != NULL);
	d->done = true;
}

/* A child of a closed listener never counted the port: when it dies, the port stays owned by
 * whoever bound it since. */
SCENARIO(syn_rcvd_orphan_child_keeps_port_count)
{
	int l = listen_on(LISTEN_PORT, 16), l2, l3;
	struct conn *d = peer_conn(LISTEN_PORT, 2000000000u);

	IN(d, "S 0:0(0) win 65535 <mss 1460>");
	OUT(d, "S. 0:0(0) ack 1");
	EQ(dps_tcp_close(pkt_eng, l, pkt_now()), 0);
	l2 = dps_tcp_socket(pkt_eng);
	EQ(dps_tcp_bind(pkt_eng, l2, 0, LISTEN_PORT), 0);
	IN(d, ". 1:1(0) ack 1");
	OUT(d, "R 1:1(0)");
	l3 = dps_tcp_socket(pkt_eng);
	EQ(dps_tcp_bind(pkt_eng, l3, 0, LISTEN_PORT), -EADDRINUSE);
	EQ(dps_tcp_close(pkt_eng, l3, pkt_now()), 0);
	EQ(dps_tcp_close(pkt_eng, l2, pkt_now()), 0);
	d->done = true;
}

/* A refused connect reports ECONNREFUSED once; connect() may then try again (Linux). */
SCENARIO(syn_sent_refused_then_connect_again)
{
	struct conn *c = connect_start();

	OUT(c, "S 0:0(0)");
	IN(c, "R. 0:0(0) ack 1 win 0");
	EQ(dps_tcp_connect(pkt_eng, c->fd, PEER_IP, PEER_PORT_ACTIVE, pkt_now()), -ECONNREFUSED);
	EQ(dps_tcp_connect(pkt_eng, c->fd, PEER_IP, PEER_PORT_ACTIVE, pkt_now()), -EINPROGRESS);
	STATE(c, SYN_SENT);
	COUNTER("tcp_active_opens", 2); /* a new SYN went out (with a new ISN: not scripted here) */
	EQ(sock_close(c), 0);
	c->done = true;
}

/* Data arriving after close() (FIN_WAIT_2, orphan): nobody can read it; reset (Linux). */
SCENARIO(fin_wait_2_orphan_data_resets)
{
	struct conn *c = passive(OPT_MSS);

	EQ(sock_close(c), 0);
	OUT(c, "F. 1:1(0) ack 1");
	IN(c, ". 1:1(0) ack 2");
	IN(c, "P. 1:101(100) ack 2");
	OUT(c, "R 2:2(0)");
	CHECK_THAT(pkt_eng->tcp->conns == 0);
	c->done = true;
}
