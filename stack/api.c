/* api: the process's engine behind include/dpsock.h. */
#include "dps_sys.h"
#include "dpsock.h"
#include "dpsock_coroutine.h"

#include "dev.h"
#include "conf_validate.h"
#include "dev_impair.h"
#include "dps_conf.h"
#include "dps_eal.h"
#include "dps_log.h"
#include "dps_mempool.h"
#include "dps_stack.h"
#include "tcp.h"
#include "tcp_api.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <rte_mempool.h>

extern char **environ;

static struct dps_engine *engine;
static int dev_lock_fd = -1;
static struct rte_mempool *pool;
static struct dps_conf conf;

/* Kernel fds that become readable when the device has received frames (see dps_wait_fds). */
#define MAX_WAIT_FDS 8
static int wait_fds[MAX_WAIT_FDS];
static int n_wait_fds;

/*
 * One process per device (DESIGN.md §6): an flock on /run/dpsock/<device>.lock, held while the
 * engine runs (the kernel drops it when the process dies, so a crash leaves nothing behind). A
 * busy device is waited for up to dev_wait_ms (nginx's reload: the old worker lets go once it has
 * drained), then refused with the holder's pid.
 */
static int dev_lock(const struct dps_conf *c, char *err, size_t errlen)
{
	char path[256], who[32] = "";
	uint64_t waited = 0;
	int fd, n;

	(void)mkdir("/run/dpsock", 0755);
	n = snprintf(path, sizeof(path), "/run/dpsock/");
	for (const char *p = c->dev; *p != '\0' && n < (int)sizeof(path) - 6; p++)
		path[n++] = (char)((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
					   (*p >= '0' && *p <= '9') || *p == '.' || *p == '-'
				       ? *p
				       : '_');
	snprintf(path + n, sizeof(path) - (size_t)n, ".lock");
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open the device lock %s: %s", path, strerror(errno));
		return -errno;
	}
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK || waited >= c->dev_wait_ms) {
			ssize_t r = pread(fd, who, sizeof(who) - 1, 0);

			who[r > 0 ? r : 0] = '\0';
			who[strcspn(who, "\n")] = '\0';
			snprintf(err, errlen,
				 "device '%s' is in use by process %s (lock %s; waited %llu ms, "
				 "dev_wait_ms)",
				 c->dev, who[0] ? who : "?", path, (unsigned long long)waited);
			dps_sys_close(fd);
			return -EBUSY;
		}
		if (waited == 0)
			DPS_LOG(NOTICE, "device %s is busy: waiting up to %llu ms", c->dev,
				(unsigned long long)c->dev_wait_ms);
		usleep(10000);
		waited += 10;
	}
	n = snprintf(who, sizeof(who), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) == 0 && pwrite(fd, who, (size_t)n, 0) < 0)
		DPS_LOG(WARNING, "cannot write %s: %s", path, strerror(errno));
	dev_lock_fd = fd;
	return 0;
}

static void dev_unlock(void)
{
	if (dev_lock_fd >= 0) {
		dps_sys_close(dev_lock_fd); /* releases the flock */
		dev_lock_fd = -1;
	}
}

/* The open fd numbers of the process, as a bitmap of nbits bits (NULL on failure). */
static uint64_t *fd_snapshot(unsigned *nbits)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	uint64_t *map;
	unsigned n = 0;

	if (d == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL) {
		long fd = strtol(de->d_name, NULL, 10);

		if (de->d_name[0] >= '0' && de->d_name[0] <= '9' && fd >= 0 && (unsigned)fd >= n)
			n = (unsigned)fd + 1;
	}
	map = calloc(n / 64 + 1, sizeof(*map));
	if (map != NULL) {
		rewinddir(d);
		while ((de = readdir(d)) != NULL) {
			long fd = strtol(de->d_name, NULL, 10);

			if (de->d_name[0] >= '0' && de->d_name[0] <= '9' && (unsigned)fd < n)
				map[fd / 64] |= 1ull << (fd % 64);
		}
	}
	*nbits = n;
	closedir(d);
	return map;
}

/*
 * The device's own kernel sockets (af_packet and af_xdp PMDs keep one per queue): the fds that are
 * packet or XDP sockets now and were not open before DPDK started. They poll readable when frames
 * wait in their rx ring, which lets an idle process sleep in the kernel and still wake at the first
 * frame (DESIGN.md §4: the device's rx interrupt, where it has one).
 */
