/*
 * CUBIC (stack/tcp/cc/tcp_cubic.c, RFC 9438) through its ops table, on connections built by hand: no
 * EAL, no device, time passed in as now_us. An ACK clock is simulated by run_round(): one round
 * trip acknowledges the window of the round's start in MSS-sized ACKs spread evenly over the RTT.
 * The expected curves are computed here in floating point from the RFC's formulas (an oracle
 * independent of the integer arithmetic under test).
 *
 * The tolerance used against the curve, and why: after every ACK the window moves toward
 * target = W_cubic(t + RTT) and never past it (§4.4, §4.5), and starts the epoch at W_cubic(0),
 * so W_cubic(t) <= cwnd(t) <= W_cubic(t + RTT) while the curve rises more slowly than 1.5x per
 * RTT. The integer arithmetic adds less than a segment to either side (K floored to 2^-10 s,
 * the cubic term to whole bytes), hence "within one MSS" of that band; at t = K the band is
 * [W_max, W_max + C * RTT^3 segments], so cwnd(K) is W_max within one MSS (plus that sliver).
 */
#include "tcp.h"
#include "test/unit/check.h"

#include <math.h>
#include <stdint.h>

#define C_CUBIC 0.4
#define BETA 0.7
#define SEC 1000000ull

static struct dps_tcb conn(const struct dps_tcp_cc_ops *cc, uint16_t mss, uint32_t srtt_us)
{
	struct dps_tcb t;

	memset(&t, 0, sizeof(t));
	t.mss = mss;
	t.srtt_us = srtt_us;
	t.cc = cc;
	cc->init(&t);
	return t;
}

/* RFC 9438 Figure 1, in bytes. */
static double w_cubic(double w_max, double k_s, double t_s, uint16_t mss)
{
	double d = t_s - k_s;

	return C_CUBIC * d * d * d * mss + w_max;
}

/* RFC 9438 Figure 2: K in seconds for windows in bytes. */
static double k_of(double w_max, double cwnd_epoch, uint16_t mss)
{
	return cbrt((w_max - cwnd_epoch) / mss / C_CUBIC);
}

/* One round trip of ACKs for the window at the start of the round. An ACK never shrinks the
 * window. */
static void run_round(struct dps_tcb *t, uint64_t *now, uint32_t rtt_us)
{
	uint32_t n = t->cwnd / t->mss ? t->cwnd / t->mss : 1;
	uint64_t start = *now;

	for (uint32_t i = 1; i <= n; i++) {
		uint32_t before = t->cwnd;

		*now = start + (uint64_t)rtt_us * i / n;
		t->cc->on_ack(t, t->mss, *now);
		CHECK(t->cwnd >= before);
	}
}

/* A loss at cwnd = w bytes, recovered as with SACK (tcp_input.c: cwnd = ssthresh), and the first
 * ACK of congestion avoidance at now (it starts the epoch). */
static void loss_at(struct dps_tcb *t, uint32_t w, uint64_t now)
{
	t->cwnd = w;
	t->cc->on_loss(t);
	t->cwnd = t->ssthresh;
	t->cc->on_ack(t, 0, now);
}

