/*
 * iot-server: an ordinary epoll server (plain POSIX sockets, nonblocking; no dpsock header or
 * library), run on the kernel or under the LD_PRELOAD shim. Issue 7's scale target and issue 8's
 * IoT benchmark (QStack's iotepserver):
 *
 *   --mode iot (default)  messages framed as in iot_msg.h: a request gets the answer of
 *                         iot_work() (a hash over its body and a table lookup), a heartbeat
 *                         gets nothing; a malformed message closes the connection
 *   --mode echo           every byte received is sent back
 *
 *   iot-server [--port 9000] [--addr 0.0.0.0] [--mode iot|echo] [--lt] [--duration S]
 *
 * Edge-triggered epoll by default (--lt: level-triggered, EPOLLOUT only while output waits).
 * Idle connections cost the server 24 bytes here (a slot per fd; input and output buffers are
 * allocated only while a partial message or unsent output waits). RLIMIT_NOFILE is raised to
 * fs.nr_open at start, so a million connections need only that sysctl.
 *
 * Prints "iot-server: ready" on stderr once listening; SIGUSR1 prints a counters line on
 * stdout, SIGINT/SIGTERM (or the end of --duration) print it and exit 0.
 */
#include "iot_msg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE 65536
#define MAX_EVENTS 1024

enum mode { MODE_IOT, MODE_ECHO };

/* Per fd. in/out are malloc'ed only while a partial message / unsent output waits. */
struct sconn {
	uint8_t *in, *out;
	uint16_t in_len;
	uint16_t out_len;
	bool open;
	bool want_out; /* level-triggered: EPOLLOUT registered */
};

struct stats {
	uint64_t accepted, closed, open, requests, high, heartbeats, answers, proto_errors;
	uint64_t bytes_in, bytes_out, accept_errors;
};

static volatile sig_atomic_t stop, dump;
static struct sconn *conns;
static size_t n_slots;
static int ep, listener;
static enum mode mode = MODE_IOT;
static bool level;
static struct stats st;
static uint64_t table[IOT_TABLE_SIZE];
static uint8_t inbuf[BUF_SIZE + IOT_MAX_LEN], outbuf[BUF_SIZE];

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		dump = 1;
	else
		stop = 1;
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	long v = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

static void print_stats(void)
{
	printf("iot-server: open %llu accepted %llu closed %llu requests %llu high %llu "
	       "heartbeats %llu answers %llu proto_errors %llu accept_errors %llu bytes_in %llu "
	       "bytes_out %llu rss_kib %ld\n",
	       (unsigned long long)st.open, (unsigned long long)st.accepted,
	       (unsigned long long)st.closed, (unsigned long long)st.requests,
	       (unsigned long long)st.high, (unsigned long long)st.heartbeats,
	       (unsigned long long)st.answers, (unsigned long long)st.proto_errors,
	       (unsigned long long)st.accept_errors, (unsigned long long)st.bytes_in,
	       (unsigned long long)st.bytes_out, rss_kib());
	fflush(stdout);
}

static void conn_close(int fd)
{
	struct sconn *c = &conns[fd];

	epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
	close(fd);
	free(c->in);
	free(c->out);
	memset(c, 0, sizeof(*c));
	st.closed++;
	st.open--;
}

static void want_output(int fd, bool on)
{
	struct sconn *c = &conns[fd];
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0),
				  .data.fd = fd };

	if (!level || c->want_out == on)
		return;
	c->want_out = on;
	epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}

/* Send what waits in c->out. Returns 0 when all of it went, 1 if some is left, -1 on error. */
static int flush_out(int fd)
{
	struct sconn *c = &conns[fd];

	while (c->out_len > 0) {
		ssize_t n = write(fd, c->out, c->out_len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			want_output(fd, true);
			return 1;
		}
		if (n <= 0)
			return -1;
		st.bytes_out += (uint64_t)n;
		memmove(c->out, c->out + n, c->out_len - (size_t)n);
		c->out_len = (uint16_t)(c->out_len - n);
	}
	free(c->out);
	c->out = NULL;
	want_output(fd, false);
	return 0;
}

