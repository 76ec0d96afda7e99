/*
 * poll, ppoll, select and pselect over mixed sets (DESIGN.md §5, preload/poll.c): our sockets
 * answered in user space, the kernel's by the kernel, in one call; timeouts of 0, positive and
 * infinite, woken by either side; revents of a dpsock socket exactly as Linux gives them for the
 * same state of a kernel socket (checked side by side over loopback).
 */
#include "shim_fix.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

#define ASK (POLLIN | POLLOUT | POLLRDHUP | POLLPRI)
#define ASK_NORM (ASK | POLLRDNORM | POLLWRNORM)

/* The kernel's revents for kfd are want, and the shim's for fd the same (without the bits the
 * engine is known not to report: RST_UNREPORTED, or 0). */
static void as_linux(int fd, int kfd, short events, int want, int unreported)
{
	CHECK_EQ(kernel_revents(kfd, events), want);
	CHECK_EQ(revents(fd, events), want & ~unreported);
}

static void poll_revents_never_connected_and_listener(void)
{
	uint16_t kport, port = next_port();
	int s = socket(AF_INET, SOCK_STREAM, 0), k = real_socket(AF_INET, SOCK_STREAM, 0);
	int l = shim_listener(port), kl = kernel_listener(&kport), h, kc;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(kport) };

	CHECK(fd_psock(s) != NULL && fd_psock(l) != NULL);
	as_linux(s, k, ASK, POLLOUT | POLLHUP, 0);
	as_linux(s, k, ASK_NORM, POLLOUT | POLLWRNORM | POLLHUP, 0);
	as_linux(s, k, POLLIN, POLLHUP, 0); /* HUP whatever was asked */
	as_linux(l, kl, ASK_NORM, 0, 0);
	/* a connection waiting in the accept queue */
	h = peer_connect(port);
	settle();
	kc = real_socket(AF_INET, SOCK_STREAM, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK_EQ(real_connect(kc, (struct sockaddr *)&a, sizeof(a)), 0);
	as_linux(l, kl, ASK, POLLIN, 0);
	as_linux(l, kl, ASK_NORM, POLLIN | POLLRDNORM, 0);
	CHECK_EQ(close(s), 0);
	CHECK_EQ(close(l), 0);
	peer_close(h);
	settle();
	real_close(k);
	real_close(kc);
	real_close(kl);
}

static void poll_revents_connection(void)
{
	char buf[64];
	int ph, fd = shim_conn(&ph), kc, ks;

	kernel_pair(&kc, &ks);
	as_linux(fd, kc, ASK, POLLOUT, 0);
	/* data */
	peer_send_str(ph, "data");
	settle();
	CHECK_EQ(real_write(ks, "data", 4), 4);
	as_linux(fd, kc, ASK, POLLIN | POLLOUT, 0);
	as_linux(fd, kc, ASK_NORM, POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM, 0);
	as_linux(fd, kc, POLLRDHUP, 0, 0);
	/* the peer closes: data and the end of the stream */
	peer_close(ph);
	settle();
	CHECK_EQ(real_shutdown(ks, SHUT_WR), 0);
	as_linux(fd, kc, ASK, POLLIN | POLLOUT | POLLRDHUP, 0);
	CHECK_EQ(read(fd, buf, sizeof(buf)), 4);
	CHECK_EQ(real_read(kc, buf, sizeof(buf)), 4);
	CHECK_EQ(read(fd, buf, sizeof(buf)), 0);
	CHECK_EQ(real_read(kc, buf, sizeof(buf)), 0);
	as_linux(fd, kc, ASK, POLLIN | POLLOUT | POLLRDHUP, 0); /* readable: 0 again */
	/* we shut down too: hung up */
	CHECK_EQ(shutdown(fd, SHUT_WR), 0);
	settle();
	CHECK_EQ(real_shutdown(kc, SHUT_WR), 0);
	as_linux(fd, kc, ASK, POLLIN | POLLOUT | POLLRDHUP | POLLHUP, 0);
	CHECK_EQ(close(fd), 0);
	real_close(kc);
	real_close(ks);
	settle();

	/* a reset */
	fd = shim_conn(&ph);
	kernel_pair(&kc, &ks);
	peer_abort(ph);
	settle();
	kernel_abort(ks);
	as_linux(fd, kc, ASK, POLLIN | POLLOUT | POLLRDHUP | POLLERR | POLLHUP, RST_UNREPORTED);
	as_linux(fd, kc, 0, POLLERR | POLLHUP, 0); /* asked for nothing */
	CHECK_EQ(close(fd), 0);
	real_close(kc);
}