static void test_find_and_switch(void)
{
	struct dps_tcb t = conn(&dps_tcp_newreno, 1460, 0);
	const struct dps_tcp_cc_ops *ops;

	CHECK(dps_tcp_cc_find("cubic") == &dps_tcp_cubic);
	CHECK(dps_tcp_cc_find("newreno") == &dps_tcp_newreno);
	CHECK(dps_tcp_cc_find("reno") == &dps_tcp_newreno);
	CHECK(dps_tcp_cc_find("cubicx") == NULL);
	CHECK(dps_tcp_cc_find("CUBIC") == NULL); /* Linux: names are case-sensitive */
	CHECK(dps_tcp_cc_find(NULL) == NULL);
	CHECK_STR(dps_tcp_cubic.name, "cubic");

	/* What setsockopt(TCP_CONGESTION) does on a connection (tcp_sockopt.c). */
	t.snd_una = 0;
	t.snd_max = 100 * 1460;
	t.cwnd = 100 * 1460;
	memset(t.cc_state, 0xa5, sizeof(t.cc_state)); /* whatever the previous algorithm left */
	ops = dps_tcp_cc_find("cubic");
	t.cc = ops;
	ops->init(&t);
	CHECK_EQ(t.cwnd, 10 * 1460); /* RFC 6928 initial window, as NewReno */
	CHECK_EQ(t.ssthresh, 0x7fffffff);
	for (unsigned i = 0; i < 8; i++)
		CHECK_EQ(t.cc_state[i], 0);
	t.cwnd = 100 * 1460;
	t.cc->on_loss(&t);
	CHECK_EQ(t.ssthresh, 70 * 1460); /* beta_cubic 0.7 of cwnd */

	ops = dps_tcp_cc_find("newreno");
	t.cc = ops;
	ops->init(&t);
	t.cwnd = 100 * 1460;
	t.cc->on_loss(&t);
	CHECK_EQ(t.ssthresh, 50 * 1460); /* NewReno: half the flight */
}

/* Reno slow start, unchanged: byte counting with L = 1 (RFC 5681 §3.1), doubling per RTT. */
static void test_slow_start(void)
{
	struct dps_tcb c = conn(&dps_tcp_cubic, 1460, 50000);
	struct dps_tcb r = conn(&dps_tcp_newreno, 1460, 50000);
	uint64_t now = 1 * SEC;

	for (unsigned round = 0; round < 6; round++) {
		uint32_t before = c.cwnd;

		run_round(&c, &now, 50000);
		CHECK_EQ(c.cwnd, 2 * before);
	}
	CHECK_EQ(c.cwnd, 640 * 1460);
	/* A stretch ACK of three segments counts one; a partial one its bytes; same as NewReno. */
	c.cwnd = r.cwnd = 20 * 1460;
	c.cc->on_ack(&c, 3 * 1460, now);
	r.cc->on_ack(&r, 3 * 1460, now);
	CHECK_EQ(c.cwnd, 21 * 1460);
	CHECK_EQ(c.cwnd, r.cwnd);
	c.cc->on_ack(&c, 100, now);
	CHECK_EQ(c.cwnd, 21 * 1460 + 100);
}

/* §4.6: ssthresh = max(0.7 cwnd, 2 MSS). */
static void test_loss(void)
{
	struct dps_tcb t = conn(&dps_tcp_cubic, 1000, 10000);

	t.cwnd = 100000;
	t.cc->on_loss(&t);
	CHECK_EQ(t.ssthresh, 70000);
	t.cwnd = 2500;
	t.cc->on_loss(&t);
	CHECK_EQ(t.ssthresh, 2000); /* 1750 is below 2 segments */
}

/*
 * After a loss the window follows W_cubic: from 0.7 W_max, concave up to W_max at t = K, flat
 * there, convex beyond. RTT 100 ms and a window of 1000 segments keep the Reno-friendly estimate
 * well below the curve (it gains 0.53 segments per RTT, the curve 300 segments in K = 9.1 s).
 */
static void follow_curve(uint16_t mss, uint32_t w_max_segs, uint32_t rtt_us)
{
	struct dps_tcb t = conn(&dps_tcp_cubic, mss, rtt_us);
	double w_max = (double)w_max_segs * mss, k;
	uint64_t now = 10 * SEC, epoch = now;
	uint32_t prev = 0, prev_inc = 0, rounds = 0;
	bool seen_k = false;

	loss_at(&t, w_max_segs * mss, epoch);
	CHECK_EQ(t.cwnd, (uint32_t)((uint64_t)w_max_segs * mss * 7 / 10));
	k = k_of(w_max, t.cwnd, mss);
	prev = t.cwnd;
	while ((double)(now - epoch) / SEC < 2 * k) {
		double ts, lo, hi;
		uint32_t inc;

		run_round(&t, &now, rtt_us);
		rounds++;
		ts = (double)(now - epoch) / SEC;
		lo = w_cubic(w_max, k, ts, mss);
		hi = w_cubic(w_max, k, ts + rtt_us / 1e6, mss);
		if (hi > 1.5 * prev)
			break; /* the 1.5x clamp takes over: test_clamp */
		CHECK(t.cwnd + mss >= lo);
		CHECK(t.cwnd <= hi + mss);
		inc = t.cwnd - prev;
		/* Concave: the gain per RTT shrinks until K; convex: it grows after K. One byte of
		 * slack per segment-sized step for the integer rounding. */
		if (rounds > 1 && ts + rtt_us / 1e6 < k)
			CHECK(inc <= prev_inc + 1);
		if (rounds > 1 && ts - 2 * rtt_us / 1e6 > k)
			CHECK(inc + 1 >= prev_inc);
		if (!seen_k && ts >= k) {
			/* The first round ending at or after K: W_cubic(K) = W_max. */
			double at = w_cubic(w_max, k, ts, mss);

			CHECK(fabs((double)t.cwnd - w_max) <= mss + (at - w_max));
			seen_k = true;
		}
		prev = t.cwnd;
		prev_inc = inc;
	}
	CHECK(seen_k);
	CHECK(t.cwnd > w_max); /* convex growth went past W_max */
}

