/*
 * opts: getsockopt/setsockopt, fcntl, ioctl and dup* on dpsock sockets.
 *
 * O_NONBLOCK belongs to the open file description, which dups share: it lives in the psock and is
 * never set on the placeholder (DESIGN.md §3). FD_CLOEXEC is per fd number and stays the kernel's.
 * dup/dup2/dup3/F_DUPFD(_CLOEXEC) make a new kernel number (a dup of the same placeholder) that
 * names the same psock, with a reference.
 */
#include "shim.h"

#include <fcntl.h>
#include <linux/sockios.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>

static uint64_t tv_ns(const struct timeval *tv)
{
	return (uint64_t)tv->tv_sec * 1000000000u + (uint64_t)tv->tv_usec * 1000u;
}

static int sock_setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	struct psock *ps;
	int rc = 0;

	if (val == NULL && len > 0)
		return -EFAULT;
	ps = shim_enter(fd);
	if (ps == NULL)
		return -EBADF;
	if (level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO)) {
		struct timeval tv;

		if (len < sizeof(tv)) {
			rc = -EINVAL;
		} else {
			memcpy(&tv, val, sizeof(tv));
			if (tv.tv_usec < 0 || tv.tv_usec >= 1000000)
				rc = -EDOM;
			else if (tv.tv_sec < 0)
				tv.tv_sec = tv.tv_usec = 0; /* Linux: negative means "no timeout" */
			if (rc == 0 && name == SO_RCVTIMEO)
				ps->rcvtimeo_ns = tv_ns(&tv);
			else if (rc == 0)
				ps->sndtimeo_ns = tv_ns(&tv);
		}
	} else {
		rc = psock_setopt(ps, level, name, val, len);
	}
	shim_leave(ps);
	return rc;
}

static int sock_getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	struct psock *ps;
	int rc;

	if (val == NULL || len == NULL)
		return -EFAULT;
	if ((int)*len < 0)
		return -EINVAL;
	ps = shim_enter(fd);
	if (ps == NULL)
		return -EBADF;
	if (level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO)) {
		uint64_t ns = name == SO_RCVTIMEO ? ps->rcvtimeo_ns : ps->sndtimeo_ns;
		struct timeval tv = { (time_t)(ns / 1000000000u),
				      (suseconds_t)(ns % 1000000000u / 1000u) };

		memcpy(val, &tv, *len < sizeof(tv) ? *len : sizeof(tv));
		*len = *len < sizeof(tv) ? *len : sizeof(tv);
		rc = 0;
	} else if (level == IPPROTO_IPV6 && name == IPV6_V6ONLY && ps->v6) {
		int v = ps->v6only;

		memcpy(val, &v, *len < sizeof(v) ? *len : sizeof(v));
		*len = *len < sizeof(v) ? *len : sizeof(v);
		rc = 0;
	} else if (level == IPPROTO_IPV6) {
		rc = -ENOPROTOOPT; /* AF_INET: as Linux; AF_INET6: none other kept for IPv4 */
	} else if (level == SOL_SOCKET && name == SO_DOMAIN) {
		int v = ps->v6 ? AF_INET6 : AF_INET;

		memcpy(val, &v, *len < sizeof(v) ? *len : sizeof(v));
		*len = *len < sizeof(v) ? *len : sizeof(v);
		rc = 0;
	} else if (level == SOL_SOCKET && name == SO_PROTOCOL) {
		int v = IPPROTO_TCP;

		memcpy(val, &v, *len < sizeof(v) ? *len : sizeof(v));
		*len = *len < sizeof(v) ? *len : sizeof(v);
		rc = 0;
	} else {
		rc = psock_materialize(ps, fd);
		if (rc == 0) {
			uint32_t l = *len;

			rc = dps_getsockopt(ps->h, level, name, val, &l);
			*len = l;
		}
	}
	shim_leave(ps);
	return rc;
}

DPS_EXPORT int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	dps_real_need();
	if (fd_psock(fd) == NULL)
		return real_setsockopt(fd, level, name, val, len);
	return (int)shim_ret(sock_setsockopt(fd, level, name, val, len));
}

DPS_EXPORT int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	int rc;

	dps_real_need();
	if (fd_psock(fd) == NULL)
		return real_getsockopt(fd, level, name, val, len);
	rc = sock_getsockopt(fd, level, name, val, len);
	if (rc == -ENODEV)
		return real_getsockopt(fd, level, name, val, len);
	return (int)shim_ret(rc);
}

/* Name the psock of oldfd also as newfd (already a kernel dup of it). Lock held. */
static void share(int oldfd, int newfd)
{
	void *obj = fdtab_get(oldfd), *prev;

	prev = fdtab_take(newfd);
	if (prev != NULL)
		shim_obj_put(prev);
	if (obj != NULL) {
		if (*(enum shim_kind *)obj == SHIM_PSOCK)
			((struct psock *)obj)->refs++;
		else
			((struct pepoll *)obj)->refs++;
		if (fdtab_set(newfd, obj) < 0)
			shim_obj_put(obj);
	}
}