/* One poll over kernel fds and ours: each entry answered by its owner, -1 skipped, a closed
 * number POLLNVAL (counted), as Linux. */
static void poll_mixed_set(void)
{
	int ph, fd = shim_conn(&ph), p[2], l = shim_listener(next_port()), gone = dup(0);
	struct pollfd set[6];

	CHECK_EQ(pipe(p), 0);
	CHECK_EQ(close(gone), 0);
	set[0] = (struct pollfd){ .fd = p[0], .events = POLLIN };
	set[1] = (struct pollfd){ .fd = p[1], .events = POLLOUT };
	set[2] = (struct pollfd){ .fd = fd, .events = POLLIN | POLLOUT };
	set[3] = (struct pollfd){ .fd = -1, .events = POLLIN, .revents = 7 };
	set[4] = (struct pollfd){ .fd = l, .events = POLLIN };
	set[5] = (struct pollfd){ .fd = gone, .events = POLLIN };
	CHECK_EQ(poll(set, 6, 0), 3);
	CHECK_EQ(set[0].revents, 0);
	CHECK_EQ(set[1].revents, POLLOUT);
	CHECK_EQ(set[2].revents, POLLOUT);
	CHECK_EQ(set[3].revents, 0);
	CHECK_EQ(set[4].revents, 0);
	CHECK_EQ(set[5].revents, POLLNVAL);
	CHECK_EQ(write(p[1], "k", 1), 1);
	peer_send_str(ph, "d");
	settle();
	CHECK_EQ(poll(set, 6, 0), 4);
	CHECK_EQ(set[0].revents, POLLIN);
	CHECK_EQ(set[2].revents, POLLIN | POLLOUT);
	/* the same with ppoll and no timeout: returns at once, something is ready */
	CHECK_EQ(ppoll(set, 5, NULL, NULL), 3);
	CHECK_EQ(set[2].revents, POLLIN | POLLOUT);
	CHECK_EQ(close(p[0]), 0);
	CHECK_EQ(close(p[1]), 0);
	CHECK_EQ(close(l), 0);
	CHECK_EQ(close(fd), 0);
	peer_close(ph);
	settle();
}

static void poll_timeouts(void)
{
	int ph, fd = shim_conn(&ph), p[2];
	struct pollfd set[2];
	struct timespec ts = { 0, 50000000 };
	struct kick *k;
	uint64_t t0;
	char c;

	CHECK_EQ(pipe(p), 0);
	set[0] = (struct pollfd){ .fd = fd, .events = POLLIN };
	set[1] = (struct pollfd){ .fd = p[0], .events = POLLIN };
	/* 0: at once */
	t0 = dps_now_ns();
	CHECK_EQ(poll(set, 2, 0), 0);
	CHECK(ms_since(t0) < 20.0);
	/* positive, nothing comes: the whole timeout, revents cleared */
	t0 = dps_now_ns();
	set[0].revents = set[1].revents = 5;
	CHECK_EQ(poll(set, 2, 50), 0);
	CHECK(ms_since(t0) >= 49.0);
	CHECK_EQ(set[0].revents, 0);
	CHECK_EQ(set[1].revents, 0);
	t0 = dps_now_ns();
	CHECK_EQ(ppoll(set, 2, &ts, NULL), 0);
	CHECK(ms_since(t0) >= 49.0);
	/* positive, woken by the peer's data before it expires */
	later_send(30, ph, "x");
	t0 = dps_now_ns();
	CHECK_EQ(poll(set, 2, 5000), 1);
	CHECK(ms_since(t0) >= 29.0 && ms_since(t0) < 4000.0);
	CHECK_EQ(set[0].revents, POLLIN);
	CHECK_EQ(set[1].revents, 0);
	CHECK_EQ(read(fd, &c, 1), 1);
	/* infinite, woken by the peer */
	later_send(30, ph, "y");
	t0 = dps_now_ns();
	CHECK_EQ(poll(set, 2, -1), 1);
	CHECK(ms_since(t0) >= 29.0);
	CHECK_EQ(set[0].revents, POLLIN);
	CHECK_EQ(read(fd, &c, 1), 1);
	/* infinite, woken by the kernel fd while the socket stays quiet */
	k = kick_write(30, p[1]);
	t0 = dps_now_ns();
	CHECK_EQ(poll(set, 2, -1), 1);
	CHECK(ms_since(t0) >= 29.0);
	CHECK_EQ(set[0].revents, 0);
	CHECK_EQ(set[1].revents, POLLIN);
	kick_join(k);
	CHECK_EQ(read(p[0], &c, 1), 1);
	/* kernel fds only, from a thread of ours while the engine runs: the shim's wait too */
	k = kick_write(30, p[1]);
	CHECK_EQ(poll(&set[1], 1, -1), 1);
	CHECK_EQ(set[1].revents, POLLIN);
	kick_join(k);
	CHECK_EQ(read(p[0], &c, 1), 1);
	CHECK_EQ(close(p[0]), 0);
	CHECK_EQ(close(p[1]), 0);
	CHECK_EQ(close(fd), 0);
	peer_close(ph);
	settle();
}