/* Send out[0..n): what the socket does not take waits in c->out. -1 on error. */
static int send_or_keep(int fd, const uint8_t *out, size_t n)
{
	struct sconn *c = &conns[fd];
	size_t done = 0;

	while (done < n) {
		ssize_t k = write(fd, out + done, n - done);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EAGAIN)
			break;
		if (k <= 0)
			return -1;
		done += (size_t)k;
		st.bytes_out += (uint64_t)k;
	}
	if (done < n) {
		/* Reading stops while output waits, so at most one buffer of it waits. */
		c->out = malloc(n - done);
		if (c->out == NULL)
			return -1;
		memcpy(c->out, out + done, n - done);
		c->out_len = (uint16_t)(n - done);
		want_output(fd, true);
	}
	return 0;
}

/* Handle the complete messages in buf[0..n); returns bytes consumed, -1 on a malformed one.
 * Answers go to outbuf, *out_n bytes. */
static long handle_msgs(const uint8_t *buf, size_t n, size_t *out_n)
{
	size_t off = 0;

	while (n - off >= IOT_HDR_LEN) {
		struct iot_msg m;

		memcpy(&m, buf + off, sizeof(m));
		if (m.len < IOT_HDR_LEN || m.len > IOT_MAX_LEN ||
		    (m.type != IOT_REQ && m.type != IOT_HEARTBEAT) ||
		    (m.cls != IOT_CLS_HIGH && m.cls != IOT_CLS_LOW))
			return -1;
		if (n - off < m.len)
			break;
		if (m.type == IOT_HEARTBEAT) {
			st.heartbeats++;
		} else {
			struct iot_msg a = m;

			if (*out_n + IOT_HDR_LEN > sizeof(outbuf))
				break; /* the answers buffer is full: the rest after this send */
			st.requests++;
			st.high += m.cls == IOT_CLS_HIGH;
			a.type = IOT_ANSWER;
			a.len = IOT_HDR_LEN;
			a.key =
			    iot_work(buf + off + IOT_HDR_LEN, m.len - IOT_HDR_LEN, m.key, table);
			memcpy(outbuf + *out_n, &a, sizeof(a));
			*out_n += IOT_HDR_LEN;
			st.answers++;
		}
		off += m.len;
	}
	return (long)off;
}

/* Serve fd until it would block (or output waits). */
static void serve(int fd, uint32_t events)
{
	struct sconn *c = &conns[fd];

	if (c->out_len > 0) {
		int rc = flush_out(fd);
		if (rc < 0)
			goto closed;
		if (rc > 0)
			return;
	}
	if (events & EPOLLERR)
		goto closed;
	for (int rounds = 0; rounds < 16; rounds++) {
		size_t have = c->in_len, out_n = 0;
		ssize_t n;
		long used;

		if (have > 0)
			memcpy(inbuf, c->in, have);
		n = read(fd, inbuf + have, BUF_SIZE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0)
			goto closed;
		st.bytes_in += (uint64_t)n;
		have += (size_t)n;
		if (mode == MODE_ECHO) {
			if (send_or_keep(fd, inbuf, have) < 0)
				goto closed;
			if (c->out_len > 0)
				return;
			continue;
		}
		used = handle_msgs(inbuf, have, &out_n);
		if (used < 0) {
			st.proto_errors++;
			goto closed;
		}
		/* What is left is a partial message (or requests behind a full answers buffer). */
		free(c->in);
		c->in = NULL;
		c->in_len = (uint16_t)(have - (size_t)used);
		if (c->in_len > 0) {
			if (c->in_len > IOT_MAX_LEN) { /* answers buffer full: rare, keep it all */
				c->in_len = 0;
				st.proto_errors++;
				goto closed;
			}
			c->in = malloc(c->in_len);
			if (c->in == NULL)
				goto closed;
			memcpy(c->in, inbuf + used, c->in_len);
		}
		if (out_n > 0 && send_or_keep(fd, outbuf, out_n) < 0)
			goto closed;
		if (c->out_len > 0)
			return;
	}
	if (level)
		return; /* level-triggered: epoll reports it again */
	/* Edge-triggered and still readable: come back after the others (no starvation). */
	{
		struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
					  .data.fd = fd };
		epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
	}
	return;
