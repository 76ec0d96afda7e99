/*
 * tcp_cubic: CUBIC congestion control (RFC 9438) behind the ops table of tcp_cc.c
 * (TCP_CONGESTION "cubic", engine option tcp_cc=cubic).
 *
 * Call order (tcp_input.c, tcp_timer.c): init() when the MSS is known; on_ack() for every ACK of
 * new data outside recovery; on_loss() when fast recovery starts (the caller then sets cwnd from
 * ssthresh, RFC 6582 / RFC 6675); on_rto() when the retransmission timer expires. Recovery itself,
 * and the window during it, belong to tcp_input.c as for NewReno.
 *
 * Windows are bytes; the RFC's formulas are in segments, so every W below is the RFC's value
 * times the MSS. Time is the now_us of on_ack(), never a clock read. Everything is integer: the
 * cubic term is computed in ticks of 2^-10 s, K with an integer cube root, fractions of a byte
 * carried between ACKs in remainders so that small windows and large ones grow at the same rate.
 *
 * Application-limited flows (§5.8): each ACK records whether cwnd limited the flight it found
 * (dps_tcp_cwnd_limited, RFC 7661; tcp_cc.c); while it did not, on_ack() leaves cwnd alone and ends the
 * epoch, so that t does not count the app-limited time. That is what lets ssthresh and W_max
 * come from cwnd rather than FlightSize (§4.6).
 *
 * Known limits, with the fix each would need:
 * - Slow start is NewReno's (RFC 5681, RFC 9438 §4.10 "MAY"), not HyStart++ (RFC 9406).
 * - No undo of spurious congestion events (§4.9): the stack detects none yet.
 * - Fast convergence (§4.7) is always on; §4.7 says to disable it for a lone flow.
 */
#include "tcp.h"

#include <string.h>

/* RFC 9438 §4.6: beta_cubic = 0.7; §4.7: fast convergence factor (1 + beta) / 2 = 0.85;
 * §4.3: alpha_cubic = 3 * (1 - beta) / (1 + beta) = 9/17; §4.2: C = 0.4 = 2/5 segments/s^3. */
#define BETA_NUM 7
#define BETA_DEN 10
#define FC_NUM 17
#define FC_DEN 20
#define ALPHA_NUM 9
#define ALPHA_DEN 17
#define C_NUM 2
#define C_DEN 5

/* The largest window the peer can ever offer (RFC 7323 §2.3: 65535 << 14 < 2^30). A larger cwnd
 * could never be used; the bound keeps every product below in 64 bits. */
#define WND_MAX (1u << 30)

/* |t - K| beyond 2^31 us (about 36 minutes) saturates the cubic term: C * (2147 s)^3 segments
 * is above WND_MAX bytes for any MSS. */
#define DT_MAX_US (1ull << 31)

/* 4-byte aligned, so that the overlay needs no more than cc_state's own alignment. */
typedef uint64_t u64_a4 __attribute__((aligned(4)));

/* Per-connection state, in tcb->cc_state. */
struct cubic {
	u64_a4 origin_us; /* t_epoch + K: when W_cubic reaches W_max (§4.2) */
	uint32_t w_max; /* bytes; 0 after a timeout: set at the next epoch start (§4.8) */
	uint32_t cwnd_prior; /* cwnd when ssthresh was last set (§4.6), for alpha (§4.3) */
	uint32_t w_est; /* Reno-friendly estimate (§4.3), bytes */
	uint32_t est_rem; /* W_est: mss * acked carried modulo cwnd */
	uint32_t grow_rem; /* cwnd: (target - cwnd) * acked carried modulo cwnd */
	uint8_t est_rem17; /* W_est: the alpha = 9/17 step carried modulo 17 */
	uint8_t in_epoch; /* a congestion avoidance stage has started (t_epoch is set) */
	uint16_t pad;
};
_Static_assert(sizeof(struct cubic) <= sizeof(((struct dps_tcb *)0)->cc_state),
	       "CUBIC state must fit in tcb->cc_state");
_Static_assert(_Alignof(struct cubic) <= _Alignof(uint32_t), "cc_state is only 4-byte aligned");

static struct cubic *cubic_of(struct dps_tcb *t)
{
	return (struct cubic *)t->cc_state;
}

static uint32_t clamp_wnd(uint64_t w)
{
	return w < WND_MAX ? (uint32_t)w : WND_MAX;
}

