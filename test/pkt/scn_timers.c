/*
 * Loss and timers: RTO (RFC 6298) with backoff and the give-up (docs/tcp.md: 15 retransmissions),
 * RTT samples from timestamps, fast retransmit and NewReno (RFC 5681, RFC 6582), limited transmit
 * (RFC 3042), keepalive (Linux's defaults and options), TCP_USER_TIMEOUT.
 *
 * RTO expectations use a handshake RTT R chosen so that RFC 6298 and Linux agree: the first
 * sample gives SRTT = R, RTTVAR = R/2, RTO = R + 4 * R/2 = 3R (R = 100 ms: 300 ms, above the 200 ms
 * minimum). Linux samples the handshake RTT (SYN-ACK to ACK, or SYN to SYN-ACK).
 */
#include "pkt.h"

/* Without timestamps the sample is the SYN-ACK's round trip (ACK 100 ms later). */
SCENARIO(syn_rcvd_rto_from_ack_rtt_no_ts)
{
	int l = listen_on(LISTEN_PORT, 16);
	struct conn *c = accept_conn(l, OPT_MSS, 100);

	EQ(sock_send(c, 1000), 1000);
	OUT(c, "P. 1:1001(1000) ack 1");
	OUT_AFTER(c, 300, "P. 1:1001(1000) ack 1");
}

SCENARIO(established_rto_retransmission_with_backoff)
{
	int l = listen_on(LISTEN_PORT, 16);
	struct conn *c = accept_conn(l, OPT_TS, 100);

	EQ(sock_send(c, 1000), 1000);
	OUT(c, "P. 1:1001(1000) ack 1");
	OUT_AFTER(c, 300, "P. 1:1001(1000) ack 1");
	OUT_AFTER(c, 600, "P. 1:1001(1000) ack 1");
	OUT_AFTER(c, 1200, "P. 1:1001(1000) ack 1");
	OUT_AFTER(c, 2400, "P. 1:1001(1000) ack 1");
	IN(c, ". 1:1(0) ack 1001");
	NOTHING_FOR(10000);
}

SCENARIO(syn_sent_rto_from_synack_rtt_no_ts)
{
	struct conn *c = connect_conn(OPT_MSS, 100);

	EQ(sock_send(c, 1000), 1000);
	OUT(c, "P. 1:1001(1000) ack 1");
	OUT_AFTER(c, 300, "P. 1:1001(1000) ack 1");
}

SCENARIO(syn_sent_rto_from_synack_rtt_ts)
{
	struct conn *c = connect_conn(OPT_TS, 100);

	EQ(sock_send(c, 1000), 1000);
	OUT(c, "P. 1:1001(1000) ack 1");
	OUT_AFTER(c, 300, "P. 1:1001(1000) ack 1");
}

/* With timestamps, the handshake RTT of 400 ms: RTO 1200 ms. */
SCENARIO(established_rto_from_handshake_ts_rtt)
{
	int l = listen_on(LISTEN_PORT, 16);
	struct conn *c = accept_conn(l, OPT_TS, 400); /* no SACK: no tail loss probe first */

	EQ(sock_send(c, 1000), 1000);
	OUT(c, "P. 1:1001(1000) ack 1 <nop,nop,TS val 400 ecr *>");
	OUT_AFTER(c, 1200, "P. 1:1001(1000) ack 1 <nop,nop,TS val 1600 ecr *>");
}

/* RFC 6298 §2.3, second sample R' = 400 ms equal to SRTT: RTTVAR = 3/4 * 200 = 150,
 * RTO = 400 + 4 * 150 = 1000 ms. (Linux's own estimator would give 1150 ms here.) */
SCENARIO(established_ts_rtt_sample_updates_rto)
{
	int l = listen_on(LISTEN_PORT, 16);
	struct conn *c = accept_conn(l, OPT_ALL, 400);

	EQ(sock_send(c, 1000), 1000);
	OUT(c, "P. 1:1001(1000) ack 1");
	WAIT(400);
	IN(c, ". 1:1(0) ack 1001"); /* echoes the TSval of the data: R' = 400 */
	EQ(sock_send(c, 1000), 1000);
	OUT(c, "P. 1001:2001(1000) ack 1");
	OUT_AFTER(c, 1000, "P. 1001:2001(1000) ack 1");
}

