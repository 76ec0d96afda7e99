/* shim_fix: see shim_fix.h. */
#include "shim_fix.h"

#include "dev.h"
#include "dps_conf.h"
#include "dps_mempool.h"
#include "dps_stack.h"
#include "tcp_api.h"
#include "test/unit/eal_test.h"

#include <arpa/inet.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_mbuf.h>
#include <rte_mempool.h>

/* stack/api.c, for tests only (hidden; declared there, not in a header). */
int dps_api_adopt_engine(struct dps_engine *e, struct rte_mempool *mp, struct dps_conf *c);
/* What the shim calls instead of dps_init_env in these programs (-Wl,--wrap=dps_init_env). */
int __wrap_dps_init_env(char **envp, char *err, size_t errlen);

#define POOL_N 2047
#define RING_N 1024
#define N_LATER 8

static const struct rte_ether_addr stack_mac = { { 0x02, 0, 0, 0, 0, 0x02 } };
static const struct rte_ether_addr peer_mac = { { 0x02, 0, 0, 0, 0, 0x01 } };

struct later {
	uint64_t at; /* 0: not yet armed (the main coroutine was not blocked yet) */
	unsigned ms;
	void (*fn)(void *arg);
	void *arg;
	bool used;
};

static struct {
	struct rte_mempool *peer_pool, *shim_pool;
	struct dps_dev *peer_dev, *shim_dev;
	struct dps_engine *peer;
	struct dps_conf peer_conf;
	unsigned starts;
	bool stopping;
	pthread_t main_thread;
	/* passes of the wire coroutine, which runs only while the main one is blocked */
	atomic_uint wire_runs;
	struct later later[N_LATER];
	uint16_t port;
} F;

/*
 * The configuration the shim loads (it copies DPSOCK_* in its constructor of priority 103):
 * small tables, no telemetry, no kernel companion listeners, a high class for 100-200 byte
 * payloads (the ready list's order), idle spin off (a blocked test sleeps at once).
 */
__attribute__((constructor(101))) static void fix_env(void)
{
	setenv("DPSOCK_IP", STACK_IP "/24", 1);
	setenv("DPSOCK_DEV", "dev_mem", 1);
	setenv("DPSOCK_TCP_MAX_CONNS", "1024", 1);
	setenv("DPSOCK_MBUFS", "2047", 1);
	setenv("DPSOCK_TELEMETRY", "0", 1);
	setenv("DPSOCK_LISTEN_KERNEL", "0", 1);
	setenv("DPSOCK_IDLE_SPIN_US", "0", 1);
	setenv("DPSOCK_LOG_LEVEL", "warning", 1);
	setenv("DPSOCK_PRIORITY", "len 100-200 -> high; * -> low", 1);
	unsetenv("DPSOCK_CONFIG");
}

int __wrap_dps_init_env(char **envp, char *err, size_t errlen)
{
	struct rte_mempool *mp;
	struct dps_engine *e;
	struct dps_conf c;
	int rc;

	F.starts++;
	rc = dps_conf_load(&c, envp, err, errlen);
	if (rc < 0)
		return rc;
	mp = dps_pktpool_create("shim_pkt", (unsigned)c.mbufs, (unsigned)c.mtu, SOCKET_ID_ANY, &rc);
	CHECK(mp != NULL);
	CHECK_EQ(dps_dev_mem_create("shimdev", &stack_mac, RING_N, &F.shim_dev), 0);
	rc = dps_engine_create(&c, F.shim_dev, mp, dps_now_ns(), &e, err, errlen);
	CHECK_EQ(rc, 0);
	CHECK_EQ(dps_api_adopt_engine(e, mp, &c), 0);
	F.shim_pool = mp;
	return 0;
}

unsigned fix_engine_starts(void)
{
	return F.starts;
}

/* ---- the wire ---- */

/* Frames sent on from arrive on to, each copied into one buffer of to's pool, as a NIC receives
 * them (the engine sends chains, and the priority rules look at the first buffer only). */
static unsigned move(struct dps_dev *from, struct dps_dev *to, struct rte_mempool *to_pool)
{
	struct rte_mbuf *m[64], *c[64];
	unsigned n, k, total = 0;

	while ((n = dps_dev_mem_collect(from, m, 64)) > 0) {
		for (unsigned i = 0; i < n; i++) {
			uint32_t len = rte_pktmbuf_pkt_len(m[i]);
			const void *src;
			void *dst;

			c[i] = rte_pktmbuf_alloc(to_pool);
			CHECK(c[i] != NULL);
			CHECK(len <= rte_pktmbuf_tailroom(c[i]));
			dst = rte_pktmbuf_append(c[i], (uint16_t)len);
			src = rte_pktmbuf_read(m[i], 0, len, dst); /* copies only a chain */
			if (src != dst)
				memcpy(dst, src, len);
			rte_pktmbuf_free(m[i]);
		}
		k = dps_dev_mem_inject(to, c, n);
		for (unsigned i = k; i < n; i++)
			rte_pktmbuf_free(c[i]); /* lost on the wire (a full ring) */
		total += n;
	}
	return total;
}

