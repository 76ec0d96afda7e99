/*
 * Opening: passive and active handshakes with each option combination (docs/tcp.md "Options
 * layout"), MSS and window scale negotiation, simultaneous open, SYN_SENT and SYN_RCVD events,
 * listen queues, segments for closed ports (RFC 9293 §3.10.7.1).
 */
#include "pkt.h"

/* ---- passive open: what the SYN-ACK carries for each SYN ---- */

SCENARIO(listen_syn_no_options_synack_mss_only)
{
	int l = listen_on(LISTEN_PORT, 16);
	struct conn *c = peer_conn(LISTEN_PORT, PEER_ISN);

	IN(c, "S 0:0(0) win 65535");
	/* docs/tcp.md: MSS always; SACK/TS/WS only if the SYN had them; SYN-ACK window unscaled. */
	OUT(c, "S. 0:0(0) ack 1 win 65535 <mss 1460>");
	IN(c, ". 1:1(0) ack 1 win 65535");
	EQ(sock_accept(c, l) >= 0, 1);
	STATE(c, ESTABLISHED);
	/* No MSS option from the peer: send MSS 536 (RFC 9293 §3.7.1). */
	EQ(sock_setopt(c, IPPROTO_TCP, TCP_NODELAY, 1), 0);
	EQ(sock_send(c, 1000), 1000);
	OUT(c, "P. 1:537(536) ack 1");
	OUT(c, "P. 537:1001(464) ack 1");
}

SCENARIO(listen_syn_mss_only_synack_mss_only)
{
	int l = listen_on(LISTEN_PORT, 16);
	struct conn *c = peer_conn(LISTEN_PORT, PEER_ISN);

	IN(c, "S 0:0(0) win 65535 <mss 1460>");
	OUT(c, "S. 0:0(0) ack 1 win 65535 <mss 1460>");
	IN(c, ". 1:1(0) ack 1 win 65535");
	EQ(sock_accept(c, l) >= 0, 1);
	/* Without timestamps the send MSS is the peer's 1460. */
	EQ(sock_send(c, 2920), 2920);
	OUT(c, "P. 1:1461(1460) ack 1 win 65535 <>");
	OUT(c, "P. 1461:2921(1460) ack 1 win 65535 <>");
}

