/*
 * test_co_waitq.c: wait queues, deadlines, sleeps, wake/timeout races, interrupts, permits, the
 * idle hook, registered fds and dps_sched_run/stop, all on one thread.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "co_test.h"

static struct trace tr;
static struct dps_waitq wq; /* zero-filled: valid */

struct waiter {
	const char *name;
	uint64_t deadline;
	int result;
};

static void *wait_on_wq(void *arg)
{
	struct waiter *w = arg;
	char tag[32];

	w->result = dps_waitq_wait(&wq, w->deadline);
	snprintf(tag, sizeof(tag), "%s=%d", w->name, w->result);
	trace_add(&tr, tag);
	return NULL;
}

static void spawn_waiter(struct waiter *w, const char *name, int prio, uint64_t deadline)
{
	struct dps_co_opts o = { .priority = prio };

	w->name = name;
	w->deadline = deadline;
	w->result = 1;
	CHECK_EQ(dps_go(wait_on_wq, w, &o, NULL), 0);
}

/* FIFO within a priority, high priority first; the waker learns how many it woke. */
static void test_wake_order(void)
{
	struct waiter a, b, c, h;

	trace_reset(&tr);
	CHECK_EQ(dps_waitq_has_waiters(&wq), 0);
	CHECK_EQ(dps_waitq_wake_one(&wq), 0);
	CHECK_EQ(dps_waitq_wake_all(&wq), 0);
	spawn_waiter(&a, "a", DPS_PRIO_LOW, DPS_DEADLINE_NONE);
	spawn_waiter(&b, "b", DPS_PRIO_LOW, DPS_DEADLINE_NONE);
	spawn_waiter(&h, "h", DPS_PRIO_HIGH, DPS_DEADLINE_NONE);
	spawn_waiter(&c, "c", DPS_PRIO_LOW, DPS_DEADLINE_NONE);
	CHECK_EQ(dps_yield(), 0); /* all four park */
	CHECK_EQ(dps_waitq_has_waiters(&wq), 1);
	CHECK_STR(tr.buf, "");
	CHECK_EQ(dps_waitq_wake_one(&wq), 1); /* h */
	CHECK_EQ(dps_waitq_wake_one(&wq), 1); /* a */
	CHECK_EQ(dps_yield(), 0);
	CHECK_STR(tr.buf, "h=0 a=0");
	CHECK_EQ(dps_waitq_wake_all(&wq), 2);
	CHECK_EQ(dps_waitq_wake_all(&wq), 0);
	CHECK_EQ(dps_sched_run(), 0);
	CHECK_STR(tr.buf, "h=0 a=0 b=0 c=0");
	CHECK_EQ(dps_waitq_has_waiters(&wq), 0);
	CHECK_EQ(dps_waitq_wake_one(NULL), -EINVAL);
	CHECK_EQ(dps_waitq_wait(NULL, 0), -EINVAL);
}

/* Sleepers wake in deadline order, never early. */
struct sleeper {
	uint64_t ms;
	uint64_t start, end;
	int result;
};

static void *sleep_for(void *arg)
{
	struct sleeper *s = arg;
	char tag[16];

	s->start = dps_now_ns();
	s->result = dps_sleep_ns(s->ms * MS);
	s->end = dps_now_ns();
	snprintf(tag, sizeof(tag), "%llu", (unsigned long long)s->ms);
	trace_add(&tr, tag);
	return NULL;
}

static void test_deadlines(void)
{
	static const uint64_t ms[] = { 50, 10, 40, 20, 30, 1 };
	struct sleeper s[6];
	struct waiter w;
	uint64_t t0, t1;
	int i;

	trace_reset(&tr);
	for (i = 0; i < 6; i++) {
		s[i].ms = ms[i];
		CHECK_EQ(dps_go(sleep_for, &s[i], NULL, NULL), 0);
	}
	t0 = dps_now_ns();
	CHECK_EQ(dps_sched_run(), 0);
	t1 = dps_now_ns();
	CHECK_STR(tr.buf, "1 10 20 30 40 50");
	for (i = 0; i < 6; i++) {
		CHECK_EQ(s[i].result, 0);
		CHECK(s[i].end - s[i].start >= s[i].ms * MS); /* never early */
	}
	CHECK(t1 - t0 >= 50 * MS);
	CHECK(t1 - t0 < 2000 * MS); /* generous: only catches a lost timer */

	/* A waitq wait with a deadline times out, not early. */
	trace_reset(&tr);
	t0 = dps_now_ns();
	spawn_waiter(&w, "w", DPS_PRIO_LOW, t0 + 15 * MS);
	CHECK_EQ(dps_sched_run(), 0);
	CHECK_EQ(w.result, -ETIMEDOUT);
	CHECK(dps_now_ns() - t0 >= 15 * MS);
	CHECK_EQ(dps_waitq_has_waiters(&wq), 0);

	/* A deadline already past: -ETIMEDOUT without parking. */
	CHECK_EQ(dps_waitq_wait(&wq, dps_now_ns() - 1), -ETIMEDOUT);
	CHECK_EQ(dps_waitq_wait(&wq, 0), -ETIMEDOUT);
	CHECK_EQ(dps_park(0), -ETIMEDOUT);
	CHECK_EQ(dps_sleep_until(0), 0);
	CHECK_EQ(dps_sleep_ns(0), 0);

	/* The main coroutine sleeps too (the loop sleeps in the kernel meanwhile). */
	t0 = dps_now_ns();
	CHECK_EQ(dps_sleep_ns(5 * MS), 0);
	CHECK(dps_now_ns() - t0 >= 5 * MS);
}