/* Frames both ways, the peer polled: how many frames moved. */
static unsigned pump(void)
{
	unsigned n;

	if (F.shim_dev == NULL)
		return 0;
	n = move(F.shim_dev, F.peer_dev, F.peer_pool);
	while (dps_engine_poll(F.peer, dps_now_ns()) > 0) /* bursts, timers, the tx flush */
		;
	return n + move(F.peer_dev, F.shim_dev, F.shim_pool);
}

void settle(void)
{
	for (int quiet = 0, i = 0; quiet < 2 && i < 10000; i++) {
		shim_lock();
		shim_poll_locked(true);
		while (dps_poll() > 0)
			;
		shim_unlock();
		quiet = pump() == 0 ? quiet + 1 : 0;
	}
}

static void run_later(void)
{
	uint64_t now = dps_now_ns();

	for (unsigned i = 0; i < N_LATER; i++) {
		struct later *l = &F.later[i];

		if (!l->used)
			continue;
		if (l->at == 0)
			l->at = now + l->ms * 1000000ull;
		if (now >= l->at) {
			l->used = false;
			l->fn(l->arg);
		}
	}
}

/* Runs only while the main coroutine is parked in the shim (the test never yields otherwise). */
static void *wire_main(void *arg)
{
	(void)arg;
	while (!F.stopping) {
		atomic_fetch_add(&F.wire_runs, 1);
		pump();
		run_later();
		pump();
		(void)dps_sleep_ns(100000);
	}
	return NULL;
}

void later(unsigned ms, void (*fn)(void *arg), void *arg)
{
	for (unsigned i = 0; i < N_LATER; i++)
		if (!F.later[i].used) {
			F.later[i] = (struct later){ .ms = ms, .fn = fn, .arg = arg, .used = true };
			return;
		}
	CHECK(!"too many later() actions");
}

struct send_arg {
	int h;
	const char *s;
};

static void send_now(void *arg)
{
	struct send_arg *a = arg;

	peer_send_str(a->h, a->s);
	free(a);
}

void later_send(unsigned ms, int h, const char *s)
{
	struct send_arg *a = malloc(sizeof(*a));

	CHECK(a != NULL);
	a->h = h;
	a->s = s;
	later(ms, send_now, a);
}

/* ---- kicks from another thread ---- */

struct kick {
	pthread_t th;
	unsigned ms;
	int sig, fd;
};

static void *kick_main(void *arg)
{
	struct kick *k = arg;
	unsigned seen = atomic_load(&F.wire_runs);
	struct timespec t = { (time_t)(k->ms / 1000), (long)(k->ms % 1000) * 1000000 };
	struct timespec tick = { 0, 100000 };

	while (atomic_load(&F.wire_runs) == seen) /* the main coroutine is not blocked yet */
		nanosleep(&tick, NULL);
	nanosleep(&t, NULL);
	if (k->sig > 0)
		pthread_kill(F.main_thread, k->sig);
	if (k->fd >= 0)
		CHECK_EQ(real_write(k->fd, "k", 1), 1);
	return NULL;
}

static struct kick *kick_new(unsigned ms, int sig, int fd)
{
	struct kick *k = calloc(1, sizeof(*k));

	CHECK(k != NULL);
	k->ms = ms;
	k->sig = sig;
	k->fd = fd;
	CHECK_EQ(pthread_create(&k->th, NULL, kick_main, k), 0);
	return k;
}

struct kick *kick_signal(unsigned ms, int sig)
{
	return kick_new(ms, sig, -1);
}

struct kick *kick_write(unsigned ms, int fd)
{
	return kick_new(ms, 0, fd);
}

void kick_join(struct kick *k)
{
	CHECK_EQ(pthread_join(k->th, NULL), 0);
	free(k);
}

/* ---- start and stop ---- */

static void peer_conf_set(const char *key, const char *value)
{
	char err[512];

	CHECK_EQ(dps_conf_set(&F.peer_conf, key, value, DPS_SRC_ARG, "test", err, sizeof(err)), 0);
}

void fix_start(const char *prog)
{
	char err[512];

	F.main_thread = pthread_self();
	F.port = 20000;
	CHECK(test_eal_start(prog, "256") >= 0);
	F.peer_pool = rte_pktmbuf_pool_create("peer_pkt", POOL_N, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					      SOCKET_ID_ANY);
	CHECK(F.peer_pool != NULL);
	CHECK_EQ(dps_conf_init(&F.peer_conf, err, sizeof(err)), 0);
	peer_conf_set("ip", PEER_IP "/24");
	peer_conf_set("tcp_max_conns", "1024");
	CHECK_EQ(dps_dev_mem_create("peerdev", &peer_mac, RING_N, &F.peer_dev), 0);
	CHECK_EQ(dps_engine_create(&F.peer_conf, F.peer_dev, F.peer_pool, dps_now_ns(), &F.peer,
				   err, sizeof(err)),
		 0);
	CHECK_EQ(dps_go(wire_main, NULL, NULL, NULL), 0);
	/* A write to a reset connection must fail, not kill the test. */
	CHECK(signal(SIGPIPE, SIG_IGN) != SIG_ERR);
}

