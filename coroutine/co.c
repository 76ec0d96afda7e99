/*
 * co.c: the life of a coroutine: dps_go() builds its stack and first frame and queues it;
 * co_entry() runs its function on its first switch-in; co_finish() marks it done, wakes its
 * joiner and switches away for the last time; dps_co_join()/dps_co_detach() decide who frees it.
 *
 * Every switch goes through dps_co_switch_to(), which tells ASan about the stack change
 * (__sanitizer_start_switch_fiber before, __sanitizer_finish_switch_fiber after, on the new
 * stack), and dps_co_after_switch(), which also frees a detached coroutine that has just left
 * its stack for the last time (it cannot unmap the stack it runs on).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "coroutine/co_internal.h"
#include "coroutine/context.h"

#if DPS_CO_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

void dps_co_switch_to(struct sched *s, struct dps_co *from, struct dps_co *to)
{
	s->prev = from;
	s->cur = to;
	to->state = CO_RUNNING;
	s->stats.switches++;
#if DPS_CO_ASAN
	/* A finished context passes NULL: ASan then frees its fake stack. The main coroutine's
	 * bounds are unknown until ASan reports them on our first switch away from it (below). */
	__sanitizer_start_switch_fiber(from->state == CO_DONE ? NULL : &from->asan_fake_stack,
				       to->stack_lo, to->stack_size);
#endif
	dps_co_switch(&from->sp, to->sp);
	dps_co_after_switch(s, from);
}

void dps_co_after_switch(struct sched *s, struct dps_co *self)
{
#if DPS_CO_ASAN
	const void *lo = NULL;
	size_t size = 0;

	__sanitizer_finish_switch_fiber(self->asan_fake_stack, &lo, &size);
	if (s->prev != NULL && (s->prev->flags & CO_MAIN)) {
		s->prev->stack_lo = (void *)(uintptr_t)lo;
		s->prev->stack_size = size;
	}
#else
	(void)self;
#endif
	if (s->zombie != NULL) {
		struct dps_co *z = s->zombie;

		s->zombie = NULL;
		dps_co_release(s, z);
	}
}

/* Free a finished (or never-started) coroutine: its stack goes back to the pool. */
void dps_co_release(struct sched *s, struct dps_co *co)
{
	/* A request queued by another thread still points at co: let it land first. The window
	 * is a few instructions of the requester (between its fetch_or and its push). */
	while (atomic_load_explicit(&co->remote_req, memory_order_acquire) != 0)
		dps_co_remote_drain(s);
	dps_co_stack_put(s, co);
}

static void __attribute__((noreturn)) co_finish(struct sched *s, struct dps_co *self, void *retval)
{
	self->retval = retval;
	self->state = CO_DONE;
	s->live--;
	if (self->joiner != NULL && self->joiner->state == CO_PARKED)
		dps_co_wake(s, self->joiner, 0);
	if (s->live == 0 && s->run_waiter != NULL && s->run_waiter->state == CO_PARKED)
		dps_co_wake(s, s->run_waiter, 0);
	if (self->flags & CO_DETACHED)
		s->zombie = self; /* freed by whoever runs next, once we are off this stack */
	dps_co_switch_out(s, self);
	abort(); /* a finished coroutine is never switched back to */
}

/* First code run on a new stack (called by dps_co_trampoline). */
static void co_entry(void *arg)
{
	struct dps_co *self = arg;
	struct sched *s = self->sched;
	void *ret;

	dps_co_after_switch(s, self);
	ret = self->fn(self->arg);
	co_finish(s, self, ret);
}

