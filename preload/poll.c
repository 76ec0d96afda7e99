/*
 * poll: poll, ppoll, select, pselect and their fortified forms over mixed sets (DESIGN.md §5).
 *
 * The set is split: our sockets are checked in user space, the kernel's with one real_poll of
 * timeout 0, on every pass. When nothing is ready the caller parks on the sockets' wait lists
 * with the kernel fds watched by its scheduler, and looks again when woken. A set with none of
 * our sockets goes straight to the kernel unless the engine runs (then the wait keeps it polled).
 * Timeouts are never restarted after a signal (signal(7)); select reports the time left.
 */
#include "shim.h"

#include <stdlib.h>
#include <string.h>

#define STACK_FDS 64

static bool any_ours(const struct pollfd *fds, nfds_t n)
{
	for (nfds_t i = 0; i < n; i++)
		if (fd_psock(fds[i].fd) != NULL)
			return true;
	return false;
}

/* One pass: fill revents, return how many are ready (lock not held). */
static int poll_pass(struct pollfd *fds, nfds_t n, struct pollfd *kfds, nfds_t *kidx, int *err)
{
	nfds_t nk = 0;
	int ready = 0;

	shim_lock();
	shim_poll_locked(true);
	for (nfds_t i = 0; i < n; i++) {
		struct psock *ps = fds[i].fd >= 0 ? fd_psock(fds[i].fd) : NULL;
		uint32_t ev;

		fds[i].revents = 0;
		if (fds[i].fd < 0)
			continue;
		if (ps != NULL && ps->h < 0 && !psock_is_idle(ps)) {
			/* Watching a pending socket is waiting for packets: start it (a listener
			 * served by select/poll alone, socat's). */
			int rc = psock_materialize(ps, fds[i].fd);

			if (rc == -ENODEV)
				ps = NULL; /* it is a kernel socket now */
			else if (rc < 0 && ps->dead)
				continue; /* never ready (psock_materialize said why, once) */
			else if (rc < 0) {
				fds[i].revents = POLLERR;
				ready++;
				continue;
			}
		}
		if (ps == NULL) {
			kfds[nk] = fds[i];
			kidx[nk++] = i;
			continue;
		}
		ev = psock_events(ps);
		if (ev & EPOLLIN)
			ev |= POLLRDNORM;
		if (ev & EPOLLOUT)
			ev |= POLLWRNORM;
		fds[i].revents =
		    (short)(ev & ((uint16_t)fds[i].events | POLLERR | POLLHUP | POLLNVAL));
		if (fds[i].revents)
			ready++;
	}
	shim_unlock();
	if (nk > 0) {
		int k = real_poll(kfds, nk, 0);

		if (k < 0) {
			*err = -errno;
			return -1;
		}
		for (nfds_t j = 0; j < nk; j++) {
			fds[kidx[j]].revents = kfds[j].revents;
			if (kfds[j].revents)
				ready++;
		}
	}
	return ready;
}