void fix_stop(void)
{
	F.stopping = true;
	/* The peer first: it holds frames of the shim's pool, and the shim's engine the peer's. */
	dps_engine_destroy(F.peer);
	dps_exit();
	F.shim_dev = NULL;
	rte_mempool_free(F.peer_pool);
	dps_conf_free(&F.peer_conf);
	test_eal_stop();
}

/* ---- the peer ---- */

int peer_connect(uint16_t port)
{
	int h = dps_tcp_socket(F.peer);

	CHECK(h >= 0);
	CHECK_EQ(dps_tcp_connect(F.peer, h, inet_addr(STACK_IP), port, dps_now_ns()), -EINPROGRESS);
	return h;
}

int peer_listen(uint16_t port)
{
	int h = dps_tcp_socket(F.peer);

	CHECK(h >= 0);
	CHECK_EQ(dps_tcp_bind(F.peer, h, inet_addr(PEER_IP), port), 0);
	CHECK_EQ(dps_tcp_listen(F.peer, h, 16), 0);
	return h;
}

int peer_accept(int lh)
{
	int h = dps_tcp_accept(F.peer, lh, NULL, NULL);

	CHECK(h >= 0);
	return h;
}

void peer_send(int h, const void *buf, size_t n)
{
	CHECK_EQ(dps_tcp_send(F.peer, h, buf, n, 0, dps_now_ns()), (long)n);
}

void peer_send_str(int h, const char *s)
{
	peer_send(h, s, strlen(s));
}

long peer_recv(int h, void *buf, size_t n)
{
	return dps_tcp_recv(F.peer, h, buf, n, 0, dps_now_ns());
}

void peer_shutdown_wr(int h)
{
	CHECK_EQ(dps_tcp_shutdown(F.peer, h, SHUT_WR, dps_now_ns()), 0);
}

void peer_close(int h)
{
	CHECK_EQ(dps_tcp_close(F.peer, h, dps_now_ns()), 0);
}

void peer_abort(int h)
{
	struct linger lg = { 1, 0 };

	CHECK_EQ(dps_tcp_setsockopt(F.peer, h, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	peer_close(h);
}

uint32_t peer_events(int h)
{
	int e = dps_tcp_events(F.peer, h);

	CHECK(e >= 0);
	return (uint32_t)e;
}

/* ---- the shim side ---- */

uint16_t next_port(void)
{
	return ++F.port;
}

int shim_listener(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	CHECK(fd >= 0);
	a.sin_addr.s_addr = inet_addr(STACK_IP);
	CHECK_EQ(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	CHECK_EQ(listen(fd, 16), 0);
	return fd;
}

int shim_conn(int *peer_h)
{
	uint16_t port = next_port();
	int lfd = shim_listener(port), fd;

	*peer_h = peer_connect(port);
	settle();
	fd = accept(lfd, NULL, NULL);
	CHECK(fd >= 0);
	CHECK(fd_psock(fd) != NULL);
	CHECK_EQ(close(lfd), 0);
	settle();
	return fd;
}

int revents(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };

	return poll(&p, 1, 0) < 0 ? -1 : p.revents;
}

long drain(int fd)
{
	static char buf[65536];

	return recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
}

/* ---- the kernel ---- */

int kernel_listener(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = real_socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CHECK(fd >= 0);
	CHECK_EQ(real_bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	CHECK_EQ(real_listen(fd, 16), 0);
	CHECK_EQ(real_getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

void kernel_pair(int *cli, int *srv)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	uint16_t port;
	int l = kernel_listener(&port);

	a.sin_port = htons(port);
	*cli = real_socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(*cli >= 0);
	CHECK_EQ(real_connect(*cli, (struct sockaddr *)&a, sizeof(a)), 0);
	*srv = real_accept4(l, NULL, NULL, SOCK_CLOEXEC);
	CHECK(*srv >= 0);
	real_close(l);
}

int kernel_revents(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };
	struct timespec settle_ns = { 0, 2000000 }; /* loopback delivers at once; a margin */

	nanosleep(&settle_ns, NULL);
	return real_poll(&p, 1, 0) < 0 ? -1 : p.revents;
}

void kernel_abort(int fd)
{
	struct linger lg = { 1, 0 };

	CHECK_EQ(real_setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	CHECK_EQ(real_close(fd), 0);
}

double ms_since(uint64_t t0)
{
	return (double)(dps_now_ns() - t0) / 1e6;
}