int dps_go(dps_co_fn fn, void *arg, const struct dps_co_opts *opts, struct dps_co **cop)
{
	size_t page = dps_co_page_size(), size = DPS_CO_STACK_DEFAULT;
	int prio = DPS_PRIO_LOW;
	struct sched *s;
	struct dps_co *co;

	if (fn == NULL)
		return -EINVAL;
	if (opts != NULL) {
		if (opts->priority != DPS_PRIO_LOW && opts->priority != DPS_PRIO_HIGH)
			return -EINVAL;
		if (opts->stack_size > DPS_CO_STACK_MAX)
			return -EINVAL;
		prio = opts->priority;
		if (opts->stack_size != 0)
			size = opts->stack_size;
	}
	if (size < DPS_CO_STACK_MIN)
		size = DPS_CO_STACK_MIN;
	size = (size + page - 1) & ~(page - 1);
	s = dps_co_sched();
	if (s == NULL)
		return -ENOMEM;
	co = dps_co_stack_get(s, size);
	if (co == NULL)
		return -ENOMEM;
	co->sched = s;
	co->fn = fn;
	co->arg = arg;
	co->id = ++s->next_id;
	co->prio = (uint8_t)prio;
	co->flags = cop == NULL ? CO_DETACHED : 0;
	dps_timer_init(&co->timer, dps_co_timer_fire);
	co->sp = ctx_init(co, co_entry, co);
	s->live++;
	s->stats.created++;
	dps_co_runq_push(s, co);
	if (cop != NULL)
		*cop = co;
	return 0;
}

/* co is a dps_go() coroutine of the calling thread (not main, not the loop). */
static bool co_is_ours(const struct sched *s, const struct dps_co *co)
{
	return co != NULL && s != NULL && co->sched == s && (co->flags & (CO_MAIN | CO_LOOP)) == 0;
}

int dps_co_join(struct dps_co *co, void **retval)
{
	struct sched *s = dps_co_tls;
	struct dps_co *self;

	if (!co_is_ours(s, co))
		return -EINVAL;
	self = s->cur;
	if (co == self || (self->flags & CO_LOOP))
		return -EDEADLK;
	if ((co->flags & CO_DETACHED) || co->joiner != NULL)
		return -EINVAL;
	while (co->state != CO_DONE) {
		int r;

		co->joiner = self;
		r = dps_co_park(s, self, PARK_JOIN, NULL, DPS_DEADLINE_NONE);
		co->joiner = NULL;
		if (r < 0)
			return r;
	}
	if (retval != NULL)
		*retval = co->retval;
	dps_co_release(s, co);
	return 0;
}

int dps_co_detach(struct dps_co *co)
{
	struct sched *s = dps_co_tls;

	if (!co_is_ours(s, co) || (co->flags & CO_DETACHED) || co->joiner != NULL)
		return -EINVAL;
	if (co->state == CO_DONE) {
		dps_co_release(s, co);
		return 0;
	}
	co->flags |= CO_DETACHED;
	return 0;
}

void dps_co_exit(void *retval)
{
	struct sched *s = dps_co_sched();

	if (s == NULL || (s->cur->flags & (CO_MAIN | CO_LOOP))) {
		fputs(
		    "dpsock: dps_co_exit() called from the main coroutine or the scheduler loop\n",
		    stderr);
		abort();
	}
	co_finish(s, s->cur, retval);
}

struct dps_co *dps_self(void)
{
	struct sched *s = dps_co_sched();

	return s == NULL ? NULL : s->cur;
}

uint64_t dps_co_id(const struct dps_co *co)
{
	return co == NULL ? 0 : co->id;
}

int dps_co_set_priority(struct dps_co *co, int priority)
{
	struct sched *s = dps_co_tls;

	if (co == NULL || s == NULL || co->sched != s ||
	    (priority != DPS_PRIO_LOW && priority != DPS_PRIO_HIGH))
		return -EINVAL;
	if (co->prio == priority)
		return 0;
	if (co->state == CO_RUNNABLE) {
		dps_co_runq_remove(s, co);
		co->prio = (uint8_t)priority;
		dps_co_runq_push(s, co);
	} else {
		co->prio = (uint8_t)priority;
	}
	return 0;
}

int dps_co_priority(const struct dps_co *co)
{
	return co == NULL ? -EINVAL : co->prio;
}

int dps_co_stack(const struct dps_co *co, void **lo, size_t *size)
{
	if (co == NULL || (co->flags & CO_MAIN))
		return -EINVAL;
	if (lo != NULL)
		*lo = co->stack_lo;
	if (size != NULL)
		*size = co->stack_size;
	return 0;
}
