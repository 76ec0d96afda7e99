/*
 * early_ctor: a library whose constructor calls every function libdpsock.so interposes, as
 * libcap-ng's does with read() (issue 13, item 1). The test program links it, so its constructor
 * runs before the preloaded shim's own; each call must reach libc (nothing crashes) and give the
 * answer libc gives: EBADF on fd -1, success on a pipe, 0 from empty sets.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include "early_ctor.h"

int early_failures;
int early_calls;
char early_first_failure[128];

/* A call that must fail with EBADF (fd -1). */
static void ebadf(const char *name, long rc)
{
	early_calls++;
	if (rc == -1 && errno == EBADF)
		return;
	if (early_failures++ == 0)
		snprintf(early_first_failure, sizeof(early_first_failure), "%s: rc %ld errno %d",
			 name, rc, errno);
}

/* A call whose answer depends on the user running the test: it must only come back. */
static void ran(const char *name, long rc)
{
	(void)name;
	(void)rc;
	early_calls++;
}

/* A call that must succeed (rc >= 0). */
static void ok(const char *name, long rc)
{
	early_calls++;
	if (rc >= 0)
		return;
	if (early_failures++ == 0)
		snprintf(early_first_failure, sizeof(early_first_failure), "%s: rc %ld errno %d",
			 name, rc, errno);
}

/* capset(2) has no glibc header (libcap's sys/capability.h declares it). */
struct __user_cap_header_struct;
struct __user_cap_data_struct;
int capset(struct __user_cap_header_struct *hdr, const struct __user_cap_data_struct *data);

/* A call given a NULL pointer: EFAULT, as libc. */
static void ebadf_or_fault(const char *name, long rc)
{
	early_calls++;
	if (rc == -1 && errno == EFAULT)
		return;
	if (early_failures++ == 0)
		snprintf(early_first_failure, sizeof(early_first_failure), "%s: rc %ld errno %d",
			 name, rc, errno);
}

/* fork, and reap the child (which exits at once): its pid, or -1. */
static long early_fork(void)
{
	int st;
	pid_t p = fork();

	if (p == 0)
		_exit(0);
	if (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return -1;
	return p;
}

__attribute__((constructor)) static void early(void)
{
	char b[4] = "abc";
	struct iovec v = { b, 1 };
	struct msghdr mh = { .msg_iov = &v, .msg_iovlen = 1 };
	struct mmsghdr mm = { .msg_hdr = mh };
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int one = 1, p[2], ep, s, u[2];
	struct sigaction sa;
	struct epoll_event ev = { .events = EPOLLIN };
	struct timespec ts = { 0, 0 };
	struct timeval tv = { 0, 0 };

	ebadf("read", read(-1, b, 1));
	ebadf("readv", readv(-1, &v, 1));
	ebadf("write", write(-1, b, 1));
	ebadf("writev", writev(-1, &v, 1));
	ebadf("recv", recv(-1, b, 1, 0));
	ebadf("recvfrom", recvfrom(-1, b, 1, 0, NULL, NULL));
	ebadf("recvmsg", recvmsg(-1, &mh, 0));
	ebadf("recvmmsg", recvmmsg(-1, &mm, 1, 0, NULL));
	ebadf("send", send(-1, b, 1, 0));
	ebadf("sendto", sendto(-1, b, 1, 0, NULL, 0));
	ebadf("sendmsg", sendmsg(-1, &mh, 0));
	ebadf("sendmmsg", sendmmsg(-1, &mm, 1, 0));
	ebadf("sendfile", sendfile(-1, -1, NULL, 1));
	ebadf("sendfile64", sendfile64(-1, -1, NULL, 1));
	ebadf("bind", bind(-1, (struct sockaddr *)&ss, sizeof(struct sockaddr_in)));
	ebadf("listen", listen(-1, 1));
	ebadf("accept", accept(-1, NULL, NULL));
	ebadf("accept4", accept4(-1, NULL, NULL, 0));
	ebadf("connect", connect(-1, (struct sockaddr *)&ss, sizeof(struct sockaddr_in)));
	ebadf("shutdown", shutdown(-1, SHUT_RDWR));
	ebadf("getsockopt", getsockopt(-1, SOL_SOCKET, SO_TYPE, &one, &sl));
	ebadf("setsockopt", setsockopt(-1, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)));
	ebadf("getsockname", getsockname(-1, (struct sockaddr *)&ss, &sl));
	ebadf("getpeername", getpeername(-1, (struct sockaddr *)&ss, &sl));
	ebadf("fcntl", fcntl(-1, F_GETFL));
	ebadf("fcntl64", fcntl64(-1, F_GETFL));
	ebadf("ioctl", ioctl(-1, FIONREAD, &one));
	ebadf("dup", dup(-1));
	ebadf("dup2", dup2(-1, 100));
	ebadf("dup3", dup3(-1, 100, 0));
	ebadf("close", close(-1));
	ebadf("epoll_ctl", epoll_ctl(-1, EPOLL_CTL_ADD, 0, &ev));
	ebadf("epoll_wait", epoll_wait(-1, &ev, 1, 0));
	ebadf("epoll_pwait", epoll_pwait(-1, &ev, 1, 0, NULL));
	ebadf("epoll_pwait2", epoll_pwait2(-1, &ev, 1, &ts, NULL));
	ok("poll", poll(NULL, 0, 0));
	ok("ppoll", ppoll(NULL, 0, &ts, NULL));
	ok("select", select(0, NULL, NULL, NULL, &tv));
	ok("pselect", pselect(0, NULL, NULL, NULL, &ts, NULL));
	ok("sigaction", sigaction(SIGUSR2, NULL, &sa));
	ok("signal", signal(SIGUSR2, SIG_DFL) == SIG_ERR ? -1 : 0);
	ok("close_range", close_range(~0u - 1, ~0u, 0));
	ok("fork", early_fork());
	closefrom(1 << 20);
	early_calls++;
	ok("setuid", setuid(getuid()));
	ok("setgid", setgid(getgid()));
	ok("seteuid", seteuid(geteuid()));
	ok("setegid", setegid(getegid()));
	ok("setreuid", setreuid((uid_t)-1, (uid_t)-1));
	ok("setregid", setregid((gid_t)-1, (gid_t)-1));
	ok("setresuid", setresuid((uid_t)-1, (uid_t)-1, (uid_t)-1));
	ok("setresgid", setresgid((gid_t)-1, (gid_t)-1, (gid_t)-1));
	{
		gid_t g[64];
		int n = getgroups(64, g);

		ran("setgroups", n < 0 ? -1 : setgroups((size_t)n, g));
	}
	ran("initgroups", getuid() == 0 ? 0 : initgroups("nobody", getgid()));
	ebadf_or_fault("capset", capset(NULL, NULL));
	ok("pipe", pipe(p));
	ok("write(pipe)", write(p[1], b, 3));
	ok("read(pipe)", read(p[0], b, 3));
	close(p[0]);
	close(p[1]);
	ok("socketpair", socketpair(AF_UNIX, SOCK_STREAM, 0, u));
	close(u[0]);
	close(u[1]);
	s = socket(AF_INET, SOCK_STREAM, 0);
	ok("socket", s);
	close(s);
	ep = epoll_create1(0);
	ok("epoll_create1", ep);
	close(ep);
	ep = epoll_create(1);
	ok("epoll_create", ep);
	close(ep);
}
