/*
 * test_co_basic.c: coroutine life and run order: priorities, yield, join and exit values,
 * detach, argument errors, stack sizes and reuse, adoption of the main thread, FP control words.
 */
#include <errno.h>
#include <fenv.h>
#include <pthread.h>
#include <stdint.h>
#include <xmmintrin.h>

#include "co_test.h"

static struct trace tr;

/* Logs "<name>1", yields, logs "<name>2". */
static void *two_steps(void *arg)
{
	const char *name = arg;
	char tag[16];

	snprintf(tag, sizeof(tag), "%s1", name);
	trace_add(&tr, tag);
	CHECK_EQ(dps_yield(), 0);
	snprintf(tag, sizeof(tag), "%s2", name);
	trace_add(&tr, tag);
	return NULL;
}

static void go(const char *name, int prio)
{
	struct dps_co_opts o = { .priority = prio };

	CHECK_EQ(dps_go(two_steps, (void *)name, &o, NULL), 0);
}

static void test_run_order(void)
{
	struct dps_sched_stats st;

	trace_reset(&tr);
	go("A", DPS_PRIO_LOW);
	go("B", DPS_PRIO_LOW);
	go("H", DPS_PRIO_HIGH);
	go("C", DPS_PRIO_LOW);
	CHECK_STR(tr.buf, ""); /* dps_go does not run the new coroutine */
	CHECK_EQ(dps_sched_run(), 0);
	/* High first (its yield finds no other high one), then the low ones round-robin. */
	CHECK_STR(tr.buf, "H1 H2 A1 B1 C1 A2 B2 C2");
	CHECK_EQ(dps_sched_get_stats(&st), 0);
	CHECK_EQ(st.alive, 0);
}

/* A yield from main lets the runnable ones run once, main included in the round-robin. */
static void *log_and_yield(void *arg)
{
	trace_add(&tr, arg);
	dps_yield();
	trace_add(&tr, arg);
	return NULL;
}

static void test_main_yield(void)
{
	trace_reset(&tr);
	CHECK_EQ(dps_yield(), 0); /* nobody else: returns at once */
	CHECK_EQ(dps_go(log_and_yield, "x", NULL, NULL), 0);
	CHECK_EQ(dps_go(log_and_yield, "y", NULL, NULL), 0);
	trace_add(&tr, "m");
	CHECK_EQ(dps_yield(), 0);
	trace_add(&tr, "m");
	CHECK_EQ(dps_yield(), 0);
	trace_add(&tr, "m");
	CHECK_STR(tr.buf, "m x y m x y m");
}

/* A low coroutine that spawns a high one and yields hands over to it first. */
static void *spawner(void *arg)
{
	(void)arg;
	trace_add(&tr, "L1");
	go("h", DPS_PRIO_HIGH);
	dps_yield();
	trace_add(&tr, "L2");
	return NULL;
}

static void test_spawn_high(void)
{
	trace_reset(&tr);
	CHECK_EQ(dps_go(spawner, NULL, NULL, NULL), 0);
	go("l", DPS_PRIO_LOW);
	CHECK_EQ(dps_sched_run(), 0);
	CHECK_STR(tr.buf, "L1 h1 h2 l1 L2 l2");
}

static void test_set_priority(void)
{
	struct dps_co *a, *b;

	trace_reset(&tr);
	CHECK_EQ(dps_go(two_steps, "a", NULL, &a), 0);
	CHECK_EQ(dps_go(two_steps, "b", NULL, &b), 0);
	CHECK_EQ(dps_co_priority(b), DPS_PRIO_LOW);
	CHECK_EQ(dps_co_set_priority(b, DPS_PRIO_HIGH), 0);
	CHECK_EQ(dps_co_priority(b), DPS_PRIO_HIGH);
	CHECK_EQ(dps_co_priority(a), DPS_PRIO_LOW);
	CHECK_EQ(dps_co_priority(NULL), -EINVAL);
	CHECK_EQ(dps_co_set_priority(b, 7), -EINVAL);
	CHECK_EQ(dps_co_priority(b), DPS_PRIO_HIGH);
	CHECK_EQ(dps_co_set_priority(NULL, DPS_PRIO_HIGH), -EINVAL);
	CHECK_EQ(dps_co_join(a, NULL), 0);
	CHECK_EQ(dps_co_join(b, NULL), 0);
	CHECK_STR(tr.buf, "b1 b2 a1 a2");
}

