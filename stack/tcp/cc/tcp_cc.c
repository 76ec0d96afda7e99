/*
 * tcp_cc: congestion control behind an ops table (TCP_CONGESTION). NewReno here (RFC 5681 slow
 * start and congestion avoidance, growing only while cwnd-limited, RFC 7661; the recovery itself,
 * RFC 6582, is in tcp_input.c); CUBIC
 * (RFC 9438) is in tcp_cubic.c. Windows are in bytes.
 */
#include "tcp.h"

#include <string.h>

static uint32_t flight_size(const struct dps_tcb *t)
{
	return t->snd_max - t->snd_una;
}

/*
 * RFC 7661 §3 / RFC 9438 §5.8: did cwnd limit the flight an ACK found outstanding (SND.MAX -
 * SND.UNA before it, Linux's packets_out)? Yes when less than a segment of cwnd was left, or in
 * slow start when the flight was more than half of cwnd (Linux tcp_is_cwnd_limited: slow start
 * may double what was in flight). Otherwise the application (no data, Nagle) or the peer's
 * window held the flight back, and cwnd must not grow from its ACKs (Linux: tcp_reno_cong_avoid
 * and cubictcp_cong_avoid return early when !tcp_is_cwnd_limited).
 */
void dps_tcp_cc_note_flight(struct dps_tcb *t, uint32_t flight)
{
	bool limited = (uint64_t)flight + t->mss > t->cwnd ||
		       (t->cwnd < t->ssthresh && 2ull * flight > t->cwnd);

	if (limited)
		t->flags &= ~(uint32_t)DPS_TF_APP_LIMITED;
	else
		t->flags |= DPS_TF_APP_LIMITED;
}

static void newreno_init(struct dps_tcb *t)
{
	/* RFC 6928: IW = min(10*MSS, max(2*MSS, 14600)) */
	uint32_t iw = 10u * t->mss, cap = 2u * t->mss > 14600u ? 2u * t->mss : 14600u;

	t->cwnd = iw < cap ? iw : cap;
	t->ssthresh = 0x7fffffff; /* RFC 5681 §3.1: arbitrarily high */
}

static void newreno_on_ack(struct dps_tcb *t, uint32_t acked, uint64_t now_us)
{
	(void)now_us;
	/* RFC 7661 §4.3 (Linux tcp_reno_cong_avoid): no growth while not cwnd-limited. */
	if (!dps_tcp_cwnd_limited(t))
		return;
	if (t->cwnd < t->ssthresh) /* slow start, RFC 5681 §3.1 (appropriate byte counting, L=1) */
		t->cwnd += acked < t->mss ? acked : t->mss;
	else /* congestion avoidance: about one MSS per RTT (RFC 5681 eq. 3) */
		t->cwnd += (uint32_t)((uint64_t)t->mss * t->mss / t->cwnd) ?: 1;
}

static void newreno_on_loss(struct dps_tcb *t)
{
	uint32_t half = flight_size(t) / 2, min = 2u * t->mss;

	t->ssthresh = half > min ? half : min; /* RFC 5681 eq. 4 */
}

static void newreno_on_rto(struct dps_tcb *t)
{
	newreno_on_loss(t);
	t->cwnd = t->mss; /* RFC 5681 §3.1: loss window, one segment */
}

const struct dps_tcp_cc_ops dps_tcp_newreno = {
	.name = "newreno",
	.init = newreno_init,
	.on_ack = newreno_on_ack,
	.on_loss = newreno_on_loss,
	.on_rto = newreno_on_rto,
};

const struct dps_tcp_cc_ops *dps_tcp_cc_find(const char *name)
{
	if (name != NULL && (strcmp(name, "newreno") == 0 || strcmp(name, "reno") == 0))
		return &dps_tcp_newreno;
	if (name != NULL && strcmp(name, "cubic") == 0)
		return &dps_tcp_cubic;
	return NULL;
}
