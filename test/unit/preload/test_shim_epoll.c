/*
 * epoll on dpsock sockets (DESIGN.md §5, preload/epoll.c): level and edge triggered, one-shot and
 * its re-arm, RDHUP/HUP/ERR as Linux reports them (checked against a kernel pair over loopback),
 * the ready list's order (high-priority items first, then arrival order, fair rotation), one
 * socket in two sets, registrations going with the socket, and kernel fds in the same set.
 */
#include "shim_fix.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define LOW_1000 1000 /* payload sizes: outside the 100-200 byte high rule of shim_fix.c */
#define HIGH_150 150

static char big[4096];

/* epoll_wait with a timeout of 0; the events in evs. */
static int ready(int ep, struct epoll_event *evs, int max)
{
	return epoll_wait(ep, evs, max, 0);
}

static void add(int ep, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = { .events = events, .data.u64 = data };

	CHECK_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
}

static void kadd(int ep, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = { .events = events, .data.u64 = data };

	CHECK_EQ(real_epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
}

/* The events one registration reports now (0: none), kernel or shim epoll fd. */
static uint32_t events_now(int ep, bool kernel)
{
	struct epoll_event ev[4];
	int n = kernel ? real_epoll_wait(ep, ev, 4, 0) : epoll_wait(ep, ev, 4, 0);

	CHECK(n == 0 || n == 1);
	return n == 1 ? ev[0].events : 0;
}

static void epoll_level_triggered(void)
{
	struct epoll_event ev[4];
	char buf[16];
	int ph, fd = shim_conn(&ph), ep = epoll_create1(EPOLL_CLOEXEC);

	add(ep, fd, EPOLLIN, 11);
	CHECK_EQ(ready(ep, ev, 4), 0);
	peer_send_str(ph, "hello");
	settle();
	CHECK_EQ(ready(ep, ev, 4), 1);
	CHECK_EQ(ev[0].events, EPOLLIN);
	CHECK_EQ(ev[0].data.u64, 11);
	CHECK_EQ(ready(ep, ev, 4), 1); /* still readable: reported again */
	CHECK_EQ(read(fd, buf, 3), 3);
	CHECK_EQ(ready(ep, ev, 4), 1);
	CHECK_EQ(read(fd, buf, sizeof(buf)), 2);
	CHECK_EQ(ready(ep, ev, 4), 0);
	/* EPOLLOUT: writable as long as the send buffer has room */
	struct epoll_event mod = { .events = EPOLLIN | EPOLLOUT, .data.u64 = 12 };

	CHECK_EQ(epoll_ctl(ep, EPOLL_CTL_MOD, fd, &mod), 0);
	CHECK_EQ(ready(ep, ev, 4), 1);
	CHECK_EQ(ev[0].events, EPOLLOUT);
	CHECK_EQ(ev[0].data.u64, 12);
	CHECK_EQ(ready(ep, ev, 4), 1);
	CHECK_EQ(close(ep), 0);
	CHECK_EQ(close(fd), 0);
	peer_close(ph);
	settle();
}

static void epoll_edge_triggered(void)
{
	struct epoll_event ev[4];
	int ph, fd = shim_conn(&ph), ep = epoll_create1(0);

	add(ep, fd, EPOLLIN | EPOLLOUT | EPOLLET, 21);
	CHECK_EQ(ready(ep, ev, 4), 1); /* writable: once */
	CHECK_EQ(ev[0].events, EPOLLOUT);
	CHECK_EQ(ready(ep, ev, 4), 0);
	peer_send_str(ph, "one");
	settle();
	CHECK_EQ(ready(ep, ev, 4), 1);
	CHECK(ev[0].events & EPOLLIN);
	CHECK_EQ(ev[0].data.u64, 21);
	CHECK_EQ(ready(ep, ev, 4), 0); /* unread, but no new edge */
	CHECK_EQ(ready(ep, ev, 4), 0);
	peer_send_str(ph, "two");
	settle();
	CHECK_EQ(ready(ep, ev, 4), 1); /* new data: a new edge */
	CHECK(ev[0].events & EPOLLIN);
	CHECK_EQ(ready(ep, ev, 4), 0);
	CHECK_EQ(drain(fd), 6);
	CHECK_EQ(ready(ep, ev, 4), 0);
	CHECK_EQ(close(ep), 0);
	CHECK_EQ(close(fd), 0);
	peer_close(ph);
	settle();
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

/* Edge-triggered EPOLLOUT: a full send buffer ends it; room made by the peer's reading is a new
 * edge, which also wakes a blocked epoll_wait (nginx's way of writing). */
static void epoll_edge_triggered_out_after_full_buffer(void)
{
	static char chunk[65536];
	struct epoll_event ev[4];
	struct drain_arg d = { 0, 0 };
	int ph, fd = shim_conn(&ph), ep = epoll_create1(0);
	long queued = 0, n;

	d.h = ph;
	add(ep, fd, EPOLLOUT | EPOLLET, 81);
	CHECK_EQ(ready(ep, ev, 4), 1);
	CHECK_EQ(ev[0].events, EPOLLOUT);
	for (int round = 0; round < 4; round++) { /* our buffer, then the peer's window */
		while ((n = send(fd, chunk, sizeof(chunk), MSG_DONTWAIT)) > 0)
			queued += n;
		CHECK_EQ(errno, EAGAIN);
		settle();
	}
	CHECK_EQ(ready(ep, ev, 4), 0);
	later(30, peer_drain, &d);
	CHECK_EQ(epoll_wait(ep, ev, 4, 5000), 1);
	CHECK_EQ(ev[0].events, EPOLLOUT);
	CHECK_EQ(ev[0].data.u64, 81);
	CHECK(d.got > 0 && d.got <= queued);
	CHECK_EQ(close(ep), 0);
	CHECK_EQ(close(fd), 0);
	peer_abort(ph);
	settle();
}

static void epoll_oneshot_rearm_with_mod(void)
{
	struct epoll_event ev[4], mod = { .events = EPOLLIN | EPOLLONESHOT, .data.u64 = 32 };
	int ph, fd = shim_conn(&ph), ep = epoll_create1(0);

	add(ep, fd, EPOLLIN | EPOLLONESHOT, 31);
	peer_send_str(ph, "first");
	settle();
	CHECK_EQ(ready(ep, ev, 4), 1);
	CHECK_EQ(ev[0].data.u64, 31);
	CHECK_EQ(ready(ep, ev, 4), 0); /* disarmed, although still readable */
	peer_send_str(ph, "second");
	settle();
	CHECK_EQ(ready(ep, ev, 4), 0); /* new data does not re-arm it */
	CHECK_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &mod), -1); /* still registered */
	CHECK_EQ(errno, EEXIST);
	CHECK_EQ(epoll_ctl(ep, EPOLL_CTL_MOD, fd, &mod), 0); /* re-armed: readable now */
	CHECK_EQ(ready(ep, ev, 4), 1);
	CHECK_EQ(ev[0].events, EPOLLIN);
	CHECK_EQ(ev[0].data.u64, 32);
	CHECK_EQ(ready(ep, ev, 4), 0);
	/* re-armed while nothing is ready: the next arrival reports */
	CHECK_EQ(drain(fd), 11);
	CHECK_EQ(epoll_ctl(ep, EPOLL_CTL_MOD, fd, &mod), 0);
	CHECK_EQ(ready(ep, ev, 4), 0);
	peer_send_str(ph, "third");
	settle();
	CHECK_EQ(ready(ep, ev, 4), 1);
	CHECK_EQ(ready(ep, ev, 4), 0);
	CHECK_EQ(close(ep), 0);
	CHECK_EQ(close(fd), 0);
	peer_close(ph);
	settle();
}

