/*
 * Closing (RFC 9293 §3.6, §3.10.7.4): FIN in every state, TIME_WAIT (docs/tcp.md: 60 s), the
 * orphaned FIN_WAIT_2 timeout, aborts by RST (unread data, SO_LINGER 0), TIME_WAIT reuse.
 */
#include "pkt.h"

#include <string.h>

SCENARIO(established_peer_fin_close_wait_then_last_ack_closed)
{
	struct conn *c = passive(OPT_MSS);

	IN(c, "F. 1:1(0) ack 1");
	OUT(c, ". 1:1(0) ack 2");
	STATE(c, CLOSE_WAIT);
	EVENTS(c, EPOLLIN | EPOLLRDHUP, EPOLLIN | EPOLLRDHUP);
	EQ(sock_recv(c, 100), 0);
	EQ(sock_shutdown(c, SHUT_WR), 0);
	OUT(c, "F. 1:1(0) ack 2");
	STATE(c, LAST_ACK);
	IN(c, ". 2:2(0) ack 2");
	STATE(c, CLOSED);
	NOTHING_FOR(1000);
}

SCENARIO(close_wait_send_still_allowed)
{
	struct conn *c = passive(OPT_MSS);

	IN(c, "F. 1:1(0) ack 1");
	OUT(c, ". 1:1(0) ack 2");
	EQ(sock_send(c, 100), 100);
	OUT(c, "P. 1:101(100) ack 2");
	IN(c, ". 2:2(0) ack 101");
	EQ(sock_close(c), 0);
	OUT(c, "F. 101:101(0) ack 2");
	IN(c, ". 2:2(0) ack 102");
	NOTHING_FOR(1000);
	c->done = true;
}

/* Handshake RTT 400 ms (measured with timestamps): RTO 1200 ms (RFC 6298 §2.2). */
SCENARIO(last_ack_fin_retransmitted_on_rto)
{
	int l = listen_on(LISTEN_PORT, 16);
	struct conn *c = accept_conn(l, OPT_TS, 400);

	IN(c, "F. 1:1(0) ack 1");
	OUT(c, ". 1:1(0) ack 2");
	EQ(sock_close(c), 0);
	OUT(c, "F. 1:1(0) ack 2");
	OUT_AFTER(c, 1200, "F. 1:1(0) ack 2");
	IN(c, ". 2:2(0) ack 2");
	NOTHING_FOR(5000);
	c->done = true;
}

SCENARIO(established_shutdown_wr_fin_wait_1_2_time_wait_closed_after_60s)
{
	struct conn *c = passive(OPT_MSS);

	EQ(sock_shutdown(c, SHUT_WR), 0);
	OUT(c, "F. 1:1(0) ack 1");
	STATE(c, FIN_WAIT_1);
	IN(c, ". 1:1(0) ack 2");
	STATE(c, FIN_WAIT_2);
	NOTHING();
	IN(c, "F. 1:1(0) ack 2");
	OUT(c, ". 2:2(0) ack 2");
	STATE(c, TIME_WAIT);
	EQ(sock_recv(c, 100), 0);
	WAIT(59990);
	STATE(c, TIME_WAIT);
	WAIT(20);
	STATE(c, CLOSED);
	NOTHING();
}

SCENARIO(established_send_after_shutdown_wr_epipe)
{
	struct conn *c = passive(OPT_MSS);

	EQ(sock_shutdown(c, SHUT_WR), 0);
	OUT(c, "F. 1:1(0) ack 1");
	EQ(sock_send(c, 10), -EPIPE);
}

/* RFC 9293 §3.6 case 2: FINs cross (simultaneous close): CLOSING, then TIME_WAIT. */
SCENARIO(fin_wait_1_peer_fin_closing_then_time_wait)
{
	struct conn *c = passive(OPT_MSS);

	EQ(sock_shutdown(c, SHUT_WR), 0);
	OUT(c, "F. 1:1(0) ack 1");
	IN(c, "F. 1:1(0) ack 1");
	OUT(c, ". 2:2(0) ack 2");
	STATE(c, CLOSING);
	IN(c, ". 2:2(0) ack 2");
	STATE(c, TIME_WAIT);
}

