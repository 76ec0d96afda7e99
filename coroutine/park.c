/*
 * park.c: parking and waking.
 *
 * A coroutine parks (dps_co_park) for one reason (enum co_park) with an optional deadline; it
 * is woken exactly once, by whichever comes first, through dps_co_wake(), which undoes every
 * way it was waiting (wait queue link, timer) and records the result its park returns:
 *
 *     0            dps_waitq_wake_*, dps_co_unpark (PARK_PERMIT only), a joined coroutine's exit,
 *                  dps_sched_stop / the last coroutine's exit (PARK_RUN)
 *     -ETIMEDOUT   its timer fired (the scheduler's wheel)
 *     -EINTR       dps_co_interrupt
 *
 * All of this runs on the owner thread. Other threads (and signal handlers) cannot touch the
 * owner's lists; they post requests instead (remote_post): set bits in co->remote_req, and if
 * the bits were clear push co on the owner's lock-free stack (a Treiber stack: CAS push, and the
 * owner takes the whole list with one exchange, so there is no ABA), then kick the owner if it
 * sleeps in the kernel (see sched.c). The owner applies them on its next loop pass.
 */
#include <errno.h>
#include <unistd.h>

#include "dps_sys.h"
#include "coroutine/co_internal.h"

void dps_co_wake(struct sched *s, struct dps_co *co, int result)
{
	if (co->park == PARK_WAITQ) {
		co_list_del(&co->link);
		co->waitq = NULL;
	}
	dps_wheel_cancel(&s->wheel, &co->timer);
	co->park = PARK_NONE;
	co->wake_result = result;
	dps_co_runq_push(s, co);
}

void dps_co_timer_fire(struct dps_timer *t, uint64_t now)
{
	struct dps_co *co = dps_container_of(t, struct dps_co, timer);

	(void)now;
	if (co->state == CO_PARKED)
		dps_co_wake(co->sched, co, -ETIMEDOUT);
}

int dps_co_park(struct sched *s, struct dps_co *self, enum co_park how, struct dps_waitq *wq,
		uint64_t deadline)
{
	if (self->flags & CO_LOOP)
		return -EDEADLK;
	if (self->flags & CO_INTR) {
		self->flags &= (uint8_t)~CO_INTR;
		return -EINTR;
	}
	if (how == PARK_PERMIT && (self->flags & CO_PERMIT)) {
		self->flags &= (uint8_t)~CO_PERMIT;
		return 0;
	}
	if (deadline != DPS_DEADLINE_NONE) {
		if (deadline <= dps_now_ns())
			return -ETIMEDOUT;
		dps_wheel_add(&s->wheel, &self->timer, deadline);
	}
	if (wq != NULL) {
		co_list_add_tail(&wq->q[self->prio], &self->link);
		self->waitq = wq;
	}
	self->park = (uint8_t)how;
	self->state = CO_PARKED;
	dps_co_switch_out(s, self);
	return self->wake_result;
}

/* Apply the requests posted for co by other threads or signal handlers. */
static void remote_apply(struct sched *s, struct dps_co *co, unsigned req)
{
	if (co->state == CO_DONE)
		return;
	if (req & REQ_INTR) {
		if (co->state == CO_PARKED)
			dps_co_wake(s, co, -EINTR);
		else
			co->flags |= CO_INTR;
	}
	if (req & REQ_UNPARK) {
		if (co->state == CO_PARKED && co->park == PARK_PERMIT)
			dps_co_wake(s, co, 0);
		else
			co->flags |= CO_PERMIT;
	}
}

unsigned dps_co_remote_drain(struct sched *s)
{
	struct dps_co *head, *fifo = NULL;
	unsigned n = 0;

	head = atomic_exchange_explicit(&s->remote_head, NULL, memory_order_acquire);
	/* The stack is newest first; reverse it so requests apply in arrival order. */
	while (head != NULL) {
		struct dps_co *next = head->remote_next;

		head->remote_next = fifo;
		fifo = head;
		head = next;
	}
	while (fifo != NULL) {
		struct dps_co *co = fifo;
		unsigned req;

		/* Read the link before clearing remote_req: from then on a new request may push co
		 * again and rewrite it. */
		fifo = co->remote_next;
		req = atomic_exchange_explicit(&co->remote_req, 0, memory_order_acq_rel);
		remote_apply(s, co, req);
		n++;
	}
	return n;
}

