/*
 * Data: receiving in order, out of order (RFC 2018 SACK), duplicates and overlaps, sequence
 * wrap-around, sending (IW10, slow start), zero windows both ways (RFC 9293 §3.8.6), delayed and
 * quick ACKs (docs/tcp.md), Nagle, TCP_NODELAY, TCP_CORK and MSG_MORE.
 */
#include "pkt.h"

/* ---- receiving ---- */

SCENARIO(established_data_in_order_acked_and_read)
{
	struct conn *c = passive(OPT_MSS);

	IN(c, "P. 1:1001(1000) ack 1");
	OUT(c, ". 1:1(0) ack 1001 win 65535"); /* quick ACK; min(free, 65535) without scaling */
	EVENTS(c, EPOLLIN, EPOLLIN);
	EQ(sock_recv(c, 4000), 1000);
	EQ(sock_recv(c, 4000), -EAGAIN);
	EVENTS(c, EPOLLIN, 0);
}

SCENARIO(established_out_of_order_dup_ack_with_sack_then_filled)
{
	struct conn *c = passive(OPT_ALL);

	IN(c, "P. 1001:2001(1000) ack 1");
	OUT(c, ". 1:1(0) ack 1 <nop,nop,TS val * ecr *,nop,nop,sack 1001:2001>");
	EQ(sock_recv(c, 4000), -EAGAIN);
	IN(c, "P. 2001:3001(1000) ack 1");
	OUT(c, ". 1:1(0) ack 1 <nop,nop,TS val * ecr *,nop,nop,sack 1001:3001>");
	IN(c, "P. 1:1001(1000) ack 1");
	OUT(c, ". 1:1(0) ack 3001 <nop,nop,TS val * ecr *>"); /* the hole is filled: no SACK */
	EQ(sock_recv(c, 4000), 3000);
}

/* RFC 2018 §4: the block holding the latest segment first. */
SCENARIO(established_out_of_order_two_holes_latest_block_first)
{
	struct conn *c = passive(OPT_ALL);

	IN(c, "P. 1001:2001(1000) ack 1");
	OUT(c, ". 1:1(0) ack 1 <nop,nop,TS val * ecr *,nop,nop,sack 1001:2001>");
	IN(c, "P. 3001:4001(1000) ack 1");
	OUT(c, ". 1:1(0) ack 1 <nop,nop,TS val * ecr *,nop,nop,sack 3001:4001 1001:2001>");
	IN(c, "P. 1:1001(1000) ack 1");
	OUT(c, ". 1:1(0) ack 2001 <nop,nop,TS val * ecr *,nop,nop,sack 3001:4001>");
	IN(c, "P. 2001:3001(1000) ack 1");
	OUT(c, ". 1:1(0) ack 4001 <nop,nop,TS val * ecr *>");
	EQ(sock_recv(c, 8000), 4000);
}

SCENARIO(established_out_of_order_without_sack_dup_ack)
{
	struct conn *c = passive(OPT_MSS);

	IN(c, "P. 1001:2001(1000) ack 1");
	OUT(c, ". 1:1(0) ack 1 <>");
	IN(c, "P. 1:1001(1000) ack 1");
	OUT(c, ". 1:1(0) ack 2001 <>");
	EQ(sock_recv(c, 4000), 2000);
}

/* RFC 9293 §3.10.7.4: an old segment is answered by an ACK and not delivered again. */
SCENARIO(established_duplicate_segment_acked_not_redelivered)
{
	struct conn *c = passive(OPT_MSS);

	IN(c, "P. 1:1001(1000) ack 1");
	OUT(c, ". 1:1(0) ack 1001");
	IN(c, "P. 1:1001(1000) ack 1");
	OUT(c, ". 1:1(0) ack 1001");
	EQ(sock_recv(c, 4000), 1000);
	EQ(sock_recv(c, 4000), -EAGAIN);
}