static void find_wait_fds(const uint64_t *before, unsigned nbefore)
{
	unsigned nafter;
	uint64_t *after = fd_snapshot(&nafter);

	n_wait_fds = 0;
	dps_telemetry_detach();
	if (after == NULL)
		return;
	for (unsigned fd = 0; fd < nafter && n_wait_fds < MAX_WAIT_FDS; fd++) {
		int dom = 0;
		socklen_t len = sizeof(dom);

		if (!(after[fd / 64] & (1ull << (fd % 64))))
			continue;
		if (before != NULL && fd < nbefore && (before[fd / 64] & (1ull << (fd % 64))))
			continue;
		if (dps_sys_getsockopt((int)fd, SOL_SOCKET, SO_DOMAIN, &dom, &len) == 0 &&
		    (dom == AF_PACKET || dom == 44 /* AF_XDP */))
			wait_fds[n_wait_fds++] = (int)fd;
	}
	free(after);
}

int dps_init(char *err, size_t errlen)
{
	return dps_init_env(environ, err, errlen);
}

int dps_init_env(char **envp, char *err, size_t errlen)
{
	struct dps_dev *dev = NULL;
	char why[DPS_CONF_ERRLEN];
	uint64_t *before = NULL;
	unsigned nbefore = 0;
	int rc;

	if (engine != NULL)
		return -EALREADY;
	rc = dps_conf_load(&conf, envp, err, errlen);
	if (rc < 0)
		return rc;
	/* Every value check before anything is touched; `dpsock config` and `dpsock run` make the
	 * same call (conf_validate.h). */
	rc = dps_conf_validate(&conf, err, errlen);
	if (rc < 0)
		goto err_conf;
	rc = dev_lock(&conf, err, errlen);
	if (rc < 0)
		goto err_conf;
	before = fd_snapshot(&nbefore);
	rc = dps_eal_start(&conf, err, errlen);
	if (rc < 0)
		goto err_conf;
	pool = dps_pktpool_create("dps_pkt", (unsigned)conf.mbufs, (unsigned)conf.mtu,
				  SOCKET_ID_ANY, &rc);
	if (pool == NULL) {
		snprintf(err, errlen,
			 "cannot allocate %llu packet buffers: %s (lower mbufs, or raise mem_mb)",
			 (unsigned long long)conf.mbufs, strerror(-rc));
		goto err_eal;
	}
	rc = dps_dev_dpdk_open(conf.dev, &conf, pool, &dev, err, errlen);
	if (rc < 0)
		goto err_pool;
	if (conf.impair[0] != '\0') {
		struct dps_impair_conf rx, tx;
		struct dps_dev *wrapped;
		uint64_t seed = 1;

		rc = dps_impair_parse(conf.impair, "DPSOCK_IMPAIR", &rx, &tx, &seed, err, errlen);
		if (rc == 0)
			rc = dps_dev_impair_create(dev, &rx, &tx, seed, NULL, NULL, &wrapped);
		if (rc < 0) {
			if (rc != -EINVAL || err[0] == '\0')
				snprintf(err, errlen, "DPSOCK_IMPAIR: cannot wrap the device: %s",
					 strerror(-rc));
			dps_dev_close(dev);
			goto err_pool;
		}
		dev = wrapped;
		DPS_LOG(NOTICE, "fault injection on %s: %s", conf.dev, conf.impair);
	}
	rc = dps_engine_create(&conf, dev, pool, dps_now_ns(), &engine, why, sizeof(why));
	if (rc < 0) {
		snprintf(err, errlen, "%s", why);
		dps_dev_close(dev);
		goto err_pool;
	}
	find_wait_fds(before, nbefore);
	dps_telemetry_attach(engine, &conf);
	free(before);
	DPS_LOG(INFO, "engine up on %s, MAC " RTE_ETHER_ADDR_PRT_FMT ", %d wait fd(s)", conf.dev,
		RTE_ETHER_ADDR_BYTES(&dev->mac), n_wait_fds);
	return 0;
err_pool:
	rte_mempool_free(pool);
	pool = NULL;
err_eal:
	dps_eal_stop();
err_conf:
	free(before);
	dev_unlock();
	dps_conf_free(&conf);
	return rc;
}

/*
 * stats_interval: one line on stderr every N seconds (mTCP's per-second line), rates over the
 * interval: frames and Mbit/s each way, connections (established / all), drops, retransmissions.
 */