/* RFC 7323 §4: a TS sample is valid even for a retransmitted segment (no Karn ambiguity): the
 * ACK of the retransmission echoing the retransmission's TSval gives R = 100 ms. */
SCENARIO(established_ts_rtt_sample_from_retransmission)
{
	int l = listen_on(LISTEN_PORT, 16);
	struct conn *c = accept_conn(l, OPT_ALL, 100);
	struct tcp_info ti;

	EQ(sock_send(c, 1000), 1000);
	OUT(c, "P. 1:1001(1000) ack 1");
	OUT_AFTER(c, 300, "P. 1:1001(1000) ack 1");
	WAIT(100);
	IN(c, ". 1:1(0) ack 1001");
	EQ(sock_tcp_info(c, &ti), 0);
	CHECK_THAT(ti.tcpi_rtt >= 90000 && ti.tcpi_rtt <= 110000); /* SRTT stays about 100 ms */
}

/* docs/tcp.md: 15 retransmissions, then ETIMEDOUT, no RST; RTO capped at 120 s. */
SCENARIO(established_rto_retransmissions_exhausted_etimedout)
{
	int l = listen_on(LISTEN_PORT, 16);
	struct conn *c = accept_conn(l, OPT_TS, 100);
	uint64_t rto = 300;

	EQ(sock_send(c, 100), 100);
	OUT(c, "P. 1:101(100) ack 1");
	for (int i = 0; i < 15; i++) {
		OUT_AFTER(c, rto, "P. 1:101(100) ack 1");
		rto = rto * 2 > 120000 ? 120000 : rto * 2;
	}
	WAIT(rto - 1300);
	STATE(c, ESTABLISHED);
	NOTHING_FOR(2600);
	STATE(c, CLOSED);
	EQ(sock_error(c), ETIMEDOUT);
	EQ(sock_send(c, 10), -EPIPE);
	c->done = true;
}

/* RFC 5681 §3.1: after an RTO, cwnd = 1 segment; the ACK of it allows two (go-back-N). */
SCENARIO(established_rto_collapses_cwnd_to_one_segment)
{
	int l = listen_on(LISTEN_PORT, 16);
	struct conn *c = accept_conn(l, OPT_TS, 100);

	EQ(sock_send(c, 3 * 1448), 3 * 1448);
	OUT(c, "P. 1:1449(1448) ack 1");
	OUT(c, "P. 1449:2897(1448) ack 1");
	OUT(c, "P. 2897:4345(1448) ack 1");
	OUT_AFTER(c, 300, "P. 1:1449(1448) ack 1");
	NOTHING_FOR(10);
	IN(c, ". 1:1(0) ack 1449");
	OUT(c, "P. 1449:2897(1448) ack 1");
	OUT(c, "P. 2897:4345(1448) ack 1");
	NOTHING();
}

SCENARIO(established_three_dupacks_fast_retransmit)
{
	int l = listen_on(LISTEN_PORT, 16);
	struct conn *c = accept_conn(l, OPT_TS, 100);

	EQ(sock_send(c, 4 * 1448), 4 * 1448);
	for (int i = 0; i < 4; i++)
		OUT(c, seg("P. %d:%d(1448) ack 1", 1 + 1448 * i, 1 + 1448 * (i + 1)));
	IN(c, ". 1:1(0) ack 1");
	IN(c, ". 1:1(0) ack 1");
	NOTHING();
	IN(c, ". 1:1(0) ack 1");
	OUT(c, "P. 1:1449(1448) ack 1");
	IN(c, ". 1:1(0) ack 5793");
	NOTHING_FOR(2000);
}

SCENARIO(established_two_dupacks_no_retransmit)
{
	int l = listen_on(LISTEN_PORT, 16);
	struct conn *c = accept_conn(l, OPT_TS, 100);

	EQ(sock_send(c, 3 * 1448), 3 * 1448);
	for (int i = 0; i < 3; i++)
		OUT(c, seg("P. %d:%d(1448) ack 1", 1 + 1448 * i, 1 + 1448 * (i + 1)));
	IN(c, ". 1:1(0) ack 1");
	IN(c, ". 1:1(0) ack 1");
	NOTHING_FOR(150); /* less than any RTO (200 ms minimum) */
}

