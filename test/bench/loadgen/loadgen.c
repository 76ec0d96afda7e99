/*
 * loadgen: a load generator on dpsock's native API (issue 7; issue 8's IoT load), in the spirit of
 * mTCP's epwget and MCC. One thread drives its own engine (DPSOCK_* environment, as dps-echo);
 * --kernel runs the same logic on kernel sockets and epoll, for the baseline.
 *
 *   loadgen --connect A.B.C.D:PORT --conns C [--open-rate R] [--mode idle|iot|echo] ...
 *
 * Phases: ramp (open C connections, at most --syn-max connecting at once, paced at --open-rate
 * per second; 0: as fast as the SYN window allows), run (--duration seconds: idle holds them;
 * iot sends requests at --rate per second in total over the open connections, a fraction --high
 * of them high priority (with --high-conns: that fraction of the connections sends only high
 * requests, the rest only low ones), and a heartbeat per connection every --hb seconds; echo sends --bytes
 * per connection and checks every byte that comes back), drain (iot: wait up to 2 s for the
 * answers still due), report.
 *
 * Messages are iot_msg.h's: the class byte first ('H' or 'L', so `payload[0] == 0x48 -> high`
 * matches), requests answered, heartbeats not. Every answer is checked: in order per connection,
 * the id, the class and the result of the server's work. Latency (send to answer) goes into an
 * HDR-style histogram per class; connection set-up time into another.
 *
 * Why no coroutine per connection: a coroutine's stack is at least 8 KiB, 8 GiB for a million
 * connections; a connection here is a 64-byte slot and readiness callbacks feed a ring.
 * Source addresses: by default the engine picks them (a range in DPSOCK_IP is handed out in
 * turn); --src A-B binds each socket to the next address of A..B with IP_BIND_ADDRESS_NO_PORT
 * (required with --kernel beyond one address's ports).
 *
 * Output: a summary (or --json, one JSON object) on stdout; progress lines on stderr every
 * --progress seconds. Exit 0 when every connection opened and every check passed, 1 otherwise.
 *
 * Server: `loadgen --serve PORT [--mode iot|echo] [--conns CAPACITY]` answers the same protocol
 * on the native API (iot: iot_work() answers, heartbeats ignored; echo: bytes back), for runs
 * beyond the shim's reach (one kernel fd per socket: RLIMIT_NOFILE) and as the native baseline
 * of test/apps/iot-server.c. 24 bytes per idle connection here. Prints "loadgen: serving" once
 * listening, a counters line on SIGUSR1, and exits on SIGINT/SIGTERM or after --duration.
 */
#include "dpsock.h"
#include "iot_msg.h"
#include "hist.h" /* stack/obs/hist.h */

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
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <rte_malloc.h>

#define NS 1000000000ull
#define RX_BUF 65536
#define MAX_ERRNO 134
#define ECHO_WINDOW 16384

enum mode { MODE_IDLE, MODE_IOT, MODE_ECHO };
enum cstate { C_FREE, C_CONNECTING, C_OPEN, C_DONE, C_FAILED };

/* One connection: 64 bytes. */
struct lconn {
	int s; /* engine handle or kernel fd */
	uint8_t state; /* enum cstate */
	bool queued; /* on the ready ring */
	uint8_t rx_len; /* bytes of a partial answer in rx */
	uint8_t pad;
	uint32_t sent; /* iot: requests sent; echo: bytes sent */
	uint32_t got; /* iot: answers checked; echo: bytes checked */
	uint16_t pend_len; /* bytes of a message not yet taken by the socket */
	uint16_t pad2;
	uint64_t t_open; /* when connect was called */
	uint8_t *pend; /* the rest of that message */
	uint8_t rx[IOT_HDR_LEN];
};

struct opts {
	struct sockaddr_in to;
	uint32_t conns, syn_max, req_size, bytes;
	double open_rate, rate, high, hb, duration, ramp_timeout, progress;
	enum mode mode;
	bool kernel, json, no_close;
	bool high_conns; /* --high-conns: --high is the fraction of connections whose every
			  * request is high (devices of a class), not of requests */
	uint32_t src_first, src_count; /* --src, host order */
	uint16_t serve; /* --serve PORT */
	uint32_t warm; /* --warm N */
};

struct counts {
	uint64_t opened, established, failed, closed_by_peer, reqs, high_reqs, hbs, answers;
	uint64_t bad_answers, send_blocked, echo_bytes, echo_bad, send_errors;
	uint64_t err[MAX_ERRNO];
};

static struct opts o = {
	.conns = 1,
	.syn_max = 512,
	.warm = 64,
	.req_size = 64,
	.bytes = 1000,
	.high = 0.05,
	.hb = 0,
	.duration = -1, /* client: 10 s; server: until a signal */
	.ramp_timeout = 600,
	.mode = MODE_IDLE,
};
static struct counts k;
static struct lconn *conns;
static uint32_t *ring, ring_head, ring_tail, ring_cap;
/* Connections the engine reported with DPS_EV_HIGH (high-priority answers unread, or pinned high
 * by a priority rule): served before the others (DESIGN.md §8, the event layer, for a native
 * program). */
static uint32_t *hring, hring_head, hring_tail;
static volatile sig_atomic_t stop;
static int ep = -1; /* --kernel: the epoll instance */
static uint32_t n_connecting, n_open;
static struct dps_hist *h_lat[2], *h_conn; /* [0] low, [1] high; 1.6 % resolution */
static uint64_t table[IOT_TABLE_SIZE];
static uint8_t rxbuf[RX_BUF + IOT_HDR_LEN];

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * NS + (uint64_t)t.tv_nsec;
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void count_err(int e)
{
	k.err[e > 0 && e < MAX_ERRNO ? e : 0]++;
}

/* ---- the two socket layers: dpsock's native API, or the kernel's ---- */

static void ring_push(uint32_t i)
{
	if (conns[i].queued)
		return;
	conns[i].queued = true;
	ring[ring_tail++ % ring_cap] = i;
}

