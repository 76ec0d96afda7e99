/*
 * real: libc's own functions behind the ones the shim interposes (STYLE.md: an interposer keeps the
 * libc name, the function it forwards to is real_<name>). Each is resolved once with
 * dlsym(RTLD_NEXT) by dps_real_init(); the shim never calls back into itself through them.
 */
#ifndef DPS_PRELOAD_REAL_H
#define DPS_PRELOAD_REAL_H

#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

/* X(return type, name, parameter list): every libc function the shim forwards to. */
struct __user_cap_header_struct;
struct __user_cap_data_struct;

#define DPS_REAL_FUNCS(X)                                                                        \
	X(int, socket, (int, int, int))                                                          \
	X(int, socketpair, (int, int, int, int *))                                               \
	X(int, bind, (int, const struct sockaddr *, socklen_t))                                  \
	X(int, listen, (int, int))                                                               \
	X(int, accept, (int, struct sockaddr *, socklen_t *))                                    \
	X(int, accept4, (int, struct sockaddr *, socklen_t *, int))                              \
	X(int, connect, (int, const struct sockaddr *, socklen_t))                               \
	X(ssize_t, read, (int, void *, size_t))                                                  \
	X(ssize_t, readv, (int, const struct iovec *, int))                                      \
	X(ssize_t, write, (int, const void *, size_t))                                           \
	X(ssize_t, writev, (int, const struct iovec *, int))                                     \
	X(ssize_t, recv, (int, void *, size_t, int))                                             \
	X(ssize_t, recvfrom, (int, void *, size_t, int, struct sockaddr *, socklen_t *))         \
	X(ssize_t, recvmsg, (int, struct msghdr *, int))                                         \
	X(int, recvmmsg, (int, struct mmsghdr *, unsigned, int, struct timespec *))              \
	X(ssize_t, send, (int, const void *, size_t, int))                                       \
	X(ssize_t, sendto, (int, const void *, size_t, int, const struct sockaddr *, socklen_t)) \
	X(ssize_t, sendmsg, (int, const struct msghdr *, int))                                   \
	X(int, sendmmsg, (int, struct mmsghdr *, unsigned, int))                                 \
	X(ssize_t, sendfile, (int, int, off_t *, size_t))                                        \
	X(ssize_t, sendfile64, (int, int, off64_t *, size_t))                                    \
	X(int, close, (int))                                                                     \
	X(int, close_range, (unsigned, unsigned, int))                                           \
	X(void, closefrom, (int))                                                                \
	X(int, shutdown, (int, int))                                                             \
	X(int, getsockopt, (int, int, int, void *, socklen_t *))                                 \
	X(int, setsockopt, (int, int, int, const void *, socklen_t))                             \
	X(int, getsockname, (int, struct sockaddr *, socklen_t *))                               \
	X(int, getpeername, (int, struct sockaddr *, socklen_t *))                               \
	X(int, fcntl, (int, int, ...))                                                           \
	X(int, fcntl64, (int, int, ...))                                                         \
	X(int, ioctl, (int, unsigned long, ...))                                                 \
	X(int, poll, (struct pollfd *, nfds_t, int))                                             \
	X(int, ppoll, (struct pollfd *, nfds_t, const struct timespec *, const sigset_t *))      \
	X(int, select, (int, fd_set *, fd_set *, fd_set *, struct timeval *))                    \
	X(int, pselect,                                                                          \
	  (int, fd_set *, fd_set *, fd_set *, const struct timespec *, const sigset_t *))        \
	X(int, epoll_create, (int))                                                              \
	X(int, epoll_create1, (int))                                                             \
	X(int, epoll_ctl, (int, int, int, struct epoll_event *))                                 \
	X(int, epoll_wait, (int, struct epoll_event *, int, int))                                \
	X(int, epoll_pwait, (int, struct epoll_event *, int, int, const sigset_t *))             \
	X(int, epoll_pwait2,                                                                     \
	  (int, struct epoll_event *, int, const struct timespec *, const sigset_t *))           \
	X(int, dup, (int))                                                                       \
	X(int, dup2, (int, int))                                                                 \
	X(int, dup3, (int, int, int))                                                            \
	X(int, sigaction, (int, const struct sigaction *, struct sigaction *))                   \
	X(pid_t, fork, (void))                                                                   \
	X(int, setuid, (uid_t))                                                                  \
	X(int, setgid, (gid_t))                                                                  \
	X(int, seteuid, (uid_t))                                                                 \
	X(int, setegid, (gid_t))                                                                 \
	X(int, setreuid, (uid_t, uid_t))                                                         \
	X(int, setregid, (gid_t, gid_t))                                                         \
	X(int, setresuid, (uid_t, uid_t, uid_t))                                                 \
	X(int, setresgid, (gid_t, gid_t, gid_t))                                                 \
	X(int, setgroups, (size_t, const gid_t *))                                               \
	X(int, initgroups, (const char *, gid_t))                                                \
	X(int, capset, (struct __user_cap_header_struct *, const struct __user_cap_data_struct *))

#define DPS_REAL_DECLARE(ret, name, params) extern ret(*real_##name) params;
DPS_REAL_FUNCS(DPS_REAL_DECLARE)
#undef DPS_REAL_DECLARE

/* Resolve every real_<name> (idempotent, thread-safe; also run as a constructor). Aborts with a
 * message naming the symbol if libc lacks one the shim needs. */
void dps_real_init(void);

/* Every interposer starts with this: another library's constructor may call read() or socket()
 * before ours has run (libcap-ng's reads /proc in sshd, postgres, setpriv), so the pointers are
 * resolved at the first call of any of them, whatever the constructor order. One load and a
 * predictable branch once resolved. */
extern _Bool dps_real_ready;
static inline void dps_real_need(void)
{
	if (__builtin_expect(!__atomic_load_n(&dps_real_ready, __ATOMIC_ACQUIRE), 0))
		dps_real_init();
}

#endif