SCENARIO(established_overlapping_segment_trimmed)
{
	struct conn *c = passive(OPT_MSS);

	IN(c, "P. 1:1001(1000) ack 1");
	OUT(c, ". 1:1(0) ack 1001");
	IN(c, "P. 501:1501(1000) ack 1");
	OUT(c, ". 1:1(0) ack 1501");
	EQ(sock_recv(c, 4000), 1500); /* the bytes are checked against the peer's stream */
}

SCENARIO(established_segment_overlapping_out_of_order_data_merged)
{
	struct conn *c = passive(OPT_ALL);

	IN(c, "P. 1001:2001(1000) ack 1");
	OUT(c, ". 1:1(0) ack 1 <nop,nop,TS val * ecr *,nop,nop,sack 1001:2001>");
	IN(c, "P. 1:1501(1500) ack 1");
	OUT(c, ". 1:1(0) ack 2001 <nop,nop,TS val * ecr *>");
	EQ(sock_recv(c, 4000), 2000);
}

SCENARIO(established_seq_wrap_in_order_data_across_2_32)
{
	struct conn *c;

	pkt_next_isn = 0xfffffc00u; /* data crosses 2^32 after 1023 bytes */
	c = passive(OPT_MSS);
	IN(c, "P. 1:1001(1000) ack 1");
	OUT(c, ". 1:1(0) ack 1001");
	IN(c, "P. 1001:2001(1000) ack 1");
	OUT(c, ". 1:1(0) ack 2001");
	EQ(sock_recv(c, 4000), 2000);
}

SCENARIO(established_seq_wrap_out_of_order_across_2_32)
{
	struct conn *c;

	pkt_next_isn = 0xfffffc00u;
	c = passive(OPT_ALL);
	IN(c, "P. 1001:2001(1000) ack 1");
	OUT(c, ". 1:1(0) ack 1 <nop,nop,TS val * ecr *,nop,nop,sack 1001:2001>");
	IN(c, "P. 1:1001(1000) ack 1");
	OUT(c, ". 1:1(0) ack 2001 <nop,nop,TS val * ecr *>");
	EQ(sock_recv(c, 4000), 2000);
}

SCENARIO(established_seq_wrap_peer_acks_our_data)
{
	struct conn *c;

	pkt_next_isn = 0xffffffffu; /* the peer's first data byte is at 0 */
	c = passive(OPT_MSS);
	IN(c, "P. 1:101(100) ack 1");
	OUT(c, ". 1:1(0) ack 101");
	EQ(sock_send(c, 100), 100);
	OUT(c, "P. 1:101(100) ack 101");
	IN(c, ". 101:101(0) ack 101");
	NOTHING_FOR(2000);
	EQ(sock_recv(c, 4000), 100);
}

/* ---- sending ---- */

SCENARIO(established_send_acked_no_retransmission)
{
	struct conn *c = passive(OPT_MSS);

	EQ(sock_send(c, 1000), 1000);
	OUT(c, "P. 1:1001(1000) ack 1");
	IN(c, ". 1:1(0) ack 1001");
	NOTHING_FOR(3000);
	EVENTS(c, EPOLLOUT, EPOLLOUT);
}

/* RFC 6928: 10 segments in the first flight. */
SCENARIO(established_initial_window_ten_segments)
{
	struct conn *c = passive(OPT_MSS);

	EQ(sock_send(c, 20000), 20000);
	for (int i = 0; i < 10; i++)
		OUT(c, seg("P. %d:%d(1460) ack 1", 1 + 1460 * i, 1 + 1460 * (i + 1)));
	NOTHING();
}

/* RFC 5681 §3.1: in slow start an ACK of one segment grows cwnd by one: two go out. */
SCENARIO(established_slow_start_ack_releases_two_segments)
{
	struct conn *c = passive(OPT_MSS);

	EQ(sock_send(c, 20000), 20000);
	for (int i = 0; i < 10; i++)
		OUT(c, seg("P. %d:%d(1460) ack 1", 1 + 1460 * i, 1 + 1460 * (i + 1)));
	IN(c, ". 1:1(0) ack 1461");
	OUT(c, "P. 14601:16061(1460) ack 1");
	OUT(c, "P. 16061:17521(1460) ack 1");
	NOTHING();
}

