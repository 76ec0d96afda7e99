/*
 * dps-echo: a native dpsock program. Brings the engine up from the DPSOCK_* environment and runs its
 * poll loop: ARP, ICMP echo, and a TCP server on port 7 (--port) that echoes what it receives
 * (--mode echo), discards it (sink), or sends a pattern until the peer closes (source).
 *
 *   DPSOCK_DEV=net_af_packet0,iface=dps0 DPSOCK_IP=198.18.0.2/24 dps-echo [--mode sink]
 *
 * Client mode (--connect A.B.C.D:PORT): instead of serving, open --conns K connections one after
 * another to an echo server, each sending --bytes N bytes of a known pattern and checking every
 * byte that comes back; exit 0 only if all of them round-trip exactly.
 *
 * Prints "dps-echo: ready" on stderr once the engine is up. SIGUSR1 prints the counters on stdout
 * ("name value" lines, then a blank line); SIGINT/SIGTERM print them and exit 0. --duration S stops
 * after S seconds (a bounded run for tests).
 */
#include "dpsock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>

#define MAX_CONNS 65536
#define BUF_SIZE 65536

enum mode { MODE_ECHO, MODE_SINK, MODE_SOURCE };

struct conn {
	bool open, queued;
	uint32_t have, sent; /* echo: bytes in buf, bytes of them sent back */
	uint64_t rx_bytes, tx_bytes;
	uint8_t *buf;
};

static volatile sig_atomic_t stop, dump;
static struct conn *conns;
static int *ready, n_ready;
static int listener = -1;
static enum mode mode = MODE_ECHO;
static uint64_t total_rx, total_tx, n_accepted;
static uint8_t pattern[BUF_SIZE];

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		dump = 1;
	else
		stop = 1;
}

static void print_counter(const char *name, uint64_t value, void *arg)
{
	(void)arg;
	printf("%s %llu\n", name, (unsigned long long)value);
}

static void print_counters(void)
{
	dps_counters(print_counter, NULL);
	printf("echo_accepted %llu\necho_rx_bytes %llu\necho_tx_bytes %llu\n\n",
	       (unsigned long long)n_accepted, (unsigned long long)total_rx,
	       (unsigned long long)total_tx);
	fflush(stdout);
}

/* Readiness callback: remember the socket for the loop (once). */
static void on_event(void *arg, uint32_t events)
{
	int s = (int)(intptr_t)arg;

	(void)events;
	if (s >= 0 && s < MAX_CONNS && !conns[s].queued) {
		conns[s].queued = true;
		ready[n_ready++] = s;
	}
}

static void conn_close(int s)
{
	dps_close(s);
	free(conns[s].buf);
	memset(&conns[s], 0, sizeof(conns[s]));
}

/* Serve connection s until it would block. */
static void serve(int s)
{
	struct conn *c = &conns[s];

	for (int rounds = 0; rounds < 64; rounds++) {
		long n;

		if (mode == MODE_ECHO && c->sent < c->have) {
			n = dps_send(s, c->buf + c->sent, c->have - c->sent, 0);
			if (n < 0 && n != -EAGAIN)
				goto closed;
			if (n > 0) {
				c->sent += (uint32_t)n;
				c->tx_bytes += (uint64_t)n;
				total_tx += (uint64_t)n;
			}
			if (c->sent < c->have)
				return; /* wait for room */
			c->have = c->sent = 0;
		}
		if (mode == MODE_SOURCE) {
			n = dps_send(s, pattern, sizeof(pattern), 0);
			if (n < 0 && n != -EAGAIN)
				goto closed;
			if (n > 0)
				total_tx += (uint64_t)n;
		}
		n = dps_recv(s, mode == MODE_ECHO ? c->buf : pattern, BUF_SIZE, 0);
		if (n == -EAGAIN)
			return;
		if (n <= 0)
			goto closed; /* 0: the peer closed; < 0: reset or timeout */
		c->rx_bytes += (uint64_t)n;
		total_rx += (uint64_t)n;
		if (mode == MODE_ECHO)
			c->have = (uint32_t)n;
	}
	on_event((void *)(intptr_t)s, 0); /* more to do: come back next loop */
	return;
closed:
	conn_close(s);
}

