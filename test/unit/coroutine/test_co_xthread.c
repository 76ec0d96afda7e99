/*
 * test_co_xthread.c: wakes that cross threads. A scheduler asleep in the kernel (epoll) is woken
 * by another thread's dps_co_unpark / dps_co_interrupt and by a signal handler; two schedulers
 * ping-pong permits 20,000 times without losing a wake-up.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "co_test.h"

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

struct remote_job {
	struct dps_co *target;
	unsigned delay_ms;
	int what; /* 0: unpark, 1: interrupt, 2: SIGUSR1 to the target thread */
	pthread_t target_thread;
	uint64_t sent_at;
};

static void *remote_main(void *arg)
{
	struct remote_job *j = arg;

	sleep_ms(j->delay_ms);
	j->sent_at = dps_now_ns();
	if (j->what == 0)
		CHECK_EQ(dps_co_unpark(j->target), 0);
	else if (j->what == 1)
		CHECK_EQ(dps_co_interrupt(j->target), 0);
	else
		CHECK_EQ(pthread_kill(j->target_thread, SIGUSR1), 0);
	return NULL;
}

static void start_remote(pthread_t *t, struct remote_job *j, int what, unsigned delay_ms)
{
	j->target = dps_self();
	j->target_thread = pthread_self();
	j->delay_ms = delay_ms;
	j->what = what;
	CHECK_EQ(pthread_create(t, NULL, remote_main, j), 0);
}

/* The main coroutine parks with nothing else to run: the thread sleeps in epoll (little CPU)
 * until the other thread's unpark kicks the eventfd. */
static void test_wake_sleeping_scheduler(void)
{
	struct dps_sched_stats a, b;
	struct remote_job j;
	pthread_t t;
	uint64_t t0, cpu0, woke;

	CHECK_EQ(dps_sched_get_stats(&a), 0);
	start_remote(&t, &j, 0, 100);
	t0 = dps_now_ns();
	cpu0 = thread_cpu_ns();
	CHECK_EQ(dps_park(t0 + 10000 * MS), 0);
	woke = dps_now_ns();
	CHECK(woke - t0 >= 90 * MS);
	CHECK(woke >= j.sent_at);
	CHECK(thread_cpu_ns() - cpu0 < 30 * MS); /* slept, did not spin */
	CHECK_EQ(dps_sched_get_stats(&b), 0);
	CHECK(b.kernel_sleeps > a.kernel_sleeps);
	CHECK(b.kicks > a.kicks);
	CHECK(b.remote > a.remote);
	CHECK_EQ(pthread_join(t, NULL), 0);
	printf("cross-thread wake of a sleeping scheduler: %.1f us from unpark to running\n",
	       (double)(woke - j.sent_at) / 1e3);
}

/* Another thread interrupts a coroutine (not main) parked on a wait queue. */
static struct dps_waitq wq;

static void *waits_forever(void *arg)
{
	*(int *)arg = dps_waitq_wait(&wq, DPS_DEADLINE_NONE);
	return NULL;
}

static void *interrupter(void *arg)
{
	sleep_ms(30);
	CHECK_EQ(dps_co_interrupt(arg), 0);
	return NULL;
}

static void test_remote_interrupt(void)
{
	struct dps_co *c;
	pthread_t t;
	int r = 1;

	CHECK_EQ(dps_go(waits_forever, &r, NULL, &c), 0);
	CHECK_EQ(dps_yield(), 0);
	CHECK_EQ(pthread_create(&t, NULL, interrupter, c), 0);
	CHECK_EQ(dps_co_join(c, NULL), 0); /* main parks; the thread sleeps until the interrupt */
	CHECK_EQ(r, -EINTR);
	CHECK_EQ(dps_waitq_has_waiters(&wq), 0);
	CHECK_EQ(pthread_join(t, NULL), 0);
}

/* A signal handler interrupts the parked main coroutine: the shim's EINTR path. */
static struct dps_co *signal_target;
static volatile sig_atomic_t handled;