static void on_event(void *arg, uint32_t events)
{
	uint32_t i = (uint32_t)(uintptr_t)arg;

	if ((events & DPS_EV_HIGH) && !conns[i].queued) {
		conns[i].queued = true;
		hring[hring_tail++ % ring_cap] = i;
		return;
	}
	ring_push(i);
}

static int op_socket(void)
{
	if (o.kernel) {
		int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		return s < 0 ? -errno : s;
	}
	return dps_socket();
}

static int op_setsockopt(int s, int level, int name, int v)
{
	if (o.kernel)
		return setsockopt(s, level, name, &v, sizeof(v)) < 0 ? -errno : 0;
	return dps_setsockopt(s, level, name, &v, sizeof(v));
}

static int op_bind(int s, uint32_t addr)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = addr };

	if (o.kernel)
		return bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 ? -errno : 0;
	return dps_bind(s, &a);
}

static int op_connect(int s, uint32_t idx)
{
	if (o.kernel) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
					  .data.u32 = idx };

		if (epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) < 0)
			return -errno;
		if (connect(s, (struct sockaddr *)&o.to, sizeof(o.to)) < 0)
			return -errno;
		return 0;
	}
	dps_set_callback(s, on_event, (void *)(uintptr_t)idx);
	return dps_connect(s, &o.to);
}

