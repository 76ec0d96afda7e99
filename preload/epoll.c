/*
 * epoll: an epoll instance holding kernel and dpsock fds at once (DESIGN.md §5).
 *
 * The program's epoll fd is a real kernel epoll instance (the shadow): kernel fds go there with
 * real_epoll_ctl, untouched. Our sockets are registered in user space (struct epitem) and put on
 * the instance's ready list by their readiness callback. epoll_wait reports the ready list first,
 * re-checking each socket's current readiness (level-triggered items stay on the list,
 * edge-triggered and one-shot ones leave it), then asks the shadow with timeout 0 on every call,
 * and blocks only by parking the coroutine, with the shadow fd watched by the scheduler so that
 * a kernel event wakes it too.
 *
 * A listener's companion kernel socket (listen_kernel) is added to the shadow with the same data,
 * so a loopback client shows as the listener being readable.
 */
#include "shim.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EP_ALWAYS (EPOLLERR | EPOLLHUP)

static struct pepoll *pepoll_new(int fd)
{
	struct pepoll *ep = calloc(1, sizeof(*ep));

	if (ep == NULL)
		return NULL;
	ep->kind = SHIM_PEPOLL;
	ep->refs = 1;
	ep->fd = fd;
	shim_wlist_init(&ep->waiters);
	return ep;
}

/* The shim object of epoll fd epfd, created for an instance made without us (lock held). */
static struct pepoll *pepoll_of(int epfd, int *err)
{
	struct pepoll *ep = fd_pepoll(epfd);
	char path[64], link[64];
	ssize_t n;

	if (ep != NULL)
		return ep;
	if (fdtab_get(epfd) != NULL) {
		*err = -EINVAL; /* one of our sockets, not an epoll fd */
		return NULL;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", epfd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0) {
		*err = -EBADF;
		return NULL;
	}
	link[n] = '\0';
	if (strcmp(link, "anon_inode:[eventpoll]") != 0) {
		*err = -EINVAL;
		return NULL;
	}
	ep = pepoll_new(epfd);
	if (ep == NULL || fdtab_set(epfd, ep) < 0) {
		free(ep);
		*err = -ENOMEM;
		return NULL;
	}
	return ep;
}

/* An epoll instance becomes the shim's when one of our sockets is first added to it (so the
 * instances of DPDK and of the scheduler stay the kernel's alone). */
DPS_EXPORT int epoll_create(int size)
{
	dps_real_need();
	return real_epoll_create(size);
}

DPS_EXPORT int epoll_create1(int flags)
{
	dps_real_need();
	return real_epoll_create1(flags);
}

static void rdy_del(struct pepoll *ep, struct epitem *it);

/*
 * Put it on the ready list: a high item (DPS_EV_HIGH in the socket's events: DESIGN.md §8, the
 * event layer) after the high ones already there, ahead of every low one; a low item at the
 * tail. A low item that becomes high moves up; a high one stays where it is.
 */
static void rdy_add(struct pepoll *ep, struct epitem *it, bool high)
{
	struct epitem *after;

	if (it->ready) {
		if (!high || it->high)
			return;
		rdy_del(ep, it);
	}
	it->ready = true;
	it->high = high;
	after = high ? ep->rdy_hi_tail : ep->rdy_tail;
	it->rdy_prev = after;
	it->rdy_next = after != NULL ? after->rdy_next : ep->rdy_head;
	if (it->rdy_next != NULL)
		it->rdy_next->rdy_prev = it;
	else
		ep->rdy_tail = it;
	if (after != NULL)
		after->rdy_next = it;
	else
		ep->rdy_head = it;
	if (high)
		ep->rdy_hi_tail = it;
}

static void rdy_del(struct pepoll *ep, struct epitem *it)
{
	if (!it->ready)
		return;
	it->ready = false;
	if (ep->rdy_hi_tail == it) /* the high ones lead: the one before is high, or none */
		ep->rdy_hi_tail = it->rdy_prev;
	if (it->rdy_prev != NULL)
		it->rdy_prev->rdy_next = it->rdy_next;
	else
		ep->rdy_head = it->rdy_next;
	if (it->rdy_next != NULL)
		it->rdy_next->rdy_prev = it->rdy_prev;
	else
		ep->rdy_tail = it->rdy_prev;
	it->rdy_next = it->rdy_prev = NULL;
}