SCENARIO(established_send_buffer_full_partial_then_eagain)
{
	struct conn *c = passive(OPT_MSS);
	ssize_t n;

	IN(c, ". 1:1(0) ack 1 win 0"); /* nothing leaves: the buffer fills */
	n = sock_send(c, 400000);
	CHECK_THAT(n >= 65536 && n < 400000);
	EQ(sock_send(c, 1000), -EAGAIN);
	EVENTS(c, EPOLLOUT, 0);
}

/* ---- receive window (docs/tcp.md; RFC 9293 §3.8.6.2.2) ---- */

/* Fill our receive buffer (b bytes, SO_RCVBUF made small) in 1000-byte segments, all quick-ACKed. */
static struct conn *fill_receive_buffer(int *b)
{
	int l = listen_on(LISTEN_PORT, 16);
	struct conn lc = { .fd = l }, *c;
	int got = 0;

	EQ(sock_setopt(&lc, SOL_SOCKET, SO_RCVBUF, 2048), 0);
	*b = sock_getopt(&lc, SOL_SOCKET, SO_RCVBUF);
	CHECK_THAT(*b >= 2048 && *b <= 8000); /* at most 8 segments: each one quick-ACKed */
	c = accept_conn(l, OPT_MSS, 0);
	while (got < *b) {
		int n = *b - got < 1000 ? *b - got : 1000;

		IN(c, seg("P. %d:%d(%d) ack 1", 1 + got, 1 + got + n, n));
		got += n;
		OUT(c, seg(". 1:1(0) ack %d win %d", 1 + got, *b - got));
	}
	return c;
}

SCENARIO(established_app_not_reading_window_falls_to_zero)
{
	int b;
	struct conn *c = fill_receive_buffer(&b);

	STATE(c, ESTABLISHED); /* the last ACK above advertised win 0 */
}

SCENARIO(established_zero_window_peer_probe_answered_with_zero_window)
{
	int b;
	struct conn *c = fill_receive_buffer(&b);

	IN(c, seg("P. %d:%d(1) ack 1", 1 + b, 2 + b));
	OUT(c, seg(". 1:1(0) ack %d win 0", 1 + b)); /* not acceptable: ACK, byte dropped */
	EQ(sock_recv(c, 100000), b);
}

SCENARIO(established_zero_window_recv_sends_window_update)
{
	int b;
	struct conn *c = fill_receive_buffer(&b);

	NOTHING();
	EQ(sock_recv(c, 100000), b);
	OUT(c, seg(". 1:1(0) ack %d win %d", 1 + b, b));
	IN(c, seg("P. %d:%d(100) ack 1", 1 + b, 101 + b));
	EQ(sock_recv(c, 1000), 100);
}

/* ---- the peer's zero window: persist (RFC 9293 §3.8.6.1; docs/tcp.md) ---- */

/* Handshake RTT 400 ms: RTO = 400 + 4 * 200 = 1200 ms (RFC 6298 §2.2). */
SCENARIO(established_peer_zero_window_persist_probes_with_backoff)
{
	int l = listen_on(LISTEN_PORT, 16);
	struct conn *c = accept_conn(l, OPT_TS, 400);

	IN(c, ". 1:1(0) ack 1 win 0");
	EQ(sock_send(c, 100), 100);
	NOTHING();
	OUT_AFTER(c, 1200, "P. 1:2(1) ack 1"); /* one byte of new data */
	IN(c, ". 1:1(0) ack 1 win 0");
	OUT_AFTER(c, 2400, "P. 1:2(1) ack 1");
	IN(c, ". 1:1(0) ack 1 win 0");
	OUT_AFTER(c, 4800, "P. 1:2(1) ack 1");
	IN(c, ". 1:1(0) ack 1 win 0");
	STATE(c, ESTABLISHED);
}