SCENARIO(listen_syn_all_options_synack_all_options)
{
	int l = listen_on(LISTEN_PORT, 16);
	struct conn *c = peer_conn(LISTEN_PORT, PEER_ISN);

	IN(c, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	OUT(c, "S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 0 ecr 100,nop,wscale 7>");
	c->ts = true;
	WAIT(10);
	IN(c, ". 1:1(0) ack 1 win 512 <nop,nop,TS val 110 ecr 0>");
	EQ(sock_accept(c, l) >= 0, 1);
	/* With timestamps: 1460 - 12 = 1448 per segment, TS on every segment (RFC 7323 §3.2). */
	EQ(sock_send(c, 2896), 2896);
	OUT(c, "P. 1:1449(1448) ack 1 <nop,nop,TS val 10 ecr 110>");
	OUT(c, "P. 1449:2897(1448) ack 1 <nop,nop,TS val 10 ecr 110>");
}

SCENARIO(listen_syn_ts_only_synack_nop_nop_ts)
{
	int l = listen_on(LISTEN_PORT, 16);
	struct conn *c = peer_conn(LISTEN_PORT, PEER_ISN);

	IN(c, "S 0:0(0) win 65535 <mss 1460,nop,nop,TS val 100 ecr 0>");
	OUT(c, "S. 0:0(0) ack 1 win 65535 <mss 1460,nop,nop,TS val 0 ecr 100>");
	c->ts = true;
	IN(c, ". 1:1(0) ack 1");
	EQ(sock_accept(c, l) >= 0, 1);
}

SCENARIO(listen_syn_sack_ws_no_ts_synack_layout)
{
	int l = listen_on(LISTEN_PORT, 16);
	struct conn *c = peer_conn(LISTEN_PORT, PEER_ISN);

	IN(c, "S 0:0(0) win 65535 <mss 1460,nop,nop,sackOK,nop,wscale 2>");
	OUT(c, "S. 0:0(0) ack 1 win 65535 <mss 1460,nop,nop,sackOK,nop,wscale 7>");
	IN(c, ". 1:1(0) ack 1");
	EQ(sock_accept(c, l) >= 0, 1);
}

SCENARIO(listen_syn_ws_only_synack_mss_ws)
{
	int l = listen_on(LISTEN_PORT, 16);
	struct conn *c = peer_conn(LISTEN_PORT, PEER_ISN);

	IN(c, "S 0:0(0) win 65535 <mss 1460,nop,wscale 0>");
	OUT(c, "S. 0:0(0) ack 1 win 65535 <mss 1460,nop,wscale 7>");
	IN(c, ". 1:1(0) ack 1");
	EQ(sock_accept(c, l) >= 0, 1);
}

SCENARIO(listen_syn_mtu_9000_synack_mss_8960)
{
	int l;
	struct conn *c;

	engine_conf("mtu", "9000");
	l = listen_on(LISTEN_PORT, 16);
	c = peer_conn(LISTEN_PORT, PEER_ISN);
	IN(c, "S 0:0(0) win 65535 <mss 9000>");
	OUT(c, "S. 0:0(0) ack 1 win 65535 <mss 8960>");
	IN(c, ". 1:1(0) ack 1");
	EQ(sock_accept(c, l) >= 0, 1);
}

SCENARIO(listen_handshake_accept_gives_established_socket)
{
	int l = listen_on(LISTEN_PORT, 16);
	struct conn *c = peer_conn(LISTEN_PORT, PEER_ISN);

	EQ(sock_accept(c, l), -EAGAIN);
	IN(c, "S 0:0(0) win 65535 <mss 1460>");
	OUT(c, "S. 0:0(0) ack 1 <mss 1460>");
	EQ(sock_accept(c, l), -EAGAIN); /* SYN_RCVD is not accepted yet */
	IN(c, ". 1:1(0) ack 1");
	EQ(sock_accept(c, l) >= 0, 1);
	STATE(c, ESTABLISHED);
	EVENTS(c, EPOLLOUT | EPOLLIN | EPOLLERR | EPOLLHUP, EPOLLOUT);
	NOTHING();
}

/* ---- MSS ---- */

SCENARIO(listen_peer_mss_larger_clamped_to_ours)
{
	struct conn *c = passive("mss 9000");

	/* send MSS = min(9000, MTU - 40) */
	EQ(sock_send(c, 2920), 2920);
	OUT(c, "P. 1:1461(1460) ack 1");
	OUT(c, "P. 1461:2921(1460) ack 1");
	NOTHING();
}

SCENARIO(listen_peer_mss_500_segments_of_500)
{
	struct conn *c = passive("mss 500");

	EQ(sock_send(c, 1000), 1000);
	OUT(c, "P. 1:501(500) ack 1");
	OUT(c, "P. 501:1001(500) ack 1");
	NOTHING();
}

SCENARIO(established_tcp_info_reports_send_mss)
{
	struct conn *c = passive(OPT_ALL);
	struct tcp_info ti;

	EQ(sock_tcp_info(c, &ti), 0);
	EQ(ti.tcpi_snd_mss, 1448);
	EQ(ti.tcpi_state, 1 /* TCP_ESTABLISHED */);
}

/* ---- window scale ---- */

/* The peer's window field is scaled by its shift: 23 << 7 = 2944 bytes = two 1460-byte segments. */
SCENARIO(established_peer_wscale_7_window_scaled)
{
	struct conn *c = passive(OPT_ALL_NO_TS);

	IN(c, ". 1:1(0) ack 1 win 23");
	EQ(sock_send(c, 4380), 4380);
	OUT(c, "P. 1:1461(1460) ack 1");
	OUT(c, "P. 1461:2921(1460) ack 1");
	NOTHING(); /* 24 bytes of window left: less than a segment (RFC 9293 §3.8.6.2.1) */
}

/* Grow cwnd to 20 segments (10 ACKs of one segment each, RFC 5681 §3.1), with the peer's window
 * field 1 at shift `shift`: then send 40000 bytes and return. */
static struct conn *grow_cwnd_window_field_1(const char *syn_opts)
{
	struct conn *c = passive(syn_opts);

	EQ(sock_send(c, 14600), 14600);
	for (int i = 0; i < 10; i++)
		OUT(c, seg("P. %d:%d(1460) ack 1", 1 + 1460 * i, 1 + 1460 * (i + 1)));
	for (int i = 1; i <= 10; i++)
		IN(c, seg(". 1:1(0) ack %d win 1", 1 + 1460 * i));
	NOTHING();
	EQ(sock_send(c, 40000), 40000);
	return c;
}

/* Shift 14, the largest (RFC 7323 §2.3): field 1 = 16384 bytes: 11 full segments (16060 bytes)
 * while cwnd (20 segments) would allow more; the 324 bytes left are less than a segment. */
SCENARIO(established_peer_wscale_14_window_16384)
{
	struct conn *c = grow_cwnd_window_field_1("mss 1460,nop,wscale 14");

	for (int i = 10; i < 21; i++)
		OUT(c, seg("P. %d:%d(1460) ack 1", 1 + 1460 * i, 1 + 1460 * (i + 1)));
	NOTHING();
}

/* RFC 7323 §2.3: a shift above 14 is used as 14 (15 would give 32768 bytes: 20 segments). */
SCENARIO(established_peer_wscale_15_clamped_to_14)
{
	struct conn *c = grow_cwnd_window_field_1("mss 1460,nop,wscale 15");

	for (int i = 10; i < 21; i++)
		OUT(c, seg("P. %d:%d(1460) ack 1", 1 + 1460 * i, 1 + 1460 * (i + 1)));
	NOTHING();
}

/* docs/tcp.md: window afterwards = free buffer >> 7; the right edge never moves left. */
SCENARIO(established_our_window_scaled_right_edge_kept)
{
	struct conn *c = passive(OPT_ALL_NO_TS);

	IN(c, "P. 1:1001(1000) ack 1");
	OUT(c, ". 1:1(0) ack 1001 win 2040"); /* (262144 - 1000) >> 7 */
	IN(c, "P. 1001:2001(1000) ack 1");
	/* (262144 - 2000) >> 7 = 2032 would end at 2001 + 2032*128 = 262097, left of the edge
	 * advertised before (1001 + 2040*128 = 262121): 2033 keeps it. */
	OUT(c, ". 1:1(0) ack 2001 win 2033");
}

SCENARIO(syn_sent_synack_ws_our_ack_window_scaled)
{
	struct conn *c = connect_start();

	OUT(c, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 7>");
	IN(c, "S. 0:0(0) ack 1 win 65535 <mss 1460,nop,wscale 3>");
	OUT(c, ". 1:1(0) ack 1 win 2048 <>"); /* 262144 >> 7, no TS: the peer did not agree */
}

SCENARIO(syn_sent_synack_no_ws_our_window_unscaled)
{
	struct conn *c = connect_start();

	OUT(c, "S 0:0(0)");
	IN(c, "S. 0:0(0) ack 1 win 65535 <mss 1460>");
	OUT(c, ". 1:1(0) ack 1 win 65535 <>"); /* min(262144, 65535): no scaling agreed */
}

SCENARIO(listen_small_rcvbuf_synack_window)
{
	int l = listen_on(LISTEN_PORT, 16), b;
	struct conn *c = peer_conn(LISTEN_PORT, PEER_ISN);
	struct conn lc = { .fd = l };
	char line[100];

	EQ(sock_setopt(&lc, SOL_SOCKET, SO_RCVBUF, 16384), 0);
	b = sock_getopt(&lc, SOL_SOCKET, SO_RCVBUF);
	CHECK_THAT(b >= 16384 && b < 65535);
	IN(c, "S 0:0(0) win 65535 <mss 1460>");
	snprintf(line, sizeof(line), "S. 0:0(0) ack 1 win %d", b);
	OUT(c, line);
}

/* ---- active open ---- */

SCENARIO(closed_connect_syn_all_options)
{
	struct conn *c = connect_start();

	/* docs/tcp.md: our SYN always carries MSS, SACK-permitted, TS and WS 7; window 65535. */
	OUT(c, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 7>");
	STATE(c, SYN_SENT);
	EQ(dps_tcp_connect(pkt_eng, c->fd, PEER_IP, 80, pkt_now()), -EALREADY);
}

SCENARIO(syn_sent_synack_no_options_established_mss_536)
{
	struct conn *c = connect_conn(OPT_NONE, 0);

	STATE(c, ESTABLISHED);
	EVENTS(c, EPOLLOUT | EPOLLERR, EPOLLOUT);
	EQ(sock_send(c, 1072), 1072);
	OUT(c, "P. 1:537(536) ack 1 <>");
	OUT(c, "P. 537:1073(536) ack 1 <>");
}

SCENARIO(syn_sent_synack_mss_1000_segments_of_1000)
{
	struct conn *c = connect_conn("mss 1000", 0);

	EQ(sock_send(c, 2000), 2000);
	OUT(c, "P. 1:1001(1000) ack 1");
	OUT(c, "P. 1001:2001(1000) ack 1");
}

SCENARIO(syn_sent_synack_all_options_ack_with_ts)
{
	struct conn *c = connect_start();

	OUT(c, "S 0:0(0) <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 7>");
	WAIT(20);
	IN(c, "S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 5000 ecr 0,nop,wscale 7>");
	OUT(c, ". 1:1(0) ack 1 win 2048 <nop,nop,TS val 20 ecr 5000>");
	STATE(c, ESTABLISHED);
}

/* RFC 9293 §3.10.7.3 with Linux's handling of the peer's SYN-ACK in SYN_RCVD (simultaneous
 * open): our SYN-ACK repeats our ISN; the peer's SYN-ACK establishes and is ACKed. */
SCENARIO(syn_sent_simultaneous_open_established)
{
	struct conn *c = connect_start();

	OUT(c, "S 0:0(0)");
	IN(c, "S 0:0(0) win 65535 <mss 1460>");
	OUT(c, "S. 0:0(0) ack 1 <mss 1460>");
	STATE(c, SYN_RCVD);
	IN(c, "S. 0:0(0) ack 1 win 65535 <mss 1460>");
	OUT(c, ". 1:1(0) ack 1");
	STATE(c, ESTABLISHED);
	EQ(sock_send(c, 100), 100);
	OUT(c, "P. 1:101(100) ack 1");
}

/* ---- SYN_SENT events ---- */

SCENARIO(syn_sent_rst_ack_econnrefused)
{
	struct conn *c = connect_start();

	OUT(c, "S 0:0(0)");
	IN(c, "R. 0:0(0) ack 1 win 0");
	STATE(c, CLOSED);
	EVENTS(c, EPOLLERR | EPOLLHUP, EPOLLERR | EPOLLHUP);
	EQ(sock_error(c), ECONNREFUSED);
	EQ(sock_error(c), 0); /* SO_ERROR clears */
	NOTHING_FOR(3000); /* no retransmission of the SYN */
	c->done = true;
}

SCENARIO(syn_sent_rst_ack_connect_reports_econnrefused)
{
	struct conn *c = connect_start();

	OUT(c, "S 0:0(0)");
	IN(c, "R. 0:0(0) ack 1 win 0");
	EQ(dps_tcp_connect(pkt_eng, c->fd, PEER_IP, 80, pkt_now()), -ECONNREFUSED);
	c->done = true;
}

/* RFC 9293 §3.10.7.3: a RST without ACK in SYN_SENT is dropped. */
SCENARIO(syn_sent_rst_without_ack_ignored)
{
	struct conn *c = connect_start();

	OUT(c, "S 0:0(0)");
	IN(c, "R 0:0(0) win 0");
	STATE(c, SYN_SENT);
	NOTHING();
	IN(c, "S. 0:0(0) ack 1 win 65535 <mss 1460>");
	OUT(c, ". 1:1(0) ack 1");
	STATE(c, ESTABLISHED);
}

/* RFC 9293 §3.10.7.3: a RST whose ACK is not acceptable is dropped. */
SCENARIO(syn_sent_rst_bad_ack_ignored)
{
	struct conn *c = connect_start();

	OUT(c, "S 0:0(0)");
	IN(c, "R. 0:0(0) ack 1000 win 0");
	STATE(c, SYN_SENT);
	NOTHING();
}

/* RFC 9293 §3.10.7.3: an unacceptable ACK gets <SEQ=SEG.ACK><CTL=RST>; still SYN_SENT; then the
 * SYN again at once (tcp_input.c resend_syn_after_rst, as Linux). */
SCENARIO(syn_sent_synack_bad_ack_sends_rst)
{
	struct conn *c = connect_start();

	OUT(c, "S 0:0(0)");
	IN(c, "S. 0:0(0) ack 1000 win 65535 <mss 1460>");
	OUT(c, "R 1000:1000(0)");
	OUT(c, "S 0:0(0)");
	STATE(c, SYN_SENT);
	IN(c, "S. 0:0(0) ack 1 win 65535 <mss 1460>");
	OUT(c, ". 1:1(0) ack 1");
	STATE(c, ESTABLISHED);
}

/* docs/tcp.md: RTO 1 s doubled per expiry, 6 SYN retries, then ETIMEDOUT (and no RST: Linux). */
SCENARIO(syn_sent_syn_retransmitted_with_backoff_then_etimedout)
{
	struct conn *c = connect_start();

	OUT(c, "S 0:0(0) <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 7>");
	OUT_AFTER(c, 1000, "S 0:0(0) <mss 1460,sackOK,TS val 1000 ecr 0,nop,wscale 7>");
	OUT_AFTER(c, 2000, "S 0:0(0)");
	OUT_AFTER(c, 4000, "S 0:0(0)");
	OUT_AFTER(c, 8000, "S 0:0(0)");
	OUT_AFTER(c, 16000, "S 0:0(0)");
	OUT_AFTER(c, 32000, "S 0:0(0)");
	STATE(c, SYN_SENT);
	WAIT(63990);
	STATE(c, SYN_SENT);
	NOTHING_FOR(20);
	STATE(c, CLOSED);
	EQ(sock_error(c), ETIMEDOUT);
	NOTHING_FOR(5000);
	c->done = true;
}

SCENARIO(syn_sent_close_sends_nothing)
{
	struct conn *c = connect_start();

	OUT(c, "S 0:0(0)");
	EQ(sock_close(c), 0);
	NOTHING_FOR(5000); /* Linux: no RST for a connection that never synchronized */
	c->done = true;
}

/* ---- SYN_RCVD ---- */

/* docs/tcp.md: SYN-ACK retries 5, RTO 1 s doubling; then the child is dropped. */
SCENARIO(syn_rcvd_synack_retransmitted_with_backoff)
{
	int l = listen_on(LISTEN_PORT, 16);
	struct conn *c = peer_conn(LISTEN_PORT, PEER_ISN);

	IN(c, "S 0:0(0) win 65535 <mss 1460>");
	OUT(c, "S. 0:0(0) ack 1 <mss 1460>");
	OUT_AFTER(c, 1000, "S. 0:0(0) ack 1 <mss 1460>");
	OUT_AFTER(c, 2000, "S. 0:0(0) ack 1");
	OUT_AFTER(c, 4000, "S. 0:0(0) ack 1");
	OUT_AFTER(c, 8000, "S. 0:0(0) ack 1");
	OUT_AFTER(c, 16000, "S. 0:0(0) ack 1");
	NOTHING_FOR(40000);
	/* Gone: the late ACK finds no connection, only the listener: RST <SEQ=SEG.ACK>. */
	IN(c, ". 1:1(0) ack 1");
	OUT(c, "R 1:1(0)");
	EQ(sock_accept(c, l), -EAGAIN);
	c->done = true;
}

SCENARIO(syn_rcvd_rst_removes_child)
{
	int l = listen_on(LISTEN_PORT, 16);
	struct conn *c = peer_conn(LISTEN_PORT, PEER_ISN);

	IN(c, "S 0:0(0) win 65535 <mss 1460>");
	OUT(c, "S. 0:0(0) ack 1");
	IN(c, "R 1:1(0) win 0");
	NOTHING_FOR(5000); /* no SYN-ACK retransmission */
	EQ(sock_accept(c, l), -EAGAIN);
	c->done = true;
}

SCENARIO(syn_rcvd_data_with_ack_established_and_queued)
{
	int l = listen_on(LISTEN_PORT, 16);
	struct conn *c = peer_conn(LISTEN_PORT, PEER_ISN);

	IN(c, "S 0:0(0) win 65535 <mss 1460>");
	OUT(c, "S. 0:0(0) ack 1");
	IN(c, "P. 1:101(100) ack 1");
	OUT(c, ". 1:1(0) ack 101");
	EQ(sock_accept(c, l) >= 0, 1);
	EQ(sock_recv(c, 1000), 100);
}

/* ---- listen queues (docs/tcp.md "Listen queues") ---- */

SCENARIO(listen_syn_queue_full_syn_dropped_counted)
{
	int l = listen_on(LISTEN_PORT, 1);
	struct conn *a = peer_conn(LISTEN_PORT, PEER_ISN), *b = peer_conn(LISTEN_PORT, 77);

	(void)l;
	IN(a, "S 0:0(0) win 65535 <mss 1460>");
	OUT(a, "S. 0:0(0) ack 1");
	IN(b, "S 0:0(0) win 65535 <mss 1460>");
	NOTHING();
	COUNTER("drop_tcp_syn_queue_full", 1);
	b->done = true;
}

/* Backlog 2: x and y in the SYN queue; x and z complete and fill the accept queue; y's ACK is
 * then dropped and counted; y's SYN-ACK is retransmitted (Linux) and its ACK, after accept(x),
 * completes the handshake. */
SCENARIO(listen_accept_queue_full_ack_dropped_synack_retransmitted)
{
	int l = listen_on(LISTEN_PORT, 2);
	struct conn *x = peer_conn(LISTEN_PORT, 111), *y = peer_conn(LISTEN_PORT, 222), *z;

	IN(x, "S 0:0(0) win 65535 <mss 1460>");
	OUT(x, "S. 0:0(0) ack 1");
	IN(y, "S 0:0(0) win 65535 <mss 1460>");
	OUT(y, "S. 0:0(0) ack 1");
	IN(x, ". 1:1(0) ack 1");
	z = peer_conn(LISTEN_PORT, 333);
	IN(z, "S 0:0(0) win 65535 <mss 1460>");
	OUT(z, "S. 0:0(0) ack 1");
	IN(z, ". 1:1(0) ack 1");
	IN(y, ". 1:1(0) ack 1"); /* accept queue full (x, z) */
	NOTHING();
	COUNTER("drop_tcp_accept_queue_full", 1);
	EQ(sock_accept(x, l) >= 0, 1);
	OUT_AFTER(y, 1000, "S. 0:0(0) ack 1");
	IN(y, ". 1:1(0) ack 1");
	EQ(sock_accept(z, l) >= 0, 1);
	EQ(sock_accept(y, l) >= 0, 1);
	STATE(y, ESTABLISHED);
}

/* docs/tcp.md (as Linux): while the accept queue is full, new SYNs are dropped too. */
SCENARIO(listen_accept_queue_full_new_syn_dropped)
{
	int l = listen_on(LISTEN_PORT, 1);
	struct conn *a = peer_conn(LISTEN_PORT, 111), *b = peer_conn(LISTEN_PORT, 222);

	(void)l;
	IN(a, "S 0:0(0) win 65535 <mss 1460>");
	OUT(a, "S. 0:0(0) ack 1");
	IN(a, ". 1:1(0) ack 1"); /* accept queue full, SYN queue empty */
	IN(b, "S 0:0(0) win 65535 <mss 1460>");
	NOTHING();
	COUNTER("drop_tcp_syn_queue_full", 1);
	b->done = true;
}

SCENARIO(listen_close_resets_queued_connections)
{
	int l = listen_on(LISTEN_PORT, 4);
	struct conn *c = peer_conn(LISTEN_PORT, PEER_ISN), lc = { .fd = l };

	IN(c, "S 0:0(0) win 65535 <mss 1460>");
	OUT(c, "S. 0:0(0) ack 1");
	IN(c, ". 1:1(0) ack 1");
	EQ(sock_close(&lc), 0);
	OUT(c, "R. 1:1(0) ack 1"); /* Linux: tcp_disconnect of the child: RST|ACK */
	c->done = true;
}

/* ---- closed ports (RFC 9293 §3.10.7.1, docs/tcp.md "Resets") ---- */

SCENARIO(closed_port_syn_gets_rst_ack)
{
	struct conn *c = peer_conn(9999, PEER_ISN);

	IN(c, "S 0:0(0) win 65535 <mss 1460>");
	OUT(c, "R. 0:0(0) ack 1 win 0");
	COUNTER("tcp_rst_tx", 1);
	COUNTER("drop_tcp_no_socket", 1);
	c->done = true;
}

SCENARIO(closed_port_ack_gets_rst_at_seg_ack)
{
	struct conn *c = peer_conn(9999, PEER_ISN);

	IN(c, ". 1:1(0) ack 5000");
	OUT(c, "R 5000:5000(0)");
	c->done = true;
}

SCENARIO(closed_port_fin_data_rst_ack_counts_fin)
{
	struct conn *c = peer_conn(9999, PEER_ISN);

	IN(c, "F 1:11(10)");
	OUT(c, "R. 0:0(0) ack 12"); /* SEG.SEQ + SEG.LEN, the FIN counting one */
	c->done = true;
}

SCENARIO(closed_port_rst_gets_nothing)
{
	struct conn *c = peer_conn(9999, PEER_ISN);

	IN(c, "R 1:1(0)");
	IN(c, "R. 1:1(0) ack 1");
	NOTHING();
	COUNTER("tcp_rst_tx", 0);
	c->done = true;
}

/* ---- close() in SYN_RCVD after a simultaneous open (RFC 9293 §3.10.4 CLOSE) ---- */

/* The SYN-ACK keeps being retransmitted after close(); the FIN waits until the peer acknowledges
 * our SYN (docs/tcp.md: Linux and the RFC send it at once, behind the SYN-ACK). */
SCENARIO(syn_rcvd_simultaneous_close_synack_retransmitted_fin_after_ack)
{
	struct conn *c = connect_start();

	OUT(c, "S 0:0(0)");
	IN(c, "S 0:0(0) win 65535 <mss 1460>");
	OUT(c, "S. 0:0(0) ack 1 <mss 1460>");
	EQ(sock_close(c), 0);
	OUT_AFTER(c, 1000, "S. 0:0(0) ack 1"); /* the SYN's timer, 1 s after the SYN */
	OUT_AFTER(c, 2000, "S. 0:0(0) ack 1");
	IN(c, ". 1:1(0) ack 1");
	OUT(c, "F. 1:1(0) ack 1");
	IN(c, ". 1:1(0) ack 2");
	NOTHING();
	IN(c, "F. 1:1(0) ack 2");
	OUT(c, ". 2:2(0) ack 2");
	COUNTER("tcp_state_time_wait", 1);
}

/* The peer's SYN-ACK (its half of the simultaneous open) establishes: the FIN carries the ACK. */
SCENARIO(syn_rcvd_simultaneous_close_peer_synack_fin_sent)
{
	struct conn *c = connect_start();

	OUT(c, "S 0:0(0)");
	IN(c, "S 0:0(0) win 65535 <mss 1460>");
	OUT(c, "S. 0:0(0) ack 1 <mss 1460>");
	EQ(sock_shutdown(c, SHUT_WR), 0);
	STATE(c, SYN_RCVD);
	NOTHING_FOR(500);
	IN(c, "S. 0:0(0) ack 1 win 65535 <mss 1460>");
	OUT(c, "F. 1:1(0) ack 1");
	STATE(c, FIN_WAIT_1);
	OUT_AFTER(c, 1000, "F. 1:1(0) ack 1"); /* RFC 6298: the FIN is retransmitted */
	IN(c, "F. 1:1(0) ack 2");
	OUT(c, ". 2:2(0) ack 2");
	STATE(c, TIME_WAIT);
}

/* An orphan that never hears back gives up after the SYN-ACK retries and is freed. */
SCENARIO(syn_rcvd_simultaneous_close_unanswered_freed)
{
	struct conn *c = connect_start();

	OUT(c, "S 0:0(0)");
	IN(c, "S 0:0(0) win 65535 <mss 1460>");
	OUT(c, "S. 0:0(0) ack 1 <mss 1460>");
	EQ(sock_close(c), 0);
	for (int i = 0; i < 5; i++)
		OUT_AFTER(c, 1000 << i, "S. 0:0(0) ack 1");
	WAIT(40000);
	NOTHING();
	COUNTER("tcp_conns", 0);
	c->done = true;
}