static void test_cubic_curve(void)
{
	follow_curve(1460, 1000, 100000);
	follow_curve(1448, 100, 200000);
	follow_curve(9000, 5000, 50000);
	follow_curve(536, 20000, 100000);
}

/* §4.4: target is at most 1.5 cwnd, so a window grows at most 1.5x per RTT however far the
 * curve has run ahead (here t - K = 100 s). */
static void test_clamp(void)
{
	struct dps_tcb t = conn(&dps_tcp_cubic, 1460, 100000);
	uint64_t now = 10 * SEC;
	uint32_t c0;

	loss_at(&t, 100 * 1460, now);
	now += 110 * SEC; /* K = cbrt(75) = 4.2 s */
	c0 = t.cwnd;
	run_round(&t, &now, 100000);
	CHECK(t.cwnd <= c0 + c0 / 2);
	CHECK(t.cwnd + 1460 >= c0 + c0 / 2);
	c0 = t.cwnd;
	run_round(&t, &now, 100000);
	CHECK(t.cwnd <= c0 + c0 / 2);
	CHECK(t.cwnd + 1460 >= c0 + c0 / 2);
	/* One stretch ACK for three windows: still at most 1.5x (the step never passes target). */
	c0 = t.cwnd;
	t.cc->on_ack(&t, 3 * c0, now + 1000);
	CHECK_EQ(t.cwnd, c0 + c0 / 2);
}

/* No RTT sample yet (srtt 0): target is W_cubic(t), never ahead of the curve. */
static void test_no_srtt(void)
{
	struct dps_tcb t = conn(&dps_tcp_cubic, 1460, 0);
	uint64_t now = 10 * SEC, epoch = now;
	double w_max = 1000.0 * 1460, k;

	loss_at(&t, 1000 * 1460, epoch);
	k = k_of(w_max, t.cwnd, 1460);
	for (unsigned i = 0; i < 200; i++) {
		run_round(&t, &now, 100000);
		CHECK(t.cwnd <= w_cubic(w_max, k, (double)(now - epoch) / SEC, 1460) + 1460);
	}
	CHECK(t.cwnd > 990 * 1460); /* 20 s: past K = 9.1 s, it did grow */
}

/*
 * §4.7: a loss before the window is back at W_max means the saturation point fell: W_max becomes
 * 0.85 cwnd, so the next plateau is at 0.85 of the window at that loss, not at that window.
 */
