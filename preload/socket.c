/*
 * socket: socket set-up and teardown calls (socket, bind, listen, accept, connect, shutdown,
 * close, close_range, closefrom, getsockname, getpeername), and the psock's life: pending while
 * the engine is off (DESIGN.md §6: the engine starts at the first call that needs packet I/O,
 * not at socket/bind/listen), materialized in the engine after, or moved to the kernel under the
 * same fd number when the destination is the kernel's (DESIGN.md §3: loopback, kernel_nets,
 * unreachable) or the engine cannot start (fallback=kernel).
 */
#include "shim.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* ---- routing ---- */

static bool in_nets(const struct dps_nets *n, uint32_t a)
{
	for (unsigned i = 0; i < n->n; i++) {
		uint32_t m = n->net[i].len == 0 ? 0 : htonl(~0u << (32 - n->net[i].len));

		if (((a ^ n->net[i].addr) & m) == 0)
			return true;
	}
	return false;
}

static bool is_our_addr(uint32_t a)
{
	for (unsigned i = 0; i < shim.conf.ip.n; i++)
		if (dps_net_has(&shim.conf.ip.net[i], a))
			return true;
	return false;
}

bool shim_route_is_ours(uint32_t dst)
{
	if (in_nets(&shim.conf.kernel_nets, dst))
		return false;
	return in_nets(&shim.conf.ip, dst) || shim.conf.gateway != 0;
}

/* ---- the placeholder and fd numbers ---- */

/* The kernel socket every psock fd is a dup of, created once, kept at a high number so that the
 * program's own numbering stays as without the shim. */
static int placeholder(void)
{
	struct rlimit rl;
	int s, hi = -1;

	if (shim.placeholder >= 0)
		return shim.placeholder;
	s = real_socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur > 64 && rl.rlim_cur != RLIM_INFINITY)
		hi = real_fcntl(s, F_DUPFD_CLOEXEC, (int)(rl.rlim_cur / 2));
	if (hi >= 0) {
		real_close(s);
		s = hi;
	}
	shim.placeholder = s;
	return s;
}

bool shim_is_placeholder(int fd)
{
	return fd >= 0 && fd == shim.placeholder;
}

int shim_fd_new(bool cloexec)
{
	int ph = placeholder(), fd;

	if (ph < 0)
		return ph;
	fd = real_fcntl(ph, cloexec ? F_DUPFD_CLOEXEC : F_DUPFD, 0);
	return fd < 0 ? -errno : fd;
}

struct psock *psock_alloc(bool nonblock)
{
	struct psock *ps = calloc(1, sizeof(*ps));

	if (ps == NULL)
		return NULL;
	ps->kind = SHIM_PSOCK;
	ps->refs = 1;
	ps->h = -1;
	ps->kfd = -1;
	ps->nonblock = nonblock;
	shim_wlist_init(&ps->waiters);
	return ps;
}

struct psock *shim_hold(int fd)
{
	struct psock *ps = fd_psock(fd);

	if (ps != NULL && ps->h >= 0 && atomic_load(&shim.state) == ENGINE_FORKED) {
		static atomic_flag warned = ATOMIC_FLAG_INIT;

		if (!atomic_flag_test_and_set(&warned))
			fprintf(stderr,
				"dpsock: fd %d: a dpsock socket inherited through fork() can "
				"only be closed in the child\n",
				fd);
		return NULL;
	}
	if (ps != NULL) {
		ps->refs++;
		shim_app_thread = true;
		shim_poll_locked(false); /* fastcalldown: every hooked call on our fds */
	}
	return ps;
}

void psock_on_event(void *arg, uint32_t events)
{
	struct psock *ps = arg;

	ps->events = events;
	shim_wake(&ps->waiters, events);
	if (ps->epitems != NULL)
		epoll_sock_event(ps, events);
}

uint32_t psock_events(struct psock *ps)
{
	uint32_t ev = 0;

	if (ps->h >= 0) {
		int e = dps_events(ps->h);

		ev = e < 0 ? EPOLLERR | EPOLLHUP : (uint32_t)e;
	} else if (!ps->listening) {
		ev = EPOLLOUT | EPOLLHUP; /* Linux: a socket never connected */
	}
	if (ps->kfd >= 0) {
		struct pollfd p = { .fd = ps->kfd, .events = POLLIN };

		if (real_poll(&p, 1, 0) > 0 && (p.revents & POLLIN))
			ev |= EPOLLIN;
	}
	return ev;
}