/* The events of one connection end as Linux's epoll reports them, for the same end on a kernel
 * pair: the peer's FIN, then our own shutdown, and a reset (also with no interest at all:
 * EPOLLERR and EPOLLHUP are always reported). */
static void epoll_rdhup_hup_err_as_linux(void)
{
	const uint32_t all = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
	int ph, fd = shim_conn(&ph), ep = epoll_create1(0);
	int kc, ks, kep = real_epoll_create1(0);

	kernel_pair(&kc, &ks);
	add(ep, fd, all, 1);
	kadd(kep, kc, all, 1);
	CHECK_EQ(events_now(kep, true), EPOLLOUT);
	CHECK_EQ(events_now(ep, false), EPOLLOUT);
	/* the peer's FIN */
	peer_shutdown_wr(ph);
	settle();
	CHECK_EQ(real_shutdown(ks, SHUT_WR), 0);
	CHECK_EQ(kernel_revents(kc, POLLIN) & POLLIN, POLLIN);
	CHECK_EQ(events_now(kep, true), EPOLLIN | EPOLLOUT | EPOLLRDHUP);
	CHECK_EQ(events_now(ep, false), EPOLLIN | EPOLLOUT | EPOLLRDHUP);
	/* both directions shut: HUP as well */
	CHECK_EQ(shutdown(fd, SHUT_WR), 0);
	settle();
	CHECK_EQ(real_shutdown(kc, SHUT_WR), 0);
	(void)kernel_revents(kc, POLLIN);
	CHECK_EQ(events_now(kep, true), EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLHUP);
	CHECK_EQ(events_now(ep, false), EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLHUP);
	CHECK_EQ(close(fd), 0);
	peer_close(ph);
	settle();
	real_close(kc);
	real_close(ks);

	/* a reset, seen by three registrations: all bits, EPOLLIN only, nothing */
	int ep_in = epoll_create1(0), ep_none = epoll_create1(0);
	int kep_in = real_epoll_create1(0), kep_none = real_epoll_create1(0);

	fd = shim_conn(&ph);
	kernel_pair(&kc, &ks);
	add(ep_in, fd, EPOLLIN, 2);
	add(ep_none, fd, 0, 3);
	kadd(kep_in, kc, EPOLLIN, 2);
	kadd(kep_none, kc, 0, 3);
	peer_abort(ph);
	settle();
	kernel_abort(ks);
	(void)kernel_revents(kc, POLLIN);
	/* the first registration was removed with fd above: add the new fd there */
	add(ep, fd, all, 1);
	kadd(kep, kc, all, 1);
	CHECK_EQ(events_now(kep, true), EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLERR | EPOLLHUP);
	CHECK_EQ(events_now(ep, false),
		 (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLERR | EPOLLHUP) & ~RST_UNREPORTED);
	CHECK_EQ(events_now(kep_in, true), EPOLLIN | EPOLLERR | EPOLLHUP);
	CHECK_EQ(events_now(ep_in, false), (EPOLLIN | EPOLLERR | EPOLLHUP) & ~RST_UNREPORTED);
	CHECK_EQ(events_now(kep_none, true), EPOLLERR | EPOLLHUP);
	CHECK_EQ(events_now(ep_none, false), EPOLLERR | EPOLLHUP);
	/* the error is reported once by read; the hang-up stays */
	CHECK_EQ(read(fd, big, 1), -1);
	CHECK_EQ(errno, ECONNRESET);
	CHECK_EQ(real_read(kc, big, 1), -1);
	CHECK_EQ(errno, ECONNRESET);
	CHECK_EQ(events_now(kep_none, true), EPOLLHUP);
	CHECK_EQ(events_now(ep_none, false), EPOLLHUP);
	CHECK_EQ(close(fd), 0);
	real_close(kc);
	CHECK_EQ(close(ep), 0);
	CHECK_EQ(close(ep_in), 0);
	CHECK_EQ(close(ep_none), 0);
	real_close(kep);
	real_close(kep_in);
	real_close(kep_none);
}

