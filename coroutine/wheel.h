/*
 * wheel.h: a hashed timing wheel (Varghese & Lauck, "Hashed and Hierarchical Timing Wheels",
 * scheme 6) with intrusive timer nodes. Generic: the coroutine scheduler uses one per thread for
 * sleeps and deadlines, the TCP engine embeds struct dps_timer in its connections.
 *
 * Time is cut in ticks of tick_ns; a timer due at time T goes into slot ceil(T / tick) mod
 * nslots, a doubly-linked list, so add and cancel are O(1). dps_wheel_advance(now) visits the
 * slots of the ticks that passed since the last call and fires the timers whose tick has come
 * (timers more than one revolution away share the slot and are skipped until their turn).
 *
 * Guarantees and limits:
 *   - A timer never fires early: it fires at the first advance(now) with now >= its time
 *     rounded up to a tick; how late depends on how often advance() is called.
 *   - Timers due in the same tick fire in the order they were added. After a jump of more than
 *     one revolution, the overdue ones fire in slot order, not time order.
 *   - A timer added (or re-added from a callback) with a time already past fires at the next
 *     tick, never inside the advance() that is running, so a callback cannot loop forever.
 *   - dps_wheel_next_expiry() is a lower bound: the start of the first non-empty slot. A slot
 *     holding only timers one or more revolutions away makes an idle sleeper wake early, at
 *     most once per revolution (nslots * tick).
 *   - Not thread-safe: one wheel belongs to one thread.
 */
#ifndef DPS_COROUTINE_WHEEL_H
#define DPS_COROUTINE_WHEEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef dps_container_of
#define dps_container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))
#endif

struct dps_timer;

/* A timer callback: t is no longer pending when it runs and may be re-added; now is the value
 * given to dps_wheel_advance(). */
typedef void (*dps_timer_fn)(struct dps_timer *t, uint64_t now);

struct dps_wheel_link {
	struct dps_wheel_link *next, *prev;
};

/* Embed in the object that owns the timer; 32 bytes. */
struct dps_timer {
	struct dps_wheel_link link; /* slot list; link.next == NULL while not pending */
	uint64_t tick; /* tick at which it fires */
	dps_timer_fn fn;
};

struct dps_wheel {
	struct dps_wheel_link *slots; /* nslots list heads */
	uint64_t *busy; /* bit per slot: set when it may be non-empty */
	uint64_t tick_ns;
	uint64_t now_tick; /* every tick <= now_tick has been processed */
	uint64_t mask; /* nslots - 1 */
	size_t count; /* pending timers */
};

/*
 * dps_wheel_init: set up w with nslots slots (a power of two, 64 to 2^24) of tick_ns each,
 * starting at time now_ns. Returns 0, or -EINVAL (tick_ns 0 or nslots not a power of two in
 * range), -ENOMEM.
 */
int dps_wheel_init(struct dps_wheel *w, uint64_t tick_ns, size_t nslots, uint64_t now_ns);

/* dps_wheel_fini: free w's memory. Pending timers are forgotten (not fired, not unlinked):
 * cancel them first if their memory outlives the wheel and is inspected again. */
void dps_wheel_fini(struct dps_wheel *w);

/* dps_timer_init: make t a non-pending timer that will call fn. */
void dps_timer_init(struct dps_timer *t, dps_timer_fn fn);

/* dps_timer_is_pending: true from dps_wheel_add() until it fires or is cancelled. */
static inline bool dps_timer_is_pending(const struct dps_timer *t)
{
	return t->link.next != NULL;
}

/* dps_wheel_add: arm t to fire at time expire_ns (re-arming it if already pending). O(1). */
void dps_wheel_add(struct dps_wheel *w, struct dps_timer *t, uint64_t expire_ns);

/* dps_wheel_cancel: disarm t. Returns true if it was pending, false if it had already fired or
 * was never added. O(1). */
bool dps_wheel_cancel(struct dps_wheel *w, struct dps_timer *t);

/* dps_wheel_advance: move the wheel to now_ns, firing every timer due by then. Callbacks may
 * add and cancel any timer of w. Returns the number of timers fired. */
unsigned dps_wheel_advance(struct dps_wheel *w, uint64_t now_ns);

/* dps_wheel_next_expiry: a lower bound on the time the next pending timer fires (see above),
 * or UINT64_MAX if none is pending. */
uint64_t dps_wheel_next_expiry(struct dps_wheel *w);

/* dps_wheel_count: number of pending timers. */
static inline size_t dps_wheel_count(const struct dps_wheel *w)
{
	return w->count;
}

#endif /* DPS_COROUTINE_WHEEL_H */