/* Unlink it from its instance and its socket, and free it (lock held). del_kfd: also remove the
 * companion listener from the shadow (an explicit EPOLL_CTL_DEL; when the socket goes away its
 * companion is closed instead, which removes it, and a forked child must never edit the shadow
 * it shares with its parent). */
static void item_free(struct epitem *it, bool del_kfd)
{
	struct pepoll *ep = it->ep;
	struct epitem **pp;

	rdy_del(ep, it);
	if (it->ep_prev != NULL)
		it->ep_prev->ep_next = it->ep_next;
	else
		ep->items = it->ep_next;
	if (it->ep_next != NULL)
		it->ep_next->ep_prev = it->ep_prev;
	for (pp = &it->ps->epitems; *pp != NULL; pp = &(*pp)->sock_next)
		if (*pp == it) {
			*pp = it->sock_next;
			break;
		}
	if (del_kfd && it->ps->kfd >= 0)
		(void)real_epoll_ctl(ep->fd, EPOLL_CTL_DEL, it->ps->kfd, NULL);
	ep->n_items--;
	free(it);
}

void epoll_forget_sock(struct psock *ps)
{
	while (ps->epitems != NULL)
		item_free(ps->epitems, false);
}

void epoll_move_to_kernel(struct psock *ps, int fd)
{
	for (struct epitem *it = ps->epitems; it != NULL; it = it->sock_next) {
		struct epoll_event kev = { .events = it->events, .data = it->data };

		if (it->fd != fd || it->disarmed)
			continue;
		if (real_epoll_ctl(it->ep->fd, EPOLL_CTL_ADD, fd, &kev) < 0)
			fprintf(
			    stderr,
			    "dpsock: fd %d: cannot move its epoll registration to the kernel: %s\n",
			    fd, strerror(errno));
	}
}

void epoll_destroy(struct pepoll *ep)
{
	while (ep->items != NULL)
		item_free(ep->items, false);
	shim_wake(&ep->waiters, SHIM_WAKE_ANY);
	free(ep);
}

/* Readiness of a user-space socket as epoll reports it (the companion is the shadow's), with
 * DPS_EV_HIGH kept for the ready list's order. */
static uint32_t item_events(const struct epitem *it)
{
	uint32_t ev;

	if (it->ps->h >= 0) {
		int e = dps_events(it->ps->h);

		ev = e < 0 ? EP_ALWAYS : (uint32_t)e;
	} else {
		ev = it->ps->listening ? 0 : EPOLLOUT | EPOLLHUP;
	}
	if (ev & EPOLLIN)
		ev |= EPOLLRDNORM;
	if (ev & EPOLLOUT)
		ev |= EPOLLWRNORM;
	ev &= it->events | EP_ALWAYS | DPS_EV_HIGH;
	return ev == DPS_EV_HIGH ? 0 : ev;
}

void epoll_sock_event(struct psock *ps, uint32_t events)
{
	for (struct epitem *it = ps->epitems; it != NULL; it = it->sock_next) {
		if (it->disarmed || !(events & (it->events | EP_ALWAYS)))
			continue;
		rdy_add(it->ep, it, events & DPS_EV_HIGH);
		shim_wake(&it->ep->waiters, SHIM_WAKE_ANY | (events & DPS_EV_HIGH));
	}
}

static struct epitem *item_find(struct pepoll *ep, struct psock *ps, int fd)
{
	for (struct epitem *it = ps->epitems; it != NULL; it = it->sock_next)
		if (it->ep == ep && it->fd == fd)
			return it;
	return NULL;
}

#define EP_USER_BITS                                                                         \
	(EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI | EPOLLERR | EPOLLHUP | EPOLLRDNORM |    \
	 EPOLLRDBAND | EPOLLWRNORM | EPOLLWRBAND | EPOLLET | EPOLLONESHOT | EPOLLEXCLUSIVE | \
	 EPOLLWAKEUP | EPOLLMSG)