static void test_fast_convergence(void)
{
	struct dps_tcb t = conn(&dps_tcp_cubic, 1460, 100000);
	uint64_t now = 10 * SEC, epoch;
	uint32_t w1, w_max2;
	double k;

	loss_at(&t, 1000 * 1460, now);
	for (unsigned i = 0; i < 30; i++) /* 3 s, K = 9.1 s: still concave, below W_max */
		run_round(&t, &now, 100000);
	w1 = t.cwnd;
	CHECK(w1 < 1000 * 1460);
	CHECK(w1 > 850 * 1460);
	epoch = now;
	loss_at(&t, w1, epoch);
	CHECK_EQ(t.ssthresh, (uint32_t)((uint64_t)w1 * 7 / 10));
	w_max2 = (uint32_t)((uint64_t)w1 * 17 / 20);
	k = k_of(w_max2, t.cwnd, 1460);
	while ((double)(now - epoch) / SEC < k)
		run_round(&t, &now, 100000);
	/* At K the window is the reduced W_max (one round past it: within a segment and the rise
	 * of one RTT on the flat of the curve). */
	CHECK(fabs((double)t.cwnd - w_max2) <= 1460 + 0.4 * 0.001 * 1460);
	CHECK(t.cwnd < w1 - 100 * 1460);

	/* A loss at or above W_max keeps W_max = cwnd: the next plateau is that window. */
	for (unsigned i = 0; i < 20; i++)
		run_round(&t, &now, 100000);
	w1 = t.cwnd;
	CHECK(w1 > w_max2);
	epoch = now;
	loss_at(&t, w1, epoch);
	k = k_of(w1, t.cwnd, 1460);
	while ((double)(now - epoch) / SEC < k)
		run_round(&t, &now, 100000);
	CHECK(fabs((double)t.cwnd - w1) <= 1460 + 0.4 * 0.001 * 1460);
}

/*
 * §4.3: with a short RTT and a small window Reno would grow faster than the curve; cwnd follows
 * W_est instead, which gains alpha = 3 (1 - 0.7) / (1 + 0.7) = 0.53 segments per RTT until it
 * reaches cwnd_prior, then one segment per RTT.
 */
static void test_reno_friendly(void)
{
	struct dps_tcb t = conn(&dps_tcp_cubic, 1000, 1000);
	uint64_t now = 10 * SEC, epoch = now;
	double k;
	unsigned rounds = 0;

	loss_at(&t, 20 * 1000, epoch); /* cwnd 14 segments, cwnd_prior 20 */
	k = k_of(20000.0, t.cwnd, 1000); /* 2.47 s, that is 2466 RTTs */
	while (t.cwnd < 20 * 1000) {
		run_round(&t, &now, 1000);
		rounds++;
		CHECK(rounds < 100);
	}
	/* 6 segments at 0.53 per RTT: 11.3 RTTs (alpha 1 would take 6, the curve 1000s) */
	CHECK(rounds >= 11 && rounds <= 12);
	for (unsigned i = 0; i < 100; i++) {
		uint32_t before = t.cwnd;

		run_round(&t, &now, 1000);
		/* alpha = 1 now: one segment per RTT, give or take the rounding of a round */
		CHECK(t.cwnd >= before + 1000 - 50 && t.cwnd <= before + 1000 + 50);
	}
	/* Far above the curve, which has barely moved in 0.11 s. */
	CHECK(t.cwnd > 110 * 1000);
	CHECK(w_cubic(20000.0, k, (double)(now - epoch) / SEC, 1000) < 15 * 1000);

	/* Where the two cross (W_max 200 segments, RTT 20 ms: the curve leads for about 55 RTTs,
	 * W_est after): cwnd follows the larger, and no ACK lowers it (run_round) even while it is
	 * above both. */
	t = conn(&dps_tcp_cubic, 1000, 20000);
	now = epoch = 10 * SEC;
	loss_at(&t, 200 * 1000, epoch);
	k = k_of(200000.0, t.cwnd, 1000);
	for (unsigned i = 1; i <= 150; i++) {
		double ts = (double)(now - epoch) / SEC + 0.02;
		double est = 140000.0 + 9.0 / 17 * 1000 * i;
		double lo, hi;

		if (est > 200000.0) /* alpha 1 from cwnd_prior on */
			est = 200000.0 + (est - 200000.0) * 17 / 9;
		lo = fmax(w_cubic(200000.0, k, ts, 1000), est);
		hi = fmax(w_cubic(200000.0, k, ts + 0.02, 1000), est);
		run_round(&t, &now, 20000);
		CHECK(t.cwnd + 1000 >= lo && t.cwnd <= hi + 1000);
		if (i == 20)
			CHECK(t.cwnd > est + 1000); /* the curve leads */
		if (i == 150)
			CHECK(t.cwnd > w_cubic(200000.0, k, ts, 1000) + 1000); /* W_est leads */
	}
}

