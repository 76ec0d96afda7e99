/*
 * mixed-epoll: one epoll set holding fds of every kind a real event loop mixes: a TCP listener,
 * the connections it accepts, the read end of a pipe and an eventfd. A helper thread writes to
 * the pipe and the eventfd every 20 ms; the connections echo what they receive (non-blocking,
 * level-triggered, EPOLLOUT while a write is pending). It uses no dpsock header: under the
 * LD_PRELOAD shim the TCP fds belong to dpsock and the pipe and eventfd to the kernel, in one set
 * (test/integration/test_shim_apps.sh).
 *
 *   mixed-epoll PORT NCONNS [SECONDS]
 *
 * Prints "mixed-epoll: ready" on stderr once listening. Stops when NCONNS connections have been
 * served to EOF, or after SECONDS (default 60). Then prints one line of counters on stdout:
 *   accepts N conn_events N bytes N pipe_events N pipe_bytes N eventfd_events N eventfd_sum N
 *   dup_events N stale_events N
 * Exit status 0 only if NCONNS connections were served, every one echoed exactly as many bytes as
 * it received, every kind of source (listener, connection, pipe, eventfd) delivered events, and
 * epoll kept Linux's rules: no fd twice in one epoll_wait result (dup_events), no event for a
 * connection after EPOLL_CTL_DEL and close (stale_events; connection blocks are kept until the
 * end so that such an event is seen, not a use after free).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4, pipe2 (meson passes -D_GNU_SOURCE; this is for a build by hand) */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE 65536
#define TICK_NS 20000000L /* the helper thread's period: 20 ms */

enum kind { SRC_LISTENER, SRC_CONN, SRC_PIPE, SRC_EVENTFD };

/* What an epoll event's data.ptr points at: every source starts with its kind. */
struct source {
	enum kind kind;
	int fd;
};

struct conn {
	struct source src; /* first: data.ptr is also a struct conn * */
	size_t have, off; /* bytes in buf, of which off are written back */
	long long rx, tx;
	bool eof, want_out; /* EOF seen; waiting for EPOLLOUT (else EPOLLIN) */
	bool closed; /* removed from the set and closed; kept until exit */
	char *buf; /* BUF_SIZE bytes while open */
	struct conn *next; /* every connection, for the final free */
};

struct counters {
	long long accepts, conn_events, bytes, pipe_events, pipe_bytes, eventfd_events, eventfd_sum;
	long long dup_events, stale_events; /* broken epoll rules (see the top) */
	long done, bad; /* connections served to EOF; those whose echo count differed */
};

static int epfd;
static struct conn *all_conns;
static struct counters cnt;
static atomic_bool stop_ticker;

static void die(const char *what)
{
	fprintf(stderr, "mixed-epoll: %s: %s\n", what, strerror(errno));
	exit(1);
}

static long parse_arg(const char *s, long min, long max, const char *name)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < min || v > max) {
		fprintf(stderr, "mixed-epoll: %s '%s': expected %ld-%ld\n", name, s, min, max);
		exit(2);
	}
	return v;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void watch(int op, struct source *src, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = src };

	if (epoll_ctl(epfd, op, src->fd, &ev) < 0)
		die("epoll_ctl");
}

/* ticker: the helper thread; a byte into the pipe and 1 into the eventfd every TICK_NS. */
static void *ticker(void *arg)
{
	const int *fds = arg; /* pipe write end, eventfd */
	struct timespec tick = { .tv_sec = 0, .tv_nsec = TICK_NS };

	while (!atomic_load(&stop_ticker)) {
		if (write(fds[0], "t", 1) < 0 && errno != EAGAIN)
			die("write(pipe)");
		if (eventfd_write(fds[1], 1) < 0 && errno != EAGAIN)
			die("eventfd_write");
		nanosleep(&tick, NULL);
	}
	return NULL;
}

