/*
 * sched.c: the per-thread scheduler.
 *
 * Adoption: the first call into the library on a thread creates its struct sched; the thread's
 * own execution becomes the main coroutine (no stack of ours; ASan learns its bounds on the first
 * switch). A pthread key frees the scheduler when the thread exits.
 *
 * Switching: a coroutine that yields or parks picks the next runnable coroutine itself (high
 * priority queue first, FIFO within a level) and switches straight to it: one context switch per
 * hand-off. Every SCHED_BUDGET switches, when nothing is runnable, or when another thread has
 * queued a request, it switches to the *loop context* instead, a coroutine of its own with a large
 * stack that runs one pass of:
 *
 *     drain cross-thread requests -> advance the timing wheel -> idle hook -> pick next
 *
 * and, when nothing is runnable and the hook did no work, spins for spin_ns and then sleeps in
 * epoll_pwait2() on an eventfd (kicked by other threads) and the registered fds, for at most the
 * time to the next timer (or the hook's deadline).
 *
 * Sleeping without losing a wake-up (other threads push to remote_head, then look at sleeping):
 *   loop:   sleeping = 1; fence; if remote_head != NULL: don't sleep
 *   waker:  push to remote_head; fence; if sleeping && !xchg(kicked, 1): write(eventfd)
 * One of the two sees the other's store. kicked == 1 implies an eventfd write is done or coming;
 * the loop drains the eventfd before clearing kicked.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "dps_sys.h"
#include "coroutine/co_internal.h"
#include "coroutine/context.h"

__thread struct sched *dps_co_tls __attribute__((tls_model("initial-exec")));

static pthread_key_t sched_key;
static atomic_int no_pwait2; /* epoll_pwait2 returned ENOSYS once */
static pthread_once_t sched_once = PTHREAD_ONCE_INIT;

uint64_t dps_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void dps_co_runq_push(struct sched *s, struct dps_co *co)
{
	co->state = CO_RUNNABLE;
	co_list_add_tail(&s->runq[co->prio], &co->link);
}

void dps_co_runq_remove(struct sched *s, struct dps_co *co)
{
	(void)s;
	co_list_del(&co->link);
}

static struct dps_co *runq_pop(struct sched *s)
{
	struct dps_co *co = co_list_pop(&s->runq[DPS_PRIO_HIGH]);

	return co != NULL ? co : co_list_pop(&s->runq[DPS_PRIO_LOW]);
}

void dps_co_switch_out(struct sched *s, struct dps_co *self)
{
	struct dps_co *next = NULL;

	if (s->budget > 0 && atomic_load_explicit(&s->remote_head, memory_order_relaxed) == NULL)
		next = runq_pop(s);
	if (next != NULL)
		s->budget--;
	else
		next = s->loop;
	if (next == self) { /* yielded with nobody else runnable */
		self->state = CO_RUNNING;
		return;
	}
	dps_co_switch_to(s, self, next);
}

/* Create the epoll instance and the eventfd, and (after a fork) re-register the fds. */
static int idle_fds_open(struct sched *s)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	struct fd_reg *r;
	int e;

	if (s->epfd >= 0)
		return 0;
	s->epfd = dps_sys_epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0)
		return -errno;
	s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->efd < 0 || dps_sys_epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->efd, &ev) < 0)
		goto err;
	for (r = s->fds; r != NULL; r = r->next) {
		struct epoll_event rev = { .events = r->events, .data.ptr = r };

		dps_sys_epoll_ctl(s->epfd, EPOLL_CTL_ADD, r->fd,
				  &rev); /* closed meanwhile: its loss */
	}
	return 0;
err:
	e = -errno;
	if (s->efd >= 0)
		dps_sys_close(s->efd);
	dps_sys_close(s->epfd);
	s->efd = -1;
	s->epfd = -1;
	return e;
}

static void idle_dispatch(struct sched *s, const struct epoll_event *evs, int n)
{
	int i;

	s->in_dispatch = true;
	for (i = 0; i < n; i++) {
		struct fd_reg *r = evs[i].data.ptr;

		if (r == NULL) { /* the eventfd: drain it, then allow new kicks */
			uint64_t v;

			while (dps_sys_read(s->efd, &v, sizeof(v)) == (ssize_t)sizeof(v))
				s->stats.kicks++;
			atomic_store(&s->kicked, 0);
		} else if (!r->dead && r->cb != NULL) {
			r->cb(r->arg, r->fd, evs[i].events);
		}
	}
	s->in_dispatch = false;
	while (s->dead_fds != NULL) {
		struct fd_reg *r = s->dead_fds;

		s->dead_fds = r->next;
		free(r);
	}
}