closed:
	conn_close(fd);
}

static void accept_all(void)
{
	for (int i = 0; i < 4096; i++) {
		int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev = { .data.fd = 0 };
		int one = 1;

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				st.accept_errors++;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS)
				break;
			return;
		}
		if ((size_t)fd >= n_slots) {
			close(fd);
			st.accept_errors++;
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		ev.events =
		    level ? EPOLLIN | EPOLLRDHUP : EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
		ev.data.fd = fd;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			st.accept_errors++;
			continue;
		}
		conns[fd].open = true;
		st.accepted++;
		st.open++;
	}
}

/* RLIMIT_NOFILE up to fs.nr_open (root may raise the hard limit). Returns the soft limit. */
static size_t raise_nofile(void)
{
	struct rlimit rl;
	unsigned long nr_open = 1048576;
	FILE *f = fopen("/proc/sys/fs/nr_open", "re");

	if (f != NULL) {
		if (fscanf(f, "%lu", &nr_open) != 1)
			nr_open = 1048576;
		fclose(f);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1024;
	if (rl.rlim_max < nr_open) {
		struct rlimit up = { nr_open, nr_open };
		if (setrlimit(RLIMIT_NOFILE, &up) == 0)
			return nr_open;
	}
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	getrlimit(RLIMIT_NOFILE, &rl);
	return rl.rlim_cur;
}

static void usage(void)
{
	fprintf(stderr, "usage: iot-server [--port N] [--addr A.B.C.D] [--mode iot|echo] [--lt] "
			"[--duration SECONDS]\n");
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(9000) };
	struct epoll_event evs[MAX_EVENTS], lev = { .events = EPOLLIN };
	double duration = 0;
	struct timespec t0, t;
	int one = 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
			addr.sin_port = htons((uint16_t)atoi(argv[++i]));
		} else if (strcmp(argv[i], "--addr") == 0 && i + 1 < argc) {
			if (inet_pton(AF_INET, argv[++i], &addr.sin_addr) != 1) {
				usage();
				return 2;
			}
		} else if (strcmp(argv[i], "--mode") == 0 && i + 1 < argc) {
			const char *m = argv[++i];
			if (strcmp(m, "iot") == 0)
				mode = MODE_IOT;
			else if (strcmp(m, "echo") == 0)
				mode = MODE_ECHO;
			else {
				usage();
				return 2;
			}
		} else if (strcmp(argv[i], "--lt") == 0) {
			level = true;
		} else if (strcmp(argv[i], "--duration") == 0 && i + 1 < argc) {
			duration = atof(argv[++i]);
		} else {
			usage();
			return 2;
		}
	}
	for (uint32_t i = 0; i < IOT_TABLE_SIZE; i++)
		table[i] = iot_table_value(i);
	n_slots = raise_nofile();
	conns = calloc(n_slots, sizeof(*conns)); /* pages are touched only for the fds in use */
	if (conns == NULL) {
		fprintf(stderr, "iot-server: no memory for %zu connection slots\n", n_slots);
		return 1;
	}
	listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (listener < 0 || ep < 0 ||
	    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(listener, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(listener, 65535) < 0) {
		fprintf(stderr, "iot-server: cannot listen on port %u: %s\n", ntohs(addr.sin_port),
			strerror(errno));
		return 1;
	}
	lev.data.fd = listener;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, listener, &lev) < 0) {
		fprintf(stderr, "iot-server: epoll_ctl: %s\n", strerror(errno));
		return 1;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fprintf(stderr, "iot-server: ready port %u mode %s, %zu fds\n", ntohs(addr.sin_port),
		mode == MODE_IOT ? "iot" : "echo", n_slots);
	while (!stop) {
		int n = epoll_wait(ep, evs, MAX_EVENTS, 100);

		if (dump) {
			dump = 0;
			print_stats();
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == listener)
				accept_all();
			else if ((size_t)fd < n_slots && conns[fd].open)
				serve(fd, evs[i].events);
		}
		if (duration > 0) {
			clock_gettime(CLOCK_MONOTONIC, &t);
			if ((double)(t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 >=
			    duration)
				break;
		}
	}
	print_stats();
	return 0;
}
