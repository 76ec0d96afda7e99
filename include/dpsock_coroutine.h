/*
 * dpsock_coroutine.h: user-level threads (coroutines) and their per-thread scheduler.
 *
 * Every OS thread that calls any function below gets a scheduler the first time it does; the
 * thread's own execution becomes that scheduler's *main coroutine* (no init call needed).
 * Coroutines never migrate between threads: a coroutine, the wait queues it parks on and the
 * scheduler that runs it all belong to the thread that created it (its *owner*).
 *
 * Threading rules, in one place:
 *   - dps_co_unpark() and dps_co_interrupt() may be called from any thread and from signal
 *     handlers; dps_now_ns() from anywhere.
 *   - Everything else must be called on the owner thread, from a coroutine (the main coroutine
 *     counts), not from a signal handler.
 *   - Idle hooks, fd callbacks and timer callbacks run on the scheduler's own loop context: they
 *     may wake coroutines (dps_waitq_wake_*, dps_co_unpark, dps_co_interrupt) and spawn them
 *     (dps_go), but every call that would park returns -EDEADLK there.
 *
 * Errors: functions return 0 (or a count) on success and a negative errno value on failure. They
 * never read or write errno (the value errno had on entry is preserved).
 *
 * Time: deadlines are absolute CLOCK_MONOTONIC nanoseconds (dps_now_ns()); DPS_DEADLINE_NONE
 * means "no deadline". Timers fire on a 65.5 us tick, never early, and at most one tick plus
 * one scheduler pass late.
 *
 * See docs/coroutines.md for the design and the measured costs.
 */
#ifndef DPSOCK_COROUTINE_H
#define DPSOCK_COROUTINE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* An opaque coroutine handle. */
struct dps_co;

/* Entry point of a coroutine; its return value is what dps_co_join() hands back. */
typedef void *(*dps_co_fn)(void *arg);

#define DPS_DEADLINE_NONE UINT64_MAX

/* Run-queue priorities: every runnable high-priority coroutine runs before any low one. */
#define DPS_PRIO_LOW 0
#define DPS_PRIO_HIGH 1

/* Stack sizes (bytes). The size includes ~256 bytes of bookkeeping kept at the top of the stack;
 * a guard page below the stack is extra. Memory is committed only where the stack is touched. */
#define DPS_CO_STACK_DEFAULT (128u * 1024)
#define DPS_CO_STACK_MIN (8u * 1024)
#define DPS_CO_STACK_MAX (1024u * 1024 * 1024)

/* Options for dps_go(). A zeroed struct (or a NULL pointer) means all defaults. */
struct dps_co_opts {
	size_t stack_size; /* 0: DPS_CO_STACK_DEFAULT; rounded up to whole pages */
	int priority; /* DPS_PRIO_LOW (default) or DPS_PRIO_HIGH */
};

/*
 * dps_go: create a coroutine that will run fn(arg) on its own stack.
 *
 * The new coroutine is appended to the run queue of its priority; the caller keeps running.
 * If cop is non-NULL the coroutine is joinable and *cop receives its handle, which stays valid
 * until dps_co_join() or dps_co_detach(); if cop is NULL the coroutine is detached and frees
 * itself when fn returns.
 *
 * Returns 0, or
 *   -EINVAL  fn is NULL, opts->priority is not DPS_PRIO_LOW/HIGH, or opts->stack_size is above
 *            DPS_CO_STACK_MAX (sizes below DPS_CO_STACK_MIN are raised to it)
 *   -ENOMEM  no memory for the stack or the scheduler (including the kernel's vm.max_map_count
 *            limit on kernels older than 6.13, where each guard page costs a mapping)
 */
int dps_go(dps_co_fn fn, void *arg, const struct dps_co_opts *opts, struct dps_co **cop);

/*
 * dps_yield: let every other runnable coroutine of the same or higher priority run once, then
 * continue. A high-priority coroutine yielding while no other high one is runnable continues at
 * once (low ones wait: priorities are strict). The scheduler's loop (timers, cross-thread
 * wakes, the idle hook) also gets its turn at least once every 64 switches.
 *
 * Returns 0, or -EDEADLK when called from an idle hook or callback, -ENOMEM if the scheduler
 * could not be created.
 */