/* A window update is not a duplicate ACK (RFC 5681 §2, condition e). */
SCENARIO(established_window_updates_not_counted_as_dupacks)
{
	int l = listen_on(LISTEN_PORT, 16);
	struct conn *c = accept_conn(l, OPT_TS, 100);

	EQ(sock_send(c, 3 * 1448), 3 * 1448);
	for (int i = 0; i < 3; i++)
		OUT(c, seg("P. %d:%d(1448) ack 1", 1 + 1448 * i, 1 + 1448 * (i + 1)));
	IN(c, ". 1:1(0) ack 1 win 60000");
	IN(c, ". 1:1(0) ack 1 win 61000");
	IN(c, ". 1:1(0) ack 1 win 62000");
	NOTHING_FOR(150);
}

/* RFC 3042 then RFC 5681 §3.2 then RFC 6582 §3.2: segments 1 and 5 lost. Two dup ACKs send new
 * segments 11 and 12; the third retransmits 1; the partial ACK (up to 5) retransmits 5 at once;
 * the full ACK ends recovery. */
SCENARIO(established_limited_transmit_fast_retransmit_newreno_partial_ack)
{
	int l = listen_on(LISTEN_PORT, 16);
	struct conn *c = accept_conn(l, OPT_TS, 100);

	EQ(sock_send(c, 12 * 1448), 12 * 1448);
	for (int i = 0; i < 10; i++)
		OUT(c, seg("P. %d:%d(1448) ack 1", 1 + 1448 * i, 1 + 1448 * (i + 1)));
	NOTHING();
	IN(c, ". 1:1(0) ack 1");
	OUT(c, "P. 14481:15929(1448) ack 1");
	IN(c, ". 1:1(0) ack 1");
	OUT(c, "P. 15929:17377(1448) ack 1");
	IN(c, ". 1:1(0) ack 1");
	OUT(c, "P. 1:1449(1448) ack 1");
	NOTHING();
	IN(c, ". 1:1(0) ack 5793");
	OUT(c, "P. 5793:7241(1448) ack 1");
	NOTHING();
	IN(c, ". 1:1(0) ack 17377");
	NOTHING_FOR(2000);
}

/* RFC 2018 + Linux: with SACK, dup ACKs carrying SACK blocks trigger the same retransmission. */
SCENARIO(established_sack_dupacks_fast_retransmit)
{
	int l = listen_on(LISTEN_PORT, 16);
	struct conn *c = accept_conn(l, OPT_SACK_NO_WS, 100);

	EQ(sock_send(c, 4 * 1460), 4 * 1460);
	for (int i = 0; i < 4; i++)
		OUT(c, seg("P. %d:%d(1460) ack 1", 1 + 1460 * i, 1 + 1460 * (i + 1)));
	IN(c, ". 1:1(0) ack 1 <nop,nop,sack 1461:2921>");
	IN(c, ". 1:1(0) ack 1 <nop,nop,sack 1461:4381>");
	IN(c, ". 1:1(0) ack 1 <nop,nop,sack 1461:5841>");
	OUT(c, "P. 1:1461(1460) ack 1");
	IN(c, ". 1:1(0) ack 5841");
	NOTHING_FOR(2000);
}

/* ---- keepalive (docs/tcp.md; Linux: probe = SND.UNA - 1, no data; RST when it gives up) ---- */

static void keepalive_on(struct conn *c, int idle, int intvl, int cnt)
{
	EQ(sock_setopt(c, IPPROTO_TCP, TCP_KEEPIDLE, idle), 0);
	EQ(sock_setopt(c, IPPROTO_TCP, TCP_KEEPINTVL, intvl), 0);
	EQ(sock_setopt(c, IPPROTO_TCP, TCP_KEEPCNT, cnt), 0);
	EQ(sock_setopt(c, SOL_SOCKET, SO_KEEPALIVE, 1), 0);
}

/* Linux: TCP_KEEPIDLE set while keepalive is on re-arms the timer with the new idle time. */
SCENARIO(established_keepidle_after_so_keepalive_applies)
{
	struct conn *c = passive(OPT_MSS);

	EQ(sock_setopt(c, SOL_SOCKET, SO_KEEPALIVE, 1), 0);
	EQ(sock_setopt(c, IPPROTO_TCP, TCP_KEEPIDLE, 10), 0);
	OUT_AFTER(c, 10000, ". 0:0(0) ack 1");
}

