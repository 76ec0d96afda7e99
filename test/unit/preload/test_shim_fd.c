/*
 * The shim's fd table (DESIGN.md §3, docs/preload.md "Which fds are ours"): a dpsock socket's
 * number is a dup of the placeholder, dup/dup2/dup3/F_DUPFD name the same socket, close and
 * close_range/closefrom drop exactly the numbers they close, the placeholder is never closed,
 * and a number the shim no longer holds is the kernel's (EBADF from the kernel, or a pipe's).
 */
#include "shim_fix.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* The kernel's lowest free number now (what socket(2) would return). */
static int lowest_free(void)
{
	int fd = real_fcntl(0, F_DUPFD, 0);

	CHECK(fd >= 0);
	real_close(fd);
	return fd;
}

static ino_t inode_of(int fd)
{
	struct stat st;

	CHECK_EQ(fstat(fd, &st), 0);
	return st.st_ino;
}

static bool is_open(int fd)
{
	return real_fcntl(fd, F_GETFD) >= 0;
}

/* The peer sees the end of the stream (our FIN), after settle. */
static bool peer_sees_eof(int ph)
{
	char c;

	settle();
	return peer_recv(ph, &c, 1) == 0;
}

/* DESIGN.md §6: socket, bind and listen leave the engine off; the first call that needs packets
 * (here epoll_ctl ADD) starts it, once. Runs first. */
static void fd_engine_starts_at_first_packet_call(void)
{
	int s, ep;

	CHECK_EQ(fix_engine_starts(), 0);
	s = shim_listener(next_port());
	CHECK(fd_psock(s) != NULL);
	CHECK_EQ(fd_psock(s)->h, -1); /* pending */
	CHECK_EQ(atomic_load(&shim.state), ENGINE_OFF);
	ep = epoll_create1(EPOLL_CLOEXEC);
	CHECK(ep >= 0);
	CHECK(fd_pepoll(ep) == NULL); /* an epoll fd is the kernel's until one of ours joins */
	CHECK_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, s, &(struct epoll_event){ .events = EPOLLIN }), 0);
	CHECK_EQ(atomic_load(&shim.state), ENGINE_RUNNING);
	CHECK_EQ(fix_engine_starts(), 1);
	CHECK(fd_psock(s)->h >= 0);
	CHECK(fd_pepoll(ep) != NULL);
	CHECK_EQ(close(s), 0);
	CHECK_EQ(close(ep), 0);
	CHECK(fdtab_get(ep) == NULL);
	/* a socket made while the engine runs exists in it at once */
	s = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(fd_psock(s) != NULL && fd_psock(s)->h >= 0);
	CHECK_EQ(close(s), 0);
	CHECK_EQ(fix_engine_starts(), 1);
}

/* Numbers: the lowest free one, as socket(2); a dup of the one placeholder (same inode, fstat
 * says socket); the placeholder sits at half RLIMIT_NOFILE, out of the program's way. */
static void fd_numbers_are_placeholder_dups(void)
{
	struct rlimit rl;
	struct stat st;
	int want = lowest_free(), a, b, c;

	a = socket(AF_INET, SOCK_STREAM, 0);
	CHECK_EQ(a, want);
	CHECK(fd_psock(a) != NULL);
	CHECK(shim.placeholder >= 0 && shim.placeholder != a);
	CHECK_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur > 64 && rl.rlim_cur != RLIM_INFINITY)
		CHECK(shim.placeholder >= (int)(rl.rlim_cur / 2));
	CHECK_EQ(fstat(a, &st), 0);
	CHECK(S_ISSOCK(st.st_mode));
	CHECK_EQ(inode_of(a), inode_of(shim.placeholder));
	want = lowest_free();
	b = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK_EQ(b, want);
	CHECK(fd_psock(b) != NULL && fd_psock(b) != fd_psock(a));
	CHECK_EQ(inode_of(b), inode_of(shim.placeholder));
	CHECK(real_fcntl(b, F_GETFD) & FD_CLOEXEC); /* per number: the kernel's */
	CHECK(!(real_fcntl(a, F_GETFD) & FD_CLOEXEC));
	/* a freed number is reused, lowest first */
	CHECK_EQ(close(a), 0);
	CHECK(fdtab_get(a) == NULL);
	c = socket(AF_INET, SOCK_STREAM, 0);
	CHECK_EQ(c, a);
	CHECK_EQ(close(b), 0);
	CHECK_EQ(close(c), 0);
	/* other sockets stay the kernel's */
	a = socket(AF_INET, SOCK_DGRAM, 0);
	b = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(a >= 0 && b >= 0 && fdtab_get(a) == NULL && fdtab_get(b) == NULL);
	CHECK(inode_of(a) != inode_of(shim.placeholder));
	CHECK_EQ(close(a), 0);
	CHECK_EQ(close(b), 0);
}