/* Post req for co to its owner. Lock-free and async-signal-safe; preserves errno. */
static void remote_post(struct dps_co *co, unsigned req)
{
	struct sched *s = co->sched;

	if (atomic_fetch_or_explicit(&co->remote_req, req, memory_order_acq_rel) == 0) {
		struct dps_co *h = atomic_load_explicit(&s->remote_head, memory_order_relaxed);

		do {
			co->remote_next = h;
		} while (!atomic_compare_exchange_weak_explicit(
		    &s->remote_head, &h, co, memory_order_release, memory_order_relaxed));
	}
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&s->sleeping, memory_order_relaxed) &&
	    atomic_exchange_explicit(&s->kicked, 1, memory_order_acq_rel) == 0) {
		uint64_t one = 1;
		int saved_errno = errno;
		ssize_t w = dps_sys_write(s->efd, &one, sizeof(one));

		(void)w; /* EAGAIN: the counter is saturated, the loop is woken anyway */
		errno = saved_errno;
	}
}

int dps_co_interrupt(struct dps_co *co)
{
	if (co == NULL)
		return -EINVAL;
	remote_post(co, REQ_INTR);
	return 0;
}

int dps_co_unpark(struct dps_co *co)
{
	if (co == NULL)
		return -EINVAL;
	remote_post(co, REQ_UNPARK);
	return 0;
}

int dps_co_clear_interrupt(void)
{
	struct sched *s = dps_co_sched();
	struct dps_co *self;

	if (s == NULL)
		return -ENOMEM;
	self = s->cur;
	if (!(self->flags & CO_INTR))
		return 0;
	self->flags &= (uint8_t)~CO_INTR;
	return 1;
}

int dps_park(uint64_t deadline_ns)
{
	struct sched *s = dps_co_sched();

	if (s == NULL)
		return -ENOMEM;
	return dps_co_park(s, s->cur, PARK_PERMIT, NULL, deadline_ns);
}

int dps_sleep_until(uint64_t deadline_ns)
{
	struct sched *s;
	int r;

	if (deadline_ns <= dps_now_ns())
		return dps_yield();
	s = dps_co_sched();
	if (s == NULL)
		return -ENOMEM;
	r = dps_co_park(s, s->cur, PARK_SLEEP, NULL, deadline_ns);
	return r == -ETIMEDOUT ? 0 : r;
}

int dps_sleep_ns(uint64_t ns)
{
	uint64_t now = dps_now_ns();

	if (ns == 0)
		return dps_yield();
	return dps_sleep_until(ns > UINT64_MAX - now ? DPS_DEADLINE_NONE : now + ns);
}

void dps_waitq_init(struct dps_waitq *wq)
{
	co_list_init(&wq->q[0]);
	co_list_init(&wq->q[1]);
}

int dps_waitq_has_waiters(const struct dps_waitq *wq)
{
	return wq != NULL && (!co_list_is_empty(&wq->q[DPS_PRIO_HIGH]) ||
			      !co_list_is_empty(&wq->q[DPS_PRIO_LOW]));
}

int dps_waitq_wait(struct dps_waitq *wq, uint64_t deadline_ns)
{
	struct sched *s;

	if (wq == NULL)
		return -EINVAL;
	s = dps_co_sched();
	if (s == NULL)
		return -ENOMEM;
	return dps_co_park(s, s->cur, PARK_WAITQ, wq, deadline_ns);
}

/* The first waiter, high priority first; NULL if none. */
static struct dps_co *waitq_first(struct dps_waitq *wq)
{
	int p;

	for (p = DPS_PRIO_HIGH; p >= DPS_PRIO_LOW; p--)
		if (!co_list_is_empty(&wq->q[p]))
			return dps_container_of(wq->q[p].next, struct dps_co, link);
	return NULL;
}

int dps_waitq_wake_one(struct dps_waitq *wq)
{
	struct dps_co *co;

	if (wq == NULL)
		return -EINVAL;
	co = waitq_first(wq);
	if (co == NULL)
		return 0;
	if (co->sched != dps_co_tls)
		return -EINVAL;
	dps_co_wake(co->sched, co, 0);
	return 1;
}

int dps_waitq_wake_all(struct dps_waitq *wq)
{
	struct dps_co *co;
	int n = 0;

	if (wq == NULL)
		return -EINVAL;
	while ((co = waitq_first(wq)) != NULL) {
		if (co->sched != dps_co_tls)
			return n > 0 ? n : -EINVAL;
		dps_co_wake(co->sched, co, 0);
		n++;
	}
	return n;
}