SCENARIO(established_peer_zero_window_probe_accepted_data_resumes)
{
	int l = listen_on(LISTEN_PORT, 16);
	struct conn *c = accept_conn(l, OPT_TS, 400);

	IN(c, ". 1:1(0) ack 1 win 0");
	EQ(sock_send(c, 100), 100);
	OUT_AFTER(c, 1200, "P. 1:2(1) ack 1");
	IN(c, ". 1:1(0) ack 2 win 65535");
	OUT(c, "P. 2:101(99) ack 1");
	IN(c, ". 1:1(0) ack 101 win 65535");
	NOTHING_FOR(5000);
}

SCENARIO(established_peer_window_update_resumes_before_probe)
{
	struct conn *c = passive(OPT_MSS);

	IN(c, ". 1:1(0) ack 1 win 0");
	EQ(sock_send(c, 100), 100);
	NOTHING_FOR(100);
	IN(c, ". 1:1(0) ack 1 win 65535");
	OUT(c, "P. 1:101(100) ack 1");
}

/* ---- delayed ACK (docs/tcp.md: 40 ms; every 2nd full segment; first 8 segments at once) ---- */

/* The 8 quick ACKs of a new connection, with 10-byte segments; returns the next seq. */
static int use_quickacks(struct conn *c)
{
	int seq = 1;

	for (int i = 0; i < 8; i++, seq += 10) {
		IN(c, seg("P. %d:%d(10) ack 1", seq, seq + 10));
		OUT(c, seg(". 1:1(0) ack %d", seq + 10));
	}
	return seq;
}

SCENARIO(established_first_eight_segments_acked_at_once)
{
	struct conn *c = passive(OPT_MSS);

	use_quickacks(c);
	NOTHING();
}

SCENARIO(established_after_quickacks_small_segment_acked_after_40ms)
{
	struct conn *c = passive(OPT_MSS);
	int seq = use_quickacks(c);

	IN(c, seg("P. %d:%d(10) ack 1", seq, seq + 10));
	OUT_AFTER(c, 40, seg(". 1:1(0) ack %d", seq + 10));
	NOTHING_FOR(200);
}

SCENARIO(established_after_quickacks_every_second_full_segment_acked)
{
	struct conn *c = passive(OPT_MSS);
	int seq = use_quickacks(c);

	IN(c, seg("P. %d:%d(1460) ack 1", seq, seq + 1460));
	NOTHING_FOR(10);
	IN(c, seg("P. %d:%d(1460) ack 1", seq + 1460, seq + 2920));
	OUT(c, seg(". 1:1(0) ack %d", seq + 2920));
	NOTHING_FOR(200);
}

SCENARIO(established_delayed_ack_piggybacked_on_reply)
{
	struct conn *c = passive(OPT_MSS);
	int seq = use_quickacks(c);

	IN(c, seg("P. %d:%d(10) ack 1", seq, seq + 10));
	WAIT(10);
	EQ(sock_send(c, 50), 50);
	OUT(c, seg("P. 1:51(50) ack %d", seq + 10));
	IN(c, seg(". %d:%d(0) ack 51", seq + 10, seq + 10));
	NOTHING_FOR(200);
}

SCENARIO(established_after_quickacks_out_of_order_acked_at_once)
{
	struct conn *c = passive(OPT_MSS);
	int seq = use_quickacks(c);

	IN(c, seg("P. %d:%d(10) ack 1", seq + 10, seq + 20));
	OUT(c, seg(". 1:1(0) ack %d", seq));
	IN(c, seg("P. %d:%d(10) ack 1", seq, seq + 10)); /* fills the hole: at once */
	OUT(c, seg(". 1:1(0) ack %d", seq + 20));
}