static long op_send(int s, const void *buf, size_t n)
{
	if (o.kernel) {
		ssize_t r = send(s, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		return r < 0 ? -errno : r;
	}
	return dps_send(s, buf, n, 0);
}

static long op_recv(int s, void *buf, size_t n)
{
	if (o.kernel) {
		ssize_t r = recv(s, buf, n, MSG_DONTWAIT);
		return r < 0 ? -errno : r;
	}
	return dps_recv(s, buf, n, 0);
}

static void op_close(int s)
{
	if (o.kernel)
		close(s);
	else
		dps_close(s);
}

/* Did the connect of s succeed? 0, -errno of the failure, or -EINPROGRESS while pending. */
static int op_connect_result(int s)
{
	int err = 0;

	if (o.kernel) {
		socklen_t len = sizeof(err);
		if (getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			return -errno;
		if (err != 0)
			return -err;
		/* no error: connected if the peer's address is known */
		struct sockaddr_in p;
		len = sizeof(p);
		return getpeername(s, (struct sockaddr *)&p, &len) == 0 ? 0 : -EINPROGRESS;
	}
	int ev = dps_events(s);
	if (ev < 0)
		return ev;
	if (ev & (EPOLLERR | EPOLLHUP)) {
		uint32_t len = sizeof(err);
		dps_getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len);
		return err != 0 ? -err : -ECONNREFUSED;
	}
	return (ev & EPOLLOUT) ? 0 : -EINPROGRESS;
}

/* Run the engine (or epoll) once; ready connections land on the ring. Returns > 0 if work. */
static int op_poll(bool may_sleep)
{
	if (o.kernel) {
		struct epoll_event evs[1024];
		int n = epoll_wait(ep, evs, 1024, may_sleep ? 1 : 0);

		for (int i = 0; i < n; i++)
			ring_push(evs[i].data.u32);
		return n > 0 ? n : 0;
	}
	int n = dps_poll();
	if (n == 0 && may_sleep) {
		const struct timespec nap = { 0, 50000 };
		nanosleep(&nap, NULL);
	}
	return n;
}

/* ---- messages ---- */

static uint8_t msg_class(uint32_t idx, uint32_t id)
{
	uint64_t x = ((uint64_t)idx << 32 | (o.high_conns ? 0 : id)) * 0x9e3779b97f4a7c15ull;

	x ^= x >> 31;
	return (double)(x >> 11) / 9007199254740992.0 < o.high ? IOT_CLS_HIGH : IOT_CLS_LOW;
}

static uint64_t msg_key(uint32_t idx, uint32_t id)
{
	return (uint64_t)idx << 32 ^ (uint64_t)id * 2654435761u;
}

static void build_request(uint8_t *buf, uint32_t idx, uint32_t id, uint64_t now)
{
	struct iot_msg m = {
		.cls = msg_class(idx, id),
		.type = IOT_REQ,
		.len = (uint16_t)o.req_size,
		.id = id,
		.ts_ns = now,
		.key = msg_key(idx, id),
	};

	memcpy(buf, &m, sizeof(m));
	for (uint32_t i = 0; i < o.req_size - IOT_HDR_LEN; i++)
		buf[IOT_HDR_LEN + i] = iot_body_byte(id, i);
}

static uint8_t echo_byte(uint32_t idx, uint32_t off)
{
	return (uint8_t)(off * 131u + 7u + idx);
}

static void conn_fail(uint32_t i, int err)
{
	struct lconn *c = &conns[i];

	if (c->state == C_CONNECTING)
		n_connecting--;
	else if (c->state == C_OPEN)
		n_open--;
	if (err != 0)
		count_err(-err);
	k.failed++;
	op_close(c->s);
	free(c->pend);
	c->pend = NULL;
	c->pend_len = 0;
	c->state = C_FAILED;
}

/* Send buf[0..n) on connection i, keeping what the socket does not take. false on error. */
static bool conn_send(uint32_t i, const uint8_t *buf, size_t n)
{
	struct lconn *c = &conns[i];
	long r = op_send(c->s, buf, n);

	if (r == -EAGAIN || r == -ENOBUFS)
		r = 0;
	if (r < 0) {
		k.send_errors++;
		conn_fail(i, (int)r);
		return false;
	}
	if ((size_t)r < n) {
		c->pend = malloc(n - (size_t)r);
		if (c->pend == NULL) {
			conn_fail(i, -ENOMEM);
			return false;
		}
		memcpy(c->pend, buf + r, n - (size_t)r);
		c->pend_len = (uint16_t)(n - (size_t)r);
	}
	return true;
}

static void flush_pending(uint32_t i)
{
	struct lconn *c = &conns[i];
	long r;

	if (c->pend_len == 0)
		return;
	r = op_send(c->s, c->pend, c->pend_len);
	if (r == -ENOBUFS)
		ring_push(i); /* no event will say when the pool refills */
	if (r == -EAGAIN || r == -ENOBUFS)
		return;
	if (r < 0) {
		k.send_errors++;
		conn_fail(i, (int)r);
		return;
	}
	memmove(c->pend, c->pend + r, c->pend_len - (size_t)r);
	c->pend_len = (uint16_t)(c->pend_len - r);
	if (c->pend_len == 0) {
		free(c->pend);
		c->pend = NULL;
	}
}

/* Check one answer of connection i. */
static void check_answer(uint32_t i, const struct iot_msg *a, uint64_t now)
{
	struct lconn *c = &conns[i];
	uint8_t body[IOT_MAX_LEN];
	uint32_t id = c->got;

	for (uint32_t b = 0; b < o.req_size - IOT_HDR_LEN; b++)
		body[b] = iot_body_byte(id, b);
	if (a->type != IOT_ANSWER || a->id != id || a->cls != msg_class(i, id) ||
	    a->key != iot_work(body, o.req_size - IOT_HDR_LEN, msg_key(i, id), table) ||
	    id >= c->sent) {
		k.bad_answers++;
	} else {
		k.answers++;
		dps_hist_add(h_lat[a->cls == IOT_CLS_HIGH], now - a->ts_ns);
	}
	c->got++;
}

static void echo_send(uint32_t i);

/* Read what connection i has. */
static void conn_read(uint32_t i, uint64_t now)
{
	struct lconn *c = &conns[i];

	for (int rounds = 0; rounds < 16 && c->state == C_OPEN; rounds++) {
		size_t have = c->rx_len, off = 0;
		long n;

		memcpy(rxbuf, c->rx, have);
		n = op_recv(c->s, rxbuf + have, RX_BUF);
		if (n == -EAGAIN)
			return;
		if (n <= 0) {
			if (n == 0)
				k.closed_by_peer++;
			conn_fail(i, n == 0 ? -EPIPE : (int)n);
			return;
		}
		have += (size_t)n;
		if (o.mode == MODE_ECHO) {
			for (size_t b = 0; b < have; b++)
				if (rxbuf[b] != echo_byte(i, c->got + (uint32_t)b)) {
					k.echo_bad++;
					conn_fail(i, -EPROTO);
					return;
				}
			c->got += (uint32_t)have;
			k.echo_bytes += have;
			c->rx_len = 0;
			echo_send(i); /* the window moved */
			continue;
		}
		while (have - off >= IOT_HDR_LEN) {
			struct iot_msg a;

			memcpy(&a, rxbuf + off, sizeof(a));
			check_answer(i, &a, now);
			off += IOT_HDR_LEN;
		}
		c->rx_len = (uint8_t)(have - off);
		memcpy(c->rx, rxbuf + off, c->rx_len);
	}
	ring_push(i); /* more to read: after the others */
}

/* Echo mode: send the rest of connection i's bytes. */
static void echo_send(uint32_t i)
{
	struct lconn *c = &conns[i];
	uint8_t out[16384];

	/* At most ECHO_WINDOW bytes not yet echoed per connection: thousands of connections each
	 * filling its send buffer would hold every packet buffer of the engine in send queues,
	 * leaving none to receive the echoes (and the ACKs that would free them). */
	while (c->state == C_OPEN && c->pend_len == 0 && c->sent < o.bytes &&
	       c->sent - c->got < ECHO_WINDOW) {
		uint32_t n = o.bytes - c->sent < sizeof(out) ? o.bytes - c->sent : sizeof(out);
		long r;

		if (n > ECHO_WINDOW - (c->sent - c->got))
			n = ECHO_WINDOW - (c->sent - c->got);
		for (uint32_t b = 0; b < n; b++)
			out[b] = echo_byte(i, c->sent + b);
		r = op_send(c->s, out, n);
		if (r == -ENOBUFS) { /* the engine's pool is empty: no event will say when it
				      * refills, so try again next round */
			ring_push(i);
			return;
		}
		if (r == -EAGAIN)
			return;
		if (r < 0) {
			k.send_errors++;
			conn_fail(i, (int)r);
			return;
		}
		c->sent += (uint32_t)r;
	}
}

static void conn_ready(uint32_t i, uint64_t now, bool running)
{
	struct lconn *c = &conns[i];

	c->queued = false;
	if (c->state == C_CONNECTING) {
		int rc = op_connect_result(c->s);

		if (rc == -EINPROGRESS)
			return;
		if (rc < 0) {
			conn_fail(i, rc);
			return;
		}
		c->state = C_OPEN;
		n_connecting--;
		n_open++;
		k.established++;
		dps_hist_add(h_conn, now - c->t_open);
	}
	if (c->state != C_OPEN)
		return;
	flush_pending(i);
	if (c->state == C_OPEN && o.mode == MODE_ECHO && running)
		echo_send(i);
	if (c->state == C_OPEN)
		conn_read(i, now);
}

static void open_one(uint32_t i, uint64_t now)
{
	struct lconn *c = &conns[i];
	int s = op_socket(), rc;

	k.opened++;
	c->t_open = now;
	if (s < 0) {
		count_err(-s);
		k.failed++;
		c->state = C_FAILED;
		return;
	}
	c->s = s;
	op_setsockopt(s, IPPROTO_TCP, TCP_NODELAY, 1);
	if (o.src_count > 0) {
		op_setsockopt(s, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1);
		rc = op_bind(s, htonl(o.src_first + i % o.src_count));
		if (rc < 0)
			goto fail;
	}
	c->state = C_CONNECTING;
	n_connecting++;
	rc = op_connect(s, i);
	if (rc == -EINPROGRESS || rc == 0) {
		if (rc == 0 || o.kernel)
			ring_push(i); /* connected at once (loopback) or edge already passed */
		return;
	}
	conn_fail(i, rc);
	return;
fail:
	count_err(-rc);
	k.failed++;
	op_close(s);
	c->state = C_FAILED;
}

/* ---- reporting ---- */

static long status_kib(const char *key)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	long v = -1;
	size_t n = strlen(key);

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, n) == 0 && line[n] == ':') {
			v = atol(line + n + 1);
			break;
		}
	fclose(f);
	return v;
}