/* Nothing to run: sleep in the kernel until deadline, an fd, or a kick. */
static void idle_sleep(struct sched *s, uint64_t now, uint64_t deadline)
{
	struct epoll_event evs[16];
	struct timespec ts, *tsp = NULL;
	int n;

	if (deadline != DPS_DEADLINE_NONE) {
		uint64_t d = deadline > now ? deadline - now : 0;

		ts.tv_sec = (time_t)(d / 1000000000u);
		ts.tv_nsec = (long)(d % 1000000000u);
		tsp = &ts;
	}
	s->stats.kernel_sleeps++;
	if (idle_fds_open(s) < 0) {
		/* No fds left for epoll: poll every millisecond instead. */
		struct timespec ms = { 0, 1000000 };

		nanosleep(tsp != NULL && ts.tv_sec == 0 && ts.tv_nsec < ms.tv_nsec ? &ts : &ms,
			  NULL);
		return;
	}
	atomic_store(&s->sleeping, 1);
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&s->remote_head, memory_order_relaxed) != NULL) {
		atomic_store(&s->sleeping, 0);
		return;
	}
	n = -1;
	if (!atomic_load_explicit(&no_pwait2, memory_order_relaxed)) {
		n = dps_sys_epoll_pwait2(s->epfd, evs, 16, tsp);
		if (n < 0 && errno == ENOSYS) /* kernel < 5.11 (or valgrind < 3.21) */
			atomic_store_explicit(&no_pwait2, 1, memory_order_relaxed);
	}
	if (atomic_load_explicit(&no_pwait2, memory_order_relaxed)) {
		/* Millisecond timeouts, rounded up: timers fire up to 1 ms late. */
		int ms = tsp == NULL
			     ? -1
			     : (int)((ts.tv_sec * 1000000000 + ts.tv_nsec + 999999) / 1000000);

		n = dps_sys_epoll_wait(s->epfd, evs, 16, ms);
	}
	atomic_store(&s->sleeping, 0);
	if (n > 0)
		idle_dispatch(s, evs, n);
}

/* The loop context: never returns; freed with the scheduler. */
static void loop_entry(void *arg)
{
	struct dps_co *self = arg;
	struct sched *s = self->sched;

	bool came_back = true;

	dps_co_after_switch(s, self);
	for (;;) {
		uint64_t now = dps_now_ns(), deadline;
		struct dps_co *next;
		int work = 0;
		int saved_errno = errno;

		/* A coroutine ran since the last pass: that was useful work, spinning starts now. */
		if (came_back)
			s->last_busy = now;
		came_back = false;
		s->stats.loops++;
		s->budget = SCHED_BUDGET;
		s->stats.remote += dps_co_remote_drain(s);
		s->stats.timers += dps_wheel_advance(&s->wheel, now);
		deadline = dps_wheel_next_expiry(&s->wheel);
		if (s->hook != NULL)
			work = s->hook(s->hook_arg, now, &deadline);
		next = runq_pop(s);
		if (next != NULL) {
			errno = saved_errno;
			dps_co_switch_to(s, self, next);
			came_back = true;
			continue;
		}
		if (work > 0)
			s->last_busy = now;
		else if (now - s->last_busy >= s->spin_ns)
			idle_sleep(s, now, deadline);
		else
			__builtin_ia32_pause(); /* spinning: be nice to the sibling hyperthread */
		errno = saved_errno;
	}
}

static void sched_destroy(void *arg)
{
	struct sched *s = arg;
	struct dps_co *co;

	if (s == NULL)
		return;
	/* Coroutines still alive are abandoned: their stacks stay mapped (we do not track them). */
	while ((co = co_list_pop(&s->pool)) != NULL)
		dps_co_stack_unmap(co);
	dps_co_stack_flush(s);
	if (s->loop != NULL)
		dps_co_stack_unmap(s->loop);
	while (s->fds != NULL) {
		struct fd_reg *r = s->fds;

		s->fds = r->next;
		free(r);
	}
	if (s->epfd >= 0)
		dps_sys_close(s->epfd);
	if (s->efd >= 0)
		dps_sys_close(s->efd);
	dps_wheel_fini(&s->wheel);
	if (dps_co_tls == s)
		dps_co_tls = NULL;
	free(s);
}

/* In a forked child, the epoll instance and eventfd are shared with the parent: forget them
 * (without touching the parent's registrations) and make new ones when next needed. */
static void sched_atfork_child(void)
{
	struct sched *s = dps_co_tls;

	if (s == NULL || s->epfd < 0)
		return;
	dps_sys_close(s->epfd);
	dps_sys_close(s->efd);
	s->epfd = -1;
	s->efd = -1;
	atomic_store(&s->sleeping, 0);
	atomic_store(&s->kicked, 0);
}

static void sched_once_init(void)
{
	pthread_key_create(&sched_key, sched_destroy);
	pthread_atfork(NULL, NULL, sched_atfork_child);
}

static struct sched *sched_create(void)
{
	struct sched *s;
	int saved_errno = errno;