/* The ready list: high-priority sockets first (DESIGN.md §8), the others in the order they
 * became ready; level-triggered items go to the tail of their part after reporting. */
static void epoll_ready_order_high_first(void)
{
	struct epoll_event ev[8];
	int ph[3], fd[3], ep = epoll_create1(0);

	for (int i = 0; i < 3; i++) {
		fd[i] = shim_conn(&ph[i]);
		add(ep, fd[i], EPOLLIN, (uint64_t)i);
	}
	memset(big, 'x', sizeof(big));
	peer_send(ph[0], big, LOW_1000);
	settle();
	peer_send(ph[1], big, LOW_1000);
	settle();
	peer_send(ph[2], big, HIGH_150); /* the last to arrive, the first reported */
	settle();
	CHECK_EQ(ready(ep, ev, 8), 3);
	CHECK_EQ(ev[0].data.u64, 2);
	CHECK_EQ(ev[0].events, EPOLLIN); /* DPS_EV_HIGH is the shim's, never reported */
	CHECK_EQ(ev[1].data.u64, 0);
	CHECK_EQ(ev[2].data.u64, 1);
	/* one at a time: the high one keeps the head while it stays high */
	CHECK_EQ(ready(ep, ev, 1), 1);
	CHECK_EQ(ev[0].data.u64, 2);
	CHECK_EQ(ready(ep, ev, 1), 1);
	CHECK_EQ(ev[0].data.u64, 2);
	CHECK_EQ(drain(fd[2]), HIGH_150);
	/* then the low ones in turn (fair rotation) */
	CHECK_EQ(ready(ep, ev, 1), 1);
	CHECK_EQ(ev[0].data.u64, 0);
	CHECK_EQ(ready(ep, ev, 1), 1);
	CHECK_EQ(ev[0].data.u64, 1);
	CHECK_EQ(ready(ep, ev, 1), 1);
	CHECK_EQ(ev[0].data.u64, 0);
	/* a low item that turns high moves up */
	peer_send(ph[1], big, HIGH_150);
	settle();
	CHECK_EQ(ready(ep, ev, 8), 2);
	CHECK_EQ(ev[0].data.u64, 1);
	CHECK_EQ(ev[1].data.u64, 0);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(close(fd[i]), 0);
		peer_close(ph[i]);
	}
	CHECK_EQ(close(ep), 0);
	settle();
}