/* O_NONBLOCK belongs to the open file description: kept in the psock, shared by dups, never
 * set on the placeholder (which every socket shares). */
static void fd_nonblock_per_socket_not_placeholder(void)
{
	int a = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0),
	    b = socket(AF_INET, SOCK_STREAM, 0);
	int d;

	CHECK(fcntl(a, F_GETFL) & O_NONBLOCK);
	CHECK(!(fcntl(b, F_GETFL) & O_NONBLOCK));
	CHECK(!(real_fcntl(shim.placeholder, F_GETFL) & O_NONBLOCK));
	d = dup(b);
	CHECK_EQ(fcntl(d, F_SETFL, O_NONBLOCK), 0);
	CHECK(fcntl(b, F_GETFL) & O_NONBLOCK); /* the dup shares it, as in Linux */
	CHECK(fcntl(a, F_GETFL) & O_NONBLOCK); /* another socket: its own */
	CHECK(!(real_fcntl(shim.placeholder, F_GETFL) & O_NONBLOCK));
	CHECK_EQ(close(a), 0);
	CHECK_EQ(close(b), 0);
	CHECK_EQ(close(d), 0);
}

/* dup names the same socket; closing one number keeps the connection; the last close ends it. */
static void fd_dup_then_close_each(void)
{
	char buf[16];
	int ph, fd = shim_conn(&ph), d;
	struct psock *ps = fd_psock(fd);

	d = dup(fd);
	CHECK(d >= 0 && d != fd);
	CHECK(fd_psock(d) == ps);
	CHECK_EQ(ps->refs, 2);
	peer_send_str(ph, "via-dup");
	settle();
	CHECK_EQ(read(d, buf, sizeof(buf)), 7);
	CHECK_EQ(close(fd), 0);
	CHECK(fdtab_get(fd) == NULL);
	CHECK_EQ(ps->refs, 1);
	CHECK(!peer_sees_eof(ph)); /* still open through d */
	CHECK_EQ(write(d, "x", 1), 1);
	settle();
	CHECK_EQ(peer_recv(ph, buf, sizeof(buf)), 1);
	CHECK_EQ(read(fd, buf, 1), -1); /* the number is free: the kernel's EBADF */
	CHECK_EQ(errno, EBADF);
	CHECK_EQ(close(d), 0);
	CHECK(peer_sees_eof(ph));
	peer_close(ph);
	settle();
}

/* dup2 onto a kernel fd (a pipe end) closes it and makes the number ours. */
static void fd_dup2_onto_kernel_fd(void)
{
	char buf[8];
	int ph, fd = shim_conn(&ph), p[2];
	struct stat st;

	CHECK_EQ(pipe(p), 0);
	CHECK_EQ(dup2(fd, p[0]), p[0]);
	CHECK(fd_psock(p[0]) == fd_psock(fd));
	CHECK_EQ(fstat(p[0], &st), 0);
	CHECK(S_ISSOCK(st.st_mode));
	CHECK_EQ(write(p[1], "x", 1), -1); /* the pipe lost its only reader */
	CHECK_EQ(errno, EPIPE);
	peer_send_str(ph, "hi");
	settle();
	CHECK_EQ(read(p[0], buf, sizeof(buf)), 2);
	/* dup2 of a number onto itself changes nothing; dup3 refuses it (EINVAL, as Linux) */
	CHECK_EQ(dup2(fd, fd), fd);
	CHECK_EQ(fd_psock(fd)->refs, 2);
	CHECK_EQ(dup3(fd, fd, 0), -1);
	CHECK_EQ(errno, EINVAL);
	CHECK_EQ(close(fd), 0);
	CHECK_EQ(close(p[0]), 0);
	CHECK_EQ(close(p[1]), 0);
	CHECK(peer_sees_eof(ph));
	peer_close(ph);
	settle();
}

/* dup2 of a kernel fd over ours: the number becomes the pipe's, the socket's last reference
 * goes (FIN to the peer). */