static void on_sigusr1(int sig)
{
	(void)sig;
	handled = 1;
	dps_co_interrupt(signal_target);
}

static void test_signal_interrupt(void)
{
	struct sigaction sa;
	struct remote_job j;
	pthread_t t;
	uint64_t t0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigusr1;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART; /* even so: the park must end with -EINTR */
	CHECK_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
	signal_target = dps_self();
	start_remote(&t, &j, 2, 30);
	t0 = dps_now_ns();
	CHECK_EQ(dps_waitq_wait(&wq, t0 + 10000 * MS), -EINTR);
	CHECK(handled);
	CHECK(dps_now_ns() - t0 >= 25 * MS);
	CHECK_EQ(pthread_join(t, NULL), 0);
	signal(SIGUSR1, SIG_DFL);
}

/* Two schedulers ping-pong a permit; a lost wake-up shows as a 5 s timeout. */
#define PINGPONG 20000
static _Atomic(struct dps_co *) peer_co[2];
static atomic_int ready;

static void *pinger(void *arg)
{
	int me = (int)(uintptr_t)arg, i;
	struct dps_co *peer;

	atomic_store(&peer_co[me], dps_self());
	atomic_fetch_add(&ready, 1);
	while (atomic_load(&ready) < 2)
		sched_yield();
	peer = atomic_load(&peer_co[1 - me]);
	for (i = 0; i < PINGPONG; i++) {
		if (me == 0)
			CHECK_EQ(dps_co_unpark(peer), 0);
		CHECK_EQ(dps_park(dps_now_ns() + 5000 * MS), 0);
		if (me == 1)
			CHECK_EQ(dps_co_unpark(peer), 0);
	}
	return NULL;
}

static void test_thread_pingpong(void)
{
	pthread_t t[2];
	uint64_t t0, t1;
	uintptr_t i;

	t0 = dps_now_ns();
	for (i = 0; i < 2; i++)
		CHECK_EQ(pthread_create(&t[i], NULL, pinger, (void *)i), 0);
	for (i = 0; i < 2; i++)
		CHECK_EQ(pthread_join(t[i], NULL), 0);
	t1 = dps_now_ns();
	printf("cross-thread permit ping-pong: %d round trips, %.1f us each\n", PINGPONG,
	       (double)(t1 - t0) / PINGPONG / 1e3);
}

/* Many threads unpark one coroutine while it parks and unparks in a loop: requests coalesce,
 * none is lost, nothing is touched after the coroutine is joined. */
#define HAMMER_THREADS 3
#define HAMMER_PARKS 3000
static atomic_int hammer_stop;

static void *hammer(void *arg)
{
	while (!atomic_load(&hammer_stop))
		dps_co_unpark(arg);
	return NULL;
}

static void *parks_a_lot(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < HAMMER_PARKS; i++)
		CHECK_EQ(dps_park(dps_now_ns() + 5000 * MS), 0);
	return NULL;
}

static void test_hammer(void)
{
	pthread_t t[HAMMER_THREADS];
	struct dps_co *c;
	int i;

	CHECK_EQ(dps_go(parks_a_lot, NULL, NULL, &c), 0);
	for (i = 0; i < HAMMER_THREADS; i++)
		CHECK_EQ(pthread_create(&t[i], NULL, hammer, c), 0);
	/* Wait until it finished (it cannot be joined while requests may still arrive). */
	for (;;) {
		struct dps_sched_stats st;

		CHECK_EQ(dps_sched_get_stats(&st), 0);
		if (st.alive == 0)
			break;
		CHECK_EQ(dps_sleep_ns(1 * MS), 0);
	}
	atomic_store(&hammer_stop, 1);
	for (i = 0; i < HAMMER_THREADS; i++)
		CHECK_EQ(pthread_join(t[i], NULL), 0);
	CHECK_EQ(dps_co_join(c, NULL), 0);
}

int main(void)
{
	test_wake_sleeping_scheduler();
	test_remote_interrupt();
	test_signal_interrupt();
	test_thread_pingpong();
	test_hammer();
	printf("co_xthread: all passed\n");
	return 0;
}
