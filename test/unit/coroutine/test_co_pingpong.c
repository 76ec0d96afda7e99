/*
 * test_co_pingpong.c: 100,000 coroutines in a ring pass a token through wait queues. Coroutine i
 * waits on its own queue, checks the token (it must be round * N + i: nobody skipped, nobody ran
 * twice), increments it and wakes coroutine i + 1. Then the same with pairs that ping-pong
 * through one shared queue each, all pairs at once.
 */
#include <errno.h>
#include <stdint.h>

#include "co_test.h"

#define N 100000
#define ROUNDS 5
#define PAIRS 50000
#define VOLLEYS 20

static struct dps_waitq ring[N];
static uint64_t token;
static uint64_t checked;

static void *ring_member(void *arg)
{
	uint64_t i = (uint64_t)(uintptr_t)arg;
	int r;

	for (r = 0; r < ROUNDS; r++) {
		CHECK_EQ(dps_waitq_wait(&ring[i], DPS_DEADLINE_NONE), 0);
		CHECK_EQ(token, (uint64_t)r * N + i);
		token++;
		checked++;
		CHECK_EQ(dps_waitq_wake_one(&ring[(i + 1) % N]),
			 i + 1 == N && r + 1 == ROUNDS ? 0 : 1);
	}
	return (void *)(uintptr_t)(i + 1);
}

static void test_ring(void)
{
	struct dps_co_opts o = { .stack_size = 16 * 1024 };
	static struct dps_co *co[N];
	uint64_t i, t0, t1;
	void *rv;

	for (i = 0; i < N; i++)
		CHECK_EQ(dps_go(ring_member, (void *)(uintptr_t)i, &o, &co[i]), 0);
	CHECK_EQ(dps_yield(), 0); /* each runs once and parks on its queue */
	for (i = 0; i < N; i++)
		CHECK_EQ(dps_waitq_has_waiters(&ring[i]), 1);
	t0 = dps_now_ns();
	CHECK_EQ(dps_waitq_wake_one(&ring[0]), 1);
	for (i = 0; i < N; i++) {
		CHECK_EQ(dps_co_join(co[i], &rv), 0);
		CHECK_EQ((uintptr_t)rv, i + 1);
	}
	t1 = dps_now_ns();
	CHECK_EQ(token, (uint64_t)N * ROUNDS);
	CHECK_EQ(checked, (uint64_t)N * ROUNDS);
	printf("ring: %d coroutines x %d rounds: %.1f ns per hand-off\n", N, ROUNDS,
	       (double)(t1 - t0) / ((double)N * ROUNDS));
}

/* Pairs: a and b share a queue and a counter; each waits for the other's move. */
struct pair {
	struct dps_waitq q;
	unsigned ball; /* even: a to play; odd: b */
};

static struct pair pairs[PAIRS];

static void *player(void *arg)
{
	uintptr_t v = (uintptr_t)arg;
	struct pair *p = &pairs[v >> 1];
	unsigned side = (unsigned)(v & 1), n;

	for (n = 0; n < VOLLEYS; n++) {
		while ((p->ball & 1) != side)
			CHECK_EQ(dps_waitq_wait(&p->q, DPS_DEADLINE_NONE), 0);
		CHECK_EQ(p->ball, 2 * n + side);
		p->ball++;
		dps_waitq_wake_one(&p->q);
	}
	return NULL;
}

static void test_pairs(void)
{
	struct dps_co_opts o = { .stack_size = 16 * 1024 };
	struct dps_sched_stats a, b;
	uintptr_t i;
	uint64_t t0, t1;

	for (i = 0; i < 2 * PAIRS; i++)
		CHECK_EQ(dps_go(player, (void *)i, &o, NULL), 0);
	CHECK_EQ(dps_sched_get_stats(&a), 0);
	t0 = dps_now_ns();
	CHECK_EQ(dps_sched_run(), 0);
	t1 = dps_now_ns();
	CHECK_EQ(dps_sched_get_stats(&b), 0);
	for (i = 0; i < PAIRS; i++) {
		CHECK_EQ(pairs[i].ball, 2 * VOLLEYS);
		CHECK_EQ(dps_waitq_has_waiters(&pairs[i].q), 0);
	}
	CHECK_EQ(b.alive, 0);
	printf("pairs: %d pairs x %d volleys: %.1f ns per switch (%llu switches)\n", PAIRS, VOLLEYS,
	       (double)(t1 - t0) / (double)(b.switches - a.switches),
	       (unsigned long long)(b.switches - a.switches));
}

int main(void)
{
	test_ring();
	test_pairs();
	printf("co_pingpong: all passed\n");
	return 0;
}