SCENARIO(established_after_quickacks_fin_acked_at_once)
{
	struct conn *c = passive(OPT_MSS);
	int seq = use_quickacks(c);

	IN(c, seg("F. %d:%d(0) ack 1", seq, seq));
	OUT(c, seg(". 1:1(0) ack %d", seq + 1));
	STATE(c, CLOSE_WAIT);
}

/* ---- Nagle, TCP_NODELAY, TCP_CORK, MSG_MORE ---- */

SCENARIO(established_nagle_holds_small_segment_until_ack)
{
	struct conn *c = passive(OPT_MSS);

	EQ(sock_send(c, 100), 100);
	OUT(c, "P. 1:101(100) ack 1");
	EQ(sock_send(c, 100), 100);
	NOTHING_FOR(100);
	IN(c, ". 1:1(0) ack 101");
	OUT(c, "P. 101:201(100) ack 1");
}

SCENARIO(established_nagle_sends_full_segments_holds_tail)
{
	struct conn *c = passive(OPT_MSS);

	EQ(sock_send(c, 100), 100);
	OUT(c, "P. 1:101(100) ack 1");
	EQ(sock_send(c, 3000), 3000);
	OUT(c, "P. 101:1561(1460) ack 1");
	OUT(c, "P. 1561:3021(1460) ack 1");
	NOTHING_FOR(50); /* 80 bytes wait for the ACK */
	IN(c, ". 1:1(0) ack 3021");
	OUT(c, "P. 3021:3101(80) ack 1");
}

SCENARIO(established_nodelay_sends_small_segments_at_once)
{
	struct conn *c = passive(OPT_MSS);

	EQ(sock_setopt(c, IPPROTO_TCP, TCP_NODELAY, 1), 0);
	EQ(sock_getopt(c, IPPROTO_TCP, TCP_NODELAY), 1);
	EQ(sock_send(c, 100), 100);
	OUT(c, "P. 1:101(100) ack 1");
	EQ(sock_send(c, 100), 100);
	OUT(c, "P. 101:201(100) ack 1");
}

/* Linux: setting TCP_NODELAY pushes what Nagle held. */
SCENARIO(established_nodelay_set_releases_held_segment)
{
	struct conn *c = passive(OPT_MSS);

	EQ(sock_send(c, 100), 100);
	OUT(c, "P. 1:101(100) ack 1");
	EQ(sock_send(c, 100), 100);
	NOTHING();
	EQ(sock_setopt(c, IPPROTO_TCP, TCP_NODELAY, 1), 0);
	OUT(c, "P. 101:201(100) ack 1");
}

SCENARIO(established_cork_holds_partial_segment_200ms)
{
	struct conn *c = passive(OPT_MSS);

	EQ(sock_setopt(c, IPPROTO_TCP, TCP_CORK, 1), 0);
	EQ(sock_send(c, 100), 100);
	OUT_AFTER(c, 200, "P. 1:101(100) ack 1");
}

SCENARIO(established_uncork_sends_partial_segment)
{
	struct conn *c = passive(OPT_MSS);

	EQ(sock_setopt(c, IPPROTO_TCP, TCP_CORK, 1), 0);
	EQ(sock_send(c, 100), 100);
	EQ(sock_send(c, 100), 100);
	NOTHING_FOR(50);
	EQ(sock_setopt(c, IPPROTO_TCP, TCP_CORK, 0), 0);
	OUT(c, "P. 1:201(200) ack 1");
}

SCENARIO(established_cork_sends_full_segments)
{
	struct conn *c = passive(OPT_MSS);

	EQ(sock_setopt(c, IPPROTO_TCP, TCP_CORK, 1), 0);
	EQ(sock_send(c, 3000), 3000);
	OUT(c, "P. 1:1461(1460) ack 1");
	OUT(c, "P. 1461:2921(1460) ack 1");
	NOTHING_FOR(50);
	EQ(sock_setopt(c, IPPROTO_TCP, TCP_CORK, 0), 0);
	NOTHING(); /* Linux: uncorking leaves Nagle on: the tail waits for the ACK */
	IN(c, ". 1:1(0) ack 2921");
	OUT(c, "P. 2921:3001(80) ack 1");
}