static int sock_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	struct pepoll *ep;
	struct psock *ps;
	struct epitem *it;
	uint32_t ready;
	int rc = 0;

	if (epfd == fd)
		return -EINVAL;
	if (op != EPOLL_CTL_DEL && ev == NULL)
		return -EFAULT;
	ps = shim_enter(fd);
	if (ps == NULL)
		return -EBADF;
	ep = pepoll_of(epfd, &rc);
	if (ep == NULL)
		goto out;
	rc = psock_is_idle(ps) ? 0 : psock_materialize(ps, fd);
	if (rc < 0 && ps->dead)
		rc = 0; /* registered, never ready (psock_materialize said why, once) */
	if (rc < 0)
		goto out;
	it = item_find(ep, ps, fd);
	switch (op) {
	case EPOLL_CTL_ADD:
		if (it != NULL) {
			rc = -EEXIST;
			break;
		}
		if ((ev->events & EPOLLEXCLUSIVE) &&
		    (ev->events & ~(EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLET |
				    EPOLLEXCLUSIVE | EPOLLWAKEUP | EPOLLRDNORM | EPOLLWRNORM))) {
			rc = -EINVAL; /* Linux: EPOLLEXCLUSIVE with ONESHOT/RDHUP... */
			break;
		}
		it = calloc(1, sizeof(*it));
		if (it == NULL) {
			rc = -ENOMEM;
			break;
		}
		it->ep = ep;
		it->ps = ps;
		it->fd = fd;
		it->events = ev->events & EP_USER_BITS;
		it->data = ev->data;
		it->sock_next = ps->epitems;
		ps->epitems = it;
		it->ep_next = ep->items;
		if (ep->items != NULL)
			ep->items->ep_prev = it;
		ep->items = it;
		ep->n_items++;
		if (ps->kfd >= 0) {
			struct epoll_event kev = *ev;

			kev.events &= ~(uint32_t)EPOLLEXCLUSIVE;
			(void)real_epoll_ctl(epfd, EPOLL_CTL_ADD, ps->kfd, &kev);
		}
		ready = item_events(it);
		if (ready != 0)
			rdy_add(ep, it, ready & DPS_EV_HIGH);
		break;
	case EPOLL_CTL_MOD:
		if (it == NULL) {
			rc = -ENOENT;
			break;
		}
		if ((ev->events & EPOLLEXCLUSIVE) || (it->events & EPOLLEXCLUSIVE)) {
			rc = -EINVAL;
			break;
		}
		it->events = ev->events & EP_USER_BITS;
		it->data = ev->data;
		it->disarmed = false;
		if (ps->kfd >= 0)
			(void)real_epoll_ctl(epfd, EPOLL_CTL_MOD, ps->kfd, ev);
		rdy_del(ep, it);
		ready = item_events(it);
		if (ready != 0)
			rdy_add(ep, it, ready & DPS_EV_HIGH);
		break;
	case EPOLL_CTL_DEL:
		if (it == NULL)
			rc = -ENOENT;
		else
			item_free(it, true);
		break;
	default:
		rc = -EINVAL;
	}
	if (rc == 0 && ep->rdy_head != NULL)
		shim_wake(&ep->waiters, SHIM_WAKE_ANY);
out:
	shim_leave(ps);
	return rc;
}

DPS_EXPORT int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	int rc;

	dps_real_need();
	if (fd_psock(fd) == NULL)
		return real_epoll_ctl(epfd, op, fd, ev);
	rc = sock_epoll_ctl(epfd, op, fd, ev);
	if (rc == -ENODEV) /* the socket moved to the kernel */
		return real_epoll_ctl(epfd, op, fd, ev);
	return (int)shim_ret(rc);
}

/*
 * Move ready user-space events into evs (lock held), high-priority items first (they lead the
 * list). Each item is looked at once per call: level-triggered items that reported go back on
 * the list after the pass, at the tail of their part (fair rotation), so one call never reports
 * an fd twice.
 */
static int harvest(struct pepoll *ep, struct epoll_event *evs, int max)
{
	struct epitem *again = NULL, **again_tail = &again, *it;
	int n = 0;

	while ((it = ep->rdy_head) != NULL && n < max) {
		uint32_t rev = it->disarmed ? 0 : item_events(it);

		rdy_del(ep, it);
		if (rev == 0)
			continue;
		evs[n].events = rev & ~DPS_EV_HIGH;
		evs[n].data = it->data;
		n++;
		if (it->events & EPOLLONESHOT) {
			it->disarmed = true;
		} else if (!(it->events & EPOLLET)) {
			it->rdy_next = NULL; /* level-triggered: still ready, after the others */
			it->high = (rev & DPS_EV_HIGH) != 0;
			*again_tail = it;
			again_tail = &it->rdy_next;
		}
	}
	while (again != NULL) {
		it = again;
		again = it->rdy_next;
		rdy_add(ep, it, it->high);
	}
	return n;
}

