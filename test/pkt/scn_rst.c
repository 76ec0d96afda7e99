/*
 * Resets and blind-attack defences (RFC 5961, RFC 9293 §3.10.7.4), PAWS (RFC 7323 §5), and
 * malformed segments dropped and counted (docs/tcp.md; drop_tcp_* counters).
 */
#include "pkt.h"

#include "dev.h"

SCENARIO(established_rst_exact_seq_resets_econnreset)
{
	struct conn *c = passive(OPT_MSS);

	IN(c, "R 1:1(0)");
	STATE(c, CLOSED);
	EVENTS(c, EPOLLERR | EPOLLHUP, EPOLLERR | EPOLLHUP);
	EQ(sock_recv(c, 100), -ECONNRESET);
	COUNTER("tcp_rst_rx", 1);
	NOTHING();
	c->done = true;
}

SCENARIO(established_rst_exact_send_reports_econnreset)
{
	struct conn *c = passive(OPT_MSS);

	IN(c, "R. 1:1(0) ack 1");
	EQ(sock_send(c, 100), -ECONNRESET);
	NOTHING();
	c->done = true;
}

/* RFC 5961 §3.2: in the window but not exactly RCV.NXT: challenge ACK, connection kept. */
SCENARIO(established_rst_in_window_challenge_ack)
{
	struct conn *c = passive(OPT_MSS);

	IN(c, "R 1001:1001(0)");
	OUT(c, ". 1:1(0) ack 1");
	STATE(c, ESTABLISHED);
	COUNTER("tcp_challenge_ack_tx", 1);
	/* The legitimate peer answers the challenge with a RST at the ACK number. */
	IN(c, "R 1:1(0)");
	STATE(c, CLOSED);
	c->done = true;
}

SCENARIO(established_rst_out_of_window_ignored)
{
	struct conn *c = passive(OPT_MSS);

	IN(c, "R 200001:200001(0)"); /* our window is 65535 */
	NOTHING();
	STATE(c, ESTABLISHED);
	IN(c, "R -100:-100(0)");
	NOTHING();
	STATE(c, ESTABLISHED);
}

/* RFC 5961 §4: a SYN in a synchronized state gets a challenge ACK. */
SCENARIO(established_syn_challenge_ack)
{
	struct conn *c = passive(OPT_MSS);

	IN(c, "S 500:500(0) win 65535 <mss 1460>");
	OUT(c, ". 1:1(0) ack 1");
	STATE(c, ESTABLISHED);
	COUNTER("tcp_challenge_ack_tx", 1);
}

SCENARIO(established_syn_at_rcv_nxt_challenge_ack)
{
	struct conn *c = passive(OPT_MSS);

	IN(c, "S 1:1(0) win 65535 <mss 1460>");
	OUT(c, ". 1:1(0) ack 1");
	STATE(c, ESTABLISHED);
}

/* RFC 9293 §3.10.7.4 / RFC 5961 §5.2: an ACK of data never sent: ACK, drop the segment. */
SCENARIO(established_ack_of_unsent_data_acked_and_dropped)
{
	struct conn *c = passive(OPT_MSS);

	IN(c, "P. 1:11(10) ack 1000");
	OUT(c, ". 1:1(0) ack 1");
	EQ(sock_recv(c, 100), -EAGAIN);
	STATE(c, ESTABLISHED);
	IN(c, "P. 1:11(10) ack 1");
	OUT(c, ". 1:1(0) ack 11");
}

/* RFC 5961 §5.2: SEG.ACK < SND.UNA - MAX.SND.WND: challenge ACK, segment dropped. */
SCENARIO(established_ack_too_old_challenge_ack_dropped)
{
	struct conn *c = passive(OPT_MSS);

	IN(c, "P. 1:11(10) ack -100000");
	OUT(c, ". 1:1(0) ack 1");
	EQ(sock_recv(c, 100), -EAGAIN);
	COUNTER("tcp_challenge_ack_tx", 1);
}

/* An old but acceptable ACK (within MAX.SND.WND below SND.UNA) is ignored, data accepted. */
SCENARIO(established_old_ack_within_window_data_accepted)
{
	struct conn *c = passive(OPT_MSS);

	EQ(sock_send(c, 100), 100);
	OUT(c, "P. 1:101(100) ack 1");
	IN(c, ". 1:1(0) ack 101");
	IN(c, "P. 1:11(10) ack 50");
	OUT(c, ". 101:101(0) ack 11");
	EQ(sock_recv(c, 100), 10);
}

/* RFC 7323 §5.3: TSval older than TS.Recent: drop, send an ACK. */
SCENARIO(established_paws_old_tsval_dropped_with_ack)
{
	struct conn *c = passive(OPT_ALL);

	IN(c, "P. 1:11(10) ack 1 <nop,nop,TS val 50 ecr 0>");
	OUT(c, ". 1:1(0) ack 1 <nop,nop,TS val * ecr 100>");
	EQ(sock_recv(c, 100), -EAGAIN);
	COUNTER("drop_tcp_paws", 1);
	IN(c, "P. 1:11(10) ack 1"); /* the peer's clock as it should be */
	OUT(c, ". 1:1(0) ack 11 <nop,nop,TS val * ecr *>");
	EQ(sock_recv(c, 100), 10);
}