/* select: Linux's read/write sets from the same revents, the count of bits, the time left
 * written back, EBADF for a closed number. */
static void select_mixed(void)
{
	int ph, fd = shim_conn(&ph), p[2], l = shim_listener(next_port()), nfds;
	struct timeval tv;
	struct timespec ts = { 0, 0 };
	fd_set r, w;
	uint64_t t0;
	char c;

	CHECK_EQ(pipe(p), 0);
	nfds = (fd > l ? fd : l) > p[1] ? (fd > l ? fd : l) + 1 : p[1] + 1;
#define SETS()                    \
	do {                      \
		FD_ZERO(&r);      \
		FD_ZERO(&w);      \
		FD_SET(p[0], &r); \
		FD_SET(fd, &r);   \
		FD_SET(l, &r);    \
		FD_SET(p[1], &w); \
		FD_SET(fd, &w);   \
	} while (0)
	SETS();
	tv = (struct timeval){ 0, 0 };
	CHECK_EQ(select(nfds, &r, &w, NULL, &tv), 2);
	CHECK(!FD_ISSET(p[0], &r) && !FD_ISSET(fd, &r) && !FD_ISSET(l, &r));
	CHECK(FD_ISSET(p[1], &w) && FD_ISSET(fd, &w));
	/* data on ours, a connection for the listener */
	int h = peer_connect(ntohs(fd_psock(l)->addr.sin_port));

	peer_send_str(ph, "s");
	settle();
	SETS();
	CHECK_EQ(pselect(nfds, &r, &w, NULL, &ts, NULL), 4);
	CHECK(!FD_ISSET(p[0], &r) && FD_ISSET(fd, &r) && FD_ISSET(l, &r));
	CHECK(FD_ISSET(p[1], &w) && FD_ISSET(fd, &w));
	CHECK_EQ(read(fd, &c, 1), 1);
	/* blocking on reads only, woken by the peer: the time left written back */
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	FD_SET(fd, &r);
	later_send(30, ph, "t");
	tv = (struct timeval){ 2, 0 };
	t0 = dps_now_ns();
	CHECK_EQ(select(nfds, &r, NULL, NULL, &tv), 1);
	CHECK(ms_since(t0) >= 29.0);
	CHECK(FD_ISSET(fd, &r) && !FD_ISSET(p[0], &r));
	CHECK(tv.tv_sec == 1 || (tv.tv_sec == 0 && tv.tv_usec > 0));
	CHECK_EQ(read(fd, &c, 1), 1);
	/* expiry: sets emptied, no time left */
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	FD_SET(fd, &r);
	tv = (struct timeval){ 0, 40000 };
	t0 = dps_now_ns();
	CHECK_EQ(select(nfds, &r, NULL, NULL, &tv), 0);
	CHECK(ms_since(t0) >= 39.0);
	CHECK(!FD_ISSET(fd, &r) && !FD_ISSET(p[0], &r));
	CHECK_EQ(tv.tv_sec, 0);
	CHECK_EQ(tv.tv_usec, 0);
	/* a closed number: EBADF */
	int gone = dup(0);

	CHECK_EQ(close(gone), 0);
	FD_ZERO(&r);
	FD_SET(fd, &r);
	FD_SET(gone, &r);
	tv = (struct timeval){ 0, 0 };
	CHECK_EQ(select((gone > fd ? gone : fd) + 1, &r, NULL, NULL, &tv), -1);
	CHECK_EQ(errno, EBADF);
#undef SETS
	CHECK_EQ(close(p[0]), 0);
	CHECK_EQ(close(p[1]), 0);
	CHECK_EQ(close(l), 0);
	CHECK_EQ(close(fd), 0);
	peer_close(ph);
	peer_close(h);
	settle();
}

