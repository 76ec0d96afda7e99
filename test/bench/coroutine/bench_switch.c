/*
 * bench_switch.c: what a coroutine switch and a coroutine's life cost, next to glibc's
 * ucontext (swapcontext / makecontext) and pthreads measured in the same run.
 *
 *   raw switch        dps_co_switch() between two contexts, nothing else (assembly only)
 *   yield ping-pong   two coroutines calling dps_yield(): run queue + scheduler passes
 *   waitq ping-pong   two coroutines waking each other through wait queues (the blocking path)
 *   swapcontext       two ucontexts swapping (glibc saves/restores the signal mask: a syscall)
 *   create+join       dps_go + run an empty function + dps_co_join (pooled stack), vs.
 *                     makecontext on a malloc'ed stack + run + free, vs. pthread_create+join
 *   create+join x10k  10,000 created first, then joined: stacks beyond the pool are mmap'ed
 *                     and unmapped (first-touch page faults included)
 *
 * Each figure is the median of 5 runs. No assertions: numbers only.
 * Usage: bench_co_switch [iterations]   (default 1,000,000)
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#include "dpsock_coroutine.h"
#include "coroutine/context.h"

#define RUNS 5

static long iters = 1000000;

static uint64_t now_ns(void)
{
	return dps_now_ns();
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double (*fn)(void))
{
	double v[RUNS];
	int i;

	for (i = 0; i < RUNS; i++)
		v[i] = fn();
	qsort(v, RUNS, sizeof(v[0]), cmp_double);
	return v[RUNS / 2];
}

/* --- raw assembly switch --------------------------------------------------------------- */
static void *raw_main_sp, *raw_co_sp;
static long raw_count;

static void raw_entry(void *arg)
{
	(void)arg;
	for (;;) {
		raw_count++;
		dps_co_switch(&raw_co_sp, raw_main_sp);
	}
}

static double bench_raw(void)
{
	static char stack[64 * 1024] __attribute__((aligned(64)));
	uint64_t t0, t1;
	long i;

	raw_co_sp = ctx_init(stack + sizeof(stack), raw_entry, NULL);
	raw_count = 0;
	t0 = now_ns();
	for (i = 0; i < iters; i++)
		dps_co_switch(&raw_main_sp, raw_co_sp);
	t1 = now_ns();
	if (raw_count != iters)
		abort();
	return (double)(t1 - t0) / (2.0 * (double)iters); /* two switches per round */
}

/* --- dps_yield ping-pong ----------------------------------------------------------------- */
static void *yielder(void *arg)
{
	long i, n = *(long *)arg;

	for (i = 0; i < n; i++)
		dps_yield();
	return NULL;
}

static double bench_yield(void)
{
	struct dps_sched_stats a, b;
	struct dps_co *x, *y;
	long n = iters / 2;
	uint64_t t0, t1;

	dps_go(yielder, &n, NULL, &x);
	dps_go(yielder, &n, NULL, &y);
	dps_sched_get_stats(&a);
	t0 = now_ns();
	dps_co_join(x, NULL);
	dps_co_join(y, NULL);
	t1 = now_ns();
	dps_sched_get_stats(&b);
	return (double)(t1 - t0) / (double)(b.switches - a.switches);
}

/* --- wait queue ping-pong ---------------------------------------------------------------- */
static struct dps_waitq q[2];

static void *bouncer(void *arg)
{
	int me = (int)(uintptr_t)arg;
	long i, n = iters / 2;

	for (i = 0; i < n; i++) {
		if (me == 0 || i > 0)
			dps_waitq_wake_one(&q[1 - me]);
		dps_waitq_wait(&q[me], DPS_DEADLINE_NONE);
	}
	dps_waitq_wake_one(&q[1 - me]);
	return NULL;
}

static double bench_waitq(void)
{
	struct dps_sched_stats a, b;
	struct dps_co *x, *y;
	uint64_t t0, t1;

	dps_go(bouncer, (void *)1, NULL, &y); /* parks first */
	dps_go(bouncer, (void *)0, NULL, &x);
	dps_sched_get_stats(&a);
	t0 = now_ns();
	dps_co_join(x, NULL);
	dps_co_join(y, NULL);
	t1 = now_ns();
	dps_sched_get_stats(&b);
	return (double)(t1 - t0) / (double)(b.switches - a.switches);
}

/* --- glibc swapcontext ------------------------------------------------------------------- */
static ucontext_t uc_main, uc_co;

static void uc_entry(void)
{
	for (;;)
		swapcontext(&uc_co, &uc_main);
}

static double bench_swapcontext(void)
{
	static char stack[64 * 1024];
	long i, n = iters / 4; /* slower: fewer rounds */
	uint64_t t0, t1;

	getcontext(&uc_co);
	uc_co.uc_stack.ss_sp = stack;
	uc_co.uc_stack.ss_size = sizeof(stack);
	uc_co.uc_link = NULL;
	makecontext(&uc_co, uc_entry, 0);
	t0 = now_ns();
	for (i = 0; i < n; i++)
		swapcontext(&uc_main, &uc_co);
	t1 = now_ns();
	return (double)(t1 - t0) / (2.0 * (double)n);
}