/* A wake and a timeout at (about) the same time: exactly one wins, and the waker's count agrees
 * with the waiter's result. */
static struct waiter race_w;
static int race_woken;
static int64_t race_offset;

static void *race_waker(void *arg)
{
	(void)arg;
	dps_sleep_until((uint64_t)((int64_t)race_w.deadline + race_offset));
	race_woken = dps_waitq_wake_one(&wq);
	return NULL;
}

static void test_wake_timeout_race(void)
{
	int i, woke = 0, timed_out = 0;

	for (i = 0; i < 120; i++) {
		trace_reset(&tr);
		race_offset =
		    (int64_t)((i % 9) - 4) * 100000; /* -400 us .. +400 us around the deadline */
		race_woken = -1;
		spawn_waiter(&race_w, "w", DPS_PRIO_LOW, dps_now_ns() + 1 * MS);
		CHECK_EQ(dps_go(race_waker, NULL, NULL, NULL), 0);
		CHECK_EQ(dps_sched_run(), 0);
		if (race_woken == 1) {
			CHECK_EQ(race_w.result, 0);
			woke++;
		} else {
			CHECK_EQ(race_woken, 0);
			CHECK_EQ(race_w.result, -ETIMEDOUT);
			timed_out++;
		}
		CHECK_STR(tr.buf, race_w.result == 0 ? "w=0" : "w=-110"); /* ran exactly once */
		CHECK_EQ(dps_waitq_has_waiters(&wq), 0);
	}
	printf("wake/timeout race: %d woken, %d timed out\n", woke, timed_out);
	CHECK(woke > 0 && timed_out > 0); /* offsets of +-400 us straddle the deadline */
}

/* Interrupts: a parked wait returns -EINTR; a pending one fails the next park; clear drops it. */
static void *sleep_long(void *arg)
{
	int *r = arg;

	*r = dps_sleep_ns(10000 * MS);
	return NULL;
}

static void *intr_self_then_wait(void *arg)
{
	int *r = arg;

	dps_co_interrupt(dps_self()); /* queued; the scheduler pass of this yield delivers it */
	CHECK_EQ(dps_yield(), 0);
	r[0] = dps_waitq_wait(&wq, DPS_DEADLINE_NONE); /* pending: -EINTR at once */
	r[1] = dps_waitq_wait(&wq, dps_now_ns() + 2 * MS); /* consumed: times out */
	dps_co_interrupt(dps_self());
	r[2] = dps_sleep_ns(1000 * MS); /* parks, then the interrupt lands: -EINTR */
	r[3] = dps_co_clear_interrupt(); /* nothing pending any more */
	return NULL;
}

static void *join_target(void *arg)
{
	(void)arg;
	dps_sleep_ns(20 * MS);
	return (void *)(uintptr_t)3;
}