static void epoll_socket_in_two_sets(void)
{
	struct epoll_event ev[4];
	int ph, fd = shim_conn(&ph), lt = epoll_create1(0), et = epoll_create1(0);
	struct psock *ps = fd_psock(fd);

	add(lt, fd, EPOLLIN, 41);
	add(et, fd, EPOLLIN | EPOLLET, 42);
	peer_send_str(ph, "both");
	settle();
	CHECK_EQ(ready(lt, ev, 4), 1);
	CHECK_EQ(ev[0].data.u64, 41);
	CHECK_EQ(ready(et, ev, 4), 1);
	CHECK_EQ(ev[0].data.u64, 42);
	CHECK_EQ(ready(lt, ev, 4), 1); /* each set by its own trigger mode */
	CHECK_EQ(ready(et, ev, 4), 0);
	peer_send_str(ph, "more");
	settle();
	CHECK_EQ(ready(et, ev, 4), 1);
	CHECK_EQ(epoll_ctl(lt, EPOLL_CTL_DEL, fd, NULL), 0);
	CHECK_EQ(ready(lt, ev, 4), 0);
	peer_send_str(ph, "again");
	settle();
	CHECK_EQ(ready(et, ev, 4), 1); /* the other set is untouched */
	CHECK_EQ(ready(lt, ev, 4), 0);
	CHECK(ps->epitems != NULL && ps->epitems->sock_next == NULL);
	CHECK_EQ(close(et), 0); /* closing a set removes its registrations */
	CHECK(ps->epitems == NULL);
	CHECK_EQ(close(lt), 0);
	CHECK_EQ(close(fd), 0);
	peer_close(ph);
	settle();
}

/* A registration goes with its socket's last number; a socket under a reused number is not
 * registered. While a dup of the number is open, the registration stays and reports (Linux:
 * it belongs to the open file, which is still open) until that one closes too. */