/* A nonblocking connect: EINPROGRESS, then writable with SO_ERROR 0 (poll waits while the wire
 * carries the handshake); to a port nobody listens on, an error. */
static void poll_nonblocking_connect(void)
{
	uint16_t port = next_port();
	int lh = peer_listen(port), s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), err = -1;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct pollfd p = { .fd = s, .events = POLLOUT };
	socklen_t len = sizeof(err);

	a.sin_addr.s_addr = inet_addr(PEER_IP);
	CHECK_EQ(connect(s, (struct sockaddr *)&a, sizeof(a)), -1);
	CHECK_EQ(errno, EINPROGRESS);
	CHECK_EQ(revents(s, POLLIN | POLLOUT), 0); /* SYN_SENT: nothing yet */
	CHECK_EQ(poll(&p, 1, 5000), 1);
	CHECK_EQ(p.revents, POLLOUT);
	CHECK_EQ(getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	CHECK_EQ(err, 0);
	settle(); /* our ACK reaches the peer */
	peer_close(peer_accept(lh));
	peer_close(lh);
	CHECK_EQ(close(s), 0);
	settle();
	/* refused (the peer answers the SYN with an RST) */
	s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	a.sin_port = htons(next_port());
	CHECK_EQ(connect(s, (struct sockaddr *)&a, sizeof(a)), -1);
	CHECK_EQ(errno, EINPROGRESS);
	p.fd = s;
	CHECK_EQ(poll(&p, 1, 5000), 1);
	CHECK_EQ(p.revents, POLLOUT | POLLERR | POLLHUP);
	/* the same as a kernel socket refused on loopback */
	uint16_t kport;
	int kl = kernel_listener(&kport), k = real_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in ka = { .sin_family = AF_INET, .sin_port = htons(kport) };

	real_close(kl); /* nobody listens there now */
	ka.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK_EQ(real_connect(k, (struct sockaddr *)&ka, sizeof(ka)), -1);
	CHECK(errno == EINPROGRESS || errno == ECONNREFUSED);
	if (errno == EINPROGRESS) { /* else loopback refused it at once: the error is read */
		as_linux(s, k, POLLOUT, POLLOUT | POLLERR | POLLHUP, 0);
		as_linux(s, k, ASK, POLLIN | POLLOUT | POLLRDHUP | POLLERR | POLLHUP,
			 RST_UNREPORTED);
		CHECK_EQ(real_getsockopt(k, SOL_SOCKET, SO_ERROR, &err, &len), 0);
		CHECK_EQ(err, ECONNREFUSED);
	}
	err = 0;
	CHECK_EQ(getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	CHECK_EQ(err, ECONNREFUSED);
	/* the error read: hung up, no error */
	as_linux(s, k, ASK, POLLIN | POLLOUT | POLLRDHUP | POLLHUP, RST_UNREPORTED);
	real_close(k);
	CHECK_EQ(close(s), 0);
}

int main(void)
{
	fix_start("test_shim_poll");
	RUN(poll_revents_never_connected_and_listener);
	RUN(poll_revents_connection);
	RUN(poll_mixed_set);
	RUN(poll_timeouts);
	RUN(select_mixed);
	RUN(poll_nonblocking_connect);
	fix_stop();
	DONE();
}
