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

/* ---- IPv4-mapped addresses (issue 13 item 7) ---- */

/* The IPv4 address a dual-stack socket's IPv6 address stands for (:: is 0.0.0.0, ::ffff:a.b.c.d
 * is a.b.c.d), port included; false for an IPv6 address proper (the kernel's). */
static bool v6_to_v4(const struct sockaddr_in6 *a6, struct sockaddr_in *a)
{
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_port = a6->sin6_port;
	if (IN6_IS_ADDR_UNSPECIFIED(&a6->sin6_addr))
		return true;
	if (!IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr))
		return false;
	memcpy(&a->sin_addr, &a6->sin6_addr.s6_addr[12], 4);
	return true;
}

/* The address an AF_INET6 socket reports for a: :: for 0.0.0.0, else ::ffff:a.b.c.d (Linux's
 * dual-stack sockets). */
static void v4_to_v6(const struct sockaddr_in *a, struct sockaddr_in6 *a6)
{
	memset(a6, 0, sizeof(*a6));
	a6->sin6_family = AF_INET6;
	a6->sin6_port = a->sin_port;
	if (a->sin_addr.s_addr == INADDR_ANY)
		return;
	a6->sin6_addr.s6_addr[10] = 0xff;
	a6->sin6_addr.s6_addr[11] = 0xff;
	memcpy(&a6->sin6_addr.s6_addr[12], &a->sin_addr, 4);
}

/* Copy a (what the engine knows) out to the program as ps's family says, with Linux's length
 * rules: truncated to *len, *len set to the full size. */