static void *ret_arg(void *arg)
{
	return arg;
}

static int exit_depth;

static __attribute__((noinline)) int deep_exit(int depth)
{
	exit_depth = depth;
	if (depth < 0)
		return 0;
	if (depth == 0)
		dps_co_exit((void *)(uintptr_t)777);
	return deep_exit(depth - 1) + 1;
}

static void *exits_deep(void *arg)
{
	(void)arg;
	deep_exit(10);
	CHECK(0); /* not reached */
	return NULL;
}

static struct dps_co *self_seen;

static void *joins_self(void *arg)
{
	(void)arg;
	self_seen = dps_self();
	CHECK_EQ(dps_co_join(self_seen, NULL), -EDEADLK);
	return NULL;
}

static void test_join_exit(void)
{
	struct dps_co *c, *d;
	void *rv = NULL;

	CHECK_EQ(dps_go(ret_arg, (void *)(uintptr_t)42, NULL, &c), 0);
	CHECK_EQ(dps_co_join(c, &rv), 0);
	CHECK_EQ((uintptr_t)rv, 42);

	CHECK_EQ(dps_go(exits_deep, NULL, NULL, &c), 0);
	CHECK_EQ(dps_co_join(c, &rv), 0);
	CHECK_EQ((uintptr_t)rv, 777);

	/* Join after the coroutine already finished. */
	CHECK_EQ(dps_go(ret_arg, (void *)(uintptr_t)5, NULL, &c), 0);
	CHECK_EQ(dps_yield(), 0);
	CHECK_EQ(dps_co_join(c, &rv), 0);
	CHECK_EQ((uintptr_t)rv, 5);

	CHECK_EQ(dps_go(joins_self, NULL, NULL, &c), 0);
	CHECK_EQ(dps_co_join(c, NULL), 0);
	CHECK(self_seen == c);

	/* Detached: not joinable; frees itself. Detach after finish frees at once. */
	CHECK_EQ(dps_go(ret_arg, NULL, NULL, &c), 0);
	CHECK_EQ(dps_go(ret_arg, NULL, NULL, &d), 0);
	CHECK_EQ(dps_co_detach(c), 0);
	CHECK_EQ(dps_co_join(c, NULL), -EINVAL);
	CHECK_EQ(dps_co_detach(c), -EINVAL);
	CHECK_EQ(dps_yield(), 0);
	CHECK_EQ(dps_co_detach(d), 0);
	CHECK_EQ(dps_sched_run(), 0);

	CHECK_EQ(dps_co_join(NULL, NULL), -EINVAL);
	CHECK_EQ(dps_co_join(dps_self(), NULL), -EINVAL); /* main is not a dps_go coroutine */
	CHECK_EQ(dps_co_detach(NULL), -EINVAL);
}

static void test_arg_errors(void)
{
	struct dps_co_opts o = { .priority = 2 };
	struct dps_co *c = NULL;

	CHECK_EQ(dps_go(NULL, NULL, NULL, &c), -EINVAL);
	CHECK_EQ(dps_go(ret_arg, NULL, &o, &c), -EINVAL);
	o.priority = -1;
	CHECK_EQ(dps_go(ret_arg, NULL, &o, &c), -EINVAL);
	o.priority = DPS_PRIO_LOW;
	o.stack_size = (size_t)DPS_CO_STACK_MAX + 1;
	CHECK_EQ(dps_go(ret_arg, NULL, &o, &c), -EINVAL);
	CHECK(c == NULL);
	CHECK_EQ(dps_co_interrupt(NULL), -EINVAL);
	CHECK_EQ(dps_co_unpark(NULL), -EINVAL);
	CHECK_EQ(dps_sched_get_stats(NULL), -EINVAL);
	CHECK_EQ(dps_co_stack(dps_self(), NULL, NULL), -EINVAL);
}

/* Where a coroutine's frames live: inside its stack. (Not the address of a local: with ASan's
 * detect_stack_use_after_return, locals move to a "fake stack" on the heap.) */
