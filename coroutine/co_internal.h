/*
 * co_internal.h: the coroutine layer's private structures and the functions its files share.
 * Not for use outside coroutine/ (tests and benchmarks excepted).
 *
 * Files:
 *   switch_x86_64.S, context.h   the context switch and the first frame of a new stack
 *   stack.c                      mmap'ed stacks with a guard page, the per-thread stack pool
 *   co.c                         coroutine life: create, entry, exit, join, detach, switch
 *   sched.c                      the per-thread scheduler: adoption, run queue, loop, idle sleep
 *   park.c                       parking and waking: wait queues, deadlines, sleep, interrupts,
 *                                the cross-thread (lock-free) request queue
 *   wheel.c                      the hashed timing wheel (generic)
 */
#ifndef DPS_COROUTINE_INTERNAL_H
#define DPS_COROUTINE_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dpsock_coroutine.h"
#include "coroutine/wheel.h"

#define DPS_HIDDEN __attribute__((visibility("hidden")))

#if defined(__SANITIZE_ADDRESS__)
#define DPS_CO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DPS_CO_ASAN 1
#endif
#endif
#ifndef DPS_CO_ASAN
#define DPS_CO_ASAN 0
#endif

/* Switches between two passes of the scheduler loop (timers, remote requests, idle hook). */
#define SCHED_BUDGET 64
/* Scheduler wheel: 2^16 ns (65.5 us) ticks, 4096 slots: one revolution is 268 ms. */
#define SCHED_TICK_NS (UINT64_C(1) << 16)
#define SCHED_WHEEL_SLOTS 4096
/* The loop context runs the idle hook (the TCP engine): give it room. Committed lazily. */
#define SCHED_LOOP_STACK (512u * 1024)
/* Free stacks kept per thread for reuse. */
#define STACK_POOL_MAX 64
/* Adjacent freed stacks unmapped in one munmap (unmapping a piece from the middle of a large
 * merged mapping costs ~5 us on its own, ~0.5 us per stack in batches). */
#define STACK_UNMAP_BATCH 64

enum co_state {
	CO_RUNNABLE, /* on a run queue */
	CO_RUNNING, /* the thread is executing it */
	CO_PARKED, /* waiting: see park */
	CO_DONE, /* finished; waits to be joined (or freed, if detached) */
};

enum co_park {
	PARK_NONE,
	PARK_WAITQ, /* on a wait queue (co->waitq) */
	PARK_SLEEP, /* timer only */
	PARK_PERMIT, /* dps_park: woken by dps_co_unpark too */
	PARK_JOIN, /* waiting for co->joining to finish */
	PARK_RUN, /* main in dps_sched_run */
};

enum co_flag {
	CO_MAIN = 1 << 0, /* the thread's own stack */
	CO_LOOP = 1 << 1, /* the scheduler loop context */
	CO_DETACHED = 1 << 2, /* frees itself at exit */
	CO_INTR = 1 << 3, /* an interrupt is pending */
	CO_PERMIT = 1 << 4, /* an unpark permit is available */
};

/* Bits of dps_co.remote_req, set by any thread, consumed by the owner. */
enum co_req {
	REQ_INTR = 1 << 0,
	REQ_UNPARK = 1 << 1,
};

struct sched;

/*
 * A coroutine. For dps_go() coroutines it lives at the top of their own stack mapping, so one
 * mmap holds everything (and a pooled stack comes with its struct); the main coroutine's is
 * embedded in struct sched.
 */
struct dps_co {
	void *sp; /* saved stack pointer while not running */
	struct sched *sched;
	struct dps_co_link link; /* run queue, wait queue or stack pool */
	struct dps_timer timer; /* deadline of the current park */
	struct dps_waitq *waitq; /* PARK_WAITQ: the queue */
	struct dps_co *joiner; /* coroutine parked in dps_co_join(this) */
	dps_co_fn fn;
	void *arg;
	void *retval;
	uint64_t id;
	int wake_result; /* what the current park returns */
	uint8_t state; /* enum co_state */
	uint8_t park; /* enum co_park */
	uint8_t prio; /* DPS_PRIO_* */
	uint8_t flags; /* enum co_flag */
	/* The stack: mapping [map, map + map_size), guard page first, usable [lo, lo + size). */
	void *map;
	size_t map_size;
	void *stack_lo;
	size_t stack_size;
	unsigned valgrind_id;
	void *asan_fake_stack; /* ASan's fake stack of this context while suspended */
	/* Cross-thread requests: a Treiber stack of coroutines with requests, drained by the owner. */
	atomic_uint remote_req; /* enum co_req bits; non-zero while queued */
	struct dps_co *remote_next;
};