/* floor(cbrt(x)), bit by bit (Hacker's Delight 11-2, widened to 64 bits). */
static uint32_t icbrt64(uint64_t x)
{
	uint64_t y = 0;

	for (int s = 63; s >= 0; s -= 3) {
		uint64_t b;

		y <<= 1;
		b = 3 * y * (y + 1) + 1;
		if ((x >> s) >= b) {
			x -= b << s;
			y++;
		}
	}
	return (uint32_t)y;
}

/* RFC 9438 §4.2 Figure 2: K = cbrt((W_max - cwnd_epoch) / C), here in microseconds. diff is
 * W_max - cwnd_epoch in bytes (at most WND_MAX). In ticks of 2^-10 s:
 * K^3 = diff / mss / C * 2^30 = diff * 5 * 2^30 / (2 * mss), below 2^63. */
static uint32_t cubic_k_us(uint32_t diff, uint16_t mss)
{
	uint64_t k3 = ((uint64_t)diff * C_DEN << 30) / ((uint64_t)C_NUM * mss);
	uint64_t k_ticks = icbrt64(k3);

	return (uint32_t)((k_ticks * 1000000 + 512) >> 10);
}

/* RFC 9438 §4.2 Figure 1: W_cubic = C * (t - K)^3 + W_max, bytes, for dt_us = t - K. */
static uint32_t cubic_window(const struct cubic *c, uint16_t mss, int64_t dt_us)
{
	uint64_t u = dt_us < 0 ? 0 - (uint64_t)dt_us : (uint64_t)dt_us;
	uint64_t delta;

	if (u > DT_MAX_US)
		u = DT_MAX_US;
	u = (u << 10) / 1000000; /* ticks of 2^-10 s, at most 2^21.1: u^3 fits in 64 bits */
	/* C * mss * u^3 / 2^30 bytes; the >> 20 first keeps the product below 2^61 (and drops
	 * less than a thousandth of a segment). */
	delta = ((u * u * u) >> 20) * C_NUM * mss / ((uint64_t)C_DEN << 10);
	if (dt_us >= 0)
		return clamp_wnd(c->w_max + delta);
	return delta < c->w_max ? c->w_max - (uint32_t)delta : 0;
}

/* The start of a congestion avoidance stage (§4.2): t_epoch, cwnd_epoch, K, W_est. */
static void epoch_start(struct cubic *c, const struct dps_tcb *t, uint64_t now_us)
{
	uint32_t k_us = 0;

	if (c->w_max > t->cwnd)
		k_us = cubic_k_us(c->w_max - t->cwnd, t->mss);
	else /* §4.8 after a timeout (and §4.10 style when cwnd is already past W_max): K = 0 */
		c->w_max = t->cwnd;
	c->origin_us = now_us + k_us;
	c->w_est = t->cwnd; /* §4.3: W_est = cwnd_epoch */
	c->est_rem = 0;
	c->est_rem17 = 0;
	c->grow_rem = 0;
	c->in_epoch = 1;
}

/* §4.3 Figure 4: W_est += alpha * segments_acked / cwnd (segments), i.e. alpha * mss * acked /
 * cwnd in bytes; alpha is 1 once W_est has reached cwnd_prior. */
static void reno_friendly_update(struct cubic *c, const struct dps_tcb *t, uint32_t acked)
{
	uint64_t num = (uint64_t)t->mss * acked + c->est_rem;
	uint64_t step = num / t->cwnd; /* bytes for alpha = 1 */
	uint64_t w;

	c->est_rem = (uint32_t)(num % t->cwnd);
	if (c->w_est < c->cwnd_prior) {
		uint64_t s17 = step * ALPHA_NUM + c->est_rem17;

		step = s17 / ALPHA_DEN;
		c->est_rem17 = (uint8_t)(s17 % ALPHA_DEN);
	}
	w = c->w_est + step;
	c->w_est = clamp_wnd(w);
}

/* §4.4, §4.5: cwnd += (target - cwnd) / cwnd per segment acked, i.e. (target - cwnd) * acked /
 * cwnd bytes, never past target. */
static void grow_toward(struct cubic *c, struct dps_tcb *t, uint32_t target, uint32_t acked)
{
	uint32_t gap = target - t->cwnd;
	uint64_t num = (uint64_t)gap * acked + c->grow_rem;
	uint64_t inc = num / t->cwnd;

	c->grow_rem = (uint32_t)(num % t->cwnd);
	if (inc >= gap) {
		inc = gap;
		c->grow_rem = 0;
	}
	t->cwnd += (uint32_t)inc;
}