int dps_yield(void);

/*
 * dps_sleep_ns / dps_sleep_until: park the calling coroutine for ns nanoseconds / until the
 * absolute deadline. A duration of 0 or a deadline in the past behaves as dps_yield().
 *
 * Returns 0 once the time has passed, or
 *   -EINTR    dps_co_interrupt() hit the sleeper (the remaining time is not reported)
 *   -EDEADLK  called from an idle hook or callback
 *   -ENOMEM   the scheduler could not be created
 */
int dps_sleep_ns(uint64_t ns);
int dps_sleep_until(uint64_t deadline_ns);

/*
 * dps_self: the calling coroutine (the main coroutine when called from the thread's own
 * stack). Adopts the thread on its first call. Returns NULL only if the scheduler could not be
 * created (out of memory).
 */
struct dps_co *dps_self(void);

/* dps_co_id: a small number unique among the owner thread's coroutines (the main one is 0). */
uint64_t dps_co_id(const struct dps_co *co);

/* dps_now_ns: CLOCK_MONOTONIC in nanoseconds, the clock of every deadline here. */
uint64_t dps_now_ns(void);

/*
 * dps_co_join: wait until co has finished, store its return value (or the value passed to
 * dps_co_exit) in *retval if retval is non-NULL, and free it. Only one coroutine may join a
 * given coroutine.
 *
 * Returns 0, or
 *   -EINVAL   co is NULL, detached, already being joined, not a dps_go() coroutine, or owned by
 *             another thread
 *   -EDEADLK  co is the caller, or the call comes from an idle hook or callback
 *   -EINTR    the joiner was interrupted; co stays joinable
 */
int dps_co_join(struct dps_co *co, void **retval);

/*
 * dps_co_detach: let co free itself when it finishes (at once if it already has). The handle
 * must not be used afterwards.
 *
 * Returns 0, or -EINVAL (co NULL, already detached or being joined, not a dps_go() coroutine,
 * or owned by another thread).
 */
int dps_co_detach(struct dps_co *co);

/*
 * dps_co_exit: finish the calling coroutine as if its function had returned retval. Never
 * returns. Calling it from the main coroutine (or an idle hook or callback) aborts the process:
 * the thread itself must end through pthread_exit() or by returning from its start routine.
 */
void dps_co_exit(void *retval) __attribute__((noreturn));

/*
 * dps_co_set_priority: move co to priority DPS_PRIO_LOW or DPS_PRIO_HIGH. A runnable co is
 * re-queued at the tail of its new level; a parked one is affected when it is next woken.
 *
 * Returns 0, or -EINVAL (bad priority, co NULL or owned by another thread).
 */
int dps_co_set_priority(struct dps_co *co, int priority);

/* dps_co_priority: co's priority, DPS_PRIO_LOW or DPS_PRIO_HIGH; -EINVAL if co is NULL. */
int dps_co_priority(const struct dps_co *co);

/*
 * dps_co_stack: the usable stack of co, [*lo, *lo + *size), guard page excluded (it is the page
 * just below *lo). For tests and debuggers.
 *
 * Returns 0, or -EINVAL (co NULL, or the main coroutine, whose stack is the thread's own).
 */
int dps_co_stack(const struct dps_co *co, void **lo, size_t *size);

/*
 * dps_co_interrupt: make co's current park (wait queue, sleep, join, dps_park, dps_sched_run)
 * return -EINTR. If co is not parked, the interrupt stays pending and its next park returns
 * -EINTR at once (cancellation semantics); dps_co_clear_interrupt() discards a pending one.
 *
 * Safe from any thread and from signal handlers: the interrupt is queued (lock-free) to co's
 * owner and delivered on its scheduler's next pass; a owner sleeping in the kernel is woken.
 * co must stay alive (not joined, not a finished detached coroutine) until the call returns.
 *
 * Returns 0, or -EINVAL if co is NULL.
 */