SCENARIO(fin_wait_1_peer_fin_ack_time_wait)
{
	struct conn *c = passive(OPT_MSS);

	EQ(sock_shutdown(c, SHUT_WR), 0);
	OUT(c, "F. 1:1(0) ack 1");
	IN(c, "F. 1:1(0) ack 2");
	OUT(c, ". 2:2(0) ack 2");
	STATE(c, TIME_WAIT);
}

SCENARIO(fin_wait_1_fin_retransmitted_on_rto)
{
	int l = listen_on(LISTEN_PORT, 16);
	struct conn *c = accept_conn(l, OPT_TS, 400);

	EQ(sock_shutdown(c, SHUT_WR), 0);
	OUT(c, "F. 1:1(0) ack 1");
	OUT_AFTER(c, 1200, "F. 1:1(0) ack 1");
	IN(c, ". 1:1(0) ack 2");
	STATE(c, FIN_WAIT_2);
}

/* Both close(): the connection lives on without a handle and is freed 60 s after TIME_WAIT;
 * a segment then finds no connection and gets <SEQ=SEG.ACK><CTL=RST>. */
SCENARIO(established_simultaneous_close_time_wait_then_freed)
{
	struct conn *c = passive(OPT_MSS);

	EQ(sock_close(c), 0);
	OUT(c, "F. 1:1(0) ack 1");
	IN(c, "F. 1:1(0) ack 1");
	OUT(c, ". 2:2(0) ack 2");
	IN(c, ". 2:2(0) ack 2");
	WAIT(59000);
	IN(c, ". 2:2(0) ack 2"); /* TIME_WAIT: an old duplicate, nothing to say */
	NOTHING();
	WAIT(1010);
	IN(c, ". 2:2(0) ack 2");
	OUT(c, "R 2:2(0)");
	c->done = true;
}

/* RFC 9293 §3.10.7.4 TIME-WAIT: a retransmitted FIN is ACKed and the 2MSL wait restarts. */
SCENARIO(time_wait_retransmitted_fin_reacked_timer_restarted)
{
	struct conn *c = passive(OPT_MSS);

	EQ(sock_shutdown(c, SHUT_WR), 0);
	OUT(c, "F. 1:1(0) ack 1");
	IN(c, "F. 1:1(0) ack 2");
	OUT(c, ". 2:2(0) ack 2");
	WAIT(30000);
	IN(c, "F. 1:1(0) ack 2");
	OUT(c, ". 2:2(0) ack 2");
	WAIT(59990);
	STATE(c, TIME_WAIT);
	WAIT(20);
	STATE(c, CLOSED);
}

/* docs/tcp.md: FIN_WAIT_2 of a closed socket: 60 s, then freed. */
SCENARIO(fin_wait_2_orphan_freed_after_60s)
{
	struct conn *c = passive(OPT_MSS);

	EQ(sock_close(c), 0);
	OUT(c, "F. 1:1(0) ack 1");
	IN(c, ". 1:1(0) ack 2");
	WAIT(59000);
	IN(c, ". 1:1(0) ack 2");
	NOTHING();
	WAIT(1010);
	IN(c, ". 1:1(0) ack 2");
	OUT(c, "R 2:2(0)");
	c->done = true;
}

/* RFC 9293 §3.6 / docs/tcp.md: close with unread data sends RST (Linux: RST|ACK at SND.NXT). */
SCENARIO(established_close_with_unread_data_sends_rst)
{
	struct conn *c = passive(OPT_MSS);

	IN(c, "P. 1:101(100) ack 1");
	OUT(c, ". 1:1(0) ack 101");
	EQ(sock_close(c), 0);
	OUT(c, "R. 1:1(0) ack 101");
	COUNTER("tcp_rst_tx", 1);
	IN(c, ". 101:101(0) ack 1"); /* freed at once */
	OUT(c, "R 1:1(0)");
	c->done = true;
}