static void epoll_close_removes_registration(void)
{
	struct epoll_event ev[4];
	int ph, fd = shim_conn(&ph), ep = epoll_create1(0), s, d;
	int kc, ks, kd, kep = real_epoll_create1(0);

	add(ep, fd, EPOLLIN | EPOLLOUT, 51);
	CHECK_EQ(ready(ep, ev, 4), 1);
	CHECK_EQ(close(fd), 0);
	CHECK_EQ(fd_pepoll(ep)->n_items, 0);
	CHECK_EQ(ready(ep, ev, 4), 0);
	s = socket(AF_INET, SOCK_STREAM, 0); /* the same number, EPOLLOUT|EPOLLHUP ready */
	CHECK_EQ(s, fd);
	CHECK(revents(s, POLLOUT) & POLLOUT);
	CHECK_EQ(ready(ep, ev, 4), 0);
	add(ep, s, EPOLLOUT, 52); /* not a duplicate */
	CHECK_EQ(ready(ep, ev, 4), 1);
	CHECK_EQ(ev[0].data.u64, 52);
	CHECK_EQ(close(s), 0);
	peer_close(ph);
	settle();

	/* one number of two closed: still registered, in Linux too */
	fd = shim_conn(&ph);
	kernel_pair(&kc, &ks);
	add(ep, fd, EPOLLIN, 53);
	kadd(kep, kc, EPOLLIN, 53);
	d = dup(fd);
	kd = real_dup(kc);
	CHECK_EQ(close(fd), 0);
	real_close(kc);
	peer_send_str(ph, "late");
	settle();
	CHECK_EQ(real_write(ks, "late", 4), 4);
	(void)kernel_revents(kd, POLLIN);
	CHECK_EQ(events_now(kep, true), EPOLLIN);
	CHECK_EQ(ready(ep, ev, 4), 1);
	CHECK_EQ(ev[0].events, EPOLLIN);
	CHECK_EQ(ev[0].data.u64, 53);
	CHECK_EQ(epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL), -1); /* but not by the closed number */
	CHECK_EQ(errno, EBADF);
	CHECK_EQ(close(d), 0);
	real_close(kd);
	CHECK_EQ(events_now(kep, true), 0);
	CHECK_EQ(ready(ep, ev, 4), 0);
	CHECK_EQ(fd_pepoll(ep)->n_items, 0);
	real_close(ks);
	real_close(kep);
	CHECK_EQ(close(ep), 0);
	peer_close(ph);
	settle();
}

/* A kernel fd (a pipe) and a dpsock socket in one set: each reports, a blocking wait wakes for
 * either, a timeout expires when neither comes. */
static void epoll_kernel_and_dpsock_in_one_set(void)
{
	struct epoll_event ev[4];
	int ph, fd = shim_conn(&ph), ep = epoll_create1(0), p[2];
	struct kick *k;
	uint64_t t0;
	char c;

	CHECK_EQ(pipe(p), 0);
	add(ep, p[0], EPOLLIN, 61); /* a kernel fd first: the instance is still the kernel's */
	CHECK(fd_pepoll(ep) == NULL);
	add(ep, fd, EPOLLIN, 62);
	CHECK(fd_pepoll(ep) != NULL);
	CHECK_EQ(ready(ep, ev, 4), 0);
	CHECK_EQ(write(p[1], "p", 1), 1);
	CHECK_EQ(ready(ep, ev, 4), 1);
	CHECK_EQ(ev[0].data.u64, 61);
	peer_send_str(ph, "s");
	settle();
	CHECK_EQ(ready(ep, ev, 4), 2);
	CHECK_EQ(ev[0].data.u64, 62); /* ours first, then the shadow's */
	CHECK_EQ(ev[1].data.u64, 61);
	CHECK_EQ(ready(ep, ev, 1), 1); /* a full array: ours */
	CHECK_EQ(ev[0].data.u64, 62);
	CHECK_EQ(ready(ep, ev, 1), 1); /* then the shadow's turn: kernel fds are not starved */
	CHECK_EQ(ev[0].data.u64, 61);
	CHECK_EQ(ready(ep, ev, 1), 1);
	CHECK_EQ(ev[0].data.u64, 62);
	CHECK_EQ(read(p[0], &c, 1), 1);
	CHECK_EQ(read(fd, &c, 1), 1);
	CHECK_EQ(ready(ep, ev, 4), 0);
	/* a timeout with nothing */
	t0 = dps_now_ns();
	CHECK_EQ(epoll_wait(ep, ev, 4, 50), 0);
	CHECK(ms_since(t0) >= 49.0);
	/* blocked: woken by the kernel fd */
	k = kick_write(30, p[1]);
	t0 = dps_now_ns();
	CHECK_EQ(epoll_wait(ep, ev, 4, -1), 1);
	CHECK_EQ(ev[0].data.u64, 61);
	CHECK(ms_since(t0) >= 29.0);
	kick_join(k);
	CHECK_EQ(read(p[0], &c, 1), 1);
	/* blocked: woken by the peer's data */
	later_send(30, ph, "w");
	t0 = dps_now_ns();
	CHECK_EQ(epoll_wait(ep, ev, 4, 5000), 1);
	CHECK_EQ(ev[0].data.u64, 62);
	CHECK(ms_since(t0) >= 29.0 && ms_since(t0) < 4000.0);
	CHECK_EQ(read(fd, &c, 1), 1);
	/* a set of kernel fds only stays the kernel's */
	int kep = epoll_create1(0);

	add(kep, p[0], EPOLLIN, 63);
	CHECK(fd_pepoll(kep) == NULL);
	CHECK_EQ(close(kep), 0);
	CHECK_EQ(close(ep), 0);
	CHECK_EQ(close(p[0]), 0);
	CHECK_EQ(close(p[1]), 0);
	CHECK_EQ(close(fd), 0);
	peer_close(ph);
	settle();
}

