/*
 * Signals and blocked calls (DESIGN.md §4, docs/preload.md "Signals and EINTR"), through public
 * behaviour only: a call blocked in the shim returns EINTR when a handler without SA_RESTART
 * runs, restarts with SA_RESTART where Linux restarts (socket calls without a timeout), and
 * poll/select/epoll_wait never restart (signal(7)). The signal comes from another thread while
 * the main coroutine is blocked (kick_signal), as a timer or a kill would.
 */
#include "shim_fix.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

static volatile sig_atomic_t hits_intr, hits_restart;

static void on_intr(int sig)
{
	(void)sig;
	hits_intr++;
}

static void on_restart(int sig)
{
	(void)sig;
	hits_restart++;
}

/* SIGUSR1: a handler without SA_RESTART; SIGUSR2: with it. Installed through the shim. */
static void install(void)
{
	struct sigaction a;

	memset(&a, 0, sizeof(a));
	sigemptyset(&a.sa_mask);
	a.sa_handler = on_intr;
	CHECK_EQ(sigaction(SIGUSR1, &a, NULL), 0);
	a.sa_handler = on_restart;
	a.sa_flags = SA_RESTART;
	CHECK_EQ(sigaction(SIGUSR2, &a, NULL), 0);
}

static void signal_read_eintr_without_restart(void)
{
	char c;
	int ph, fd = shim_conn(&ph);
	struct kick *k = kick_signal(30, SIGUSR1);
	uint64_t t0 = dps_now_ns();

	hits_intr = 0;
	CHECK_EQ(read(fd, &c, 1), -1);
	CHECK_EQ(errno, EINTR);
	CHECK_EQ(hits_intr, 1);
	CHECK(ms_since(t0) >= 29.0 && ms_since(t0) < 3000.0);
	kick_join(k);
	/* the connection is fine */
	later_send(10, ph, "a");
	CHECK_EQ(read(fd, &c, 1), 1);
	CHECK_EQ(c, 'a');
	CHECK_EQ(close(fd), 0);
	peer_close(ph);
	settle();
}

static void signal_read_restarts_with_sa_restart(void)
{
	char buf[8];
	int ph, fd = shim_conn(&ph);
	struct kick *k = kick_signal(30, SIGUSR2);
	uint64_t t0 = dps_now_ns();

	hits_restart = 0;
	later_send(150, ph, "late");
	CHECK_EQ(recv(fd, buf, sizeof(buf), 0), 4); /* the handler ran; the read went on */
	CHECK_EQ(hits_restart, 1);
	CHECK(ms_since(t0) >= 149.0);
	kick_join(k);
	CHECK_EQ(close(fd), 0);
	peer_close(ph);
	settle();
}

/* A socket with a receive timeout is not restarted (signal(7)): EINTR, before the timeout. */
static void signal_read_with_timeout_not_restarted(void)
{
	struct timeval tv = { 3, 0 };
	char c;
	int ph, fd = shim_conn(&ph);
	struct kick *k;
	uint64_t t0;

	CHECK_EQ(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	hits_restart = 0;
	k = kick_signal(30, SIGUSR2);
	t0 = dps_now_ns();
	CHECK_EQ(read(fd, &c, 1), -1);
	CHECK_EQ(errno, EINTR);
	CHECK_EQ(hits_restart, 1);
	CHECK(ms_since(t0) < 2500.0);
	kick_join(k);
	/* and the timeout itself: EAGAIN */
	tv = (struct timeval){ 0, 50000 };
	CHECK_EQ(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	t0 = dps_now_ns();
	CHECK_EQ(read(fd, &c, 1), -1);
	CHECK_EQ(errno, EAGAIN);
	CHECK(ms_since(t0) >= 49.0);
	CHECK_EQ(close(fd), 0);
	peer_close(ph);
	settle();
}

struct connect_arg {
	uint16_t port;
	int h;
};

static void connect_now(void *arg)
{
	struct connect_arg *c = arg;

	c->h = peer_connect(c->port);
}

static void signal_accept_eintr_and_restart(void)
{
	struct connect_arg c = { next_port(), -1 };
	int l = shim_listener(c.port), fd;
	struct kick *k = kick_signal(30, SIGUSR1);

	hits_intr = hits_restart = 0;
	CHECK_EQ(accept(l, NULL, NULL), -1);
	CHECK_EQ(errno, EINTR);
	CHECK_EQ(hits_intr, 1);
	kick_join(k);
	k = kick_signal(30, SIGUSR2);
	later(150, connect_now, &c);
	fd = accept(l, NULL, NULL);
	CHECK(fd >= 0 && fd_psock(fd) != NULL);
	CHECK_EQ(hits_restart, 1);
	kick_join(k);
	CHECK_EQ(close(fd), 0);
	CHECK_EQ(close(l), 0);
	peer_close(c.h);
	settle();
}

/* poll, ppoll, select and epoll_wait return EINTR even with SA_RESTART, infinite timeout or not. */
static void signal_waits_never_restart(void)
{
	int ph, fd = shim_conn(&ph), ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN };
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct timespec ts = { 5, 0 };
	struct kick *k;
	fd_set r;

	CHECK_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
	hits_restart = 0;
	k = kick_signal(30, SIGUSR2);
	CHECK_EQ(poll(&p, 1, -1), -1);
	CHECK_EQ(errno, EINTR);
	kick_join(k);
	k = kick_signal(30, SIGUSR2);
	CHECK_EQ(ppoll(&p, 1, &ts, NULL), -1);
	CHECK_EQ(errno, EINTR);
	kick_join(k);
	k = kick_signal(30, SIGUSR2);
	FD_ZERO(&r);
	FD_SET(fd, &r);
	CHECK_EQ(select(fd + 1, &r, NULL, NULL, NULL), -1);
	CHECK_EQ(errno, EINTR);
	kick_join(k);
	k = kick_signal(30, SIGUSR2);
	CHECK_EQ(epoll_wait(ep, &ev, 1, -1), -1);
	CHECK_EQ(errno, EINTR);
	kick_join(k);
	k = kick_signal(30, SIGUSR2);
	CHECK_EQ(epoll_wait(ep, &ev, 1, 5000), -1);
	CHECK_EQ(errno, EINTR);
	kick_join(k);
	CHECK_EQ(hits_restart, 5);
	CHECK_EQ(close(ep), 0);
	CHECK_EQ(close(fd), 0);
	peer_close(ph);
	settle();
}

/* A connect blocked on a peer that never answers (no ARP reply for 198.18.0.9): EINTR; the
 * connection attempt goes on, as Linux's does. */
static void signal_connect_eintr(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(9) };
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct kick *k = kick_signal(30, SIGUSR1);

	hits_intr = 0;
	a.sin_addr.s_addr = inet_addr("198.18.0.9");
	CHECK_EQ(connect(s, (struct sockaddr *)&a, sizeof(a)), -1);
	CHECK_EQ(errno, EINTR);
	CHECK_EQ(hits_intr, 1);
	kick_join(k);
	CHECK_EQ(revents(s, POLLOUT), 0); /* still connecting */
	CHECK_EQ(connect(s, (struct sockaddr *)&a, sizeof(a)), -1);
	CHECK_EQ(errno, EALREADY);
	CHECK_EQ(close(s), 0);
}

