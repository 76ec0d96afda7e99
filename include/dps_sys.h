/*
 * dps_sys: the system calls of the layers below the shim (coroutine/, stack/, mempool/, conf/),
 * made without the names libdpsock.so interposes (musl's rule: internal code never calls an
 * interposable name). Called by name, read() or epoll_wait() from the engine would go up through
 * preload/ again and work only because the shim's fd lookup happens to find nothing; with these
 * the engine's own fds never meet the shim. test/unit/preload/test_layers.sh fails when an object
 * of a lower layer references an interposed name.
 *
 * Each returns as libc's function does: the result, or -1 with errno set. Internal: not installed.
 */
#ifndef DPS_SYS_H
#define DPS_SYS_H

#include <signal.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

static inline ssize_t dps_sys_read(int fd, void *buf, size_t n)
{
	return syscall(SYS_read, fd, buf, n);
}

static inline ssize_t dps_sys_write(int fd, const void *buf, size_t n)
{
	return syscall(SYS_write, fd, buf, n);
}

static inline int dps_sys_close(int fd)
{
	return (int)syscall(SYS_close, fd);
}

static inline int dps_sys_socket(int domain, int type, int proto)
{
	return (int)syscall(SYS_socket, domain, type, proto);
}

static inline int dps_sys_getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	return (int)syscall(SYS_getsockopt, fd, level, name, val, len);
}

static inline int dps_sys_ioctl(int fd, unsigned long req, void *arg)
{
	return (int)syscall(SYS_ioctl, fd, req, arg);
}

static inline int dps_sys_epoll_create1(int flags)
{
	return (int)syscall(SYS_epoll_create1, flags);
}

static inline int dps_sys_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	return (int)syscall(SYS_epoll_ctl, epfd, op, fd, ev);
}

static inline int dps_sys_epoll_wait(int epfd, struct epoll_event *evs, int max, int ms)
{
	return (int)syscall(SYS_epoll_wait, epfd, evs, max, ms);
}

#ifndef SYS_epoll_pwait2
#define SYS_epoll_pwait2 441 /* Linux 5.11, every architecture */
#endif
/* No signal mask here (the scheduler never passes one): ENOSYS before Linux 5.11. */
static inline int dps_sys_epoll_pwait2(int epfd, struct epoll_event *evs, int max,
				       const struct timespec *t)
{
	return (int)syscall(SYS_epoll_pwait2, epfd, evs, max, t, NULL, (size_t)8);
}

/* sigaction has no plain system call (the kernel wants glibc's restorer): glibc's own exported
 * alias, which the shim does not interpose. */
extern int __sigaction(int sig, const struct sigaction *act, struct sigaction *old);
static inline int dps_sys_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	return __sigaction(sig, act, old);
}

#endif