/* Bytes of DPDK heap in use (every socket), or 0 with --kernel. */
static uint64_t dpdk_heap_bytes(void)
{
	uint64_t sum = 0;

	if (o.kernel)
		return 0;
	for (unsigned sock = 0; sock < RTE_MAX_NUMA_NODES; sock++) {
		struct rte_malloc_socket_stats s;

		if (rte_malloc_get_socket_stats((int)sock, &s) == 0)
			sum += s.heap_allocsz_bytes;
	}
	return sum;
}

/* The engine's non-zero drop and retransmission counters, as "name":value pairs (JSON) or
 * "name value" words. */
static bool ctr_json, ctr_first;

static void print_ctr(const char *name, uint64_t v, void *arg)
{
	(void)arg;
	if (v == 0 || (strncmp(name, "drop_", 5) != 0 && strstr(name, "rexmit") == NULL &&
		       strstr(name, "retrans") == NULL && strstr(name, "rst") == NULL))
		return;
	if (ctr_json)
		printf("%s\"%s\":%llu", ctr_first ? "" : ",", name, (unsigned long long)v);
	else
		printf(" %s %llu", name, (unsigned long long)v);
	ctr_first = false;
}

static void print_counters(bool json)
{
	ctr_json = json;
	ctr_first = true;
	if (!o.kernel)
		dps_counters(print_ctr, NULL);
}

static void print_hist_json(const char *name, const struct dps_hist *h, bool comma)
{
	printf("\"%s\":{\"n\":%llu,\"mean_us\":%.2f,\"p50_us\":%.2f,\"p90_us\":%.2f,"
	       "\"p99_us\":%.2f,\"p999_us\":%.2f,\"max_us\":%.2f}%s",
	       name, (unsigned long long)h->n, h->n ? (double)h->sum / (double)h->n / 1e3 : 0.0,
	       dps_hist_quantile(h, 0.5) / 1e3, dps_hist_quantile(h, 0.9) / 1e3,
	       dps_hist_quantile(h, 0.99) / 1e3, dps_hist_quantile(h, 0.999) / 1e3,
	       h->n ? (double)h->max / 1e3 : 0.0, comma ? "," : "");
}

static void print_hist(const char *name, const struct dps_hist *h)
{
	printf("%-16s n %llu  p50 %.1f us  p90 %.1f us  p99 %.1f us  p99.9 %.1f us  max %.1f us\n",
	       name, (unsigned long long)h->n, dps_hist_quantile(h, 0.5) / 1e3,
	       dps_hist_quantile(h, 0.9) / 1e3, dps_hist_quantile(h, 0.99) / 1e3,
	       dps_hist_quantile(h, 0.999) / 1e3, h->n ? (double)h->max / 1e3 : 0.0);
}

static const char *mode_name(void)
{
	return o.mode == MODE_IDLE ? "idle" : o.mode == MODE_IOT ? "iot" : "echo";
}

struct report {
	double ramp_s, run_s;
	uint64_t peak_open, rss0, rss1, hwm, heap0, heap1;
	bool ok;
};

static void report(const struct report *r)
{
	double conn_rate = r->ramp_s > 0 ? (double)k.established / r->ramp_s : 0;
	double req_rate = r->run_s > 0 ? (double)k.reqs / r->run_s : 0;
	double ans_rate = r->run_s > 0 ? (double)k.answers / r->run_s : 0;
	double per_conn_rss = r->peak_open ? (double)(r->rss1 - r->rss0) * 1024 / r->peak_open : 0;
	double per_conn_heap =
	    r->peak_open ? ((double)r->heap1 - (double)r->heap0) / r->peak_open : 0;
	char addr[16];

	inet_ntop(AF_INET, &o.to.sin_addr, addr, sizeof(addr));
	if (o.json) {
		printf("{\"stack\":\"%s\",\"mode\":\"%s\",\"target\":\"%s:%u\",\"conns\":%u,"
		       "\"opened\":%llu,\"established\":%llu,\"failed\":%llu,\"peak_open\":%llu,"
		       "\"ramp_s\":%.3f,\"conn_rate\":%.1f,\"run_s\":%.3f,\"requests\":%llu,"
		       "\"high_requests\":%llu,\"heartbeats\":%llu,\"answers\":%llu,"
		       "\"bad_answers\":%llu,\"missing_answers\":%lld,\"req_rate\":%.1f,"
		       "\"answer_rate\":%.1f,\"send_blocked\":%llu,\"send_errors\":%llu,"
		       "\"closed_by_peer\":%llu,\"echo_bytes\":%llu,\"echo_bad\":%llu,"
		       "\"rss_kib_before\":%ld,\"rss_kib_after\":%ld,\"rss_hwm_kib\":%ld,"
		       "\"rss_bytes_per_conn\":%.1f,\"dpdk_heap_before\":%llu,"
		       "\"dpdk_heap_after\":%llu,\"dpdk_heap_bytes_per_conn\":%.1f,\"errors\":{",
		       o.kernel ? "kernel" : "dpsock", mode_name(), addr, ntohs(o.to.sin_port),
		       o.conns, (unsigned long long)k.opened, (unsigned long long)k.established,
		       (unsigned long long)k.failed, (unsigned long long)r->peak_open, r->ramp_s,
		       conn_rate, r->run_s, (unsigned long long)k.reqs,
		       (unsigned long long)k.high_reqs, (unsigned long long)k.hbs,
		       (unsigned long long)k.answers, (unsigned long long)k.bad_answers,
		       (long long)(k.reqs - k.answers - k.bad_answers), req_rate, ans_rate,
		       (unsigned long long)k.send_blocked, (unsigned long long)k.send_errors,
		       (unsigned long long)k.closed_by_peer, (unsigned long long)k.echo_bytes,
		       (unsigned long long)k.echo_bad, (long)r->rss0, (long)r->rss1, (long)r->hwm,
		       per_conn_rss, (unsigned long long)r->heap0, (unsigned long long)r->heap1,
		       per_conn_heap);
		for (int e = 0, first = 1; e < MAX_ERRNO; e++)
			if (k.err[e] > 0) {
				printf("%s\"%s\":%llu", first ? "" : ",", e ? strerror(e) : "other",
				       (unsigned long long)k.err[e]);
				first = 0;
			}
		printf("},\"engine\":{");
		print_counters(true);
		printf("},\"latency\":{");
		print_hist_json("high", h_lat[1], true);
		print_hist_json("low", h_lat[0], true);
		print_hist_json("connect", h_conn, false);
		printf("},\"ok\":%s}\n", r->ok ? "true" : "false");
		fflush(stdout);
		return;
	}
	printf("loadgen: %s, mode %s, %s:%u, %u connections\n", o.kernel ? "kernel" : "dpsock",
	       mode_name(), addr, ntohs(o.to.sin_port), o.conns);
	printf("connections: %llu opened, %llu established, %llu failed, %llu open at most; ramp "
	       "%.3f s, %.0f conn/s\n",
	       (unsigned long long)k.opened, (unsigned long long)k.established,
	       (unsigned long long)k.failed, (unsigned long long)r->peak_open, r->ramp_s,
	       conn_rate);
	if (o.mode == MODE_IOT)
		printf(
		    "requests: %llu sent (%llu high), %llu heartbeats, %llu answers checked, %llu "
		    "bad, %lld missing; %.0f req/s over %.3f s; %llu sends blocked\n",
		    (unsigned long long)k.reqs, (unsigned long long)k.high_reqs,
		    (unsigned long long)k.hbs, (unsigned long long)k.answers,
		    (unsigned long long)k.bad_answers,
		    (long long)(k.reqs - k.answers - k.bad_answers), req_rate, r->run_s,
		    (unsigned long long)k.send_blocked);
	if (o.mode == MODE_ECHO)
		printf("echo: %llu bytes checked, %llu mismatches\n",
		       (unsigned long long)k.echo_bytes, (unsigned long long)k.echo_bad);
	printf("memory: RSS %ld -> %ld KiB (peak %ld), %.0f B per connection; DPDK heap %llu -> "
	       "%llu B, %.0f B per connection\n",
	       (long)r->rss0, (long)r->rss1, (long)r->hwm, per_conn_rss,
	       (unsigned long long)r->heap0, (unsigned long long)r->heap1, per_conn_heap);
	for (int e = 0; e < MAX_ERRNO; e++)
		if (k.err[e] > 0)
			printf("error %s: %llu\n", e ? strerror(e) : "other",
			       (unsigned long long)k.err[e]);
	printf("engine:");
	print_counters(false);
	printf("\n");
	print_hist("latency high", h_lat[1]);
	print_hist("latency low", h_lat[0]);
	print_hist("connect", h_conn);
	printf("result: %s\n", r->ok ? "ok" : "FAILED");
	fflush(stdout);
}