int dps_co_interrupt(struct dps_co *co);

/*
 * dps_co_clear_interrupt: discard an interrupt pending for the calling coroutine (one already
 * queued by another thread but not yet delivered may still arrive). The preload shim calls it
 * when a blocking call starts, so that a signal handled while the coroutine was running does
 * not fail a later call (the kernel's EINTR semantics).
 *
 * Returns 1 if an interrupt was pending, 0 if not, -ENOMEM if the scheduler could not be
 * created.
 */
int dps_co_clear_interrupt(void);

/*
 * dps_park / dps_co_unpark: a permit, for waking across threads without lost wake-ups
 * (the model of Java's LockSupport.park/unpark). dps_co_unpark() gives co the permit (at most
 * one is kept); dps_park() consumes it, returning at once if it was available, and otherwise
 * parks until it arrives, the deadline passes or the coroutine is interrupted. Permits do not
 * wake waits on wait queues, sleeps or joins; they wait for the next dps_park().
 *
 * dps_park returns 0 (permit consumed), or -ETIMEDOUT, -EINTR, -EDEADLK (idle hook/callback),
 * -ENOMEM (no scheduler).
 * dps_co_unpark is safe from any thread and from signal handlers (same delivery and lifetime
 * rules as dps_co_interrupt); returns 0, or -EINVAL if co is NULL.
 */
int dps_park(uint64_t deadline_ns);
int dps_co_unpark(struct dps_co *co);

/*
 * Wait queues: where coroutines park until an event (a socket becoming readable...). Waiters
 * are woken high priority first, then in arrival order. A wait queue belongs to the thread
 * whose coroutines wait on it. A zero-filled struct dps_waitq is a valid empty queue, so it
 * can be embedded in calloc'ed objects; it must be empty when its memory is freed.
 */
struct dps_co_link {
	struct dps_co_link *next, *prev;
};

struct dps_waitq {
	struct dps_co_link q[2]; /* indexed by priority */
};

#define DPS_WAITQ_INIT                     \
	{                                  \
		{                          \
			{ NULL, NULL },    \
			{                  \
				NULL, NULL \
			}                  \
		}                          \
	}

/* dps_waitq_init: make wq an empty queue (equivalent to zero-filling it). */
void dps_waitq_init(struct dps_waitq *wq);

/* dps_waitq_has_waiters: 1 if some coroutine is parked on wq, else 0. */
int dps_waitq_has_waiters(const struct dps_waitq *wq);

/*
 * dps_waitq_wait: park the calling coroutine on wq until a dps_waitq_wake_*(), the deadline or
 * an interrupt. A deadline already past returns -ETIMEDOUT without parking.
 *
 * Returns 0 when woken by dps_waitq_wake_one/all, or
 *   -ETIMEDOUT  the deadline passed first
 *   -EINTR      interrupted (dps_co_interrupt), or an interrupt was pending
 *   -EDEADLK    called from an idle hook or callback
 *   -ENOMEM     the scheduler could not be created
 * Exactly one of "woken" and "timed out/interrupted" happens: a waker that counted this waiter
 * as woken is never contradicted by a -ETIMEDOUT result.
 */
int dps_waitq_wait(struct dps_waitq *wq, uint64_t deadline_ns);

/*
 * dps_waitq_wake_one / dps_waitq_wake_all: make the first waiter / every waiter of wq runnable
 * (its dps_waitq_wait returns 0). They run later, when the caller yields or parks.
 *
 * Return the number of coroutines woken (0 if none waited), or -EINVAL if wq is NULL or its
 * waiters belong to another thread.
 */
int dps_waitq_wake_one(struct dps_waitq *wq);
int dps_waitq_wake_all(struct dps_waitq *wq);