SCENARIO(established_msg_more_holds_until_plain_send)
{
	struct conn *c = passive(OPT_MSS);

	EQ(sock_send_flags(c, 100, MSG_MORE), 100);
	NOTHING_FOR(50);
	EQ(sock_send(c, 100), 100);
	OUT(c, "P. 1:201(200) ack 1");
}

/* ---- congestion window growth only while cwnd-limited (RFC 7661, RFC 9438 §5.8) ---- */

/* A request-response sender that never fills its window: 40 round trips of one segment each
 * leave cwnd at the initial 10 segments (RFC 5681 alone would have grown it to 50). */
static void app_limited_rounds(struct conn *c)
{
	struct tcp_info ti;

	for (int i = 0; i < 40; i++) {
		EQ(sock_send(c, 1460), 1460);
		OUT(c, seg("P. %d:%d(1460) ack 1", 1 + 1460 * i, 1 + 1460 * (i + 1)));
		WAIT(10);
		IN(c, seg(". 1:1(0) ack %d", 1 + 1460 * (i + 1)));
	}
	EQ(sock_tcp_info(c, &ti), 0);
	EQ(ti.tcpi_snd_cwnd, 10);
	/* A flight that fills cwnd: its ACKs grow it again (slow start, one segment per ACK). */
	EQ(sock_send(c, 14600), 14600);
	for (int i = 40; i < 50; i++)
		OUT(c, seg("P. %d:%d(1460) ack 1", 1 + 1460 * i, 1 + 1460 * (i + 1)));
	NOTHING();
	IN(c, seg(". 1:1(0) ack %d", 1 + 1460 * 50));
	EQ(sock_tcp_info(c, &ti), 0);
	EQ(ti.tcpi_snd_cwnd, 11);
}

SCENARIO(established_app_limited_acks_newreno_cwnd_stays)
{
	app_limited_rounds(passive(OPT_MSS));
}

SCENARIO(established_app_limited_acks_cubic_cwnd_stays)
{
	struct conn *c;

	engine_conf("tcp_cc", "cubic");
	c = passive(OPT_MSS);
	app_limited_rounds(c);
}

/* ---- sender SWS avoidance and its override timeout (RFC 9293 §3.8.6.2.1) ---- */

/* The peer's window (1000) is below a segment and below half its largest window (65535), with
 * more than that queued: the runt is held back, nothing is in flight, so no ACK would ever come;
 * the override timer (the RTO, 200 ms here, within the RFC's 0.1-1 s) sends what the window
 * allows. Once the window opens the rest goes at once. */
SCENARIO(established_small_window_runt_sent_by_sws_override_timer)
{
	struct conn *c = passive(OPT_MSS);

	IN(c, ". 1:1(0) ack 1 win 1000");
	EQ(sock_send(c, 3000), 3000);
	NOTHING();
	OUT_AFTER(c, 200, ". 1:1001(1000) ack 1");
	IN(c, ". 1:1(0) ack 1001 win 1000");
	OUT_AFTER(c, 200, ". 1001:2001(1000) ack 1");
	IN(c, ". 1:1(0) ack 2001 win 65535");
	OUT(c, "P. 2001:3001(1000) ack 1");
	IN(c, ". 1:1(0) ack 3001 win 65535");
	NOTHING_FOR(2000);
	COUNTER("tcp_zero_window_probes", 0);
}

/* While data is in flight the held runt waits for the ACK (its arrival runs output again), not
 * for the override timer. */