/* deadline: absolute ns, 0 = do not wait, DPS_DEADLINE_NONE = forever. */
static int shim_poll(struct pollfd *fds, nfds_t n, uint64_t deadline)
{
	struct pollfd kstack[STACK_FDS], *kfds = kstack;
	nfds_t kistack[STACK_FDS], *kidx = kistack;
	int kfdv_stack[STACK_FDS], *kfdv = kfdv_stack;
	uint32_t kevv_stack[STACK_FDS], *kevv = kevv_stack;
	struct shim_wait wstack[STACK_FDS], *w = wstack;
	int rc = 0, err = 0;

	if (n > STACK_FDS) {
		kfds = malloc(n * sizeof(*kfds));
		kidx = malloc(n * sizeof(*kidx));
		kfdv = malloc(n * sizeof(*kfdv));
		kevv = malloc(n * sizeof(*kevv));
		w = malloc(n * sizeof(*w));
		if (!kfds || !kidx || !kfdv || !kevv || !w) {
			rc = -ENOMEM;
			goto out;
		}
	}
	for (;;) {
		int nw = 0, nk = 0;

		rc = poll_pass(fds, n, kfds, kidx, &err);
		if (rc < 0) {
			rc = err;
			break;
		}
		if (rc > 0 || deadline == 0)
			break;
		if (deadline != DPS_DEADLINE_NONE && dps_now_ns() >= deadline)
			break;
		shim_lock();
		for (nfds_t i = 0; i < n; i++) {
			struct psock *ps = fds[i].fd >= 0 ? fd_psock(fds[i].fd) : NULL;

			if (fds[i].fd < 0)
				continue;
			if (ps != NULL) {
				w[nw].list = &ps->waiters;
				w[nw++].mask = (uint16_t)fds[i].events | EPOLLRDHUP;
				if (ps->kfd >= 0) {
					kfdv[nk] = ps->kfd;
					kevv[nk++] = EPOLLIN;
				}
			} else {
				kfdv[nk] = fds[i].fd;
				kevv[nk++] = (uint16_t)fds[i].events & (POLLIN | POLLOUT | POLLPRI);
			}
		}
		/* A pointer into waiters of a socket closed meanwhile is safe: closes wait for
		 * the lock, and we hold it until the waiters are linked. */
		rc = shim_block(w, nw, kfdv, kevv, nk, deadline);
		shim_unlock();
		if (rc == -ETIMEDOUT) {
			rc = 0;
			for (nfds_t i = 0; i < n; i++)
				fds[i].revents = 0;
			break;
		}
		if (rc == -EINTR)
			break;
	}
out:
	if (kfds != kstack) {
		free(kfds);
		free(kidx);
		free(kfdv);
		free(kevv);
		free(w);
	}
	return rc;
}

static bool use_shim(const struct pollfd *fds, nfds_t n)
{
	if (shim_inside)
		return false;
	return (shim_app_thread && atomic_load(&shim.state) == ENGINE_RUNNING) || any_ours(fds, n);
}

static uint64_t ts_deadline(const struct timespec *t)
{
	if (t == NULL)
		return DPS_DEADLINE_NONE;
	if (t->tv_sec == 0 && t->tv_nsec == 0)
		return 0;
	return dps_now_ns() + (uint64_t)t->tv_sec * 1000000000u + (uint64_t)t->tv_nsec;
}

DPS_EXPORT int poll(struct pollfd *fds, nfds_t n, int timeout)
{
	dps_real_need();
	if (!use_shim(fds, n))
		return real_poll(fds, n, timeout);
	return (int)shim_ret(shim_poll(fds, n,
				       timeout < 0 ? DPS_DEADLINE_NONE
				       : timeout == 0
					   ? 0
					   : dps_now_ns() + (uint64_t)timeout * 1000000u));
}

DPS_EXPORT int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *t, const sigset_t *mask)
{
	sigset_t old;
	int rc;

	dps_real_need();
	if (!use_shim(fds, n))
		return real_ppoll(fds, n, t, mask);
	if (t != NULL && (t->tv_sec < 0 || t->tv_nsec < 0 || t->tv_nsec >= 1000000000))
		return (int)shim_ret(-EINVAL);
	if (mask != NULL)
		pthread_sigmask(SIG_SETMASK, mask, &old);
	rc = shim_poll(fds, n, ts_deadline(t));
	if (mask != NULL)
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	return (int)shim_ret(rc);
}

extern void __chk_fail(void) __attribute__((noreturn));
DPS_EXPORT int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen);
DPS_EXPORT int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *t,
			   const sigset_t *mask, size_t fdslen);

DPS_EXPORT int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen)
{
	if (fdslen / sizeof(*fds) < n)
		__chk_fail();
	return poll(fds, n, timeout);
}

DPS_EXPORT int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *t,
			   const sigset_t *mask, size_t fdslen)
{
	if (fdslen / sizeof(*fds) < n)
		__chk_fail();
	return ppoll(fds, n, t, mask);
}