/* ---- native server (--serve) ---- */

struct sslot {
	uint8_t *in, *out; /* malloc'ed while a partial message / unsent output waits */
	uint16_t in_len, out_len;
	bool open, queued;
};

static struct sslot *slots;
static uint32_t n_slots_cap, *sring, sring_head, sring_tail;
static uint32_t *shring, shring_head, shring_tail; /* reported with DPS_EV_HIGH: served first */
static volatile sig_atomic_t dump;
static bool accept_due;
static uint64_t s_accepted, s_open, s_reqs, s_high, s_hbs, s_bad, s_bytes;
static uint8_t s_out[RX_BUF];

static void on_usr1(int sig)
{
	(void)sig;
	dump = 1;
}

static void s_event(void *arg, uint32_t events)
{
	uint32_t h = (uint32_t)(uintptr_t)arg;

	if (h < n_slots_cap && !slots[h].queued) {
		slots[h].queued = true;
		if (events & DPS_EV_HIGH)
			shring[shring_tail++ % n_slots_cap] = h;
		else
			sring[sring_tail++ % n_slots_cap] = h;
	}
}

static void s_listen_event(void *arg, uint32_t events)
{
	(void)arg;
	(void)events;
	accept_due = true;
}

static void s_close(int h)
{
	struct sslot *c = &slots[h];

	dps_close(h);
	free(c->in);
	free(c->out);
	memset(c, 0, sizeof(*c));
	s_open--;
}

/* Send buf[0..n) on h, keeping what does not fit. -1 on error. */
static int s_send(int h, const uint8_t *buf, size_t n)
{
	struct sslot *c = &slots[h];
	long r = dps_send(h, buf, n, 0);

	if (r == -EAGAIN || r == -ENOBUFS)
		r = 0;
	if (r < 0)
		return -1;
	if ((size_t)r < n) {
		c->out = malloc(n - (size_t)r);
		if (c->out == NULL)
			return -1;
		memcpy(c->out, buf + r, n - (size_t)r);
		c->out_len = (uint16_t)(n - (size_t)r);
	}
	return 0;
}