SCENARIO(established_sws_runt_waits_for_ack_while_data_in_flight)
{
	struct conn *c = passive(OPT_MSS);

	IN(c, ". 1:1(0) ack 1 win 2500");
	EQ(sock_send(c, 3000), 3000);
	OUT(c, ". 1:1461(1460) ack 1"); /* 1040 bytes of window left: a runt */
	NOTHING_FOR(150);
	IN(c, ". 1:1(0) ack 1461 win 2500");
	OUT(c, ". 1461:2921(1460) ack 1");
	NOTHING(); /* the last 80 bytes: Nagle (all the data fits), again until the ACK */
	IN(c, ". 1:1(0) ack 2921 win 2500");
	OUT(c, "P. 2921:3001(80) ack 1");
}

/* TCP_CORK governs a corked runt: it goes with the cork's 200 ms, whatever the window. */
SCENARIO(established_corked_runt_small_window_sent_by_cork_timer)
{
	struct conn *c = passive(OPT_MSS);

	EQ(sock_setopt(c, IPPROTO_TCP, TCP_CORK, 1), 0);
	IN(c, ". 1:1(0) ack 1 win 1000");
	EQ(sock_send(c, 600), 600);
	OUT_AFTER(c, 200, "P. 1:601(600) ack 1");
}

/* ---- the out-of-order queue's bounds (tcp_input.c ooo_insert) ---- */

/* Tiny out-of-order segments: the payload (1 byte each) is far from the receive buffer, but the
 * packet buffers holding it are bounded by twice the receive buffer: 2 * 262144 / 2176 = 240
 * segments are kept, the next are dropped and counted (each still gets its duplicate ACK). */
SCENARIO(established_tiny_out_of_order_segments_bounded_by_buffers)
{
	struct conn *c = passive(OPT_MSS);
	int kept = 2 * 262144 / RTE_MBUF_DEFAULT_BUF_SIZE;

	EQ(kept, 240);
	for (int i = 0; i < kept + 10; i++) {
		IN(c, seg("P. %d:%d(1) ack 1", 2 + 2 * i, 3 + 2 * i));
		OUT(c, ". 1:1(0) ack 1");
	}
	COUNTER("tcp_ooo_segs", kept);
	COUNTER("drop_tcp_ooo_full", 10);
	IN(c, "P. 1:2(1) ack 1"); /* fills the first hole: [1, 3) in order */
	OUT(c, ". 1:1(0) ack 3");
	EQ(sock_recv(c, 100), 2);
	IN(c, seg("P. %d:%d(1) ack 1", 2 + 2 * (kept + 20), 3 + 2 * (kept + 20)));
	OUT(c, ". 1:1(0) ack 3");
	COUNTER("tcp_ooo_segs", kept + 1); /* a buffer was freed: room for one more */
}

/* ---- the packet pool's receive reserve (tcp_usr.c snd_append) ---- */

/* A sender with a huge SO_SNDBUF whose peer acknowledges nothing: the send queue stops an eighth
 * of the pool short (EAGAIN, counted), so what the peer sends is still received and read.
 * Without the reserve the queue took every buffer and nothing could arrive any more. */
SCENARIO(established_send_queue_leaves_receive_reserve)
{
	struct conn *c = passive(OPT_MSS);
	long sent = 0, r = 0;

	EQ(sock_setopt(c, SOL_SOCKET, SO_SNDBUF, 64 << 20), 0);
	for (int i = 0; i < 100 && (r = sock_send(c, 1 << 20)) > 0; i++)
		sent += r;
	EQ(r, -EAGAIN);
	CHECK_THAT(sent > (1 << 20) && sent < (16 << 20));
	CHECK_THAT(counter("tcp_snd_pool_low") > 0);
	for (int i = 0; i < 10; i++) /* the initial window */
		OUT(c, seg(". %d:%d(1460) ack 1", 1 + 1460 * i, 1 + 1460 * (i + 1)));
	IN(c, "P. 1:101(100) ack 1 win 65535");
	OUT_AFTER(c, 40,
		  ". 14601:14601(0) ack 101"); /* delayed: the data segments used the quick ACKs */
	EQ(sock_recv(c, 100), 100);
}