static void cubic_init(struct dps_tcb *t)
{
	memset(t->cc_state, 0, sizeof(t->cc_state));
	dps_tcp_newreno.init(t); /* same initial window and ssthresh (RFC 6928, RFC 5681 §3.1) */
}

static void cubic_on_ack(struct dps_tcb *t, uint32_t acked, uint64_t now_us)
{
	struct cubic *c = cubic_of(t);
	uint32_t w_now, target;
	uint64_t upper;

	if (t->cwnd < t->mss)
		t->cwnd = t->mss; /* never divide by a window smaller than one segment */
	if (t->cwnd > WND_MAX)
		t->cwnd = WND_MAX;
	if (!dps_tcp_cwnd_limited(t)) {
		/* §5.8: no growth while the application (or the peer's window), not cwnd, limits
		 * the flight; and t must not run on through such a period: the epoch ends, the next
		 * cwnd-limited ACK starts a new one from the current cwnd (FreeBSD cc_cubic does the
		 * same on leaving an app-limited period; Linux shifts t_epoch by the idle time). */
		c->in_epoch = 0;
		return;
	}
	if (t->cwnd < t->ssthresh) {
		/* §4.10: slow start as Reno's, RFC 5681 §3.1 with byte counting */
		dps_tcp_newreno.on_ack(t, acked, now_us);
		if (t->cwnd > WND_MAX)
			t->cwnd = WND_MAX;
		return;
	}
	if (!c->in_epoch)
		epoch_start(c, t, now_us);
	reno_friendly_update(c, t, acked);
	w_now = cubic_window(c, t->mss, (int64_t)(now_us - c->origin_us));
	if (w_now < c->w_est) {
		/* §4.3: the Reno-friendly region; cwnd = W_est (never lowered here) */
		if (t->cwnd < c->w_est)
			t->cwnd = c->w_est;
		return;
	}
	/* §4.2: target = W_cubic(t + RTT) within [cwnd, 1.5 cwnd]; no RTT sample yet: t alone. */
	target = cubic_window(c, t->mss, (int64_t)(now_us + t->srtt_us - c->origin_us));
	upper = (uint64_t)t->cwnd + t->cwnd / 2;
	if (target > upper)
		target = clamp_wnd(upper);
	if (target > t->cwnd)
		grow_toward(c, t, target, acked);
}

/* §4.6 and §4.7, at the start of fast recovery; the caller sets cwnd from ssthresh. */
static void cubic_on_loss(struct dps_tcb *t)
{
	struct cubic *c = cubic_of(t);
	uint32_t cwnd = t->cwnd, min = 2u * t->mss;
	uint32_t ss = (uint32_t)((uint64_t)cwnd * BETA_NUM / BETA_DEN);

	c->cwnd_prior = clamp_wnd(cwnd);
	if (cwnd < c->w_max) /* §4.7: the saturation point is falling, release more */
		c->w_max = (uint32_t)((uint64_t)cwnd * FC_NUM / FC_DEN);
	else
		c->w_max = clamp_wnd(cwnd);
	t->ssthresh = ss > min ? ss : min; /* §4.6 Figure 5: at least 2 segments */
	c->in_epoch = 0;
}

/* §4.8: ssthresh as for a loss, cwnd one segment (RFC 5681 §3.1), a new epoch whose K is 0 and
 * whose W_max is cwnd_epoch. Only the first expiry for the same data lowers ssthresh (RFC 5681
 * §3.1: "not yet been resent by way of the retransmission timer"; t->backoff counts those
 * resends): a second one would compute it from the one-segment window. */
static void cubic_on_rto(struct dps_tcb *t)
{
	struct cubic *c = cubic_of(t);

	if (t->backoff == 0) {
		cubic_on_loss(t);
		c->w_max = 0; /* set at the next epoch start */
	}
	t->cwnd = t->mss;
	c->in_epoch = 0;
}

const struct dps_tcp_cc_ops dps_tcp_cubic = {
	.name = "cubic",
	.init = cubic_init,
	.on_ack = cubic_on_ack,
	.on_loss = cubic_on_loss,
	.on_rto = cubic_on_rto,
};