static void s_serve(int h)
{
	struct sslot *c = &slots[h];

	c->queued = false;
	if (!c->open)
		return;
	if (c->out_len > 0) {
		long r = dps_send(h, c->out, c->out_len, 0);
		if (r < 0 && r != -EAGAIN && r != -ENOBUFS)
			goto closed;
		if (r > 0) {
			memmove(c->out, c->out + r, c->out_len - (size_t)r);
			c->out_len = (uint16_t)(c->out_len - r);
		}
		if (c->out_len > 0)
			return;
		free(c->out);
		c->out = NULL;
	}
	for (int rounds = 0; rounds < 16; rounds++) {
		size_t have = c->in_len, off = 0, out_n = 0;
		long n;

		memcpy(rxbuf, c->in, have);
		n = dps_recv(h, rxbuf + have, RX_BUF - IOT_MAX_LEN, 0);
		if (n == -EAGAIN)
			return;
		if (n <= 0)
			goto closed;
		s_bytes += (uint64_t)n;
		have += (size_t)n;
		if (o.mode == MODE_ECHO) {
			if (s_send(h, rxbuf, have) < 0)
				goto closed;
			if (c->out_len > 0)
				return;
			continue;
		}
		while (have - off >= IOT_HDR_LEN) {
			struct iot_msg m;
			uint16_t len;

			memcpy(&m, rxbuf + off, sizeof(m));
			len = m.len;
			if (m.len < IOT_HDR_LEN || m.len > IOT_MAX_LEN ||
			    (m.type != IOT_REQ && m.type != IOT_HEARTBEAT)) {
				s_bad++;
				goto closed;
			}
			if (have - off < m.len)
				break;
			if (m.type == IOT_REQ) {
				m.type = IOT_ANSWER;
				m.key = iot_work(rxbuf + off + IOT_HDR_LEN, m.len - IOT_HDR_LEN,
						 m.key, table);
				m.len = IOT_HDR_LEN;
				memcpy(s_out + out_n, &m, sizeof(m));
				out_n += IOT_HDR_LEN;
				s_reqs++;
				s_high += m.cls == IOT_CLS_HIGH;
			} else {
				s_hbs++;
			}
			off += len;
		}
		free(c->in);
		c->in = NULL;
		c->in_len = (uint16_t)(have - off);
		if (c->in_len > 0) {
			c->in = malloc(c->in_len);
			if (c->in == NULL)
				goto closed;
			memcpy(c->in, rxbuf + off, c->in_len);
		}
		if (out_n > 0 && s_send(h, s_out, out_n) < 0)
			goto closed;
		if (c->out_len > 0)
			return;
	}
	s_event((void *)(uintptr_t)h, 0); /* more to read: after the others */
	return;
closed:
	s_close(h);
}

static void s_print(void)
{
	printf("loadgen-serve: open %llu accepted %llu requests %llu high %llu heartbeats %llu "
	       "bad %llu bytes_in %llu rss_kib %ld dpdk_heap %llu\n",
	       (unsigned long long)s_open, (unsigned long long)s_accepted,
	       (unsigned long long)s_reqs, (unsigned long long)s_high, (unsigned long long)s_hbs,
	       (unsigned long long)s_bad, (unsigned long long)s_bytes, status_kib("VmRSS"),
	       (unsigned long long)dpdk_heap_bytes());
	printf("loadgen-serve: engine");
	print_counters(false);
	printf("\n");
	fflush(stdout);
}

static int serve_main(uint16_t port)
{
	struct sigaction sa = { .sa_handler = on_signal }, su = { .sa_handler = on_usr1 };
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	uint64_t end = o.duration > 0 ? now_ns() + (uint64_t)(o.duration * 1e9) : UINT64_MAX;
	char err[512];
	unsigned idle = 0;
	int l, rc;

	n_slots_cap = o.conns + 1024;
	slots = calloc(n_slots_cap, sizeof(*slots));
	sring = calloc(n_slots_cap, sizeof(*sring));
	shring = calloc(n_slots_cap, sizeof(*shring));
	if (slots == NULL || sring == NULL || shring == NULL)
		return 1;
	if (dps_init(err, sizeof(err)) < 0) {
		fprintf(stderr, "loadgen: %s\n", err);
		return 1;
	}
	l = dps_socket();
	if (l < 0 || (rc = dps_bind(l, &a)) < 0 || (rc = dps_listen(l, 65535)) < 0) {
		fprintf(stderr, "loadgen: cannot listen on port %u\n", port);
		dps_exit();
		return 1;
	}
	dps_setsockopt(l, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int)); /* children too */
	dps_set_callback(l, s_listen_event, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &su, NULL);
	fprintf(stderr, "loadgen: serving port %u mode %s, rss_kib %ld dpdk_heap %llu\n", port,
		o.mode == MODE_ECHO ? "echo" : "iot", status_kib("VmRSS"),
		(unsigned long long)dpdk_heap_bytes());
	while (!stop && now_ns() < end) {
		int n = dps_poll();

		if (dump) {
			dump = 0;
			s_print();
		}
		if (accept_due) {
			int h;

			accept_due = false;
			while ((h = dps_accept(l, NULL)) >= 0) {
				if ((uint32_t)h >= n_slots_cap) {
					dps_close(h);
					continue;
				}
				slots[h].open = true;
				s_accepted++;
				s_open++;
				dps_set_callback(h, s_event, (void *)(uintptr_t)h);
				s_event((void *)(uintptr_t)h, 0);
			}
		}
		for (uint32_t j = 0, q = shring_tail - shring_head; j < q; j++, n = 1)
			s_serve((int)shring[shring_head++ % n_slots_cap]);
		for (uint32_t j = 0, q = sring_tail - sring_head; j < q; j++, n = 1)
			s_serve((int)sring[sring_head++ % n_slots_cap]);
		if (n > 0) {
			idle = 0;
		} else if (++idle > 1000) {
			const struct timespec nap = { 0, 20000 };
			nanosleep(&nap, NULL);
		}
	}
	s_print();
	dps_exit();
	return 0;
}

/* ---- main ---- */

static void usage(void)
{
	fprintf(stderr,
		"usage: loadgen --connect A.B.C.D:PORT [--conns C] [--mode idle|iot|echo]\n"
		"       loadgen --serve PORT [--mode iot|echo] [--conns CAPACITY] [--duration S]\n"
		"         [--open-rate R/s] [--syn-max N] [--duration S] [--ramp-timeout S]\n"
		"         [--rate R/s] [--high FRACTION] [--hb SECONDS] [--req-size BYTES]\n"
		"         [--bytes N] [--src A.B.C.D-A.B.C.E] [--kernel] [--json] [--no-close]\n"
		"         [--progress S] [--warm N] [--high-conns]\n"
		"  dpsock is configured by DPSOCK_* variables (DPSOCK_DEV, DPSOCK_IP, ...)\n");
}