static void test_interrupt(void)
{
	struct waiter w;
	struct dps_co *c, *t;
	int r = 1, rs[4] = { 9, 9, 9, 9 };
	uint64_t t0;
	void *rv;

	trace_reset(&tr);
	CHECK_EQ(dps_go(wait_on_wq, &w, NULL, &c), 0);
	w.name = "w";
	w.deadline = DPS_DEADLINE_NONE;
	CHECK_EQ(dps_yield(), 0);
	CHECK_EQ(dps_co_interrupt(c), 0);
	CHECK_EQ(dps_co_join(c, NULL), 0);
	CHECK_EQ(w.result, -EINTR);
	CHECK_EQ(dps_waitq_wake_one(&wq), 0); /* it left the queue */

	t0 = dps_now_ns();
	CHECK_EQ(dps_go(sleep_long, &r, NULL, &c), 0);
	CHECK_EQ(dps_yield(), 0);
	CHECK_EQ(dps_co_interrupt(c), 0);
	CHECK_EQ(dps_co_join(c, NULL), 0);
	CHECK_EQ(r, -EINTR);
	CHECK(dps_now_ns() - t0 < 5000 * MS);

	CHECK_EQ(dps_go(intr_self_then_wait, rs, NULL, &c), 0);
	CHECK_EQ(dps_co_join(c, NULL), 0);
	CHECK_EQ(rs[0], -EINTR);
	CHECK_EQ(rs[1], -ETIMEDOUT);
	CHECK_EQ(rs[2], -EINTR);
	CHECK_EQ(rs[3], 0);

	/* On main: a pending interrupt fails the next park; once cleared, it is gone. */
	CHECK_EQ(dps_co_interrupt(dps_self()), 0);
	CHECK_EQ(dps_sleep_ns(1 * MS), -EINTR);
	CHECK_EQ(dps_co_interrupt(dps_self()), 0);
	CHECK_EQ(dps_yield(), 0); /* the loop pass delivers it: pending now */
	CHECK_EQ(dps_co_clear_interrupt(), 1);
	CHECK_EQ(dps_sleep_ns(1 * MS), 0);

	/* An interrupted join leaves the target joinable. */
	CHECK_EQ(dps_go(join_target, NULL, NULL, &t), 0);
	CHECK_EQ(dps_co_interrupt(dps_self()), 0);
	CHECK_EQ(dps_co_join(t, &rv), -EINTR);
	CHECK_EQ(dps_co_join(t, &rv), 0);
	CHECK_EQ((uintptr_t)rv, 3);
}

/* Permits: one is kept, consumed by the next dps_park. */
static void test_permit(void)
{
	struct dps_co *me = dps_self();

	CHECK_EQ(dps_co_unpark(me), 0);
	CHECK_EQ(dps_co_unpark(me), 0);
	CHECK_EQ(dps_park(dps_now_ns() + 50 * MS), 0);
	CHECK_EQ(dps_park(dps_now_ns() + 2 * MS), -ETIMEDOUT);
	/* A permit does not wake a wait-queue wait, and survives it. */
	CHECK_EQ(dps_co_unpark(me), 0);
	CHECK_EQ(dps_waitq_wait(&wq, dps_now_ns() + 2 * MS), -ETIMEDOUT);
	CHECK_EQ(dps_park(DPS_DEADLINE_NONE), 0);
}

/* The idle hook runs on every pass; work > 0 keeps the loop polling; parking there fails. */
static int hook_calls, hook_work, hook_yield_result;
static uint64_t hook_period;

static int idle_hook(void *arg, uint64_t now, uint64_t *deadline)
{
	(void)arg;
	hook_calls++;
	hook_yield_result = dps_yield();
	if (hook_period != 0 && *deadline > now + hook_period)
		*deadline = now + hook_period;
	return hook_work;
}

static void test_idle_hook(void)
{
	struct dps_sched_stats a, b;

	CHECK_EQ(dps_sched_set_idle_hook(idle_hook, NULL), 0);
	hook_work = 1; /* always busy: the scheduler polls, never sleeps in the kernel */
	CHECK_EQ(dps_sched_get_stats(&a), 0);
	CHECK_EQ(dps_sleep_ns(3 * MS), 0);
	CHECK_EQ(dps_sched_get_stats(&b), 0);
	CHECK_EQ(b.kernel_sleeps, a.kernel_sleeps);
	CHECK(hook_calls > 10);
	CHECK_EQ(hook_yield_result, -EDEADLK);

	hook_work = 0; /* idle: sleeps in the kernel, capped by the next timer */
	hook_calls = 0;
	CHECK_EQ(dps_sleep_ns(3 * MS), 0);
	CHECK_EQ(dps_sched_get_stats(&a), 0);
	CHECK(a.kernel_sleeps > b.kernel_sleeps);
	CHECK(hook_calls >= 1 && hook_calls < 1000);

	/* The hook can cap the sleep (for its own timers): here every 2 ms during a 20 ms park. */
	hook_calls = 0;
	hook_period = 2 * MS;
	CHECK_EQ(dps_sched_get_stats(&a), 0);
	CHECK_EQ(dps_park(dps_now_ns() + 20 * MS), -ETIMEDOUT);
	CHECK_EQ(dps_sched_get_stats(&b), 0);
	CHECK(hook_calls >= 5);
	CHECK(b.kernel_sleeps - a.kernel_sleeps >= 5);
	hook_period = 0;

	/* The spin budget: idle, but polling for 5 ms before sleeping. */
	CHECK_EQ(dps_sched_set_idle_spin(5 * MS), 0);
	hook_calls = 0;
	CHECK_EQ(dps_sched_get_stats(&a), 0);
	CHECK_EQ(dps_sleep_ns(3 * MS), 0);
	CHECK_EQ(dps_sched_get_stats(&b), 0);
	CHECK(b.kernel_sleeps - a.kernel_sleeps <= 1);
	CHECK(hook_calls > 10);
	CHECK_EQ(dps_sched_set_idle_spin(0), 0);
	CHECK_EQ(dps_sched_set_idle_hook(NULL, NULL), 0);
}