static void accept_all(void)
{
	int s;

	while ((s = dps_accept(listener, NULL)) >= 0) {
		if (s >= MAX_CONNS) {
			dps_close(s);
			continue;
		}
		conns[s].open = true;
		conns[s].buf = mode == MODE_ECHO ? malloc(BUF_SIZE) : NULL;
		n_accepted++;
		dps_set_callback(s, on_event, (void *)(intptr_t)s);
		on_event((void *)(intptr_t)s, 0);
	}
}

static uint8_t pattern_at(uint64_t i)
{
	return (uint8_t)(i * 131 + 7 + (i >> 16));
}

/* Poll until s shows one of want's events or the deadline passes. Returns the events or 0. */
static int wait_events(int s, int want, uint64_t deadline)
{
	for (;;) {
		int ev = dps_events(s);

		if (ev < 0 || (ev & (want | EPOLLERR | EPOLLHUP)))
			return ev < 0 ? EPOLLERR : ev;
		if (stop || dps_now_ns() > deadline)
			return 0;
		dps_poll();
	}
}

/* One client connection: send n pattern bytes, read them back, check them. Returns 0 or -errno. */
static int client_one(const struct sockaddr_in *to, uint64_t n)
{
	uint64_t deadline = dps_now_ns() + 60ull * 1000000000, sent = 0, got = 0;
	uint8_t *buf = pattern; /* scratch */
	uint8_t out[16384];
	int s = dps_socket(), rc = 0, one = 1;

	if (s < 0)
		return s;
	dps_setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	rc = dps_connect(s, to);
	if (rc != -EINPROGRESS)
		goto out;
	rc = 0;
	if (!(wait_events(s, EPOLLOUT, deadline) & EPOLLOUT) || (dps_events(s) & EPOLLERR)) {
		uint32_t len = sizeof(rc);
		dps_getsockopt(s, SOL_SOCKET, SO_ERROR, &rc, &len);
		rc = rc ? -rc : -ETIMEDOUT;
		goto out;
	}
	while (got < n) {
		long k;

		if (sent < n) {
			uint64_t chunk = n - sent < sizeof(out) ? n - sent : sizeof(out);
			for (uint64_t i = 0; i < chunk; i++)
				out[i] = pattern_at(sent + i);
			k = dps_send(s, out, chunk, 0);
			if (k > 0)
				sent += (uint64_t)k;
			else if (k != -EAGAIN) {
				rc = (int)k;
				goto out;
			}
		}
		k = dps_recv(s, buf, BUF_SIZE, 0);
		if (k > 0) {
			for (long i = 0; i < k; i++)
				if (buf[i] != pattern_at(got + (uint64_t)i)) {
					fprintf(stderr, "dps-echo: byte %llu differs\n",
						(unsigned long long)(got + (uint64_t)i));
					rc = -EPROTO;
					goto out;
				}
			got += (uint64_t)k;
			total_rx += (uint64_t)k;
		} else if (k != -EAGAIN) {
			rc = k == 0 ? -EPIPE : (int)k;
			goto out;
		} else {
			if (stop || dps_now_ns() > deadline) {
				rc = -ETIMEDOUT;
				goto out;
			}
			dps_poll();
		}
	}
	total_tx += sent;
out:
	dps_close(s);
	return rc;
}

static int client_run(const char *target, uint64_t bytes, unsigned count)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	char host[64];
	unsigned port;

	if (sscanf(target, "%63[0-9.]:%u", host, &port) != 2 ||
	    inet_pton(AF_INET, host, &to.sin_addr) != 1) {
		fprintf(stderr, "dps-echo: --connect wants A.B.C.D:PORT, got '%s'\n", target);
		return 2;
	}
	to.sin_port = htons((uint16_t)port);
	for (unsigned i = 0; i < count; i++) {
		int rc = client_one(&to, bytes);
		if (rc < 0) {
			fprintf(stderr, "dps-echo: connection %u to %s failed: %s\n", i, target,
				strerror(-rc));
			return 1;
		}
	}
	/* Let the last closes finish (FIN handshakes) before the engine goes. */
	for (uint64_t end = dps_now_ns() + 200000000ull; dps_now_ns() < end;)
		dps_poll();
	printf("client: %u connections, %llu bytes each, all echoed exactly\n", count,
	       (unsigned long long)bytes);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: dps-echo [--port N] [--mode echo|sink|source] [--duration SECONDS]\n"
		"       dps-echo --connect A.B.C.D:PORT [--bytes N] [--conns K]\n"
		"  configured by DPSOCK_* environment variables (DPSOCK_DEV, DPSOCK_IP, ...)\n");
}