SCENARIO(established_keepalive_probes_then_timeout)
{
	struct conn *c = passive(OPT_MSS);

	keepalive_on(c, 10, 2, 3);
	OUT_AFTER(c, 10000, ". 0:0(0) ack 1");
	OUT_AFTER(c, 2000, ". 0:0(0) ack 1");
	OUT_AFTER(c, 2000, ". 0:0(0) ack 1");
	WAIT(2010); /* the 4th interval passes unanswered: the connection fails */
	STATE(c, CLOSED);
	EQ(sock_error(c), ETIMEDOUT);
	OUT(c, "R. 1:1(0) ack 1"); /* Linux (tcp_keepalive_timer): RST when giving up */
	c->done = true;
}

SCENARIO(established_keepalive_answered_connection_stays)
{
	struct conn *c = passive(OPT_MSS);

	keepalive_on(c, 10, 2, 3);
	OUT_AFTER(c, 10000, ". 0:0(0) ack 1");
	IN(c, ". 1:1(0) ack 1");
	OUT_AFTER(c, 10000, ". 0:0(0) ack 1");
	IN(c, ". 1:1(0) ack 1");
	STATE(c, ESTABLISHED);
}

SCENARIO(established_keepalive_default_7200s_75s)
{
	struct conn *c = passive(OPT_MSS);

	EQ(sock_setopt(c, SOL_SOCKET, SO_KEEPALIVE, 1), 0);
	EQ(sock_getopt(c, IPPROTO_TCP, TCP_KEEPIDLE), 7200);
	EQ(sock_getopt(c, IPPROTO_TCP, TCP_KEEPINTVL), 75);
	EQ(sock_getopt(c, IPPROTO_TCP, TCP_KEEPCNT), 9);
	OUT_AFTER(c, 7200000, ". 0:0(0) ack 1");
	OUT_AFTER(c, 75000, ". 0:0(0) ack 1");
}

SCENARIO(established_keepalive_off_by_default)
{
	struct conn *c = passive(OPT_MSS);

	EQ(sock_getopt(c, SOL_SOCKET, SO_KEEPALIVE), 0);
	NOTHING_FOR(8000000);
	STATE(c, ESTABLISHED);
}

/* Linux: TCP_USER_TIMEOUT clamps the RTO so that the connection fails at the timeout, without
 * RST. RTO 300 ms: retransmissions at 300, 900, 2100, 4500 ms; ETIMEDOUT at 5000 ms. */
SCENARIO(established_user_timeout_aborts_unacked_data)
{
	int l = listen_on(LISTEN_PORT, 16);
	struct conn *c = accept_conn(l, OPT_TS, 100);
	uint64_t start;

	EQ(sock_setopt(c, IPPROTO_TCP, TCP_USER_TIMEOUT, 5000), 0);
	EQ(sock_getopt(c, IPPROTO_TCP, TCP_USER_TIMEOUT), 5000);
	start = now_ms();
	EQ(sock_send(c, 100), 100);
	OUT(c, "P. 1:101(100) ack 1");
	OUT_AFTER(c, 300, "P. 1:101(100) ack 1");
	OUT_AFTER(c, 600, "P. 1:101(100) ack 1");
	OUT_AFTER(c, 1200, "P. 1:101(100) ack 1");
	OUT_AFTER(c, 2400, "P. 1:101(100) ack 1");
	WAIT(start + 4980 - now_ms());
	STATE(c, ESTABLISHED);
	NOTHING_FOR(40);
	STATE(c, CLOSED);
	EQ(sock_error(c), ETIMEDOUT);
	c->done = true;
}

/* ---- SACK recovery: NextSeg rules 3 and 4 (RFC 6675 §4, §5) ---- */

/*
 * Ten segments, the whole send queue; segments 1 and 10 are lost, and so is the first
 * retransmission of 10. cwnd in recovery = ssthresh = 5 segments (RFC 5681 eq. 4).
 * - 3rd SACKed dup ACK: fast retransmit of 1 (HighRxt = RescueRxt = its end, §5 step 4).
 * - The pipe falls as 5..9 are SACKed; no new data can go (rule 2 fails), so rule 3 resends the
 *   first unSACKed segments above HighRxt although they are not lost yet: 8, then 9 and 10.
 * - The ACK of 1 (cumulative to the end of 9) is partial and passes RescueRxt; nothing unSACKed
 *   is above HighRxt, so rule 4 sends the rescue: segment 10 again, once. Its ACK ends recovery
 *   with no retransmission timeout.
 */