/* A registered fd wakes the idle loop; its callback wakes a waiter. */
static int pipe_fds[2];
static int fd_cb_calls;

static void on_pipe(void *arg, int fd, uint32_t events)
{
	char c;

	(void)arg;
	CHECK(events & EPOLLIN);
	CHECK_EQ(read(fd, &c, 1), 1);
	fd_cb_calls++;
	CHECK_EQ(dps_waitq_wake_all(&wq), 1);
}

static void *late_writer(void *arg)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	(void)arg;
	nanosleep(&ts, NULL);
	CHECK_EQ(write(pipe_fds[1], "x", 1), 1);
	return NULL;
}

static void test_fds(void)
{
	pthread_t t;
	uint64_t t0;

	CHECK_EQ(pipe(pipe_fds), 0);
	CHECK_EQ(dps_sched_add_fd(pipe_fds[0], EPOLLIN, on_pipe, NULL), 0);
	CHECK_EQ(dps_sched_add_fd(pipe_fds[0], EPOLLIN, on_pipe, NULL), -EEXIST);
	CHECK_EQ(dps_sched_add_fd(-1, EPOLLIN, on_pipe, NULL), -EINVAL);
	CHECK_EQ(dps_sched_add_fd(999, EPOLLIN, on_pipe, NULL), -EBADF);
	CHECK_EQ(pthread_create(&t, NULL, late_writer, NULL), 0);
	t0 = dps_now_ns();
	CHECK_EQ(dps_waitq_wait(&wq, t0 + 5000 * MS), 0);
	CHECK(dps_now_ns() - t0 >= 15 * MS);
	CHECK_EQ(fd_cb_calls, 1);
	CHECK_EQ(pthread_join(t, NULL), 0);
	CHECK_EQ(dps_sched_del_fd(pipe_fds[0]), 0);
	CHECK_EQ(dps_sched_del_fd(pipe_fds[0]), -ENOENT);
	close(pipe_fds[0]);
	close(pipe_fds[1]);
}

/* dps_sched_stop ends dps_sched_run early; a second run finishes the job. */
static void *stopper(void *arg)
{
	(void)arg;
	trace_add(&tr, "stop");
	dps_sched_stop();
	return NULL;
}

static void *slow(void *arg)
{
	(void)arg;
	dps_sleep_ns(5 * MS);
	trace_add(&tr, "slow");
	return NULL;
}

static void test_run_stop(void)
{
	struct dps_sched_stats st;

	trace_reset(&tr);
	CHECK_EQ(dps_go(slow, NULL, NULL, NULL), 0);
	CHECK_EQ(dps_go(stopper, NULL, NULL, NULL), 0);
	CHECK_EQ(dps_sched_run(), 0);
	CHECK_STR(tr.buf, "stop");
	CHECK_EQ(dps_sched_get_stats(&st), 0);
	CHECK_EQ(st.alive, 1);
	CHECK_EQ(dps_sched_run(), 0);
	CHECK_STR(tr.buf, "stop slow");
}

static void *run_from_co(void *arg)
{
	*(int *)arg = dps_sched_run();
	return NULL;
}

static void test_run_errors(void)
{
	int r = 0;

	CHECK_EQ(dps_go(run_from_co, &r, NULL, NULL), 0);
	CHECK_EQ(dps_sched_run(), 0);
	CHECK_EQ(r, -EINVAL);
	CHECK_EQ(dps_sched_run(), 0); /* nothing alive: returns at once */
}

int main(void)
{
	test_wake_order();
	test_deadlines();
	test_wake_timeout_race();
	test_interrupt();
	test_permit();
	test_idle_hook();
	test_fds();
	test_run_stop();
	test_run_errors();
	printf("co_waitq: all passed\n");
	return 0;
}