static void copy_addr(const struct psock *ps, const struct sockaddr_in *a, struct sockaddr *sa,
		      socklen_t *len)
{
	struct sockaddr_in6 a6;
	const void *src = a;
	socklen_t n = sizeof(*a);

	if (sa == NULL || len == NULL)
		return;
	if (ps->v6) {
		v4_to_v6(a, &a6);
		src = &a6;
		n = sizeof(a6);
	}
	memcpy(sa, src, *len < n ? *len : n);
	*len = n;
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

struct psock *psock_alloc(bool nonblock, bool v6)
{
	struct psock *ps = calloc(1, sizeof(*ps));

	if (ps == NULL)
		return NULL;
	ps->kind = SHIM_PSOCK;
	ps->refs = 1;
	ps->h = -1;
	ps->kfd = -1;
	ps->nonblock = nonblock;
	ps->v6 = v6;
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

/* Record an option for the engine socket yet to be made, or for the kernel socket ps may become
 * (psock_to_kernel replays them). */
static int opt_record(struct psock *ps, int level, int name, const void *val, uint32_t len)
{
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

/* An IPv6-level option of an AF_INET6 socket: what the kernel says of it, asked of a scratch
 * AF_INET6 TCP socket (the IPv4 traffic dpsock carries has no use for them, but the socket may
 * still become the kernel's, and the program must get Linux's answer now). */
static int kernel_v6_check(int level, int name, const void *val, uint32_t len)
{
	int k = real_socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0), rc = 0;

	if (k < 0)
		return 0; /* no IPv6 in this kernel: nothing to compare with */
	if (real_setsockopt(k, level, name, val, len) < 0)
		rc = -errno;
	real_close(k);
	return rc;
}

/*
 * setsockopt on ps (lock held). The answer is the same whether or not the engine runs (issue 13
 * item 6): an option set before the socket exists in the engine is checked as the engine would
 * check it (dps_tcp_sockopt_check), with Linux's errno, and recorded; hints are accepted.
 * IPv6-level options are refused on AF_INET sockets (ENOPROTOOPT, as Linux), and on AF_INET6
 * ones checked by the kernel (IPV6_V6ONLY is the shim's: it decides where the socket goes).
 */
int psock_setopt(struct psock *ps, int level, int name, const void *val, uint32_t len)
{
	int rc;

	if (level == IPPROTO_IPV6) {
		if (!ps->v6)
			return -ENOPROTOOPT;
		if (name == IPV6_V6ONLY) {
			int v;

			if (len < sizeof(int))
				return -EINVAL;
			if (ps->bound)
				return -EINVAL; /* Linux: fixed once bound */
			memcpy(&v, val, sizeof(v));
			ps->v6only = v != 0;
			return 0;
		}
		rc = kernel_v6_check(level, name, val, len);
		if (rc < 0 || !(ps->h < 0 || ps->fresh))
			return rc;
		return opt_record(ps, level, name, val, len);
	}
	rc = dps_setsockopt_check(level, name, val, len);
	if (rc == -ENOPROTOOPT && option_is_hint(level, name))
		rc = 0;
	if (rc < 0)
		return rc;
	if (ps->h < 0 || ps->fresh) {
		rc = opt_record(ps, level, name, val, len);
		if (rc < 0 || ps->h < 0)
			return rc;
	}
	rc = dps_setsockopt(ps->h, level, name, val, len);
	if (rc == -ENOPROTOOPT && option_is_hint(level, name))
		rc = 0;
	if (rc == 0 && ps->kfd >= 0 && level == SOL_SOCKET)
		(void)real_setsockopt(ps->kfd, level, name, val, len);
	return rc;
}

/* Listen on the kernel too (listen_kernel): a listener bound to 0.0.0.0 (or a dual-stack ::)
 * takes loopback clients, and for :: the IPv6 ones the kernel carries. */
static void kernel_companion(struct psock *ps, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	int one = 1, zero = 0, k;

	if (ps->kfd >= 0 || !shim.conf.listen_kernel || ps->addr.sin_addr.s_addr != 0)
		return;
	k = real_socket(ps->v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (k < 0 && ps->v6) /* no IPv6 in this kernel: loopback IPv4 still */
		k = real_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (k < 0)
		return;
	(void)real_setsockopt(k, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ps->v6)
		(void)real_setsockopt(k, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	for (unsigned i = 0; i < ps->n_opts; i++)
		if (ps->opts[i].level == SOL_SOCKET && ps->opts[i].name == SO_REUSEPORT)
			(void)real_setsockopt(k, SOL_SOCKET, SO_REUSEPORT, ps->opts[i].val,
					      ps->opts[i].len);
	if ((ps->v6 ? real_bind(k, (struct sockaddr *)&a6, sizeof(a6)) < 0 &&
			  real_bind(k, (struct sockaddr *)&a, sizeof(a)) < 0
		    : real_bind(k, (struct sockaddr *)&a, sizeof(a)) < 0) ||
	    real_listen(k, ps->backlog) < 0) {
		fprintf(stderr, "dpsock: port %u: kernel listener (listen_kernel=1) failed: %s\n",
			port, strerror(errno));
		real_close(k);
		return;
	}
	ps->kfd = k;
}

/* "a.b.c.d:port" (or "[::]:port" for a dual-stack socket) of ps, for messages. */
static const char *addr_str(const struct psock *ps, char *buf, size_t n)
{
	char ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &ps->addr.sin_addr, ip, sizeof(ip));
	if (ps->v6 && ps->addr.sin_addr.s_addr == 0)
		snprintf(buf, n, "[::]:%u", ntohs(ps->addr.sin_port));
	else
		snprintf(buf, n, "%s%s%s:%u", ps->v6 ? "[::ffff:" : "", ip, ps->v6 ? "]" : "",
			 ntohs(ps->addr.sin_port));
	return buf;
}

int psock_materialize(struct psock *ps, int fd)
{
	int h, rc;

	if (ps->h >= 0)
		return 0;
	if (ps->dead)
		return -ENOTCONN;
	rc = shim_engine_start();
	if (rc < 0) {
		int k = psock_to_kernel(ps, fd);

		if (k < 0 && ps->listening) {
			/* Neither here nor there (issue 13 item 3: a listener on the stack's
			 * address in a process that cannot start the engine). Say it once, and
			 * let it never be ready, rather than readable forever. */
			char a[64];

			ps->dead = true;
			fprintf(
			    stderr,
			    "dpsock: fd %d: listener %s is unusable: the engine could not start "
			    "and the kernel cannot take it (%s); it will accept nothing\n",
			    fd, addr_str(ps, a, sizeof(a)), strerror(-k));
			return -ENOTCONN;
		}
		return k == 0 ? -ENODEV : k;
	}
	h = dps_socket();
	if (h < 0)
		return h;
	ps->h = h;
	(void)dps_set_callback(h, psock_on_event, ps);
	for (unsigned i = 0; i < ps->n_opts; i++) {
		struct pending_opt *o = &ps->opts[i];

		if (o->level == IPPROTO_IPV6)
			continue; /* the kernel's, should the socket go there */
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

/* Is ps's engine socket one that never connected nor listened (it can still become anything)? */
static bool psock_is_unused(struct psock *ps)
{
	struct tcp_info ti;
	uint32_t l = sizeof(ti);

	if (ps->h < 0)
		return true;
	if (ps->listening || ps->connecting || !ps->fresh)
		return false;
	return dps_getsockopt(ps->h, IPPROTO_TCP, TCP_INFO, &ti, &l) == 0 &&
	       ti.tcpi_state == TCP_CLOSE;
}

int psock_to_kernel(struct psock *ps, int fd)
{
	bool companion = false;
	int k, fdflags;
	struct timeval tv;

	if (ps->kfd >= 0 && ps->listening) {
		/* The companion listener is the kernel socket wanted, bound and listening already
		 * (and a copy of it in another process, nginx's master, would hold the port). */
		k = ps->kfd;
		ps->kfd = -1;
		companion = true;
		if (real_fcntl(k, F_SETFL, ps->nonblock ? O_NONBLOCK : 0) < 0)
			goto err;
		goto swap;
	}
	if (ps->kfd >= 0) {
		real_close(ps->kfd);
		ps->kfd = -1;
	}
	k = real_socket(ps->v6 ? AF_INET6 : AF_INET,
			SOCK_STREAM | (ps->nonblock ? SOCK_NONBLOCK : 0), 0);
	if (k < 0)
		return -errno;
	if (ps->v6) {
		int v = ps->v6only;

		(void)real_setsockopt(k, IPPROTO_IPV6, IPV6_V6ONLY, &v, sizeof(v));
	}
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
	if (ps->bound) {
		struct sockaddr_in6 a6;
		int brc;

		if (ps->v6) {
			v4_to_v6(&ps->addr, &a6);
			brc = real_bind(k, (struct sockaddr *)&a6, sizeof(a6));
		} else {
			brc = real_bind(k, (struct sockaddr *)&ps->addr, sizeof(ps->addr));
		}
		if (brc < 0)
			goto err;
	}
	if (ps->listening && real_listen(k, ps->backlog) < 0)
		goto err;
swap:
	fdflags = real_fcntl(fd, F_GETFD);
	if (real_dup3(k, fd, fdflags > 0 && (fdflags & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0)
		goto err;
	real_close(k);
	if (!companion) /* the companion is in the shadow epoll already, with the same data */
		epoll_move_to_kernel(ps, fd);
	if (ps->h >= 0) { /* an engine socket never used (psock_is_unused): gone with it */
		(void)dps_close(ps->h);
		ps->h = -1;
	}
	if (fdtab_take(fd) == ps)
		shim_obj_put(ps);
	return 0;
err:
	fdflags = -errno;
	real_close(k);
	return fdflags;
}

/* ---- the calls ---- */

/* IPv4 TCP, and IPv6 TCP, which may turn out dual-stack (bound to :: without IPV6_V6ONLY) and so
 * carry IPv4 traffic of ours; it stays pending until bind or connect says which (issue 13 item 7). */
static bool is_tcp(int domain, int type, int proto)
{
	return (domain == AF_INET || domain == AF_INET6) && (type & 0xf) == SOCK_STREAM &&
	       (proto == 0 || proto == IPPROTO_TCP);
}

DPS_EXPORT int socket(int domain, int type, int proto)
{
	struct psock *ps;
	int fd, rc;

	dps_real_need();
	if (shim_inside || !is_tcp(domain, type, proto) || shim_conf() < 0 ||
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
	ps = psock_alloc(type & SOCK_NONBLOCK, domain == AF_INET6);
	if (ps != NULL)
		ps->fresh = true;
	rc = ps == NULL ? -ENOMEM : fdtab_set(fd, ps);
	if (rc == 0 && atomic_load(&shim.state) == ENGINE_RUNNING && !ps->v6) {
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

/* An IPv6-only socket bound to :: stays the kernel's: said once, for a program that listens only
 * there would serve nobody through dpsock (issue 13 item 10). */
static void note_v6only(int fd, const struct sockaddr_in6 *a6)
{
	static atomic_flag said = ATOMIC_FLAG_INIT;

	if (IN6_IS_ADDR_UNSPECIFIED(&a6->sin6_addr) && !atomic_flag_test_and_set(&said))
		fprintf(stderr,
			"dpsock: fd %d: [::]:%u is IPv6-only (IPV6_V6ONLY): dpsock carries IPv4 "
			"only, so this socket stays on the kernel; IPv4 clients reach the program "
			"through dpsock only on a 0.0.0.0 or dual-stack :: socket\n",
			fd, ntohs(a6->sin6_port));
}

DPS_EXPORT int bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct sockaddr_in a;
	struct psock *ps;
	int rc;

	dps_real_need();
	ps = fd_psock(fd);
	if (ps == NULL)
		return real_bind(fd, sa, len);
	if (sa == NULL)
		return (int)shim_ret(-EFAULT);
	if (len < (ps->v6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in)))
		return (int)shim_ret(-EINVAL);
	if (sa->sa_family != (ps->v6 ? AF_INET6 : AF_INET))
		return (int)shim_ret(ps->v6 ? -EINVAL : -EAFNOSUPPORT);
	shim_lock();
	ps = shim_hold(fd);
	if (ps == NULL) {
		rc = -EBADF;
		goto out_unlocked;
	}
	if (ps->v6) {
		bool mapped = v6_to_v4((const struct sockaddr_in6 *)sa, &a);

		if (ps->bound) {
			rc = -EINVAL;
		} else if (!mapped || ps->v6only || !psock_is_unused(ps)) {
			/* IPv6 proper, or IPv6-only: the kernel's socket */
			if (mapped && ps->v6only)
				note_v6only(fd, (const struct sockaddr_in6 *)sa);
			rc = psock_to_kernel(ps, fd);
			if (rc == 0)
				rc = -ENODEV;
			goto put;
		}
	} else {
		memcpy(&a, sa, sizeof(a));
	}
	if (ps->bound) {
		rc = -EINVAL;
	} else if (a.sin_addr.s_addr != INADDR_ANY && !is_our_addr(a.sin_addr.s_addr)) {
		/* loopback or another kernel address: the kernel's socket */
		rc = psock_is_unused(ps) ? psock_to_kernel(ps, fd) : -EADDRNOTAVAIL;
		if (rc == 0)
			rc = -ENODEV;
	} else {
		ps->addr = a;
		ps->addr.sin_family = AF_INET;
		memset(ps->addr.sin_zero, 0, sizeof(ps->addr.sin_zero));
		if (ps->h < 0 && a.sin_port == 0)
			rc = psock_materialize(ps, fd); /* the ephemeral port is needed now */
		else
			rc = 0;
		if (rc == 0 && ps->h >= 0)
			rc = dps_bind(ps->h, &ps->addr);
		if (rc == 0)
			ps->bound = true;
	}
put:
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
	} else if (ps->v6 && ps->v6only && !ps->bound) {
		rc = psock_to_kernel(ps, fd); /* IPv6-only on an ephemeral port: the kernel's */
		if (rc == 0)
			rc = -ENODEV;
	} else {
		if (!ps->bound && ps->h < 0)
			rc = psock_materialize(ps, fd); /* an ephemeral port, as Linux picks */
		if (rc == 0 && ps->h >= 0)
			rc = dps_listen(ps->h, backlog);
		if (rc == 0) {
			struct sockaddr_in me;

			ps->listening = true;
			ps->fresh = false;
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
	if (rc < 0 && ps->dead) {
		/* Nothing will ever arrive (psock_materialize said why): wait as for an empty
		 * queue, until the timeout or a signal. */
		rc = -EAGAIN;
		while (!ps->nonblock) {
			rc = shim_block(NULL, 0, NULL, NULL, 0, shim_deadline(ps->rcvtimeo_ns));
			if (rc == -ETIMEDOUT || rc == -EINTR) {
				rc = rc == -EINTR ? -EINTR : -EAGAIN;
				break;
			}
		}
		goto out;
	}
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
	nps = nfd < 0 ? NULL : psock_alloc(flags & SOCK_NONBLOCK, ps->v6);
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
	copy_addr(nps, &peer, sa, len);
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
	/* A destination of the kernel's (loopback, kernel_nets, IPv6 proper: a == NULL) takes the
	 * socket there, also when it exists in the engine already but was never used (socket()
	 * after the engine started, issue 13 item 4). */
	if ((a == NULL || !shim_route_is_ours(a->sin_addr.s_addr)) && psock_is_unused(ps) &&
	    (!ps->bound || ps->addr.sin_addr.s_addr == INADDR_ANY)) {
		rc = psock_to_kernel(ps, fd);
		rc = rc == 0 ? -ENODEV : rc;
		goto out;
	}
	if (a == NULL) {
		rc = -ENETUNREACH; /* an IPv6 destination from a socket bound to ours */
		goto out;
	}
	rc = psock_materialize(ps, fd);
	if (rc < 0)
		goto out;
	ps->fresh = false;
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
	struct sockaddr_in a;
	struct psock *ps;
	int rc;

	dps_real_need();
	ps = fd_psock(fd);
	if (ps == NULL)
		return real_connect(fd, sa, len);
	if (sa == NULL || len < sizeof(sa_family_t))
		return (int)shim_ret(-EINVAL);
	if (sa->sa_family != (ps->v6 ? AF_INET6 : AF_INET)) {
		/* AF_UNSPEC dissolves an association (Linux: a TCP connect with AF_UNSPEC
		 * disconnects); others are refused as Linux does for an inet socket. */
		return (int)shim_ret(sa->sa_family == AF_UNSPEC ? -EOPNOTSUPP : -EAFNOSUPPORT);
	}
	if (len < (ps->v6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in)))
		return (int)shim_ret(-EINVAL);
	if (ps->v6) {
		const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)sa;

		/* ::ffff:a.b.c.d is IPv4 (not on an IPv6-only socket: Linux ENETUNREACH... the
		 * kernel answers it); :: is loopback to Linux, so the kernel's too. */
		if (IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr) && !ps->v6only)
			rc = do_connect(fd, v6_to_v4(a6, &a) ? &a : NULL);
		else
			rc = do_connect(fd, NULL);
	} else {
		memcpy(&a, sa, sizeof(a));
		rc = do_connect(fd, &a);
	}
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
	if (rc == 0)
		copy_addr(ps, &a, sa, len);
	shim_leave(ps);
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