static void stats_line(uint64_t now)
{
	static uint64_t last_ns, last[6];
	uint64_t cur[6], drops = 0;
	double dt;

	if (conf.stats_interval == 0 || now - last_ns < conf.stats_interval * 1000000000ull)
		return;
	for (unsigned i = 1; i < DPS_DROP_COUNT; i++)
		drops += engine->drop[i];
	cur[0] = engine->ctr[DPS_CTR_rx_frames];
	cur[1] = engine->ctr[DPS_CTR_rx_bytes];
	cur[2] = engine->ctr[DPS_CTR_tx_frames];
	cur[3] = engine->ctr[DPS_CTR_tx_bytes];
	cur[4] = drops;
	cur[5] = engine->ctr[DPS_CTR_tcp_rexmit_rto] + engine->ctr[DPS_CTR_tcp_rexmit_fast];
	if (last_ns != 0) {
		dt = (double)(now - last_ns) / 1e9;
		fprintf(
		    stderr,
		    "dpsock[%d]: rx %.0f pps %.1f Mbit/s, tx %.0f pps %.1f Mbit/s, "
		    "conns %u est %u, drops %llu, rexmit %llu\n",
		    (int)getpid(), (double)(cur[0] - last[0]) / dt,
		    (double)(cur[1] - last[1]) * 8 / dt / 1e6, (double)(cur[2] - last[2]) / dt,
		    (double)(cur[3] - last[3]) * 8 / dt / 1e6,
		    engine->tcp != NULL ? (unsigned)engine->tcp->conns : 0,
		    engine->tcp != NULL ? (unsigned)engine->tcp->by_state[DPS_TCP_ESTABLISHED] : 0,
		    (unsigned long long)(cur[4] - last[4]), (unsigned long long)(cur[5] - last[5]));
	}
	memcpy(last, cur, sizeof(last));
	last_ns = now;
}

int dps_poll(void)
{
	uint64_t now;
	int n;

	if (engine == NULL)
		return -ENODEV;
	now = dps_now_ns();
	n = (int)dps_engine_poll(engine, now);
	stats_line(now);
	return n;
}

int dps_wait_fds(int *fds, int max)
{
	int n = 0;

	if (engine == NULL)
		return -ENODEV;
	for (; n < n_wait_fds && n < max; n++)
		fds[n] = wait_fds[n];
	return n;
}

uint64_t dps_next_deadline(void)
{
	uint64_t at, tcp;

	if (engine == NULL)
		return DPS_DEADLINE_NONE;
	at = engine->next_timer_ns;
	tcp = engine->tcp != NULL ? dps_wheel_next_expiry(&engine->tcp->wheel) : DPS_DEADLINE_NONE;
	return tcp < at ? tcp : at;
}

/* Connections still exchanging packets: not closed, listening or in TIME_WAIT. */
static unsigned active_conns(void)
{
	unsigned n = 0;

	if (engine->tcp == NULL)
		return 0;
	for (unsigned st = 0; st < DPS_TCP_NSTATES; st++)
		if (st != DPS_TCP_CLOSED && st != DPS_TCP_LISTEN && st != DPS_TCP_TIME_WAIT)
			n += engine->tcp->by_state[st];
	return n;
}

int dps_drain(uint64_t max_ns)
{
	uint64_t until = dps_now_ns() + max_ns;
	struct timespec nap = { 0, 200000 };

	if (engine == NULL)
		return -ENODEV;
	do {
		dps_engine_poll(engine, dps_now_ns());
		if (active_conns() == 0)
			break;
		nanosleep(&nap, NULL);
	} while (dps_now_ns() < until);
	dps_engine_flush(engine);
	return (int)active_conns();
}

int dps_flush(void)
{
	if (engine == NULL)
		return -ENODEV;
	dps_engine_flush(engine);
	return 0;
}

void dps_exit(void)
{
	if (engine == NULL)
		return;
	n_wait_fds = 0;
	dps_telemetry_detach();
	dps_engine_destroy(engine);
	engine = NULL;
	rte_mempool_free(pool);
	pool = NULL;
	dps_eal_stop();
	dev_unlock();
	dps_conf_free(&conf);
}

int dps_counters(void (*fn)(const char *name, uint64_t value, void *arg), void *arg)
{
	unsigned n = dps_engine_counter_count();

	if (engine == NULL)
		return -ENODEV;
	struct dps_dev_stats st;

	for (unsigned i = 0; i < n; i++)
		fn(dps_engine_counter_name(i), dps_engine_counter_value(engine, i), arg);
	/* The device's own view (what the PMD counted): losses below the engine show here. */
	if (engine->dev->ops->stats(engine->dev, &st) == 0) {
		fn("dev_rx_frames", st.rx_frames, arg);
		fn("dev_tx_frames", st.tx_frames, arg);
		fn("dev_rx_missed", st.rx_missed, arg);
		fn("dev_rx_errors", st.rx_errors, arg);
		fn("dev_rx_nombuf", st.rx_nombuf, arg);
		fn("dev_tx_errors", st.tx_errors, arg);
		n += 6;
	}
	return (int)n;
}

/* ---- TCP sockets ---- */

#define ENGINE_OR_ENODEV()              \
	do {                            \
		if (engine == NULL)     \
			return -ENODEV; \
	} while (0)

int dps_socket(void)
{
	ENGINE_OR_ENODEV();
	return dps_tcp_socket(engine);
}