/*
 * §4.8: a timeout: ssthresh as for a loss, cwnd one segment, slow start to ssthresh, then an
 * epoch with K = 0 and W_max = cwnd_epoch (convex from there, not concave back to the old window).
 * A second expiry of the same data (backoff > 0) leaves ssthresh alone.
 */
static void test_rto(void)
{
	struct dps_tcb t = conn(&dps_tcp_cubic, 1460, 100000);
	uint64_t now = 10 * SEC, epoch;
	uint32_t ss, w_epoch;

	loss_at(&t, 1000 * 1460, now);
	for (unsigned i = 0; i < 10; i++)
		run_round(&t, &now, 100000);
	ss = (uint32_t)((uint64_t)t.cwnd * 7 / 10);
	t.backoff = 0;
	t.cc->on_rto(&t);
	CHECK_EQ(t.cwnd, 1460);
	CHECK_EQ(t.ssthresh, ss);
	t.backoff = 1; /* tcp_timer.c counts the expiry */
	t.cc->on_rto(&t);
	CHECK_EQ(t.cwnd, 1460);
	CHECK_EQ(t.ssthresh, ss); /* not 2 MSS from the one-segment window */
	t.backoff = 0; /* an ACK of new data */

	while (t.cwnd < t.ssthresh) { /* slow start, one ACK at a time up to ssthresh */
		uint32_t before = t.cwnd;

		now += 1000;
		t.cc->on_ack(&t, 1460, now);
		CHECK_EQ(t.cwnd, before + 1460);
	}
	epoch = now + 1000;
	t.cc->on_ack(&t, 0, epoch); /* the first ACK in congestion avoidance: t_epoch */
	w_epoch = t.cwnd;
	now = epoch;
	for (unsigned i = 1; i <= 30; i++) {
		double ts = (double)(now - epoch) / SEC + 0.1;
		/* W_est from cwnd_epoch at alpha 0.53 per RTT (cwnd_prior, 900 segments, is far) */
		double est = w_epoch + 9.0 / 17 * 1460 * i;
		double lo = fmax(w_cubic(w_epoch, 0, ts, 1460), est);
		double hi = fmax(w_cubic(w_epoch, 0, ts + 0.1, 1460), est);

		run_round(&t, &now, 100000);
		CHECK(t.cwnd + 1460 >= lo && t.cwnd <= hi + 1460);
	}
	/* 3 s from cwnd_epoch: convex 0.4 * 27 = 10.8 segments, Reno-friendly 15.9; nowhere near
	 * the old window (the concave curve toward it, K = 8.8 s, would have gained 190). */
	CHECK(t.cwnd < w_epoch + 20 * 1460);
	CHECK(t.cwnd > w_epoch + 14 * 1460);

	/* An expiry with backoff already counted (zero-window probes back off too) while an epoch
	 * runs: ssthresh stays, cwnd one segment, and the epoch still starts over at ssthresh. */
	ss = t.ssthresh;
	t.backoff = 3;
	t.cc->on_rto(&t);
	CHECK_EQ(t.cwnd, 1460);
	CHECK_EQ(t.ssthresh, ss);
	t.backoff = 0;
	while (t.cwnd < t.ssthresh)
		t.cc->on_ack(&t, 1460, now += 1000);
	w_epoch = t.cwnd;
	now += 10 * SEC; /* the old epoch would be 13 s old by now */
	run_round(&t, &now, 100000);
	CHECK(t.cwnd < w_epoch + 2 * 1460);
}

/* A window near 1 GiB with jumbo segments: no product overflows, the window never wraps or
 * shrinks outside a congestion event, and it stays at or below 2^30 (the largest window a peer
 * can offer, RFC 7323 §2.3). */