static void on_listener(struct source *l)
{
	for (;;) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;

		if (fd < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (fd < 0)
			die("accept4");
		c = calloc(1, sizeof(*c));
		if (!c || !(c->buf = malloc(BUF_SIZE)))
			die("malloc");
		c->src.kind = SRC_CONN;
		c->src.fd = fd;
		c->next = all_conns;
		all_conns = c;
		cnt.accepts++;
		watch(EPOLL_CTL_ADD, &c->src, EPOLLIN);
	}
}

static void conn_close(struct conn *c)
{
	if (c->rx != c->tx) {
		fprintf(stderr, "mixed-epoll: connection echoed %lld of %lld bytes\n", c->tx,
			c->rx);
		cnt.bad++;
	}
	if (epoll_ctl(epfd, EPOLL_CTL_DEL, c->src.fd, NULL) < 0)
		die("epoll_ctl(DEL)");
	if (close(c->src.fd) < 0)
		die("close");
	cnt.done++;
	c->closed = true;
	free(c->buf);
	c->buf = NULL;
}

/* is_valid_event: false (and counted) for a second event of one fd in the same epoll_wait
 * result, or an event for a connection already closed. */
static bool is_valid_event(const struct epoll_event *evs, int i)
{
	struct source *src = evs[i].data.ptr;
	int j;

	for (j = 0; j < i; j++) {
		if (evs[j].data.ptr == src) {
			cnt.dup_events++;
			return false;
		}
	}
	if (src->kind == SRC_CONN && ((struct conn *)src)->closed) {
		cnt.stale_events++;
		return false;
	}
	return true;
}

/* on_conn: read what is there (only while nothing is pending), write back what is pending, and
 * wait for EPOLLOUT while a write is incomplete, else for EPOLLIN; close after EOF is echoed. */
static void on_conn(struct conn *c)
{
	cnt.conn_events++;
	if (c->off == c->have && !c->eof) {
		ssize_t n = read(c->src.fd, c->buf, BUF_SIZE);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n < 0)
			die("read");
		if (n == 0)
			c->eof = true;
		c->have = (size_t)n;
		c->off = 0;
		c->rx += n;
		cnt.bytes += n;
	}
	while (c->off < c->have) {
		ssize_t n = write(c->src.fd, c->buf + c->off, c->have - c->off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (!c->want_out)
				watch(EPOLL_CTL_MOD, &c->src, EPOLLOUT);
			c->want_out = true;
			return;
		}
		if (n < 0)
			die("write");
		c->off += (size_t)n;
		c->tx += n;
	}
	if (c->eof) {
		conn_close(c);
		return;
	}
	if (c->want_out)
		watch(EPOLL_CTL_MOD, &c->src, EPOLLIN);
	c->want_out = false;
}

static void on_pipe(struct source *p)
{
	char buf[256];
	ssize_t n = read(p->fd, buf, sizeof(buf));

	if (n < 0 && errno != EAGAIN && errno != EINTR)
		die("read(pipe)");
	cnt.pipe_events++;
	if (n > 0)
		cnt.pipe_bytes += n;
}

static void on_eventfd(struct source *e)
{
	eventfd_t v;

	cnt.eventfd_events++;
	if (eventfd_read(e->fd, &v) == 0)
		cnt.eventfd_sum += (long long)v;
	else if (errno != EAGAIN && errno != EINTR)
		die("eventfd_read");
}