static void fd_dup2_kernel_fd_over_ours(void)
{
	char c;
	int ph, fd = shim_conn(&ph), p[2];
	struct stat st;

	CHECK_EQ(pipe(p), 0);
	CHECK_EQ(dup2(p[0], fd), fd);
	CHECK(fdtab_get(fd) == NULL);
	CHECK_EQ(fstat(fd, &st), 0);
	CHECK(S_ISFIFO(st.st_mode));
	CHECK_EQ(write(p[1], "z", 1), 1);
	CHECK_EQ(read(fd, &c, 1), 1);
	CHECK_EQ(c, 'z');
	CHECK(peer_sees_eof(ph));
	CHECK_EQ(close(fd), 0);
	CHECK_EQ(close(p[0]), 0);
	CHECK_EQ(close(p[1]), 0);
	peer_close(ph);
	settle();
}

/* dup3 and F_DUPFD(_CLOEXEC): the same socket, FD_CLOEXEC per number, F_DUPFD's minimum. */
static void fd_dup3_and_fdupfd(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0), t = lowest_free() + 5, d3, d, dc;
	struct psock *ps = fd_psock(s);

	d3 = dup3(s, t, O_CLOEXEC);
	CHECK_EQ(d3, t);
	CHECK(fd_psock(d3) == ps);
	CHECK(real_fcntl(d3, F_GETFD) & FD_CLOEXEC);
	CHECK(!(real_fcntl(s, F_GETFD) & FD_CLOEXEC));
	CHECK_EQ(dup3(s, t + 1, O_NONBLOCK), -1); /* only O_CLOEXEC is a dup3 flag */
	CHECK_EQ(errno, EINVAL);
	CHECK(fdtab_get(t + 1) == NULL);
	d = fcntl(s, F_DUPFD, 300);
	CHECK(d >= 300);
	CHECK(fd_psock(d) == ps);
	CHECK(!(real_fcntl(d, F_GETFD) & FD_CLOEXEC));
	dc = fcntl(s, F_DUPFD_CLOEXEC, 300);
	CHECK(dc > d);
	CHECK(fd_psock(dc) == ps);
	CHECK(real_fcntl(dc, F_GETFD) & FD_CLOEXEC);
	CHECK_EQ(ps->refs, 4);
	CHECK_EQ(fcntl(s, F_SETFD, FD_CLOEXEC), 0); /* per number, in the kernel */
	CHECK(real_fcntl(s, F_GETFD) & FD_CLOEXEC);
	CHECK(!(real_fcntl(d, F_GETFD) & FD_CLOEXEC));
	CHECK_EQ(close(d3), 0);
	CHECK_EQ(close(d), 0);
	CHECK_EQ(close(dc), 0);
	CHECK_EQ(ps->refs, 1);
	CHECK_EQ(close(s), 0);
}

/* close_range and closefrom drop our numbers in the range, close the kernel's, and skip the
 * placeholder even when it lies inside; CLOSE_RANGE_CLOEXEC only marks. */
static void fd_close_range_keeps_placeholder(void)
{
	int ph_fd = shim.placeholder, s = socket(AF_INET, SOCK_STREAM, 0), p[2];
	int below, above, k;

	CHECK(ph_fd > 10);
	CHECK_EQ(pipe(p), 0);
	below = dup2(s, ph_fd - 2);
	CHECK_EQ(below, ph_fd - 2);
	k = dup2(p[0], ph_fd - 1); /* a kernel fd in the range */
	CHECK_EQ(k, ph_fd - 1);
	above = dup2(s, ph_fd + 1);
	CHECK_EQ(above, ph_fd + 1);
	CHECK_EQ(fd_psock(s)->refs, 3);
	/* only marked */
	CHECK_EQ(close_range((unsigned)below, (unsigned)above, CLOSE_RANGE_CLOEXEC), 0);
	CHECK(fd_psock(below) != NULL && fd_psock(above) != NULL);
	CHECK(real_fcntl(below, F_GETFD) & FD_CLOEXEC);
	/* closed, but not the placeholder */
	CHECK_EQ(close_range((unsigned)below, (unsigned)above, 0), 0);
	CHECK(fdtab_get(below) == NULL && fdtab_get(above) == NULL);
	CHECK(!is_open(below) && !is_open(k) && !is_open(above));
	CHECK(is_open(ph_fd));
	CHECK_EQ(fd_psock(s)->refs, 1);
	CHECK_EQ(close_range(5, 3, 0), -1);
	CHECK_EQ(errno, EINVAL);
	/* closefrom: everything from ph_fd - 1 up, the placeholder excepted */
	above = dup2(s, ph_fd + 7);
	CHECK_EQ(above, ph_fd + 7);
	closefrom(ph_fd - 1);
	CHECK(fdtab_get(above) == NULL && !is_open(above));
	CHECK(is_open(ph_fd));
	CHECK_EQ(inode_of(s), inode_of(ph_fd));
	/* new sockets still come from the same placeholder */
	k = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(fd_psock(k) != NULL);
	CHECK_EQ(inode_of(k), inode_of(ph_fd));
	CHECK_EQ(close(k), 0);
	CHECK_EQ(close(s), 0);
	CHECK_EQ(close(p[0]), 0);
	CHECK_EQ(close(p[1]), 0);
}