static void test_large_window(void)
{
	struct dps_tcb t = conn(&dps_tcp_cubic, 9000, 100000);
	uint32_t w = (1u << 30) - 3 * 9000;
	uint64_t now = 10 * SEC, epoch = now;
	uint32_t prev;
	double k;

	loss_at(&t, w, epoch);
	CHECK_EQ(t.ssthresh, (uint32_t)((uint64_t)w * 7 / 10));
	k = k_of(w, t.cwnd, 9000); /* 44.7 s */
	prev = t.cwnd;
	/* ACKs of 4 MB every 10 ms (stretch ACKs keep the loop short), to 2 K. */
	while ((double)(now - epoch) / SEC < 2 * k) {
		now += 10000;
		t.cc->on_ack(&t, 4u << 20, now);
		CHECK(t.cwnd >= prev);
		CHECK(t.cwnd <= 1u << 30);
		CHECK(t.cwnd <= w_cubic(w, k, (double)(now - epoch) / SEC + 0.1, 9000) + 9000);
		prev = t.cwnd;
	}
	CHECK_EQ(t.cwnd, 1u << 30);
	/* Much later, enormous ACKs, an hour and a day on: still clamped, no wrap. */
	t.cc->on_ack(&t, UINT32_MAX, now + 3600 * SEC);
	CHECK_EQ(t.cwnd, 1u << 30);
	t.cc->on_ack(&t, UINT32_MAX, now + 86400 * SEC);
	CHECK_EQ(t.cwnd, 1u << 30);
	t.cc->on_ack(&t, UINT32_MAX, UINT64_MAX / 2);
	CHECK_EQ(t.cwnd, 1u << 30);

	/* A window set beyond the bound from outside (another algorithm before a switch). */
	t.cwnd = UINT32_MAX;
	t.cc->on_loss(&t);
	CHECK_EQ(t.ssthresh, (uint32_t)((uint64_t)UINT32_MAX * 7 / 10));
	t.cwnd = t.ssthresh;
	epoch = now + 86400 * SEC + 1;
	t.cc->on_ack(&t, 9000, epoch);
	CHECK(t.cwnd <= 1u << 30);
	prev = t.cwnd;
	for (unsigned i = 0; i < 1000; i++) {
		t.cc->on_ack(&t, 1u << 30, epoch + i * 100000ull);
		CHECK(t.cwnd >= prev && t.cwnd <= 1u << 30);
		prev = t.cwnd;
	}

	/* Slow start near the bound stops at it too. */
	t = conn(&dps_tcp_cubic, 9000, 100000);
	t.cwnd = (1u << 30) - 100;
	t.cc->on_ack(&t, 9000, now);
	CHECK_EQ(t.cwnd, 1u << 30);

	/* An RTO from 1 GiB: ssthresh 0.7 of it, one segment. */
	t.backoff = 0;
	t.cc->on_rto(&t);
	CHECK_EQ(t.cwnd, 9000);
	CHECK_EQ(t.ssthresh, (uint32_t)((uint64_t)(1u << 30) * 7 / 10));
}

/* What tcp_input.c records for each ACK of new data (tcp_cc.c, RFC 7661 §3): cwnd-limited when
 * less than a segment of cwnd was left, or in slow start when the flight was more than half. */
static void test_cwnd_limited_rule(void)
{
	struct dps_tcb t = conn(&dps_tcp_newreno, 1000, 10000);

	CHECK(dps_tcp_cwnd_limited(&t)); /* a connection built by hand counts as limited */
	t.ssthresh = 0x7fffffff;
	t.cwnd = 10000;
	dps_tcp_cc_note_flight(&t, 10000);
	CHECK(dps_tcp_cwnd_limited(&t));
	dps_tcp_cc_note_flight(&t, 5000); /* slow start: half of cwnd is not more than half */
	CHECK(!dps_tcp_cwnd_limited(&t));
	dps_tcp_cc_note_flight(&t, 5001);
	CHECK(dps_tcp_cwnd_limited(&t));
	t.ssthresh = 5000; /* congestion avoidance: within a segment of cwnd */
	dps_tcp_cc_note_flight(&t, 8999);
	CHECK(!dps_tcp_cwnd_limited(&t));
	dps_tcp_cc_note_flight(&t, 9001);
	CHECK(dps_tcp_cwnd_limited(&t));
	dps_tcp_cc_note_flight(&t, 30000); /* after a timeout: more out than the one-segment cwnd */
	CHECK(dps_tcp_cwnd_limited(&t));
}