int main(int argc, char **argv)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY) };
	struct source listener = { .kind = SRC_LISTENER }, rd = { .kind = SRC_PIPE };
	struct source efd = { .kind = SRC_EVENTFD };
	long port, nconns, seconds = 60;
	int one = 1, pfd[2], tick_fds[2];
	pthread_t tick_thread;
	double deadline;
	bool ok;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: mixed-epoll PORT NCONNS [SECONDS]\n");
		return 2;
	}
	port = parse_arg(argv[1], 1, 65535, "PORT");
	nconns = parse_arg(argv[2], 1, 100000, "NCONNS");
	if (argc == 4)
		seconds = parse_arg(argv[3], 1, 3600, "SECONDS");
	signal(SIGPIPE, SIG_IGN); /* a peer that resets shows as EPIPE, reported below */

	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		die("epoll_create1");
	listener.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (listener.fd < 0)
		die("socket");
	if (setsockopt(listener.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		die("setsockopt(SO_REUSEADDR)");
	addr.sin_port = htons((uint16_t)port);
	if (bind(listener.fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		die("bind");
	if (listen(listener.fd, 128) < 0)
		die("listen");
	if (pipe2(pfd, O_NONBLOCK | O_CLOEXEC) < 0)
		die("pipe2");
	rd.fd = pfd[0];
	efd.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (efd.fd < 0)
		die("eventfd");
	watch(EPOLL_CTL_ADD, &listener, EPOLLIN);
	watch(EPOLL_CTL_ADD, &rd, EPOLLIN);
	watch(EPOLL_CTL_ADD, &efd, EPOLLIN);

	tick_fds[0] = pfd[1];
	tick_fds[1] = efd.fd;
	errno = pthread_create(&tick_thread, NULL, ticker, tick_fds);
	if (errno)
		die("pthread_create");
	fprintf(stderr, "mixed-epoll: ready\n");

	deadline = now_s() + (double)seconds;
	while (cnt.done < nconns && now_s() < deadline) {
		struct epoll_event evs[64];
		int n = epoll_wait(epfd, evs, 64, 100), i;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("epoll_wait");
		for (i = 0; i < n; i++) {
			struct source *src = evs[i].data.ptr;

			if (!is_valid_event(evs, i))
				continue;
			switch (src->kind) {
			case SRC_LISTENER:
				on_listener(src);
				break;
			case SRC_CONN:
				on_conn((struct conn *)src);
				break;
			case SRC_PIPE:
				on_pipe(src);
				break;
			case SRC_EVENTFD:
				on_eventfd(src);
				break;
			}
		}
	}
	atomic_store(&stop_ticker, true);
	pthread_join(tick_thread, NULL);

	printf("accepts %lld conn_events %lld bytes %lld pipe_events %lld pipe_bytes %lld "
	       "eventfd_events %lld eventfd_sum %lld dup_events %lld stale_events %lld\n",
	       cnt.accepts, cnt.conn_events, cnt.bytes, cnt.pipe_events, cnt.pipe_bytes,
	       cnt.eventfd_events, cnt.eventfd_sum, cnt.dup_events, cnt.stale_events);
	ok = true;
	if (cnt.done < nconns) {
		fprintf(stderr, "mixed-epoll: %ld of %ld connections served in %ld s\n", cnt.done,
			nconns, seconds);
		ok = false;
	}
	if (cnt.bad) {
		fprintf(stderr, "mixed-epoll: %ld connections echoed the wrong byte count\n",
			cnt.bad);
		ok = false;
	}
	if (cnt.dup_events) {
		fprintf(stderr,
			"mixed-epoll: %lld times epoll_wait returned an fd twice in one call\n",
			cnt.dup_events);
		ok = false;
	}
	if (cnt.stale_events) {
		fprintf(stderr,
			"mixed-epoll: %lld events for connections already removed and closed\n",
			cnt.stale_events);
		ok = false;
	}
	if (!cnt.accepts || !cnt.conn_events || !cnt.pipe_bytes || !cnt.eventfd_sum) {
		fprintf(stderr, "mixed-epoll: a kind of source delivered no events\n");
		ok = false;
	}
	close(listener.fd);
	close(pfd[0]);
	close(pfd[1]);
	close(efd.fd);
	close(epfd);
	while (all_conns) {
		struct conn *c = all_conns;

		all_conns = c->next;
		if (!c->closed)
			close(c->src.fd);
		free(c->buf);
		free(c);
	}
	return ok ? 0 : 1;
}