	pthread_once(&sched_once, sched_once_init);
	s = aligned_alloc(64, (sizeof(*s) + 63) & ~(size_t)63);
	if (s == NULL)
		goto err;
	memset(s, 0, sizeof(*s));
	s->epfd = -1;
	s->efd = -1;
	co_list_init(&s->runq[0]);
	co_list_init(&s->runq[1]);
	co_list_init(&s->pool);
	if (dps_wheel_init(&s->wheel, SCHED_TICK_NS, SCHED_WHEEL_SLOTS, dps_now_ns()) < 0)
		goto err_free;
	s->main.sched = s;
	s->main.state = CO_RUNNING;
	s->main.flags = CO_MAIN;
	dps_timer_init(&s->main.timer, dps_co_timer_fire);
	s->cur = &s->main;
	s->loop = dps_co_stack_get(s, SCHED_LOOP_STACK);
	if (s->loop == NULL)
		goto err_wheel;
	s->loop->sched = s;
	s->loop->flags = CO_LOOP;
	s->loop->prio = DPS_PRIO_HIGH;
	s->loop->id = UINT64_MAX;
	s->loop->state = CO_RUNNABLE;
	s->loop->sp = ctx_init(s->loop, loop_entry, s->loop);
	if (pthread_setspecific(sched_key, s) != 0)
		goto err_loop;
	dps_co_tls = s;
	errno = saved_errno;
	return s;
err_loop:
	dps_co_stack_unmap(s->loop);
err_wheel:
	dps_wheel_fini(&s->wheel);
err_free:
	free(s);
err:
	errno = saved_errno;
	return NULL;
}

struct sched *dps_co_sched(void)
{
	struct sched *s = dps_co_tls;

	return s != NULL ? s : sched_create();
}

int dps_yield(void)
{
	struct sched *s = dps_co_sched();
	struct dps_co *self;

	if (s == NULL)
		return -ENOMEM;
	self = s->cur;
	if (self->flags & CO_LOOP)
		return -EDEADLK;
	dps_co_runq_push(s, self);
	dps_co_switch_out(s, self);
	return 0;
}

int dps_sched_run(void)
{
	struct sched *s = dps_co_sched();
	struct dps_co *self;

	if (s == NULL)
		return -ENOMEM;
	self = s->cur;
	if (!(self->flags & CO_MAIN))
		return -EINVAL;
	while (s->live > 0 && !s->stop) {
		int r;

		s->run_waiter = self;
		r = dps_co_park(s, self, PARK_RUN, NULL, DPS_DEADLINE_NONE);
		s->run_waiter = NULL;
		if (r < 0)
			return r;
	}
	s->stop = false;
	return 0;
}

int dps_sched_stop(void)
{
	struct sched *s = dps_co_sched();

	if (s == NULL)
		return -ENOMEM;
	s->stop = true;
	if (s->run_waiter != NULL && s->run_waiter->state == CO_PARKED)
		dps_co_wake(s, s->run_waiter, 0);
	return 0;
}

int dps_sched_set_idle_hook(dps_idle_hook_fn fn, void *arg)
{
	struct sched *s = dps_co_sched();

	if (s == NULL)
		return -ENOMEM;
	s->hook = fn;
	s->hook_arg = arg;
	return 0;
}

int dps_sched_set_idle_spin(uint64_t spin_ns)
{
	struct sched *s = dps_co_sched();

	if (s == NULL)
		return -ENOMEM;
	s->spin_ns = spin_ns;
	return 0;
}

int dps_sched_add_fd(int fd, uint32_t events, dps_fd_cb cb, void *arg)
{
	struct sched *s = dps_co_sched();
	struct epoll_event ev;
	struct fd_reg *r;
	int saved_errno = errno, e;

	if (s == NULL)
		return -ENOMEM;
	if (fd < 0)
		return -EINVAL;
	for (r = s->fds; r != NULL; r = r->next)
		if (r->fd == fd)
			return -EEXIST;
	e = idle_fds_open(s);
	if (e < 0)
		goto out;
	r = calloc(1, sizeof(*r));
	e = -ENOMEM;
	if (r == NULL)
		goto out;
	r->fd = fd;
	r->events = events;
	r->cb = cb;
	r->arg = arg;
	ev.events = events;
	ev.data.ptr = r;
	e = 0;
	if (dps_sys_epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		e = -errno;
		free(r);
		goto out;
	}
	r->next = s->fds;
	s->fds = r;
out:
	errno = saved_errno;
	return e;
}

int dps_sched_del_fd(int fd)
{
	struct sched *s = dps_co_sched();
	struct fd_reg **pr, *r;
	int saved_errno = errno;

	if (s == NULL)
		return -ENOMEM;
	for (pr = &s->fds; (r = *pr) != NULL; pr = &r->next)
		if (r->fd == fd)
			break;
	if (r == NULL)
		return -ENOENT;
	*pr = r->next;
	if (s->epfd >= 0)
		dps_sys_epoll_ctl(s->epfd, EPOLL_CTL_DEL, fd,
				  NULL); /* EBADF if already closed: fine */
	errno = saved_errno;
	if (s->in_dispatch) { /* the event batch being dispatched may still name it */
		r->dead = true;
		r->next = s->dead_fds;
		s->dead_fds = r;
	} else {
		free(r);
	}
	return 0;
}

int dps_sched_get_stats(struct dps_sched_stats *st)
{
	struct sched *s = dps_co_sched();

	if (st == NULL)
		return -EINVAL;
	if (s == NULL)
		return -ENOMEM;
	*st = s->stats;
	st->alive = s->live;
	st->pooled = s->pool_len;
	return 0;
}