SCENARIO(established_linger_zero_close_sends_rst)
{
	struct conn *c = passive(OPT_MSS);
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	EQ(dps_tcp_setsockopt(pkt_eng, c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	EQ(sock_send(c, 100), 100);
	OUT(c, "P. 1:101(100) ack 1");
	EQ(sock_close(c), 0);
	OUT(c, "R. 101:101(0) ack 1");
	NOTHING_FOR(2000);
	c->done = true;
}

/* docs/tcp.md: the FIN rides on the last data segment; Linux pushes it at close despite Nagle. */
SCENARIO(established_close_fin_rides_on_held_data)
{
	struct conn *c = passive(OPT_MSS);

	EQ(sock_send(c, 100), 100);
	OUT(c, "P. 1:101(100) ack 1");
	EQ(sock_send(c, 100), 100);
	NOTHING();
	EQ(sock_close(c), 0);
	OUT(c, "F. 101:201(100) ack 1");
	IN(c, ". 1:1(0) ack 202");
	IN(c, "F. 1:1(0) ack 202");
	OUT(c, ". 202:202(0) ack 2");
	c->done = true;
}

SCENARIO(established_close_sends_queued_data_then_fin)
{
	struct conn *c = passive(OPT_MSS);

	IN(c, ". 1:1(0) ack 1 win 0");
	EQ(sock_send(c, 1000), 1000);
	EQ(sock_close(c), 0);
	NOTHING_FOR(100);
	IN(c, ". 1:1(0) ack 1 win 65535");
	OUT(c, "F. 1:1001(1000) ack 1");
	IN(c, ". 1:1(0) ack 1002");
	IN(c, "F. 1:1(0) ack 1002");
	OUT(c, ". 1002:1002(0) ack 2");
}

/* Linux (tcp_timewait_state_process): a SYN with a newer timestamp reuses a TIME_WAIT 4-tuple. */
SCENARIO(time_wait_new_syn_with_higher_ts_opens_new_connection)
{
	int l = listen_on(LISTEN_PORT, 16);
	struct conn *c = accept_conn(l, OPT_ALL, 0), *c2;

	EQ(sock_shutdown(c, SHUT_WR), 0);
	OUT(c, "F. 1:1(0) ack 1");
	IN(c, "F. 1:1(0) ack 2");
	OUT(c, ". 2:2(0) ack 2");
	STATE(c, TIME_WAIT);
	EQ(sock_close(c), 0);
	WAIT(1000);
	c2 = peer_conn(LISTEN_PORT, PEER_ISN + 1000000);
	c2->rport = c->rport;
	IN(c2, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 50000 ecr 0,nop,wscale 7>");
	OUT(c2, "S. 0:0(0) ack 1 <mss 1460,sackOK,TS val * ecr 50000,nop,wscale 7>");
	c2->ts = true;
	IN(c2, ". 1:1(0) ack 1");
	EQ(sock_accept(c2, l) >= 0, 1);
	STATE(c2, ESTABLISHED);
	c->done = true;
}

/* Linux: a SYN failing PAWS in TIME_WAIT gets the TIME_WAIT ACK, no new connection. */
SCENARIO(time_wait_syn_with_old_ts_gets_ack)
{
	int l = listen_on(LISTEN_PORT, 16);
	struct conn *c = accept_conn(l, OPT_ALL, 0), lc = { .fd = l };

	EQ(sock_shutdown(c, SHUT_WR), 0);
	OUT(c, "F. 1:1(0) ack 1");
	IN(c, "F. 1:1(0) ack 2");
	OUT(c, ". 2:2(0) ack 2");
	WAIT(1000);
	IN(c, "S 1000000:1000000(0) win 65535 <mss 1460,sackOK,TS val 10 ecr 0,nop,wscale 7>");
	OUT(c, ". 2:2(0) ack 2");
	EQ(sock_accept(&lc, l), -EAGAIN);
}

SCENARIO(established_shutdown_rd_recv_returns_zero)
{
	struct conn *c = passive(OPT_MSS);

	EQ(sock_shutdown(c, SHUT_RD), 0);
	EQ(sock_recv(c, 100), 0);
	NOTHING();
}