/* Options the engine does not implement but Linux programs set as hints: accepted, no effect. */
static bool option_is_hint(int level, int name)
{
	if (level == IPPROTO_IP)
		return name == IP_TOS || name == IP_TTL || name == IP_BIND_ADDRESS_NO_PORT ||
		       name == IP_RECVERR;
	if (level == IPPROTO_TCP)
		return name == TCP_DEFER_ACCEPT || name == TCP_FASTOPEN || name == TCP_QUICKACK ||
		       name == TCP_NOTSENT_LOWAT || name == TCP_FASTOPEN_CONNECT;
	if (level == SOL_SOCKET)
		return name == SO_PRIORITY || name == SO_RCVLOWAT || name == SO_SNDLOWAT ||
		       name == SO_OOBINLINE || name == SO_BROADCAST || name == SO_DONTROUTE ||
		       name == SO_TIMESTAMP || name == SO_BUSY_POLL || name == SO_INCOMING_CPU ||
		       name == SO_ZEROCOPY || name == SO_MARK;
	return false;
}

int psock_setopt(struct psock *ps, int level, int name, const void *val, uint32_t len)
{
	int rc;

	if (ps->h < 0) {
		struct pending_opt *o = NULL;

		if (len > sizeof(o->val))
			return -EINVAL;
		if (ps->opts == NULL) {
			ps->opts = calloc(PSOCK_MAX_OPTS, sizeof(*ps->opts));
			if (ps->opts == NULL)
				return -ENOMEM;
		}
		for (unsigned i = 0; i < ps->n_opts; i++)
			if (ps->opts[i].level == level && ps->opts[i].name == name)
				o = &ps->opts[i];
		if (o == NULL) {
			if (ps->n_opts == PSOCK_MAX_OPTS)
				return -ENOMEM;
			o = &ps->opts[ps->n_opts++];
		}
		o->level = level;
		o->name = name;
		o->len = len;
		memcpy(o->val, val, len);
		return 0;
	}
	rc = dps_setsockopt(ps->h, level, name, val, len);
	if (rc == -ENOPROTOOPT && option_is_hint(level, name))
		rc = 0;
	if (rc == 0 && ps->kfd >= 0 && level == SOL_SOCKET)
		(void)real_setsockopt(ps->kfd, level, name, val, len);
	return rc;
}

