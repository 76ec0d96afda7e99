/*
 * test_wheel.c: the hashed timing wheel on its own, with injected time.
 */
#include <errno.h>
#include <stdint.h>

#include "co_test.h"
#include "coroutine/wheel.h"

#define TICK 1000 /* ns */

struct tt {
	struct dps_timer t;
	int id;
	uint64_t fired_at; /* now given to the callback */
};

static struct trace tr;
static struct dps_wheel *cur_wheel;

static void on_fire(struct dps_timer *t, uint64_t now)
{
	struct tt *x = dps_container_of(t, struct tt, t);
	char tag[16];

	x->fired_at = now;
	snprintf(tag, sizeof(tag), "%d", x->id);
	trace_add(&tr, tag);
}

static void tt_init(struct tt *x, int id)
{
	dps_timer_init(&x->t, on_fire);
	x->id = id;
	x->fired_at = 0;
}

static void test_init_args(void)
{
	struct dps_wheel w;

	CHECK_EQ(dps_wheel_init(&w, 0, 64, 0), -EINVAL);
	CHECK_EQ(dps_wheel_init(&w, TICK, 100, 0), -EINVAL);
	CHECK_EQ(dps_wheel_init(&w, TICK, 32, 0), -EINVAL);
	CHECK_EQ(dps_wheel_init(&w, TICK, 64, 0), 0);
	CHECK_EQ(dps_wheel_next_expiry(&w), (long long)UINT64_MAX);
	dps_wheel_fini(&w);
}

/* Order by time, never early, FIFO within a tick, cancel, re-arm. */
static void test_order(void)
{
	struct dps_wheel w;
	struct tt a, b, c, d, e;
	uint64_t base = 1000 * TICK;

	CHECK_EQ(dps_wheel_init(&w, TICK, 64, base), 0);
	trace_reset(&tr);
	tt_init(&a, 1);
	tt_init(&b, 2);
	tt_init(&c, 3);
	tt_init(&d, 4);
	tt_init(&e, 5);
	dps_wheel_add(&w, &a.t, base + 5 * TICK);
	dps_wheel_add(&w, &b.t, base + 3 * TICK + 1); /* rounds up to tick 4 */
	dps_wheel_add(&w, &c.t, base + 3 * TICK);
	dps_wheel_add(&w, &d.t, base + 5 * TICK); /* same tick as a, added later */
	dps_wheel_add(&w, &e.t, base + 9 * TICK);
	CHECK_EQ(dps_wheel_count(&w), 5);
	CHECK(dps_timer_is_pending(&a.t));
	CHECK_EQ(dps_wheel_next_expiry(&w), base + 3 * TICK);
	CHECK(dps_wheel_cancel(&w, &e.t));
	CHECK(!dps_wheel_cancel(&w, &e.t));
	CHECK_EQ(dps_wheel_count(&w), 4);

	CHECK_EQ(dps_wheel_advance(&w, base + 3 * TICK - 1), 0); /* 1 ns early: nothing */
	CHECK_EQ(dps_wheel_advance(&w, base + 3 * TICK), 1);
	CHECK_STR(tr.buf, "3");
	CHECK_EQ(dps_wheel_advance(&w, base + 4 * TICK + 10), 1);
	CHECK_STR(tr.buf, "3 2");
	CHECK(b.fired_at >= base + 3 * TICK + 1);
	/* Re-arm a before it fires: it moves. */
	dps_wheel_add(&w, &a.t, base + 7 * TICK);
	CHECK_EQ(dps_wheel_count(&w), 2);
	CHECK_EQ(dps_wheel_advance(&w, base + 6 * TICK), 1);
	CHECK_STR(tr.buf, "3 2 4");
	CHECK_EQ(dps_wheel_advance(&w, base + 100 * TICK), 1);
	CHECK_STR(tr.buf, "3 2 4 1");
	CHECK_EQ(dps_wheel_count(&w), 0);
	CHECK(!dps_timer_is_pending(&a.t));
	dps_wheel_fini(&w);
}

/* Timers several revolutions away share slots with near ones and wait for their turn. */
static void test_revolutions(void)
{
	struct dps_wheel w;
	struct tt near, far, farther;
	uint64_t now = 0;

	CHECK_EQ(dps_wheel_init(&w, TICK, 64, 0), 0);
	trace_reset(&tr);
	tt_init(&near, 1);
	tt_init(&far, 2);
	tt_init(&farther, 3);
	dps_wheel_add(&w, &near.t, 10 * TICK);
	dps_wheel_add(&w, &far.t, (10 + 64) * TICK); /* same slot, next revolution */
	dps_wheel_add(&w, &farther.t, (10 + 5 * 64) * TICK); /* same slot, 5 revolutions on */
	/* next_expiry is a lower bound: the slot's start. */
	CHECK_EQ(dps_wheel_next_expiry(&w), 10 * TICK);
	for (now = 0; now <= 400 * TICK; now += TICK / 2) {
		dps_wheel_advance(&w, now);
		if (near.fired_at == 0)
			CHECK(now < 10 * TICK);
		if (far.fired_at == 0)
			CHECK(now < 74 * TICK);
		if (farther.fired_at == 0)
			CHECK(now < 330 * TICK);
	}
	CHECK_STR(tr.buf, "1 2 3");
	CHECK_EQ(near.fired_at, 10 * TICK);
	CHECK_EQ(far.fired_at, 74 * TICK);
	CHECK_EQ(farther.fired_at, 330 * TICK);
	dps_wheel_fini(&w);
}