/*
 * dps_sched_run: from the main coroutine, run the thread's scheduler until every coroutine
 * spawned on this thread has finished, or dps_sched_stop() is called. While nothing is
 * runnable the thread spins (see dps_sched_set_idle_spin), then sleeps in the kernel until the
 * next timer, a registered fd, or a wake from another thread.
 *
 * Returns 0, or
 *   -EINVAL  not called from the main coroutine
 *   -EINTR   the main coroutine was interrupted
 *   -ENOMEM  the scheduler could not be created
 */
int dps_sched_run(void);

/* dps_sched_stop: make a pending (or the next) dps_sched_run() of this thread return 0 once
 * the main coroutine is scheduled. Returns 0, or -ENOMEM. */
int dps_sched_stop(void);

/*
 * The idle hook: called by the scheduler's loop on every pass (at least once every 64
 * coroutine switches, and on each idle iteration before deciding to sleep). The stack plugs its
 * rx poll / fastcalldown here. now_ns is the loop's clock reading. *deadline_ns holds when the
 * scheduler will wake up at the latest (its next timer, or DPS_DEADLINE_NONE); the hook may
 * lower it (e.g. to its next TCP timer). Return > 0 if it did work (the scheduler then keeps
 * polling instead of sleeping), 0 if it found nothing to do.
 */
typedef int (*dps_idle_hook_fn)(void *arg, uint64_t now_ns, uint64_t *deadline_ns);

/* dps_sched_set_idle_hook: install fn(arg) as this thread's idle hook (fn NULL removes it).
 * Returns 0, or -ENOMEM (no scheduler). */
int dps_sched_set_idle_hook(dps_idle_hook_fn fn, void *arg);

/* dps_sched_set_idle_spin: when nothing is runnable, keep polling (hook, timers, wakes) for
 * spin_ns after the last useful work before sleeping in the kernel (default 0: sleep at once).
 * Returns 0, or -ENOMEM (no scheduler). */
int dps_sched_set_idle_spin(uint64_t spin_ns);

/* An fd callback, run on the scheduler's loop when the fd is ready (events as epoll reports). */
typedef void (*dps_fd_cb)(void *arg, int fd, uint32_t events);

/*
 * dps_sched_add_fd: watch a kernel fd while sleeping idle: when epoll reports one of events
 * (EPOLLIN, EPOLLOUT, EPOLLET...) on it, the scheduler wakes up and calls cb(arg, fd, revents)
 * (cb may be NULL: then it only wakes up, and the idle hook runs). Level-triggered unless
 * EPOLLET is given. The fd is only polled when the scheduler is about to sleep.
 *
 * Returns 0, or
 *   -EINVAL  fd < 0
 *   -EEXIST  fd is already registered on this thread
 *   -EBADF, -EPERM, -ENOMEM, -ENOSPC, -EMFILE, -ENFILE  from epoll_create1/eventfd/epoll_ctl
 */
int dps_sched_add_fd(int fd, uint32_t events, dps_fd_cb cb, void *arg);

/* dps_sched_del_fd: stop watching fd (call it before closing fd). Returns 0, or -ENOENT (not
 * registered on this thread), -ENOMEM (no scheduler). */
int dps_sched_del_fd(int fd);

/* Counters of the calling thread's scheduler, since it was created. */
struct dps_sched_stats {
	uint64_t switches; /* context switches */
	uint64_t loops; /* passes of the scheduler loop */
	uint64_t kernel_sleeps; /* epoll waits (or fallback sleeps) while idle */
	uint64_t kicks; /* eventfd wake-ups received from other threads/handlers */
	uint64_t remote; /* cross-thread/async requests (unpark, interrupt) processed */
	uint64_t timers; /* timers fired */
	uint64_t created; /* coroutines created */
	uint64_t alive; /* coroutines created and not yet finished (main excluded) */
	uint64_t pooled; /* stacks currently cached for reuse */
};

/* dps_sched_get_stats: copy the calling thread's counters into *st. Returns 0, or -EINVAL (st
 * NULL), -ENOMEM (no scheduler). */
int dps_sched_get_stats(struct dps_sched_stats *st);

#ifdef __cplusplus
}
#endif

#endif /* DPSOCK_COROUTINE_H */