struct drain_arg {
	int h;
	long got;
};

static void peer_drain(void *arg)
{
	struct drain_arg *d = arg;
	static char buf[65536];
	long n;

	while ((n = peer_recv(d->h, buf, sizeof(buf))) > 0)
		d->got += n;
}

/* A write blocked on a full buffer: interrupted after some bytes went in, it returns their
 * count; interrupted before any, EINTR, or with SA_RESTART it goes on until there is room. */
static void signal_write_partial_eintr_restart(void)
{
	static char big[1 << 20];
	struct drain_arg d = { 0, 0 };
	struct kick *k;
	ssize_t n;
	int ph, fd = shim_conn(&ph);

	d.h = ph;
	hits_intr = hits_restart = 0;
	k = kick_signal(100, SIGUSR1);
	n = write(fd, big, sizeof(big)); /* fills our buffer and the peer's window, then waits */
	CHECK(n > 0 && n < (ssize_t)sizeof(big));
	CHECK_EQ(hits_intr, 1);
	kick_join(k);
	settle(); /* the peer's window closes: no ACK frees room any more */
	while (send(fd, big, sizeof(big), MSG_DONTWAIT) > 0) /* what room is left */
		;
	CHECK_EQ(errno, EAGAIN);
	k = kick_signal(30, SIGUSR1);
	CHECK_EQ(write(fd, big, 1000), -1); /* nothing fits: EINTR */
	CHECK_EQ(errno, EINTR);
	kick_join(k);
	k = kick_signal(30, SIGUSR2);
	later(150, peer_drain, &d);
	CHECK_EQ(write(fd, big, 1000), 1000); /* restarted, then room */
	CHECK_EQ(hits_restart, 1);
	CHECK(d.got > 0);
	kick_join(k);
	CHECK_EQ(close(fd), 0);
	peer_abort(ph);
	settle();
}

/* A handler that ran while nothing was blocked leaves nothing behind: the next blocking call
 * waits as usual. */
static void signal_while_running_leaves_no_interrupt(void)
{
	char c;
	int ph, fd = shim_conn(&ph);

	hits_intr = 0;
	CHECK_EQ(raise(SIGUSR1), 0);
	CHECK_EQ(hits_intr, 1);
	later_send(30, ph, "b");
	CHECK_EQ(read(fd, &c, 1), 1);
	CHECK_EQ(c, 'b');
	CHECK_EQ(close(fd), 0);
	peer_close(ph);
	settle();
}

/* The program sees its own handlers, not the shim's trampoline. */
static void signal_sigaction_reports_program_handler(void)
{
	struct sigaction old;

	CHECK_EQ(sigaction(SIGUSR1, NULL, &old), 0);
	CHECK(old.sa_handler == on_intr);
	CHECK(!(old.sa_flags & SA_SIGINFO));
	CHECK_EQ(sigaction(SIGUSR2, NULL, &old), 0);
	CHECK(old.sa_handler == on_restart);
	CHECK(old.sa_flags & SA_RESTART);
	CHECK(signal(SIGUSR2, on_intr) == on_restart);
	CHECK(signal(SIGUSR2, on_restart) == on_intr);
	CHECK_EQ(sigaction(SIGUSR2, NULL, &old), 0);
	CHECK(old.sa_flags & SA_RESTART); /* signal(): BSD semantics */
}

int main(void)
{
	fix_start("test_shim_signal");
	install();
	RUN(signal_read_eintr_without_restart);
	RUN(signal_read_restarts_with_sa_restart);
	RUN(signal_read_with_timeout_not_restarted);
	RUN(signal_accept_eintr_and_restart);
	RUN(signal_waits_never_restart);
	RUN(signal_connect_eintr);
	RUN(signal_write_partial_eintr_restart);
	RUN(signal_while_running_leaves_no_interrupt);
	RUN(signal_sigaction_reports_program_handler);
	fix_stop();
	DONE();
}