/* A jump of many revolutions fires everything due, each timer once. */
static void test_big_jump(void)
{
	struct dps_wheel w;
	struct tt x[200];
	int i;

	CHECK_EQ(dps_wheel_init(&w, TICK, 64, 0), 0);
	for (i = 0; i < 200; i++) {
		tt_init(&x[i], i);
		dps_wheel_add(&w, &x[i].t, (uint64_t)(i * 7 + 1) * TICK);
	}
	trace_reset(&tr);
	CHECK_EQ(dps_wheel_advance(&w, 700 * TICK), 100); /* i*7+1 <= 700: i <= 99 */
	for (i = 0; i < 200; i++)
		CHECK_EQ(dps_timer_is_pending(&x[i].t), i >= 100);
	CHECK_EQ(dps_wheel_advance(&w, 100000 * TICK), 100);
	CHECK_EQ(dps_wheel_count(&w), 0);
	dps_wheel_fini(&w);
}

/* Callbacks that re-arm themselves (even in the past) and cancel others. */
static struct tt periodic, victim, overdue;
static int periodic_runs;

static void on_periodic(struct dps_timer *t, uint64_t now)
{
	periodic_runs++;
	if (periodic_runs == 2)
		CHECK(dps_wheel_cancel(cur_wheel, &victim.t));
	if (periodic_runs < 5)
		dps_wheel_add(cur_wheel, t, now + 3 * TICK);
	if (periodic_runs == 1) /* already past: must wait for the next tick, not loop now */
		dps_wheel_add(cur_wheel, &overdue.t, now - TICK);
}

static void test_callbacks(void)
{
	struct dps_wheel w;
	uint64_t now;

	CHECK_EQ(dps_wheel_init(&w, TICK, 64, 0), 0);
	cur_wheel = &w;
	trace_reset(&tr);
	dps_timer_init(&periodic.t, on_periodic);
	tt_init(&victim, 7);
	tt_init(&overdue, 8);
	dps_wheel_add(&w, &periodic.t, 2 * TICK);
	dps_wheel_add(&w, &victim.t, 6 * TICK);
	CHECK_EQ(dps_wheel_advance(&w, 2 * TICK), 1); /* overdue is queued, not fired */
	CHECK_EQ(periodic_runs, 1);
	CHECK_STR(tr.buf, "");
	CHECK(dps_timer_is_pending(&overdue.t));
	CHECK_EQ(dps_wheel_advance(&w, 3 * TICK), 1);
	CHECK_STR(tr.buf, "8");
	for (now = 3 * TICK; now < 40 * TICK; now += TICK)
		dps_wheel_advance(&w, now);
	CHECK_EQ(periodic_runs, 5);
	CHECK_STR(tr.buf, "8"); /* victim was cancelled from the second run, at tick 5 */
	CHECK_EQ(dps_wheel_count(&w), 0);
	dps_wheel_fini(&w);
}

/* next_expiry follows the earliest pending timer, ignoring cancelled ones. */
static void test_next_expiry(void)
{
	struct dps_wheel w;
	struct tt a, b;

	CHECK_EQ(dps_wheel_init(&w, TICK, 256, 50 * TICK), 0);
	tt_init(&a, 1);
	tt_init(&b, 2);
	dps_wheel_add(&w, &a.t, 60 * TICK);
	dps_wheel_add(&w, &b.t, 250 * TICK); /* wraps around the bitmap */
	CHECK_EQ(dps_wheel_next_expiry(&w), 60 * TICK);
	dps_wheel_cancel(&w, &a.t);
	CHECK_EQ(dps_wheel_next_expiry(&w), 250 * TICK);
	dps_wheel_advance(&w, 249 * TICK);
	CHECK_EQ(dps_wheel_next_expiry(&w), 250 * TICK);
	dps_wheel_add(&w, &a.t, 0); /* in the past: next tick */
	CHECK_EQ(dps_wheel_next_expiry(&w), 250 * TICK);
	dps_wheel_cancel(&w, &b.t);
	dps_wheel_cancel(&w, &a.t);
	CHECK_EQ(dps_wheel_next_expiry(&w), (long long)UINT64_MAX);
	dps_wheel_fini(&w);
}

int main(void)
{
	test_init_args();
	test_order();
	test_revolutions();
	test_big_jump();
	test_callbacks();
	test_next_expiry();
	printf("wheel: all passed\n");
	return 0;
}