/* --- create + destroy -------------------------------------------------------------------- */
static void *empty(void *arg)
{
	return arg;
}

static double bench_create(void)
{
	struct dps_co_opts o = { .stack_size = 64 * 1024 };
	long i, n = iters / 10;
	struct dps_co *c;
	uint64_t t0, t1;

	t0 = now_ns();
	for (i = 0; i < n; i++) {
		dps_go(empty, NULL, &o, &c);
		dps_co_join(c, NULL);
	}
	t1 = now_ns();
	return (double)(t1 - t0) / (double)n;
}

#define BATCH 10000
static double bench_create_batch(void)
{
	struct dps_co_opts o = { .stack_size = 64 * 1024 };
	static struct dps_co *c[BATCH];
	uint64_t t0, t1;
	int i;

	t0 = now_ns();
	for (i = 0; i < BATCH; i++)
		dps_go(empty, NULL, &o, &c[i]);
	for (i = 0; i < BATCH; i++)
		dps_co_join(c[i], NULL);
	t1 = now_ns();
	return (double)(t1 - t0) / BATCH;
}

static ucontext_t uc_ret;
static void uc_empty(void)
{
}

static double bench_makecontext(void)
{
	long i, n = iters / 10;
	uint64_t t0, t1;
	ucontext_t uc;

	t0 = now_ns();
	for (i = 0; i < n; i++) {
		void *stack = malloc(64 * 1024);

		getcontext(&uc);
		uc.uc_stack.ss_sp = stack;
		uc.uc_stack.ss_size = 64 * 1024;
		uc.uc_link = &uc_ret;
		makecontext(&uc, uc_empty, 0);
		swapcontext(&uc_ret, &uc);
		free(stack);
	}
	t1 = now_ns();
	return (double)(t1 - t0) / (double)n;
}

static double bench_makecontext_batch(void)
{
	static ucontext_t uc[BATCH];
	static void *stack[BATCH];
	uint64_t t0, t1;
	int i;

	t0 = now_ns();
	for (i = 0; i < BATCH; i++) {
		stack[i] = malloc(64 * 1024);
		getcontext(&uc[i]);
		uc[i].uc_stack.ss_sp = stack[i];
		uc[i].uc_stack.ss_size = 64 * 1024;
		uc[i].uc_link = &uc_ret;
		makecontext(&uc[i], uc_empty, 0);
	}
	for (i = 0; i < BATCH; i++) {
		swapcontext(&uc_ret, &uc[i]);
		free(stack[i]);
	}
	t1 = now_ns();
	return (double)(t1 - t0) / BATCH;
}

static void *pt_empty(void *arg)
{
	return arg;
}

static double bench_pthread(void)
{
	long i, n = iters / 200;
	uint64_t t0, t1;
	pthread_t t;

	t0 = now_ns();
	for (i = 0; i < n; i++) {
		pthread_create(&t, NULL, pt_empty, NULL);
		pthread_join(t, NULL);
	}
	t1 = now_ns();
	return (double)(t1 - t0) / (double)n;
}

static void row(const char *what, double dps, const char *base_name, double base)
{
	if (base > 0)
		printf("| %-22s | %10.1f | %-26s | %10.1f | %6.2fx |\n", what, dps, base_name, base,
		       base / dps);
	else
		printf("| %-22s | %10.1f | %-26s | %10s | %7s |\n", what, dps, base_name, "", "");
}

int main(int argc, char **argv)
{
	double raw, yield, waitq, swap, create, batch, mk, mkbatch, pt;
	int i;

	if (argc > 1)
		iters = atol(argv[1]);
	if (iters < 1000)
		iters = 1000;
	printf("command:");
	for (i = 0; i < argc; i++)
		printf(" %s", argv[i]);
	printf("\niterations: %ld, median of %d runs, ns per operation\n\n", iters, RUNS);

	raw = median(bench_raw);
	yield = median(bench_yield);
	waitq = median(bench_waitq);
	swap = median(bench_swapcontext);
	create = median(bench_create);
	batch = median(bench_create_batch);
	mk = median(bench_makecontext);
	mkbatch = median(bench_makecontext_batch);
	pt = median(bench_pthread);

	printf("| %-22s | %10s | %-26s | %10s | %7s |\n", "operation", "dpsock ns", "baseline",
	       "base ns", "base/dps");
	printf("|%s|%s|%s|%s|%s|\n", "------------------------", "------------",
	       "----------------------------", "------------", "---------");
	row("switch (raw asm)", raw, "swapcontext switch", swap);
	row("switch (dps_yield)", yield, "swapcontext switch", swap);
	row("switch (waitq wake)", waitq, "swapcontext switch", swap);
	row("create+run+join", create, "malloc+makecontext+run", mk);
	row("create+run+join", create, "pthread_create+join", pt);
	row("create+join x10k", batch, "makecontext x10k", mkbatch);
	return 0;
}