/* RFC 7661 §4.3 / Linux tcp_reno_cong_avoid: NewReno grows neither in slow start nor in
 * congestion avoidance from the ACKs of a flight the application kept below cwnd. */
static void test_newreno_app_limited(void)
{
	struct dps_tcb t = conn(&dps_tcp_newreno, 1000, 10000);
	uint32_t iw = t.cwnd;

	dps_tcp_cc_note_flight(&t, 3000);
	for (int i = 0; i < 100; i++)
		t.cc->on_ack(&t, 1000, (uint64_t)i * 1000);
	CHECK_EQ(t.cwnd, iw);
	dps_tcp_cc_note_flight(&t, iw); /* cwnd-limited again: slow start resumes */
	t.cc->on_ack(&t, 1000, 0);
	CHECK_EQ(t.cwnd, iw + 1000);
	t.ssthresh = t.cwnd;
	dps_tcp_cc_note_flight(&t, 2000);
	t.cc->on_ack(&t, 1000, 0);
	CHECK_EQ(t.cwnd, iw + 1000);
	dps_tcp_cc_note_flight(&t, t.cwnd);
	t.cc->on_ack(&t, 1000, 0);
	CHECK_EQ(t.cwnd, iw + 1000 + 1000 * 1000 / (iw + 1000)); /* RFC 5681 eq. 3 */
}

/*
 * RFC 9438 §5.8: CUBIC does not grow cwnd while application-limited, neither in slow start nor
 * in congestion avoidance, and t does not run on through the app-limited period: after 60 s of
 * app-limited ACKs the curve restarts from the current cwnd (a new epoch, K from W_max - cwnd)
 * instead of jumping to W_cubic(60 s), which is far above 1.5 cwnd.
 */
static void test_cubic_app_limited(void)
{
	struct dps_tcb t = conn(&dps_tcp_cubic, 1000, 100000), ref;
	uint64_t now = 10 * SEC;
	uint32_t iw = t.cwnd, w;

	dps_tcp_cc_note_flight(&t, 2000); /* slow start, app-limited */
	for (int i = 0; i < 50; i++)
		t.cc->on_ack(&t, 1000, now + (uint64_t)i * 1000);
	CHECK_EQ(t.cwnd, iw);

	dps_tcp_cc_note_flight(&t, 100000); /* cwnd-limited up to the loss */
	loss_at(&t, 100000, now); /* W_max 100 segments, cwnd 70, epoch started */
	CHECK_EQ(t.cwnd, 70000);
	ref = t;
	run_round(&ref, &now, 100000); /* the limited twin for comparison */
	CHECK(ref.cwnd > 70000);
	dps_tcp_cc_note_flight(&t, 20000); /* 20 of 70 segments in flight */
	for (int i = 0; i < 600; i++) { /* 60 s of app-limited ACKs */
		now += 100000;
		t.cc->on_ack(&t, 1000, now);
		CHECK_EQ(t.cwnd, 70000);
	}
	dps_tcp_cc_note_flight(&t, t.cwnd); /* cwnd-limited again */
	w = t.cwnd;
	run_round(&t, &now, 100000);
	/* One round of a fresh epoch (K = cbrt(30/0.4) = 4.2 s) gains a few segments at most; had
	 * t run on for 60 s, the 1.5x clamp would have allowed 35 segments. */
	CHECK(t.cwnd > w);
	CHECK(t.cwnd < w + 5000);
	CHECK(t.cwnd <= ref.cwnd + 1000);
}

int main(void)
{
	RUN(test_find_and_switch);
	RUN(test_slow_start);
	RUN(test_loss);
	RUN(test_cubic_curve);
	RUN(test_clamp);
	RUN(test_no_srtt);
	RUN(test_fast_convergence);
	RUN(test_reno_friendly);
	RUN(test_rto);
	RUN(test_large_window);
	RUN(test_cwnd_limited_rule);
	RUN(test_newreno_app_limited);
	RUN(test_cubic_app_limited);
	DONE();
}