static int parse_args(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--kernel") == 0) {
			o.kernel = true;
			continue;
		}
		if (strcmp(a, "--json") == 0) {
			o.json = true;
			continue;
		}
		if (strcmp(a, "--no-close") == 0) {
			o.no_close = true;
			continue;
		}
		if (strcmp(a, "--high-conns") == 0) {
			o.high_conns = true;
			continue;
		}
		if (v == NULL)
			return -1;
		i++;
		if (strcmp(a, "--serve") == 0) {
			o.serve = (uint16_t)strtoul(v, NULL, 0);
			if (o.serve == 0)
				return -1;
		} else if (strcmp(a, "--connect") == 0) {
			char host[64];
			unsigned port;
			if (sscanf(v, "%63[0-9.]:%u", host, &port) != 2 || port == 0 ||
			    port > 65535 || inet_pton(AF_INET, host, &o.to.sin_addr) != 1)
				return -1;
			o.to.sin_family = AF_INET;
			o.to.sin_port = htons((uint16_t)port);
		} else if (strcmp(a, "--conns") == 0) {
			o.conns = (uint32_t)strtoul(v, NULL, 0);
		} else if (strcmp(a, "--mode") == 0) {
			if (strcmp(v, "idle") == 0)
				o.mode = MODE_IDLE;
			else if (strcmp(v, "iot") == 0)
				o.mode = MODE_IOT;
			else if (strcmp(v, "echo") == 0)
				o.mode = MODE_ECHO;
			else
				return -1;
		} else if (strcmp(a, "--open-rate") == 0) {
			o.open_rate = atof(v);
		} else if (strcmp(a, "--warm") == 0) {
			o.warm = (uint32_t)strtoul(v, NULL, 0);
		} else if (strcmp(a, "--syn-max") == 0) {
			o.syn_max = (uint32_t)strtoul(v, NULL, 0);
		} else if (strcmp(a, "--duration") == 0) {
			o.duration = atof(v);
		} else if (strcmp(a, "--ramp-timeout") == 0) {
			o.ramp_timeout = atof(v);
		} else if (strcmp(a, "--rate") == 0) {
			o.rate = atof(v);
		} else if (strcmp(a, "--high") == 0) {
			o.high = atof(v);
		} else if (strcmp(a, "--hb") == 0) {
			o.hb = atof(v);
		} else if (strcmp(a, "--req-size") == 0) {
			o.req_size = (uint32_t)strtoul(v, NULL, 0);
		} else if (strcmp(a, "--bytes") == 0) {
			o.bytes = (uint32_t)strtoul(v, NULL, 0);
		} else if (strcmp(a, "--progress") == 0) {
			o.progress = atof(v);
		} else if (strcmp(a, "--src") == 0) {
			char lo[32], hi[32];
			struct in_addr x, y;
			int n = sscanf(v, "%31[0-9.]-%31[0-9.]", lo, hi);
			if (n < 1 || inet_pton(AF_INET, lo, &x) != 1 ||
			    (n == 2 && inet_pton(AF_INET, hi, &y) != 1))
				return -1;
			if (n == 1)
				y = x;
			if (ntohl(y.s_addr) < ntohl(x.s_addr))
				return -1;
			o.src_first = ntohl(x.s_addr);
			o.src_count = ntohl(y.s_addr) - ntohl(x.s_addr) + 1;
		} else {
			return -1;
		}
	}
	if (o.serve != 0) {
		if (o.mode == MODE_IDLE)
			o.mode = MODE_IOT;
		return 0;
	}
	if (o.duration < 0)
		o.duration = 10;
	if (o.to.sin_family != AF_INET || o.conns == 0 || o.syn_max == 0 ||
	    o.req_size < IOT_HDR_LEN || o.req_size > IOT_MAX_LEN || o.high < 0 || o.high > 1)
		return -1;
	return 0;
}

static void progress(const char *phase, uint64_t t0, uint64_t now)
{
	fprintf(stderr,
		"loadgen: %s %.1f s: %u open, %u connecting, %llu failed, %llu req, %llu answers, "
		"RSS %ld KiB\n",
		phase, (double)(now - t0) / 1e9, n_open, n_connecting, (unsigned long long)k.failed,
		(unsigned long long)k.reqs, (unsigned long long)k.answers, status_kib("VmRSS"));
}