/* A listener reports EPOLLIN while a connection waits to be accepted; a one-shot listener once. */
static void epoll_listener(void)
{
	struct epoll_event ev[4];
	uint16_t port = next_port();
	int l = shim_listener(port), ep = epoll_create1(0), h, a;

	add(ep, l, EPOLLIN | EPOLLOUT | EPOLLRDHUP, 71);
	CHECK_EQ(ready(ep, ev, 4), 0); /* a listener is neither readable nor writable */
	h = peer_connect(port);
	settle();
	CHECK_EQ(ready(ep, ev, 4), 1);
	CHECK_EQ(ev[0].events, EPOLLIN);
	a = accept4(l, NULL, NULL, SOCK_NONBLOCK);
	CHECK(a >= 0);
	CHECK_EQ(ready(ep, ev, 4), 0);
	CHECK_EQ(fcntl(l, F_SETFL, O_NONBLOCK), 0);
	CHECK_EQ(accept(l, NULL, NULL), -1);
	CHECK_EQ(errno, EAGAIN);
	CHECK_EQ(close(a), 0);
	peer_close(h);
	CHECK_EQ(close(ep), 0);
	CHECK_EQ(close(l), 0);
	settle();
}

/* EPOLLEXCLUSIVE's rules, as Linux checks them. */
static void epoll_exclusive_rules(void)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT };
	int s = socket(AF_INET, SOCK_STREAM, 0), ep = epoll_create1(0), p[2];

	CHECK_EQ(pipe(p), 0);
	CHECK_EQ(real_epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), -1);
	CHECK_EQ(errno, EINVAL);
	CHECK_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev), -1);
	CHECK_EQ(errno, EINVAL);
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	CHECK_EQ(real_epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), 0);
	CHECK_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev), 0);
	CHECK_EQ(real_epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev), -1); /* no MOD of an exclusive one */
	CHECK_EQ(errno, EINVAL);
	CHECK_EQ(epoll_ctl(ep, EPOLL_CTL_MOD, s, &ev), -1);
	CHECK_EQ(errno, EINVAL);
	CHECK_EQ(close(s), 0);
	CHECK_EQ(close(ep), 0);
	CHECK_EQ(close(p[0]), 0);
	CHECK_EQ(close(p[1]), 0);
}

int main(void)
{
	fix_start("test_shim_epoll");
	RUN(epoll_level_triggered);
	RUN(epoll_edge_triggered);
	RUN(epoll_edge_triggered_out_after_full_buffer);
	RUN(epoll_oneshot_rearm_with_mod);
	RUN(epoll_rdhup_hup_err_as_linux);
	RUN(epoll_ready_order_high_first);
	RUN(epoll_socket_in_two_sets);
	RUN(epoll_close_removes_registration);
	RUN(epoll_kernel_and_dpsock_in_one_set);
	RUN(epoll_listener);
	RUN(epoll_exclusive_rules);
	fix_stop();
	DONE();
}