static void *where_am_i(void *arg)
{
	*(uintptr_t *)arg = (uintptr_t)__builtin_frame_address(0);
	return NULL;
}

static void test_stacks(void)
{
	struct dps_co_opts o = { .stack_size = 20000 };
	struct dps_co *c;
	struct dps_sched_stats st;
	uintptr_t addr = 0;
	void *lo, *lo2;
	size_t size;

	CHECK_EQ(dps_go(where_am_i, &addr, &o, &c), 0);
	CHECK_EQ(dps_co_stack(c, &lo, &size), 0);
	CHECK_EQ(size, 20480); /* rounded up to pages */
	CHECK_EQ(dps_co_join(c, NULL), 0);
	CHECK(addr > (uintptr_t)lo && addr < (uintptr_t)lo + size);

	/* The freed stack is pooled and handed to the next coroutine of that size. */
	CHECK_EQ(dps_sched_get_stats(&st), 0);
	CHECK(st.pooled >= 1);
	CHECK_EQ(dps_go(where_am_i, &addr, &o, &c), 0);
	CHECK_EQ(dps_co_stack(c, &lo2, NULL), 0);
	CHECK(lo2 == lo);
	CHECK_EQ(dps_co_join(c, NULL), 0);

	o.stack_size = 1; /* raised to the minimum */
	CHECK_EQ(dps_go(where_am_i, &addr, &o, &c), 0);
	CHECK_EQ(dps_co_stack(c, NULL, &size), 0);
	CHECK_EQ(size, DPS_CO_STACK_MIN);
	CHECK_EQ(dps_co_join(c, NULL), 0);

	CHECK_EQ(dps_go(where_am_i, &addr, NULL, &c), 0);
	CHECK_EQ(dps_co_stack(c, NULL, &size), 0);
	CHECK_EQ(size, DPS_CO_STACK_DEFAULT);
	CHECK_EQ(dps_co_join(c, NULL), 0);
}

/* The FP control words are per context and inherited at creation (like a new thread's). */
static void *fp_child(void *arg)
{
	(void)arg;
	CHECK_EQ(fegetround(), FE_UPWARD);
	CHECK_EQ(_MM_GET_ROUNDING_MODE(), _MM_ROUND_UP);
	fesetround(FE_TOWARDZERO);
	dps_yield();
	CHECK_EQ(fegetround(), FE_TOWARDZERO);
	CHECK_EQ(_MM_GET_ROUNDING_MODE(), _MM_ROUND_TOWARD_ZERO);
	return NULL;
}

static void test_fp_control(void)
{
	struct dps_co *c;

	fesetround(FE_UPWARD);
	CHECK_EQ(dps_go(fp_child, NULL, NULL, &c), 0);
	CHECK_EQ(dps_yield(), 0);
	CHECK_EQ(fegetround(), FE_UPWARD); /* the child's change did not leak */
	CHECK_EQ(_MM_GET_ROUNDING_MODE(), _MM_ROUND_UP);
	CHECK_EQ(dps_co_join(c, NULL), 0);
	fesetround(FE_TONEAREST);
}

/* A fresh thread is adopted by its first call, with no init; its coroutines stay on it. */
static void *thread_main(void *arg)
{
	struct dps_co *me = dps_self();
	struct dps_co *c;
	void *rv;

	(void)arg;
	CHECK(me != NULL);
	CHECK_EQ(dps_co_id(me), 0);
	CHECK_EQ(dps_go(ret_arg, (void *)(uintptr_t)9, NULL, &c), 0);
	CHECK_EQ(dps_co_id(c), 1);
	CHECK_EQ(dps_co_join(c, &rv), 0);
	CHECK_EQ((uintptr_t)rv, 9);
	return NULL;
}

static void test_adoption(void)
{
	pthread_t t;

	CHECK_EQ(pthread_create(&t, NULL, thread_main, NULL), 0);
	CHECK_EQ(pthread_join(t, NULL), 0);
}

int main(void)
{
	test_run_order();
	test_main_yield();
	test_spawn_high();
	test_set_priority();
	test_join_exit();
	test_arg_errors();
	test_stacks();
	test_fp_control();
	test_adoption();
	printf("co_basic: all passed\n");
	return 0;
}