static void process_ring(uint64_t now, bool running)
{
	uint32_t n = hring_tail - hring_head;

	for (uint32_t j = 0; j < n && !stop; j++)
		conn_ready(hring[hring_head++ % ring_cap], now, running);
	n = ring_tail - ring_head;
	for (uint32_t j = 0; j < n && !stop; j++)
		conn_ready(ring[ring_head++ % ring_cap], now, running);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct report r = { 0 };
	uint64_t t0, t_ramp_end, t_run_end, next_progress, now;
	uint64_t reqs_due_base = 0, hb_sent = 0;
	uint32_t next_open = 0, req_cursor = 0, hb_cursor = 0;
	char err[512];
	bool ok = true, warm = false;
	uint32_t n_warm = o.warm < o.conns ? o.warm : o.conns;

	if (parse_args(argc, argv) < 0) {
		usage();
		return 2;
	}
	for (uint32_t i = 0; i < IOT_TABLE_SIZE; i++)
		table[i] = iot_table_value(i);
	if (o.serve != 0)
		return serve_main(o.serve);
	for (int i = 0; i < 3; i++) {
		struct dps_hist *h = malloc(dps_hist_size(6));

		if (h == NULL) {
			fprintf(stderr, "loadgen: no memory\n");
			return 1;
		}
		dps_hist_init(h, 6);
		*(i < 2 ? &h_lat[i] : &h_conn) = h;
	}
	conns = calloc(o.conns, sizeof(*conns));
	ring_cap = o.conns + 1;
	ring = calloc(ring_cap, sizeof(*ring));
	hring = calloc(ring_cap, sizeof(*hring));
	if (conns == NULL || ring == NULL || hring == NULL) {
		fprintf(stderr, "loadgen: no memory for %u connections\n", o.conns);
		return 1;
	}
	if (o.kernel) {
		struct rlimit rl = { o.conns + 64ul, o.conns + 64ul };
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0 && o.conns > 1000)
			fprintf(stderr, "loadgen: RLIMIT_NOFILE %lu: %s\n", rl.rlim_cur,
				strerror(errno));
		ep = epoll_create1(EPOLL_CLOEXEC);
		if (ep < 0)
			return 1;
	} else if (dps_init(err, sizeof(err)) < 0) {
		fprintf(stderr, "loadgen: %s\n", err);
		return 1;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	r.rss0 = (uint64_t)status_kib("VmRSS");
	r.heap0 = dpdk_heap_bytes();
	fprintf(stderr, "loadgen: ready\n");

	/* Ramp. */
	t0 = now = now_ns();
	next_progress = o.progress > 0 ? t0 + (uint64_t)(o.progress * 1e9) : UINT64_MAX;
	while (!stop && k.established + k.failed < o.conns) {
		bool busy =
		    op_poll(false) > 0 || ring_tail != ring_head || hring_tail != hring_head;

		now = now_ns();
		process_ring(now, false);
		/* The first --warm connections alone: they resolve ARP both ways, one per source
		 * address when the engine hands a range out in turn (a burst of SYNs or SYN-ACKs
		 * behind an unresolved neighbour is mostly dropped and retried a second later); the
		 * ramp's clock starts when they are up, and they count in it. */
		if (!warm && next_open == n_warm && k.established + k.failed < n_warm)
			continue;
		if (!warm && next_open == n_warm) {
			warm = true;
			t0 = now;
		}
		for (unsigned b = 0;
		     b < 256 && next_open < (warm ? o.conns : n_warm) && n_connecting < o.syn_max;
		     b++) {
			if (o.open_rate > 0 &&
			    (double)next_open >= (double)(now - t0) / 1e9 * o.open_rate)
				break;
			open_one(next_open++, now);
			busy = true;
		}
		if (now >= next_progress) {
			progress("ramp", t0, now);
			next_progress = now + (uint64_t)(o.progress * 1e9);
		}
		if (now - t0 > (uint64_t)(o.ramp_timeout * 1e9)) {
			fprintf(stderr, "loadgen: ramp timeout after %.0f s\n", o.ramp_timeout);
			break;
		}
		if (!busy && o.kernel)
			op_poll(true);
	}
	t_ramp_end = now_ns();
	r.ramp_s = (double)(t_ramp_end - t0) / 1e9;
	r.peak_open = n_open;
	r.rss1 = (uint64_t)status_kib("VmRSS");
	r.heap1 = dpdk_heap_bytes();
	progress("ramp done", t0, t_ramp_end);

	/* Run. */
	t_run_end = t_ramp_end + (uint64_t)(o.duration * 1e9);
	if (o.mode == MODE_ECHO)
		for (uint32_t i = 0; i < o.conns; i++)
			if (conns[i].state == C_OPEN)
				ring_push(i);
	while (!stop && (now = now_ns()) < t_run_end) {
		bool busy =
		    op_poll(false) > 0 || ring_tail != ring_head || hring_tail != hring_head;
		double el = (double)(now - t_ramp_end) / 1e9;

		process_ring(now, true);
		if (o.mode == MODE_IOT && n_open > 0) {
			uint64_t due = o.rate > 0 ? (uint64_t)(el * o.rate) : reqs_due_base + 64;
			uint8_t msg[IOT_MAX_LEN];

			for (unsigned b = 0; b < 256 && k.reqs + k.send_blocked < due; b++) {
				uint32_t i = req_cursor++ % o.conns;
				struct lconn *c = &conns[i];

				if (c->state != C_OPEN) {
					if (b > 0 && (req_cursor % o.conns) == 0)
						break;
					continue;
				}
				if (c->pend_len > 0) {
					k.send_blocked++;
					continue;
				}
				build_request(msg, i, c->sent, now);
				k.reqs++;
				k.high_reqs += msg[0] == IOT_CLS_HIGH;
				c->sent++;
				conn_send(i, msg, o.req_size);
				busy = true;
			}
			if (o.rate <= 0)
				reqs_due_base = k.reqs + k.send_blocked;
			if (o.hb > 0) {
				uint64_t hb_due = (uint64_t)(el * (double)n_open / o.hb);
				for (unsigned b = 0; b < 256 && hb_sent < hb_due; b++) {
					uint32_t i = hb_cursor++ % o.conns;
					struct iot_msg m = { .cls = IOT_CLS_LOW,
							     .type = IOT_HEARTBEAT,
							     .len = IOT_HDR_LEN,
							     .ts_ns = now };

					if (conns[i].state != C_OPEN || conns[i].pend_len > 0)
						continue;
					hb_sent++;
					k.hbs++;
					conn_send(i, (const uint8_t *)&m, sizeof(m));
				}
			}
		}
		if (o.mode == MODE_ECHO && k.echo_bytes == (uint64_t)n_open * o.bytes &&
		    ring_tail == ring_head && hring_tail == hring_head)
			break; /* every connection echoed */
		if (now >= next_progress) {
			progress("run", t0, now);
			next_progress = now + (uint64_t)(o.progress * 1e9);
		}
		if (!busy && (o.mode == MODE_IDLE || o.kernel))
			op_poll(true);
	}
	r.run_s = (double)(now_ns() - t_ramp_end) / 1e9;
	/* Drain: the answers still due. */
	for (uint64_t end = now_ns() + 2 * NS;
	     !stop && o.mode == MODE_IOT && k.answers + k.bad_answers < k.reqs && now_ns() < end;) {
		op_poll(false);
		process_ring(now_ns(), false);
	}
	r.hwm = (uint64_t)status_kib("VmHWM");
	if (k.established < o.conns || k.bad_answers > 0 || k.echo_bad > 0 ||
	    (o.mode == MODE_IOT && k.answers < k.reqs) ||
	    (o.mode == MODE_ECHO && k.echo_bytes < (uint64_t)k.established * o.bytes) ||
	    k.failed > 0)
		ok = false;
	r.ok = ok;
	report(&r);
	if (!o.no_close) {
		for (uint32_t i = 0; i < o.conns; i++)
			if (conns[i].state == C_OPEN)
				op_close(conns[i].s);
		if (!o.kernel)
			dps_drain(2 * NS);
	}
	if (!o.kernel && !o.no_close)
		dps_exit();
	return ok ? 0 : 1;
}