SCENARIO(established_sack_tail_loss_rescue_retransmission)
{
	int l = listen_on(LISTEN_PORT, 16);
	struct conn *c = accept_conn(l, OPT_SACK_NO_WS, 100);

	EQ(sock_send(c, 10 * 1460), 10 * 1460);
	for (int i = 0; i < 10; i++)
		OUT(c, seg("P. %d:%d(1460) ack 1", 1 + 1460 * i, 1 + 1460 * (i + 1)));
	IN(c, ". 1:1(0) ack 1 <nop,nop,sack 1461:2921>");
	IN(c, ". 1:1(0) ack 1 <nop,nop,sack 1461:4381>");
	NOTHING();
	IN(c, ". 1:1(0) ack 1 <nop,nop,sack 1461:5841>");
	OUT(c, "P. 1:1461(1460) ack 1"); /* rule 1 */
	NOTHING();
	IN(c, ". 1:1(0) ack 1 <nop,nop,sack 1461:7301>");
	IN(c, ". 1:1(0) ack 1 <nop,nop,sack 1461:8761>");
	NOTHING();
	IN(c, ". 1:1(0) ack 1 <nop,nop,sack 1461:10221>");
	OUT(c, "P. 10221:11681(1460) ack 1"); /* rule 3: segment 8 */
	NOTHING();
	IN(c, ". 1:1(0) ack 1 <nop,nop,sack 1461:11681>");
	OUT(c, "P. 11681:13141(1460) ack 1"); /* rule 3: 9 */
	OUT(c, "P. 13141:14601(1460) ack 1"); /* rule 3: 10 (lost again) */
	NOTHING();
	IN(c, ". 1:1(0) ack 1 <nop,nop,sack 1461:13141>");
	NOTHING(); /* rule 4 waits for HighACK to pass RescueRxt */
	IN(c, ". 1:1(0) ack 13141");
	OUT(c, "P. 13141:14601(1460) ack 1"); /* rule 4: the rescue */
	NOTHING();
	COUNTER("tcp_rexmit_rescue", 1);
	IN(c, ". 1:1(0) ack 14601");
	NOTHING_FOR(3000);
	COUNTER("tcp_rexmit_rto", 0);
	COUNTER("tcp_rexmit_fast", 5);
}

/* One rescue per recovery: a second partial ACK with the tail still missing gets none. */
SCENARIO(established_sack_rescue_only_once_per_recovery)
{
	int l = listen_on(LISTEN_PORT, 16);
	struct conn *c = accept_conn(l, OPT_SACK_NO_WS, 100);

	EQ(sock_send(c, 10 * 1460), 10 * 1460);
	for (int i = 0; i < 10; i++)
		OUT(c, seg("P. %d:%d(1460) ack 1", 1 + 1460 * i, 1 + 1460 * (i + 1)));
	IN(c, ". 1:1(0) ack 1 <nop,nop,sack 1461:2921>");
	IN(c, ". 1:1(0) ack 1 <nop,nop,sack 1461:4381>");
	IN(c, ". 1:1(0) ack 1 <nop,nop,sack 1461:5841>");
	OUT(c, "P. 1:1461(1460) ack 1");
	IN(c, ". 1:1(0) ack 1 <nop,nop,sack 1461:7301>");
	IN(c, ". 1:1(0) ack 1 <nop,nop,sack 1461:8761>");
	IN(c, ". 1:1(0) ack 1 <nop,nop,sack 1461:10221>");
	OUT(c, "P. 10221:11681(1460) ack 1");
	IN(c, ". 1:1(0) ack 1 <nop,nop,sack 1461:11681>");
	OUT(c, "P. 11681:13141(1460) ack 1");
	OUT(c, "P. 13141:14601(1460) ack 1");
	IN(c, ". 1:1(0) ack 11681");
	OUT(c, "P. 13141:14601(1460) ack 1"); /* the rescue */
	IN(c, ". 1:1(0) ack 13141");
	NOTHING(); /* still in recovery, rescue spent: the RTO is left to recover 10 */
	COUNTER("tcp_rexmit_rescue", 1);
	OUT_AFTER(c, 300, "P. 13141:14601(1460) ack 1");
	COUNTER("tcp_rexmit_rto", 1);
}

/* ---- tail loss probe (RFC 8985 §7; docs/tcp.md) ---- */