/* select over poll: Linux's POLLIN_SET / POLLOUT_SET / POLLEX_SET (fs/select.c). */
static int shim_select(int nfds, fd_set *r, fd_set *w, fd_set *e, uint64_t deadline)
{
	struct pollfd stack[STACK_FDS], *p = stack;
	int n = 0, rc, count = 0;

	if (nfds < 0)
		return -EINVAL;
	if (nfds > FD_SETSIZE)
		nfds = FD_SETSIZE;
	for (int fd = 0; fd < nfds; fd++)
		if ((r && FD_ISSET(fd, r)) || (w && FD_ISSET(fd, w)) || (e && FD_ISSET(fd, e)))
			n++;
	if (n > STACK_FDS) {
		p = malloc((size_t)n * sizeof(*p));
		if (p == NULL)
			return -ENOMEM;
	}
	n = 0;
	for (int fd = 0; fd < nfds; fd++) {
		short ev = 0;

		if (r && FD_ISSET(fd, r))
			ev |= POLLIN;
		if (w && FD_ISSET(fd, w))
			ev |= POLLOUT;
		if (e && FD_ISSET(fd, e))
			ev |= POLLPRI;
		if (ev) {
			p[n].fd = fd;
			p[n].events = ev;
			p[n++].revents = 0;
		}
	}
	rc = shim_poll(p, (nfds_t)n, deadline);
	if (rc >= 0) {
		for (int i = 0; i < n; i++)
			if (p[i].revents & POLLNVAL)
				rc = -EBADF;
	}
	if (rc >= 0) {
		for (int i = 0; i < n; i++) {
			int fd = p[i].fd;
			short re = p[i].revents;

			if (r && FD_ISSET(fd, r)) {
				if (re & (POLLIN | POLLRDNORM | POLLHUP | POLLERR))
					count++;
				else
					FD_CLR(fd, r);
			}
			if (w && FD_ISSET(fd, w)) {
				if (re & (POLLOUT | POLLWRNORM | POLLERR))
					count++;
				else
					FD_CLR(fd, w);
			}
			if (e && FD_ISSET(fd, e)) {
				if (re & POLLPRI)
					count++;
				else
					FD_CLR(fd, e);
			}
		}
		rc = count;
	}
	if (p != stack)
		free(p);
	return rc;
}

static bool select_uses_shim(int nfds, fd_set *r, fd_set *w, fd_set *e)
{
	if (shim_inside)
		return false;
	if (shim_app_thread && atomic_load(&shim.state) == ENGINE_RUNNING)
		return true;
	for (int fd = 0; fd < nfds && fd < FD_SETSIZE; fd++)
		if (((r && FD_ISSET(fd, r)) || (w && FD_ISSET(fd, w)) || (e && FD_ISSET(fd, e))) &&
		    fd_psock(fd) != NULL)
			return true;
	return false;
}

DPS_EXPORT int select(int nfds, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv)
{
	uint64_t deadline = DPS_DEADLINE_NONE;
	int rc;

	dps_real_need();
	if (!select_uses_shim(nfds, r, w, e))
		return real_select(nfds, r, w, e, tv);
	if (tv != NULL) {
		if (tv->tv_sec < 0 || tv->tv_usec < 0)
			return (int)shim_ret(-EINVAL);
		deadline = tv->tv_sec == 0 && tv->tv_usec == 0
			       ? 0
			       : dps_now_ns() + (uint64_t)tv->tv_sec * 1000000000u +
				     (uint64_t)tv->tv_usec * 1000u;
	}
	rc = shim_select(nfds, r, w, e, deadline);
	if (tv != NULL && deadline != 0) {
		/* Linux writes back the time left */
		uint64_t now = dps_now_ns(), left = deadline > now ? deadline - now : 0;

		tv->tv_sec = (time_t)(left / 1000000000u);
		tv->tv_usec = (suseconds_t)(left % 1000000000u / 1000u);
	}
	return (int)shim_ret(rc);
}

DPS_EXPORT int pselect(int nfds, fd_set *r, fd_set *w, fd_set *e, const struct timespec *t,
		       const sigset_t *mask)
{
	sigset_t old;
	int rc;

	dps_real_need();
	if (!select_uses_shim(nfds, r, w, e))
		return real_pselect(nfds, r, w, e, t, mask);
	if (t != NULL && (t->tv_sec < 0 || t->tv_nsec < 0 || t->tv_nsec >= 1000000000))
		return (int)shim_ret(-EINVAL);
	if (mask != NULL)
		pthread_sigmask(SIG_SETMASK, mask, &old);
	rc = shim_select(nfds, r, w, e, ts_deadline(t));
	if (mask != NULL)
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	return (int)shim_ret(rc);
}