/* RFC 7323 §4.3: TS.Recent follows the peer; our ACK echoes its latest in-order TSval. */
SCENARIO(established_ts_ecr_echoes_latest_in_order_tsval)
{
	struct conn *c = passive(OPT_ALL);

	WAIT(100);
	IN(c, "P. 1:11(10) ack 1 <nop,nop,TS val 700 ecr 0>");
	OUT(c, ". 1:1(0) ack 11 <nop,nop,TS val 100 ecr 700>");
}

SCENARIO(fin_wait_1_rst_exact_closes)
{
	struct conn *c = passive(OPT_MSS);

	EQ(sock_shutdown(c, SHUT_WR), 0);
	OUT(c, "F. 1:1(0) ack 1");
	IN(c, "R 1:1(0)");
	STATE(c, CLOSED);
	c->done = true;
}

SCENARIO(close_wait_rst_exact_closes)
{
	struct conn *c = passive(OPT_MSS);

	IN(c, "F. 1:1(0) ack 1");
	OUT(c, ". 1:1(0) ack 2");
	IN(c, "R 2:2(0)");
	STATE(c, CLOSED);
	c->done = true;
}

/* RFC 9293 §3.10.7.4 (and Linux without rfc1337): a RST in TIME_WAIT ends it. */
SCENARIO(time_wait_rst_closes)
{
	struct conn *c = passive(OPT_MSS);

	EQ(sock_shutdown(c, SHUT_WR), 0);
	OUT(c, "F. 1:1(0) ack 1");
	IN(c, "F. 1:1(0) ack 2");
	OUT(c, ". 2:2(0) ack 2");
	IN(c, "R 2:2(0)");
	STATE(c, CLOSED);
	NOTHING();
	c->done = true;
}

SCENARIO(established_out_of_window_data_acked_and_dropped)
{
	struct conn *c = passive(OPT_MSS);

	IN(c, "P. 100001:100011(10) ack 1"); /* beyond our 65535-byte window */
	OUT(c, ". 1:1(0) ack 1");
	EQ(sock_recv(c, 100), -EAGAIN);
}

/* ---- malformed segments: dropped, counted, nothing sent ---- */

SCENARIO(established_bad_checksum_dropped_counted)
{
	struct conn *c = passive(OPT_MSS);

	IN_MOD(c, "P. 1:11(10) ack 1", .bad_csum = true);
	NOTHING();
	COUNTER("drop_tcp_csum", 1);
	EQ(sock_recv(c, 100), -EAGAIN);
	IN(c, "P. 1:11(10) ack 1");
	OUT(c, ". 1:1(0) ack 11");
}

SCENARIO(listen_syn_bad_checksum_no_synack)
{
	int l = listen_on(LISTEN_PORT, 16);
	struct conn *c = peer_conn(LISTEN_PORT, PEER_ISN);

	(void)l;
	IN_MOD(c, "S 0:0(0) win 65535 <mss 1460>", .bad_csum = true);
	NOTHING();
	COUNTER("drop_tcp_csum", 1);
	c->done = true;
}

SCENARIO(established_option_length_past_header_dropped)
{
	static const uint8_t opts[] = { 1, 1, 8, 12 }; /* TS claiming 12 bytes of a 4-byte area */
	struct conn *c = passive(OPT_MSS);

	IN_MOD(c, "P. 1:11(10) ack 1", .raw_opts = opts, .raw_opts_len = sizeof(opts));
	NOTHING();
	COUNTER("drop_tcp_opt", 1);
	EQ(sock_recv(c, 100), -EAGAIN);
}

SCENARIO(listen_syn_mss_option_length_3_dropped)
{
	static const uint8_t opts[] = { 2, 3, 5, 1 }; /* MSS must be 4 bytes long */
	int l = listen_on(LISTEN_PORT, 16);
	struct conn *c = peer_conn(LISTEN_PORT, PEER_ISN);

	(void)l;
	IN_MOD(c, "S 0:0(0) win 65535", .raw_opts = opts, .raw_opts_len = sizeof(opts));
	NOTHING();
	COUNTER("drop_tcp_opt", 1);
	c->done = true;
}

SCENARIO(established_data_offset_beyond_segment_dropped)
{
	struct conn *c = passive(OPT_MSS);

	IN_MOD(c, "P. 1:11(10) ack 1", .doff = 15); /* 60-byte header in a 30-byte segment */
	NOTHING();
	COUNTER("drop_tcp_doff", 1);
	EQ(sock_recv(c, 100), -EAGAIN);
}