static volatile bool accept_due;

/* Readiness callbacks must not call socket functions (dpsock.h): note it, accept in the loop. */
static void on_listener(void *arg, uint32_t events)
{
	(void)arg;
	(void)events;
	accept_due = true;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	const struct timespec nap = { 0, 20000 };
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(7) };
	char err[512];
	double duration = 0;
	uint64_t deadline = 0;
	unsigned idle = 0, n_conns = 1;
	uint64_t n_bytes = 100;
	const char *target = NULL;
	int rc, one = 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--duration") == 0 && i + 1 < argc) {
			duration = atof(argv[++i]);
		} else if (strcmp(argv[i], "--connect") == 0 && i + 1 < argc) {
			target = argv[++i];
		} else if (strcmp(argv[i], "--bytes") == 0 && i + 1 < argc) {
			n_bytes = strtoull(argv[++i], NULL, 0);
		} else if (strcmp(argv[i], "--conns") == 0 && i + 1 < argc) {
			n_conns = (unsigned)strtoul(argv[++i], NULL, 0);
		} else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
			addr.sin_port = htons((uint16_t)atoi(argv[++i]));
		} else if (strcmp(argv[i], "--mode") == 0 && i + 1 < argc) {
			const char *m = argv[++i];
			if (strcmp(m, "echo") == 0)
				mode = MODE_ECHO;
			else if (strcmp(m, "sink") == 0)
				mode = MODE_SINK;
			else if (strcmp(m, "source") == 0)
				mode = MODE_SOURCE;
			else {
				usage();
				return 2;
			}
		} else {
			usage();
			return 2;
		}
	}
	conns = calloc(MAX_CONNS, sizeof(*conns));
	ready = calloc(MAX_CONNS, sizeof(*ready));
	if (conns == NULL || ready == NULL)
		return 1;
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i * 131 + 7);
	rc = dps_init(err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "dps-echo: %s\n", err);
		return 1;
	}
	if (target != NULL) {
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		rc = client_run(target, n_bytes, n_conns);
		print_counters();
		dps_exit();
		return rc;
	}
	listener = dps_socket();
	if (listener < 0 ||
	    dps_setsockopt(listener, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 ||
	    (rc = dps_bind(listener, &addr)) < 0 || (rc = dps_listen(listener, 1024)) < 0) {
		fprintf(stderr, "dps-echo: cannot listen on TCP port %u: %s\n",
			ntohs(addr.sin_port), strerror(-(listener < 0 ? listener : rc)));
		dps_exit();
		return 1;
	}
	dps_set_callback(listener, on_listener, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	if (duration > 0)
		deadline = dps_now_ns() + (uint64_t)(duration * 1e9);
	fprintf(stderr, "dps-echo: ready\n");
	while (!stop) {
		int n;

		if (dump) {
			dump = 0;
			print_counters();
		}
		n = dps_poll();
		if (accept_due) {
			accept_due = false;
			accept_all();
		}
		while (n_ready > 0) {
			int s = ready[--n_ready];

			conns[s].queued = false;
			if (conns[s].open)
				serve(s);
			n = 1;
		}
		/* Spin while there is traffic; after 1000 empty polls nap 20 us between polls so that an
		 * idle echo server does not hold a whole core (the shim's idle policy comes later). */
		if (n > 0)
			idle = 0;
		else if (++idle > 1000)
			nanosleep(&nap, NULL);
		if (deadline != 0 && dps_now_ns() >= deadline)
			break;
	}
	print_counters();
	for (int s = 0; s < MAX_CONNS; s++)
		if (conns[s].open)
			conn_close(s);
	dps_close(listener);
	dps_exit();
	free(conns);
	free(ready);
	return 0;
}