/* The placeholder is the shim's: the program cannot close it or dup onto it. */
static void fd_placeholder_protected(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0), ph_fd = shim.placeholder;

	CHECK_EQ(close(ph_fd), -1);
	CHECK_EQ(errno, EBADF);
	CHECK(is_open(ph_fd));
	CHECK_EQ(dup2(s, ph_fd), -1);
	CHECK_EQ(errno, EBUSY);
	CHECK_EQ(dup3(s, ph_fd, O_CLOEXEC), -1);
	CHECK_EQ(errno, EBUSY);
	CHECK_EQ(dup2(0, ph_fd), -1); /* a kernel fd neither */
	CHECK_EQ(errno, EBUSY);
	CHECK(is_open(ph_fd) && fdtab_get(ph_fd) == NULL);
	CHECK_EQ(inode_of(s), inode_of(ph_fd));
	CHECK_EQ(close(s), 0);
}

/* A closed number is nobody's: every call gets the kernel's EBADF; reused by a pipe, it is the
 * pipe's. Errors of epoll_ctl on ours: as Linux. */
static void fd_ebadf_after_close(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	char c;
	int s = socket(AF_INET, SOCK_STREAM, 0), ep = epoll_create1(0), p[2];
	struct epoll_event ev = { .events = EPOLLIN };

	CHECK_EQ(close(s), 0);
#define EBADF_OF(call)                  \
	do {                            \
		errno = 0;              \
		CHECK_EQ((call), -1);   \
		CHECK_EQ(errno, EBADF); \
	} while (0)
	EBADF_OF(close(s));
	EBADF_OF(read(s, &c, 1));
	EBADF_OF(write(s, "x", 1));
	EBADF_OF(recv(s, &c, 1, 0));
	EBADF_OF(send(s, "x", 1, 0));
	EBADF_OF(dup(s));
	EBADF_OF(dup2(s, s));
	EBADF_OF(fcntl(s, F_GETFL));
	EBADF_OF(fcntl(s, F_DUPFD, 0));
	EBADF_OF(getsockname(s, (struct sockaddr *)&a, &len));
	EBADF_OF(shutdown(s, SHUT_RDWR));
	EBADF_OF(listen(s, 1));
	EBADF_OF(accept(s, NULL, NULL));
	EBADF_OF(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev));
	/* the number reused by a pipe: the pipe's own */
	CHECK_EQ(pipe(p), 0);
	CHECK(p[0] == s || p[1] == s);
	CHECK(fdtab_get(s) == NULL);
	CHECK_EQ(write(p[1], "y", 1), 1);
	CHECK_EQ(read(p[0], &c, 1), 1);
	CHECK_EQ(close(p[0]), 0);
	CHECK_EQ(close(p[1]), 0);
	/* epoll_ctl on one of ours, as Linux answers */
	s = socket(AF_INET, SOCK_STREAM, 0);
	CHECK_EQ(epoll_ctl(ep, EPOLL_CTL_MOD, s, &ev), -1);
	CHECK_EQ(errno, ENOENT);
	CHECK_EQ(epoll_ctl(ep, EPOLL_CTL_DEL, s, NULL), -1);
	CHECK_EQ(errno, ENOENT);
	CHECK_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev), 0);
	CHECK_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev), -1);
	CHECK_EQ(errno, EEXIST);
	CHECK_EQ(epoll_ctl(s, EPOLL_CTL_ADD, s, &ev), -1); /* epfd == fd */
	CHECK_EQ(errno, EINVAL);
	p[0] = socket(AF_INET, SOCK_STREAM, 0);
	CHECK_EQ(epoll_ctl(p[0], EPOLL_CTL_ADD, s, &ev), -1); /* not an epoll fd */
	CHECK_EQ(errno, EINVAL);
	CHECK_EQ(close(p[0]), 0);
	EBADF_OF(epoll_ctl(p[0], EPOLL_CTL_ADD, s, &ev)); /* a closed epoll number */
	CHECK_EQ(close(ep), 0);
	EBADF_OF(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev));