/* A registered kernel fd (dps_sched_add_fd). */
struct fd_reg {
	struct fd_reg *next;
	int fd;
	uint32_t events;
	dps_fd_cb cb;
	void *arg;
	bool dead; /* deleted while the idle loop may still look at it */
};

struct sched {
	struct dps_co *cur; /* running coroutine */
	struct dps_co *loop; /* the scheduler loop context */
	struct dps_co *prev; /* the coroutine we switched away from (for ASan) */
	struct dps_co *zombie; /* finished detached coroutine to free once off its stack */
	struct dps_co_link runq[2]; /* indexed by priority */
	unsigned budget; /* direct switches left before the next loop pass */
	uint64_t live; /* dps_go() coroutines not yet finished */
	uint64_t next_id;
	struct dps_co *run_waiter; /* main, parked in dps_sched_run */
	bool stop;
	struct dps_wheel wheel;
	/* idle */
	dps_idle_hook_fn hook;
	void *hook_arg;
	uint64_t spin_ns;
	uint64_t last_busy;
	int epfd; /* -1 until first needed */
	int efd; /* eventfd kicked by other threads, -1 until first needed */
	struct fd_reg *fds;
	struct fd_reg *dead_fds;
	bool in_dispatch;
	/* stack pool, and a range of freed stacks waiting to be unmapped together */
	struct dps_co_link pool;
	unsigned pool_len;
	char *unmap_lo, *unmap_hi;
	unsigned unmap_n;
	struct dps_sched_stats stats;
	struct dps_co main;
	/* Written by other threads: own cache line. */
	_Alignas(64) _Atomic(struct dps_co *) remote_head;
	atomic_int sleeping; /* 1 while (about to be) in epoll_wait */
	atomic_int kicked; /* 1 when the eventfd was written since the last drain */
};

/* The calling thread's scheduler (NULL until adopted). */
extern __thread struct sched *dps_co_tls
    __attribute__((tls_model("initial-exec"), visibility("hidden")));

/* sched.c */
DPS_HIDDEN struct sched *dps_co_sched(void); /* adopts the thread; NULL on ENOMEM */
DPS_HIDDEN void dps_co_runq_push(struct sched *s, struct dps_co *co);
DPS_HIDDEN void dps_co_runq_remove(struct sched *s, struct dps_co *co);
DPS_HIDDEN void dps_co_switch_out(struct sched *s, struct dps_co *self);

/* co.c */
DPS_HIDDEN void dps_co_switch_to(struct sched *s, struct dps_co *from, struct dps_co *to);
DPS_HIDDEN void dps_co_after_switch(struct sched *s, struct dps_co *self);
DPS_HIDDEN void dps_co_release(struct sched *s, struct dps_co *co);

/* park.c */
DPS_HIDDEN int dps_co_park(struct sched *s, struct dps_co *self, enum co_park how,
			   struct dps_waitq *wq, uint64_t deadline);
DPS_HIDDEN void dps_co_wake(struct sched *s, struct dps_co *co, int result);
DPS_HIDDEN void dps_co_timer_fire(struct dps_timer *t, uint64_t now);
DPS_HIDDEN unsigned dps_co_remote_drain(struct sched *s);

/* stack.c */
DPS_HIDDEN struct dps_co *dps_co_stack_get(struct sched *s, size_t size);
DPS_HIDDEN void dps_co_stack_put(struct sched *s, struct dps_co *co);
DPS_HIDDEN void dps_co_stack_unmap(struct dps_co *co);
DPS_HIDDEN void dps_co_stack_flush(struct sched *s);
DPS_HIDDEN size_t dps_co_page_size(void);
/* Tests: force the mprotect guard (as on kernels < 6.13) instead of MADV_GUARD_INSTALL. */
DPS_HIDDEN void dps_co_stack_force_mprotect(bool on);

/* Intrusive list helpers for struct dps_co_link. An all-zero head is an empty list. */
static inline void co_list_init(struct dps_co_link *h)
{
	h->next = h;
	h->prev = h;
}

static inline bool co_list_is_empty(const struct dps_co_link *h)
{
	return h->next == NULL || h->next == h;
}

static inline void co_list_add_tail(struct dps_co_link *h, struct dps_co_link *n)
{
	if (h->next == NULL)
		co_list_init(h);
	n->prev = h->prev;
	n->next = h;
	h->prev->next = n;
	h->prev = n;
}

static inline void co_list_del(struct dps_co_link *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->next = NULL;
	n->prev = NULL;
}

static inline struct dps_co *co_list_pop(struct dps_co_link *h)
{
	struct dps_co_link *n;

	if (co_list_is_empty(h))
		return NULL;
	n = h->next;
	co_list_del(n);
	return dps_container_of(n, struct dps_co, link);
}

#endif /* DPS_COROUTINE_INTERNAL_H */