SCENARIO(established_data_offset_below_20_dropped)
{
	struct conn *c = passive(OPT_MSS);

	IN_MOD(c, "P. 1:11(10) ack 1", .doff = 4);
	NOTHING();
	COUNTER("drop_tcp_doff", 1);
}

/* ---- checksum offload (docs/tcp.md "Checksums"; the in-memory device emulates a NIC) ---- */

/* With transmit offload every segment leaves with the IPv4 checksum field 0 and the TCP field
 * holding the pseudo-header sum (the driver contract, checked by the device, which then fills in
 * both; the script checks the results as always). A segment whose payload chain has an odd-sized
 * buffer before its last is summed in software instead (net_tap's per-buffer sum, tcp_output.c):
 * the 1-byte segment and the next 3000 bytes share the queue's first buffer, so the third segment
 * spans 599 + 849 bytes of two buffers. */
SCENARIO(established_tx_csum_offload_device_fills_checksums)
{
	struct conn *c;
	uint64_t ok, bad;

	pkt_dev_csum(DPS_DEV_TX_IP_CSUM | DPS_DEV_TX_TCP_CSUM);
	c = passive(OPT_ALL); /* the SYN-ACK: offloaded */
	EQ(sock_setopt(c, IPPROTO_TCP, TCP_NODELAY, 1), 0);
	EQ(sock_send(c, 1), 1);
	OUT(c, "P. 1:2(1) ack 1");
	EQ(sock_send(c, 3000), 3000); /* appended to the 1-byte segment's buffer */
	OUT(c, ". 2:1450(1448) ack 1");
	OUT(c, ". 1450:2898(1448) ack 1"); /* software: the chain is 599 + 849 bytes */
	OUT(c, "P. 2898:3002(104) ack 1");
	IN(c, "P. 1:101(100) ack 3002");
	OUT(c, ". 3002:3002(0) ack 101"); /* a pure ACK: offloaded */
	pkt_dev_csum_stats(&ok, &bad);
	EQ(bad, 0);
	EQ(ok, 6); /* every frame left its IPv4 checksum to the device */
	COUNTER("tx_csum_offload", 5); /* and all but the 599 + 849 one their TCP checksum */
}

/* With receive offload the device's verdict stands: GOOD segments are not summed again (counted
 * in rx_csum_offload), a BAD one is dropped and counted as a software check would. */
SCENARIO(established_rx_csum_offload_good_trusted_bad_dropped)
{
	struct conn *c;

	pkt_dev_csum(DPS_DEV_RX_IP_CSUM | DPS_DEV_RX_TCP_CSUM);
	c = passive(OPT_MSS);
	COUNTER("rx_csum_offload", 2); /* SYN, ACK */
	IN(c, "P. 1:101(100) ack 1");
	OUT(c, ". 1:1(0) ack 101");
	COUNTER("rx_csum_offload", 3);
	IN_MOD(c, "P. 101:201(100) ack 1", .bad_csum = true);
	NOTHING();
	COUNTER("drop_tcp_csum", 1);
	COUNTER("rx_csum_offload", 3);
	EQ(sock_recv(c, 1000), 100);
}

/* ---- unknown options (RFC 9293 §3.2: skipped by their length) ---- */

SCENARIO(listen_syn_unknown_options_skipped_synack_sent)
{
	/* kind 30 (MPTCP) length 4, kind 34 (TFO cookie request) length 2, then MSS 1000. */
	static const uint8_t opts[] = { 30, 4, 0, 0, 34, 2, 2, 4, 0x03, 0xe8, 1, 1 };
	int l = listen_on(LISTEN_PORT, 16);
	struct conn *c = peer_conn(LISTEN_PORT, PEER_ISN);

	IN_MOD(c, "S 0:0(0) win 65535", .raw_opts = opts, .raw_opts_len = sizeof(opts));
	OUT(c, "S. 0:0(0) ack 1 <mss 1460>"); /* nothing of them echoed */
	IN(c, ". 1:1(0) ack 1");
	EQ(sock_accept(c, l) >= 0, 1);
	EQ(sock_send(c, 2000), 2000);
	OUT(c, "P. 1:1001(1000) ack 1"); /* the MSS after them was read */
	OUT(c, "P. 1001:2001(1000) ack 1");
	NOTHING();
	COUNTER("drop_tcp_opt", 0);
}

SCENARIO(established_unknown_option_on_data_skipped_data_accepted)
{
	static const uint8_t opts[] = { 253, 4, 0xab, 0xcd }; /* RFC 6994 experimental */
	struct conn *c = passive(OPT_MSS);

	IN_MOD(c, "P. 1:11(10) ack 1", .raw_opts = opts, .raw_opts_len = sizeof(opts));
	OUT(c, ". 1:1(0) ack 11");
	EQ(sock_recv(c, 100), 10);
	COUNTER("drop_tcp_opt", 0);
}