#undef EBADF_OF
	CHECK_EQ(close(s), 0);
}

/* accept4's flags go to the new number (O_NONBLOCK in its psock, FD_CLOEXEC in the kernel);
 * FIONBIO is O_NONBLOCK by another name; FIONREAD counts unread bytes, EINVAL on a listener. */
static void fd_accept4_flags_and_ioctl(void)
{
	uint16_t port = next_port();
	int l = shim_listener(port), h = peer_connect(port), fd, on = 1, n = -1;

	settle();
	fd = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	CHECK(fd_psock(fd) != NULL);
	CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK);
	CHECK(real_fcntl(fd, F_GETFD) & FD_CLOEXEC);
	CHECK(!(fcntl(l, F_GETFL) & O_NONBLOCK)); /* the listener keeps its own */
	CHECK_EQ(accept4(l, NULL, NULL, SOCK_NONBLOCK | O_APPEND), -1);
	CHECK_EQ(errno, EINVAL);
	CHECK_EQ(ioctl(fd, FIONREAD, &n), 0);
	CHECK_EQ(n, 0);
	peer_send_str(h, "12345");
	settle();
	CHECK_EQ(ioctl(fd, FIONREAD, &n), 0);
	CHECK_EQ(n, 5);
	CHECK_EQ(ioctl(l, FIONREAD, &n), -1);
	CHECK_EQ(errno, EINVAL);
	on = 0;
	CHECK_EQ(ioctl(fd, FIONBIO, &on), 0);
	CHECK(!(fcntl(fd, F_GETFL) & O_NONBLOCK));
	on = 1;
	CHECK_EQ(ioctl(l, FIONBIO, &on), 0);
	CHECK(fcntl(l, F_GETFL) & O_NONBLOCK);
	CHECK_EQ(accept(l, NULL, NULL), -1); /* empty queue, nonblocking now */
	CHECK_EQ(errno, EAGAIN);
	CHECK_EQ(close(fd), 0);
	CHECK_EQ(close(l), 0);
	peer_close(h);
	settle();
}

/* DESIGN.md §3: a connect to loopback goes to the kernel under the same number. */
static void fd_connect_loopback_is_kernel(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in peer;
	socklen_t len = sizeof(peer);
	uint16_t port;
	int l = kernel_listener(&port), s = socket(AF_INET, SOCK_STREAM, 0), k;

	CHECK(fd_psock(s) != NULL);
	a.sin_port = htons(port);
	CHECK_EQ(connect(s, (struct sockaddr *)&a, sizeof(a)), 0);
	CHECK(fdtab_get(s) == NULL);
	CHECK(inode_of(s) != inode_of(shim.placeholder));
	CHECK_EQ(getpeername(s, (struct sockaddr *)&peer, &len), 0);
	CHECK_EQ(peer.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
	k = real_accept4(l, NULL, NULL, 0);
	CHECK(k >= 0);
	CHECK_EQ(write(s, "q", 1), 1);
	CHECK_EQ(kernel_revents(k, POLLIN), POLLIN);
	CHECK_EQ(close(s), 0);
	real_close(k);
	real_close(l);
}

int main(void)
{
	fix_start("test_shim_fd");
	RUN(fd_engine_starts_at_first_packet_call);
	RUN(fd_numbers_are_placeholder_dups);
	RUN(fd_nonblock_per_socket_not_placeholder);
	RUN(fd_dup_then_close_each);
	RUN(fd_dup2_onto_kernel_fd);
	RUN(fd_dup2_kernel_fd_over_ours);
	RUN(fd_dup3_and_fdupfd);
	RUN(fd_close_range_keeps_placeholder);
	RUN(fd_placeholder_protected);
	RUN(fd_ebadf_after_close);
	RUN(fd_accept4_flags_and_ioctl);
	RUN(fd_connect_loopback_is_kernel);
	fix_stop();
	DONE();
}