/* epoll_wait and friends; deadline absolute ns or DPS_DEADLINE_NONE, 0 for "do not wait". */
static int sock_epoll_wait(int epfd, struct epoll_event *evs, int max, uint64_t deadline)
{
	struct pepoll *ep;
	int n, m, rc;

	if (max <= 0)
		return -EINVAL;
	if (evs == NULL)
		return -EFAULT;
	for (;;) {
		shim_lock();
		ep = fd_pepoll(epfd);
		if (ep == NULL) {
			shim_unlock();
			return -EBADF;
		}
		ep->refs++;
		shim_poll_locked(true);
		if (ep->kernel_first) {
			/* the shadow's turn first (kernel_first), then ours in what is left */
			shim_unlock();
			m = real_epoll_wait(epfd, evs, max, 0);
			rc = m < 0 ? -errno : 0;
			n = m > 0 ? m : 0;
			shim_lock();
			ep->kernel_first = false;
			if (n < max)
				n += harvest(ep, evs + n, max - n);
			shim_unlock();
			if (n == 0 && rc < 0)
				goto put;
		} else {
			n = harvest(ep, evs, max);
			ep->kernel_first = n == max;
			shim_unlock();
			if (n < max) {
				m = real_epoll_wait(epfd, evs + n, max - n, 0);
				if (m < 0 && n == 0) {
					rc = -errno;
					goto put;
				}
				if (m > 0)
					n += m;
			}
		}
		if (n > 0 || deadline == 0) {
			rc = n;
			goto put;
		}
		if (deadline != DPS_DEADLINE_NONE && dps_now_ns() >= deadline) {
			rc = 0;
			goto put;
		}
		struct shim_wait w = { &ep->waiters, ~0u };
		uint32_t kev = EPOLLIN;

		shim_lock();
		rc = ep->rdy_head != NULL ? 0 : shim_block(&w, 1, &epfd, &kev, 1, deadline);
		shim_obj_put(ep);
		shim_unlock();
		if (rc == -ETIMEDOUT)
			return 0;
		if (rc == -EINTR)
			return -EINTR; /* never restarted (signal(7)) */
	}
put:
	shim_lock();
	shim_obj_put(ep);
	shim_unlock();
	return rc;
}

static bool use_shim(int epfd)
{
	return !shim_inside && fd_pepoll(epfd) != NULL &&
	       atomic_load(&shim.state) == ENGINE_RUNNING;
}

static uint64_t ms_deadline(int timeout)
{
	if (timeout < 0)
		return DPS_DEADLINE_NONE;
	if (timeout == 0)
		return 0;
	return dps_now_ns() + (uint64_t)timeout * 1000000u;
}

static int with_mask(int epfd, struct epoll_event *evs, int max, uint64_t deadline,
		     const sigset_t *mask)
{
	sigset_t old;
	int rc;

	if (mask != NULL)
		pthread_sigmask(SIG_SETMASK, mask, &old);
	rc = sock_epoll_wait(epfd, evs, max, deadline);
	if (mask != NULL)
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	return (int)shim_ret(rc);
}

DPS_EXPORT int epoll_wait(int epfd, struct epoll_event *evs, int max, int timeout)
{
	dps_real_need();
	if (!use_shim(epfd))
		return real_epoll_wait(epfd, evs, max, timeout);
	return with_mask(epfd, evs, max, ms_deadline(timeout), NULL);
}

DPS_EXPORT int epoll_pwait(int epfd, struct epoll_event *evs, int max, int timeout,
			   const sigset_t *mask)
{
	dps_real_need();
	if (!use_shim(epfd))
		return real_epoll_pwait(epfd, evs, max, timeout, mask);
	return with_mask(epfd, evs, max, ms_deadline(timeout), mask);
}

DPS_EXPORT int epoll_pwait2(int epfd, struct epoll_event *evs, int max, const struct timespec *t,
			    const sigset_t *mask)
{
	uint64_t deadline = DPS_DEADLINE_NONE;

	dps_real_need();
	if (!use_shim(epfd)) {
		if (real_epoll_pwait2 == NULL)
			return (int)shim_ret(-ENOSYS);
		return real_epoll_pwait2(epfd, evs, max, t, mask);
	}
	if (t != NULL) {
		if (t->tv_sec < 0 || t->tv_nsec < 0 || t->tv_nsec >= 1000000000)
			return (int)shim_ret(-EINVAL);
		deadline =
		    t->tv_sec == 0 && t->tv_nsec == 0
			? 0
			: dps_now_ns() + (uint64_t)t->tv_sec * 1000000000u + (uint64_t)t->tv_nsec;
	}
	return with_mask(epfd, evs, max, deadline, mask);
}