int dps_bind(int s, const struct sockaddr_in *a)
{
	ENGINE_OR_ENODEV();
	if (a->sin_family != AF_INET)
		return -EAFNOSUPPORT;
	return dps_tcp_bind(engine, s, a->sin_addr.s_addr, ntohs(a->sin_port));
}

int dps_listen(int s, int backlog)
{
	ENGINE_OR_ENODEV();
	return dps_tcp_listen(engine, s, backlog);
}

int dps_accept(int s, struct sockaddr_in *peer)
{
	uint32_t addr;
	uint16_t port;
	int rc;

	ENGINE_OR_ENODEV();
	rc = dps_tcp_accept(engine, s, &addr, &port);
	if (rc >= 0 && peer != NULL) {
		memset(peer, 0, sizeof(*peer));
		peer->sin_family = AF_INET;
		peer->sin_addr.s_addr = addr;
		peer->sin_port = htons(port);
	}
	return rc;
}

int dps_connect(int s, const struct sockaddr_in *a)
{
	ENGINE_OR_ENODEV();
	if (a->sin_family != AF_INET)
		return -EAFNOSUPPORT;
	return dps_tcp_connect(engine, s, a->sin_addr.s_addr, ntohs(a->sin_port), dps_now_ns());
}

long dps_send(int s, const void *buf, size_t len, int flags)
{
	ENGINE_OR_ENODEV();
	return dps_tcp_send(engine, s, buf, len, flags, dps_now_ns());
}

long dps_recv(int s, void *buf, size_t len, int flags)
{
	ENGINE_OR_ENODEV();
	return dps_tcp_recv(engine, s, buf, len, flags, dps_now_ns());
}

int dps_shutdown(int s, int how)
{
	ENGINE_OR_ENODEV();
	return dps_tcp_shutdown(engine, s, how, dps_now_ns());
}

int dps_close(int s)
{
	ENGINE_OR_ENODEV();
	return dps_tcp_close(engine, s, dps_now_ns());
}

int dps_setsockopt(int s, int level, int name, const void *val, uint32_t len)
{
	ENGINE_OR_ENODEV();
	return dps_tcp_setsockopt(engine, s, level, name, val, len);
}

int dps_setsockopt_check(int level, int name, const void *val, uint32_t len)
{
	return dps_tcp_sockopt_check(level, name, val, len);
}

int dps_getsockopt(int s, int level, int name, void *val, uint32_t *len)
{
	ENGINE_OR_ENODEV();
	return dps_tcp_getsockopt(engine, s, level, name, val, len);
}

static int name_of(int s, struct sockaddr_in *a,
		   int (*fn)(struct dps_engine *, int, uint32_t *, uint16_t *))
{
	uint32_t addr;
	uint16_t port;
	int rc;

	ENGINE_OR_ENODEV();
	rc = fn(engine, s, &addr, &port);
	if (rc == 0) {
		memset(a, 0, sizeof(*a));
		a->sin_family = AF_INET;
		a->sin_addr.s_addr = addr;
		a->sin_port = htons(port);
	}
	return rc;
}

int dps_getsockname(int s, struct sockaddr_in *a)
{
	return name_of(s, a, dps_tcp_getsockname);
}

int dps_getpeername(int s, struct sockaddr_in *a)
{
	return name_of(s, a, dps_tcp_getpeername);
}

int dps_events(int s)
{
	ENGINE_OR_ENODEV();
	return dps_tcp_events(engine, s);
}

int dps_set_callback(int s, void (*fn)(void *arg, uint32_t events), void *arg)
{
	ENGINE_OR_ENODEV();
	return dps_tcp_set_callback(engine, s, fn, arg);
}

int dps_queued(int s, int tx)
{
	ENGINE_OR_ENODEV();
	return dps_tcp_queued(engine, s, tx);
}

/*
 * For the shim's unit tests only (test/unit/preload/shim_fix.c): make e, built elsewhere with
 * packets from mp and the configuration *c, the process's engine, as dps_init_env does once it
 * has opened a device; e, mp and *c's allocations are owned here from then on (dps_exit frees
 * them). The tests build e over the in-memory device: no EAL device, no root. Hidden, and not in
 * libdpsock.map: libdpsock.so never exports it. Errors: -EALREADY (an engine runs).
 */
__attribute__((visibility("hidden"))) int
dps_api_adopt_engine(struct dps_engine *e, struct rte_mempool *mp, struct dps_conf *c);
__attribute__((visibility("hidden"))) int
dps_api_adopt_engine(struct dps_engine *e, struct rte_mempool *mp, struct dps_conf *c)
{
	if (engine != NULL)
		return -EALREADY;
	engine = e;
	pool = mp;
	conf = *c;
	n_wait_fds = 0;
	return 0;
}