/* SRTT 100 ms, four segments and nothing more to send, no ACK: at PTO = 2 SRTT (before the
 * 300 ms RTO) the last segment goes again. The ACK for all of it is not beyond the probe, so the
 * episode stays open; the ACK of later data, with no D-SACK seen, shows the probe repaired a loss:
 * the congestion response of a fast recovery (NewReno: ssthresh = max(FlightSize / 2, 2 MSS)). */
SCENARIO(established_sack_tail_loss_probe_repairs_lost_last_segment)
{
	int l = listen_on(LISTEN_PORT, 16);
	struct conn *c = accept_conn(l, OPT_SACK_NO_WS, 100);
	struct tcp_info ti;

	EQ(sock_send(c, 4 * 1460), 4 * 1460);
	for (int i = 0; i < 4; i++)
		OUT(c, seg("P. %d:%d(1460) ack 1", 1 + 1460 * i, 1 + 1460 * (i + 1)));
	OUT_AFTER(c, 200, "P. 4381:5841(1460) ack 1");
	COUNTER("tcp_tlp_probes", 1);
	IN(c, ". 1:1(0) ack 5841");
	NOTHING_FOR(1000); /* no RTO: all acknowledged */
	EQ(sock_send(c, 1000), 1000);
	OUT(c, "P. 5841:6841(1000) ack 1");
	IN(c, ". 1:1(0) ack 6841");
	COUNTER("tcp_tlp_recoveries", 1);
	EQ(sock_tcp_info(c, &ti), 0);
	EQ(ti.tcpi_snd_cwnd, 2);
	COUNTER("tcp_rexmit_rto", 0);
}

/* The peer had the last segment after all: its D-SACK for the probe (RFC 2883) ends the episode
 * with no congestion response. */
SCENARIO(established_sack_tail_loss_probe_dsack_no_cwnd_reduction)
{
	int l = listen_on(LISTEN_PORT, 16);
	struct conn *c = accept_conn(l, OPT_SACK_NO_WS, 100);
	struct tcp_info ti;

	EQ(sock_send(c, 4 * 1460), 4 * 1460);
	for (int i = 0; i < 4; i++)
		OUT(c, seg("P. %d:%d(1460) ack 1", 1 + 1460 * i, 1 + 1460 * (i + 1)));
	OUT_AFTER(c, 200, "P. 4381:5841(1460) ack 1");
	IN(c, ". 1:1(0) ack 5841 <nop,nop,sack 4381:5841>");
	EQ(sock_send(c, 1000), 1000);
	OUT(c, "P. 5841:6841(1000) ack 1");
	IN(c, ". 1:1(0) ack 6841");
	COUNTER("tcp_tlp_recoveries", 0);
	EQ(sock_tcp_info(c, &ti), 0);
	EQ(ti.tcpi_snd_cwnd, 10);
}

/* cwnd full (10 segments) with more data queued: the probe is the next new segment, whatever
 * cwnd says (§7.3); one probe only, then the RTO (300 ms after the probe). */
SCENARIO(established_sack_tail_loss_probe_sends_new_data_then_rto)
{
	int l = listen_on(LISTEN_PORT, 16);
	struct conn *c = accept_conn(l, OPT_SACK_NO_WS, 100);

	EQ(sock_send(c, 12 * 1460), 12 * 1460);
	for (int i = 0; i < 10; i++)
		OUT(c, seg("P. %d:%d(1460) ack 1", 1 + 1460 * i, 1 + 1460 * (i + 1)));
	OUT_AFTER(c, 200, "P. 14601:16061(1460) ack 1");
	OUT_AFTER(c, 300, "P. 1:1461(1460) ack 1"); /* the RTO */
	COUNTER("tcp_tlp_probes", 1);
	COUNTER("tcp_rexmit_rto", 1);
}

/* No probe without SACK, nor when the RTO comes first: one segment in flight gets 2 SRTT plus
 * the peer's worst-case delayed ACK (200 ms): 400 ms, after the 300 ms RTO. */
SCENARIO(established_single_segment_rto_before_pto_no_probe)
{
	int l = listen_on(LISTEN_PORT, 16);
	struct conn *c = accept_conn(l, OPT_SACK_NO_WS, 100);

	EQ(sock_send(c, 1000), 1000);
	OUT(c, "P. 1:1001(1000) ack 1");
	OUT_AFTER(c, 300, "P. 1:1001(1000) ack 1");
	COUNTER("tcp_tlp_probes", 0);
}