static int dup_common(int oldfd, int newfd, int flags, int how)
{
	int rc;

	shim_lock();
	if (shim_is_placeholder(newfd)) {
		shim_unlock();
		return -EBUSY; /* would close our placeholder: refuse as for an fd in use */
	}
	if (how == 0)
		rc = real_dup(oldfd);
	else if (how == 2)
		rc = real_dup2(oldfd, newfd);
	else
		rc = real_dup3(oldfd, newfd, flags);
	if (rc < 0) {
		rc = -errno;
	} else if (rc != oldfd) {
		if (fdtab_get(oldfd) != NULL || fdtab_get(rc) != NULL)
			share(oldfd, rc);
		if (fdtab_get(rc) != NULL)
			shim_poll_locked(true); /* a replaced socket may have sent its FIN */
	}
	shim_unlock();
	return rc;
}

DPS_EXPORT int dup(int fd)
{
	dps_real_need();
	if (fdtab_get(fd) == NULL)
		return real_dup(fd);
	return (int)shim_ret(dup_common(fd, -1, 0, 0));
}

DPS_EXPORT int dup2(int oldfd, int newfd)
{
	dps_real_need();
	if (fdtab_get(oldfd) == NULL && fdtab_get(newfd) == NULL && !shim_is_placeholder(newfd))
		return real_dup2(oldfd, newfd);
	return (int)shim_ret(dup_common(oldfd, newfd, 0, 2));
}

DPS_EXPORT int dup3(int oldfd, int newfd, int flags)
{
	dps_real_need();
	if (fdtab_get(oldfd) == NULL && fdtab_get(newfd) == NULL && !shim_is_placeholder(newfd))
		return real_dup3(oldfd, newfd, flags);
	return (int)shim_ret(dup_common(oldfd, newfd, flags, 3));
}

static int sock_fcntl(int fd, int cmd, long arg, int (*real)(int, int, ...))
{
	struct psock *ps;
	int rc;

	switch (cmd) {
	case F_GETFL:
	case F_SETFL:
		shim_lock();
		ps = fd_psock(fd);
		if (ps == NULL) {
			shim_unlock();
			return -EBADF;
		}
		if (cmd == F_GETFL) {
			rc = O_RDWR | (ps->nonblock ? O_NONBLOCK : 0);
		} else {
			ps->nonblock = (arg & O_NONBLOCK) != 0;
			rc = 0;
		}
		shim_unlock();
		return rc;
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
		shim_lock();
		rc = real(fd, cmd, arg);
		if (rc < 0)
			rc = -errno;
		else
			share(fd, rc);
		shim_unlock();
		return rc;
	default:
		/* F_GETFD/F_SETFD (per number), locks, owners...: the placeholder's kernel answer */
		rc = real(fd, cmd, arg);
		return rc < 0 ? -errno : rc;
	}
}

/* fcntl and fcntl64 (the same call since glibc 2.28; programs import either). */
static int fcntl_hook(int fd, int cmd, long arg, int (*real)(int, int, ...))
{
	dps_real_need();
	if (fdtab_get(fd) == NULL)
		return real(fd, cmd, arg);
	return (int)shim_ret(sock_fcntl(fd, cmd, arg, real));
}

DPS_EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	long arg;

	va_start(ap, cmd);
	arg = va_arg(ap, long);
	va_end(ap);
	return fcntl_hook(fd, cmd, arg, real_fcntl);
}

DPS_EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	long arg;

	va_start(ap, cmd);
	arg = va_arg(ap, long);
	va_end(ap);
	return fcntl_hook(fd, cmd, arg, real_fcntl64);
}

static int sock_ioctl(int fd, unsigned long req, void *argp)
{
	struct psock *ps;
	int rc = 0;

	ps = shim_enter(fd);
	if (ps == NULL)
		return -EBADF;
	switch (req) {
	case FIONBIO:
		if (argp == NULL) {
			rc = -EFAULT;
			break;
		}
		memcpy(&rc, argp, sizeof(rc)); /* the buffer may be unaligned (python's) */
		ps->nonblock = rc != 0;
		rc = 0;
		break;
	case FIONREAD: /* = SIOCINQ */
	case SIOCOUTQ:
		if (argp == NULL) {
			rc = -EFAULT;
			break;
		}
		if (ps->listening) {
			rc = -EINVAL; /* Linux: SIOCINQ on a listener */
			break;
		}
		rc = ps->h >= 0 ? dps_queued(ps->h, req == SIOCOUTQ) : 0;
		if (rc >= 0) {
			memcpy(argp, &rc, sizeof(rc));
			rc = 0;
		}
		break;
	default:
		rc = real_ioctl(fd, req, argp); /* the placeholder socket answers as Linux would */
		rc = rc < 0 ? -errno : rc;
		break;
	}
	shim_leave(ps);
	return rc;
}

DPS_EXPORT int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *argp;

	va_start(ap, req);
	argp = va_arg(ap, void *);
	va_end(ap);
	dps_real_need();
	if (fdtab_get(fd) == NULL)
		return real_ioctl(fd, req, argp);
	return (int)shim_ret(sock_ioctl(fd, req, argp));
}