/* Listen on the kernel too (listen_kernel): a listener bound to 0.0.0.0 takes loopback clients. */
static void kernel_companion(struct psock *ps, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int one = 1, k;

	if (ps->kfd >= 0 || !shim.conf.listen_kernel || ps->addr.sin_addr.s_addr != 0)
		return;
	k = real_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (k < 0)
		return;
	(void)real_setsockopt(k, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	for (unsigned i = 0; i < ps->n_opts; i++)
		if (ps->opts[i].level == SOL_SOCKET && ps->opts[i].name == SO_REUSEPORT)
			(void)real_setsockopt(k, SOL_SOCKET, SO_REUSEPORT, ps->opts[i].val,
					      ps->opts[i].len);
	if (real_bind(k, (struct sockaddr *)&a, sizeof(a)) < 0 || real_listen(k, ps->backlog) < 0) {
		fprintf(stderr, "dpsock: port %u: kernel listener (listen_kernel=1) failed: %s\n",
			port, strerror(errno));
		real_close(k);
		return;
	}
	ps->kfd = k;
}

int psock_materialize(struct psock *ps, int fd)
{
	int h, rc;

	if (ps->h >= 0)
		return 0;
	rc = shim_engine_start();
	if (rc < 0) {
		int k = psock_to_kernel(ps, fd);

		return k == 0 ? -ENODEV : k;
	}
	h = dps_socket();
	if (h < 0)
		return h;
	ps->h = h;
	(void)dps_set_callback(h, psock_on_event, ps);
	for (unsigned i = 0; i < ps->n_opts; i++) {
		struct pending_opt *o = &ps->opts[i];

		rc = dps_setsockopt(h, o->level, o->name, o->val, o->len);
		if (rc < 0 && !(rc == -ENOPROTOOPT && option_is_hint(o->level, o->name)))
			fprintf(stderr, "dpsock: fd %d: option %d/%d set before start: %s\n", fd,
				o->level, o->name, strerror(-rc));
	}
	if (ps->bound) {
		rc = dps_bind(h, &ps->addr);
		if (rc < 0)
			return rc;
	}
	if (ps->listening) {
		rc = dps_listen(h, ps->backlog);
		if (rc < 0)
			return rc;
	}
	ps->events = (uint32_t)dps_events(h);
	return 0;
}

int psock_to_kernel(struct psock *ps, int fd)
{
	int k, fdflags;
	struct timeval tv;

	if (ps->kfd >= 0 && ps->listening) {
		/* The companion listener is the kernel socket wanted, bound and listening already
		 * (and a copy of it in another process, nginx's master, would hold the port). */
		k = ps->kfd;
		ps->kfd = -1;
		if (real_fcntl(k, F_SETFL, ps->nonblock ? O_NONBLOCK : 0) < 0)
			goto err;
		goto swap;
	}
	if (ps->kfd >= 0) {
		real_close(ps->kfd);
		ps->kfd = -1;
	}
	k = real_socket(AF_INET, SOCK_STREAM | (ps->nonblock ? SOCK_NONBLOCK : 0), 0);
	if (k < 0)
		return -errno;
	for (unsigned i = 0; i < ps->n_opts; i++)
		(void)real_setsockopt(k, ps->opts[i].level, ps->opts[i].name, ps->opts[i].val,
				      ps->opts[i].len);
	if (ps->rcvtimeo_ns) {
		tv.tv_sec = (time_t)(ps->rcvtimeo_ns / 1000000000);
		tv.tv_usec = (suseconds_t)(ps->rcvtimeo_ns % 1000000000 / 1000);
		(void)real_setsockopt(k, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	if (ps->sndtimeo_ns) {
		tv.tv_sec = (time_t)(ps->sndtimeo_ns / 1000000000);
		tv.tv_usec = (suseconds_t)(ps->sndtimeo_ns % 1000000000 / 1000);
		(void)real_setsockopt(k, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	if (ps->bound && real_bind(k, (struct sockaddr *)&ps->addr, sizeof(ps->addr)) < 0)
		goto err;
	if (ps->listening && real_listen(k, ps->backlog) < 0)
		goto err;
swap:
	fdflags = real_fcntl(fd, F_GETFD);
	if (real_dup3(k, fd, fdflags > 0 && (fdflags & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0)
		goto err;
	real_close(k);
	if (fdtab_take(fd) == ps)
		shim_obj_put(ps);
	return 0;
err:
	fdflags = -errno;
	real_close(k);
	return fdflags;
}

/* ---- the calls ---- */

static bool is_tcp4(int domain, int type, int proto)
{
	return domain == AF_INET && (type & 0xf) == SOCK_STREAM &&
	       (proto == 0 || proto == IPPROTO_TCP);
}

DPS_EXPORT int socket(int domain, int type, int proto)
{
	struct psock *ps;
	int fd, rc;

	dps_real_need();
	if (shim_inside || !is_tcp4(domain, type, proto) || shim_conf() < 0 ||
	    atomic_load(&shim.state) == ENGINE_FAILED)
		return real_socket(domain, type, proto);
	if (type & ~(0xf | SOCK_NONBLOCK | SOCK_CLOEXEC))
		return (int)shim_ret(-EINVAL);
	shim_lock();
	fd = shim_fd_new(type & SOCK_CLOEXEC);
	if (fd < 0) {
		shim_unlock();
		return (int)shim_ret(fd);
	}
	ps = psock_alloc(type & SOCK_NONBLOCK);
	rc = ps == NULL ? -ENOMEM : fdtab_set(fd, ps);
	if (rc == 0 && atomic_load(&shim.state) == ENGINE_RUNNING) {
		rc = psock_materialize(ps, fd);
		if (rc == -ENODEV)
			rc = 0; /* it became a kernel socket */
	}
	if (rc == 0)
		shim_app_thread = true;
	if (rc < 0) {
		if (ps != NULL && fdtab_take(fd) == ps)
			shim_obj_put(ps);
		else
			free(ps);
		real_close(fd);
		fd = rc;
	}
	shim_unlock();
	return (int)shim_ret(fd);
}

DPS_EXPORT int bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
	struct psock *ps;
	int rc;

	dps_real_need();
	if (fd_psock(fd) == NULL)
		return real_bind(fd, sa, len);
	if (len < sizeof(struct sockaddr_in))
		return (int)shim_ret(-EINVAL);
	if (sa->sa_family != AF_INET)
		return (int)shim_ret(-EAFNOSUPPORT);
	shim_lock();
	ps = shim_hold(fd);
	if (ps == NULL) {
		rc = -EBADF;
		goto out_unlocked;
	}
	if (ps->bound) {
		rc = -EINVAL;
	} else if (a->sin_addr.s_addr != INADDR_ANY && !is_our_addr(a->sin_addr.s_addr)) {
		/* loopback or another kernel address: the kernel's socket */
		rc = psock_to_kernel(ps, fd);
		if (rc == 0)
			rc = -ENODEV;
	} else {
		ps->addr = *a;
		ps->addr.sin_family = AF_INET;
		memset(ps->addr.sin_zero, 0, sizeof(ps->addr.sin_zero));
		if (ps->h < 0 && a->sin_port == 0)
			rc = psock_materialize(ps, fd); /* the ephemeral port is needed now */
		else
			rc = 0;
		if (rc == 0 && ps->h >= 0)
			rc = dps_bind(ps->h, &ps->addr);
		if (rc == 0)
			ps->bound = true;
	}
	shim_obj_put(ps);
out_unlocked:
	shim_unlock();
	if (rc == -ENODEV)
		return real_bind(fd, sa, len);
	return (int)shim_ret(rc);
}

DPS_EXPORT int listen(int fd, int backlog)
{
	struct psock *ps;
	int rc = 0;

	dps_real_need();
	if (fd_psock(fd) == NULL)
		return real_listen(fd, backlog);
	ps = shim_enter(fd);
	if (ps == NULL)
		return (int)shim_ret(-EBADF);
	if (backlog <= 0 || backlog > 4096)
		backlog = backlog <= 0 ? 1 : 4096; /* net.core.somaxconn */
	if (ps->connecting) {
		rc = -EINVAL;
	} else {
		if (!ps->bound && ps->h < 0)
			rc = psock_materialize(ps, fd); /* an ephemeral port, as Linux picks */
		if (rc == 0 && ps->h >= 0)
			rc = dps_listen(ps->h, backlog);
		if (rc == 0) {
			struct sockaddr_in me;

			ps->listening = true;
			ps->backlog = backlog;
			ps->bound = true;
			if (ps->h >= 0 && dps_getsockname(ps->h, &me) == 0)
				ps->addr = me;
			kernel_companion(ps, ntohs(ps->addr.sin_port));
		}
	}
	shim_leave(ps);
	if (rc == -ENODEV)
		return real_listen(fd, backlog);
	return (int)shim_ret(rc);
}

static void copy_addr(const struct sockaddr_in *a, struct sockaddr *sa, socklen_t *len)
{
	if (sa == NULL || len == NULL)
		return;
	memcpy(sa, a, *len < sizeof(*a) ? *len : sizeof(*a));
	*len = sizeof(*a);
}

static int do_accept(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
	struct psock *ps, *nps;
	struct sockaddr_in peer;
	int rc, nfd = -1, h;
	uint64_t deadline;

	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return -EINVAL;
	ps = shim_enter(fd);
	if (ps == NULL)
		return -EBADF;
	rc = psock_materialize(ps, fd);
	if (rc < 0)
		goto out;
	if (!ps->listening) {
		rc = -EINVAL;
		goto out;
	}
	deadline = shim_deadline(ps->rcvtimeo_ns);
	for (;;) {
		h = dps_accept(ps->h,
			       &peer); /* shim_enter polled; after a wait, the idle hook did */
		if (h >= 0)
			break;
		if (h != -EAGAIN) {
			rc = h;
			goto out;
		}
		if (ps->kfd >= 0) {
			int k = real_accept4(ps->kfd, sa, len, flags);

			if (k >= 0) {
				rc = k;
				goto out;
			}
		}
		if (ps->nonblock) {
			rc = -EAGAIN;
			goto out;
		}
		struct shim_wait w = { &ps->waiters, EPOLLIN };
		uint32_t kev = EPOLLIN;

		rc = shim_block(&w, 1, &ps->kfd, &kev, ps->kfd >= 0 ? 1 : 0, deadline);
		if (rc == -ETIMEDOUT) {
			rc = -EAGAIN;
			goto out;
		}
		if (rc == -EINTR && !(shim_signal_restarts() && ps->rcvtimeo_ns == 0))
			goto out;
	}
	nfd = shim_fd_new(flags & SOCK_CLOEXEC);
	nps = nfd < 0 ? NULL : psock_alloc(flags & SOCK_NONBLOCK);
	if (nps == NULL || fdtab_set(nfd, nps) < 0) {
		rc = nfd < 0 ? nfd : -ENOMEM;
		(void)dps_close(h);
		free(nps);
		if (nfd >= 0)
			real_close(nfd);
		goto out;
	}
	nps->h = h;
	nps->bound = true;
	(void)dps_set_callback(h, psock_on_event, nps);
	nps->events = (uint32_t)dps_events(h);
	copy_addr(&peer, sa, len);
	rc = nfd;
out:
	shim_leave(ps);
	return rc;
}

DPS_EXPORT int accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
	int rc;

	dps_real_need();
	if (fd_psock(fd) == NULL)
		return real_accept4(fd, sa, len, flags);
	rc = do_accept(fd, sa, len, flags);
	if (rc == -ENODEV)
		return real_accept4(fd, sa, len, flags);
	return (int)shim_ret(rc);
}

DPS_EXPORT int accept(int fd, struct sockaddr *sa, socklen_t *len)
{
	int rc;

	dps_real_need();
	if (fd_psock(fd) == NULL)
		return real_accept(fd, sa, len);
	rc = do_accept(fd, sa, len, 0);
	if (rc == -ENODEV)
		return real_accept(fd, sa, len);
	return (int)shim_ret(rc);
}

static int do_connect(int fd, const struct sockaddr_in *a)
{
	struct psock *ps;
	uint64_t deadline;
	int rc;

	ps = shim_enter(fd);
	if (ps == NULL)
		return -EBADF;
	if (!shim_route_is_ours(a->sin_addr.s_addr) && ps->h < 0 && !ps->listening) {
		rc = psock_to_kernel(ps, fd);
		rc = rc == 0 ? -ENODEV : rc;
		goto out;
	}
	rc = psock_materialize(ps, fd);
	if (rc < 0)
		goto out;
	rc = dps_connect(ps->h, a);
	if (rc != -EINPROGRESS || ps->nonblock)
		goto out;
	ps->connecting = true;
	deadline = shim_deadline(ps->sndtimeo_ns);
	for (;;) {
		uint32_t ev = psock_events(ps);
		struct shim_wait w = { &ps->waiters, EPOLLOUT };

		if (ev & (EPOLLERR | EPOLLHUP)) {
			int err = 0;
			uint32_t l = sizeof(err);

			(void)dps_getsockopt(ps->h, SOL_SOCKET, SO_ERROR, &err, &l);
			rc = err != 0 ? -err : -ECONNREFUSED;
			break;
		}
		if (ev & EPOLLOUT) {
			rc = 0;
			break;
		}
		rc = shim_block(&w, 1, NULL, NULL, 0, deadline);
		if (rc == -ETIMEDOUT) {
			rc = -EINPROGRESS;
			break;
		}
		if (rc == -EINTR && !(shim_signal_restarts() && ps->sndtimeo_ns == 0))
			break; /* the connection goes on in the background, as on Linux */
		if (rc == -EINTR)
			continue;
	}
	ps->connecting = false;
out:
	shim_leave(ps);
	return rc;
}

DPS_EXPORT int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	int rc;

	dps_real_need();
	if (fd_psock(fd) == NULL)
		return real_connect(fd, sa, len);
	if (sa == NULL || len < sizeof(sa_family_t))
		return (int)shim_ret(-EINVAL);
	if (sa->sa_family != AF_INET) {
		/* AF_UNSPEC dissolves an association (Linux: a TCP connect with AF_UNSPEC
		 * disconnects); others are refused as Linux does for an inet socket. */
		return (int)shim_ret(sa->sa_family == AF_UNSPEC ? -EOPNOTSUPP : -EAFNOSUPPORT);
	}
	if (len < sizeof(struct sockaddr_in))
		return (int)shim_ret(-EINVAL);
	rc = do_connect(fd, (const struct sockaddr_in *)sa);
	if (rc == -ENODEV)
		return real_connect(fd, sa, len);
	return (int)shim_ret(rc);
}

DPS_EXPORT int shutdown(int fd, int how)
{
	struct psock *ps;
	int rc;

	dps_real_need();
	if (fd_psock(fd) == NULL)
		return real_shutdown(fd, how);
	ps = shim_enter(fd);
	if (ps == NULL)
		return (int)shim_ret(-EBADF);
	if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
		rc = -EINVAL;
	else if (ps->h < 0)
		rc = -ENOTCONN;
	else
		rc = dps_shutdown(ps->h, how);
	if (rc == 0)
		shim_poll_locked(true); /* the FIN goes out now */
	shim_wake(&ps->waiters, SHIM_WAKE_ANY);
	shim_leave(ps);
	return (int)shim_ret(rc);
}

/* Forget fd's shim object (lock not held); the kernel number is closed by the caller. */
static void forget(int fd)
{
	void *obj;

	shim_lock();
	obj = fdtab_take(fd);
	if (obj != NULL) {
		shim_obj_put(obj);
		shim_poll_locked(true); /* a FIN or RST goes out now */
	}
	shim_unlock();
}

DPS_EXPORT int close(int fd)
{
	dps_real_need();
	if (fdtab_get(fd) == NULL) {
		if (shim_is_placeholder(fd))
			return (int)shim_ret(-EBADF); /* ours: the program never had it */
		return real_close(fd);
	}
	forget(fd);
	return real_close(fd);
}

/* close_range/closefrom: drop our objects in the range, and never close the placeholder. */
static int close_some(unsigned first, unsigned last, int flags)
{
	unsigned ph = shim.placeholder >= 0 ? (unsigned)shim.placeholder : ~0u;
	int max = shim_fdtab_max();
	int rc = 0;

	if (first > last)
		return -EINVAL;
	if (!(flags & CLOSE_RANGE_CLOEXEC))
		for (int fd = (int)first; fd <= max && (unsigned)fd <= last; fd++)
			if (fdtab_get(fd) != NULL)
				forget(fd);
	if (real_close_range == NULL)
		return -ENOSYS;
	if (ph >= first && ph <= last) {
		if (ph > first)
			rc = real_close_range(first, ph - 1, flags);
		if (rc == 0 && ph < last)
			rc = real_close_range(ph + 1, last, flags);
	} else {
		rc = real_close_range(first, last, flags);
	}
	return rc < 0 ? -errno : 0;
}

DPS_EXPORT int close_range(unsigned first, unsigned last, int flags)
{
	dps_real_need();
	return (int)shim_ret(close_some(first, last, flags));
}

DPS_EXPORT void closefrom(int lowfd)
{
	dps_real_need();
	if (lowfd < 0)
		lowfd = 0;
	(void)close_some((unsigned)lowfd, ~0u, 0);
}

static int name_of(int fd, struct sockaddr *sa, socklen_t *len, bool peer)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct psock *ps;
	int rc = 0;

	if (sa == NULL || len == NULL)
		return -EFAULT;
	if ((int)*len < 0)
		return -EINVAL;
	ps = shim_enter(fd);
	if (ps == NULL)
		return -EBADF;
	if (ps->h >= 0)
		rc = peer ? dps_getpeername(ps->h, &a) : dps_getsockname(ps->h, &a);
	else if (peer)
		rc = -ENOTCONN;
	else if (ps->bound)
		a = ps->addr;
	shim_leave(ps);
	if (rc == 0)
		copy_addr(&a, sa, len);
	return rc;
}

DPS_EXPORT int getsockname(int fd, struct sockaddr *sa, socklen_t *len)
{
	dps_real_need();
	if (fd_psock(fd) == NULL)
		return real_getsockname(fd, sa, len);
	return (int)shim_ret(name_of(fd, sa, len, false));
}

DPS_EXPORT int getpeername(int fd, struct sockaddr *sa, socklen_t *len)
{
	dps_real_need();
	if (fd_psock(fd) == NULL)
		return real_getpeername(fd, sa, len);
	return (int)shim_ret(name_of(fd, sa, len, true));
}

DPS_EXPORT int socketpair(int domain, int type, int proto, int sv[2])
{
	dps_real_need();
	return real_socketpair(domain, type, proto, sv); /* never TCP: always the kernel's */
}
