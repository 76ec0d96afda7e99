/*
 * api: the thin native API of include/dpsock.h on the process's engine, which start.c creates
 * (dps_init_env) and destroys (dps_exit). Each call takes the engine (-ENODEV before dps_init),
 * reads the clock where the call needs the time (the stack below takes it injected) and calls the
 * stack: dps_poll / dps_flush / dps_drain the engine, dps_next_deadline its timers, dps_wait_fds
 * the device (its wait-fd operation, dev.h), dps_counters the engine and the device, and the
 * socket calls tcp_api.h with addresses converted from struct sockaddr_in.
 */
#include "dpsock.h"
#include "dpsock_coroutine.h"

#include "dev.h"
#include "dps_conf.h"
#include "dps_stack.h"
#include "start.h"
#include "tcp.h"
#include "tcp_api.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Declares e, the process's engine (start.c); returns -ENODEV when there is none. */
#define ENGINE_OR_ENODEV(e)                        \
	struct dps_engine *e = dps_start_engine(); \
	if (e == NULL) {                           \
		return -ENODEV;                    \
	}

/*
 * stats_interval: one line on stderr every N seconds (mTCP's per-second line), rates over the
 * interval: frames and Mbit/s each way, connections (established / all), drops, retransmissions.
 */
static void stats_line(struct dps_engine *e, uint64_t now)
{
	static uint64_t last_ns, last[6];
	uint64_t cur[6], drops = 0, every = dps_start_conf()->stats_interval;
	double dt;

	if (every == 0 || now - last_ns < every * 1000000000ull)
		return;
	for (unsigned i = 1; i < DPS_DROP_COUNT; i++)
		drops += e->drop[i];
	cur[0] = e->ctr[DPS_CTR_rx_frames];
	cur[1] = e->ctr[DPS_CTR_rx_bytes];
	cur[2] = e->ctr[DPS_CTR_tx_frames];
	cur[3] = e->ctr[DPS_CTR_tx_bytes];
	cur[4] = drops;
	cur[5] = e->ctr[DPS_CTR_tcp_rexmit_rto] + e->ctr[DPS_CTR_tcp_rexmit_fast];
	if (last_ns != 0) {
		dt = (double)(now - last_ns) / 1e9;
		fprintf(stderr,
			"dpsock[%d]: rx %.0f pps %.1f Mbit/s, tx %.0f pps %.1f Mbit/s, "
			"conns %u est %u, drops %llu, rexmit %llu\n",
			(int)getpid(), (double)(cur[0] - last[0]) / dt,
			(double)(cur[1] - last[1]) * 8 / dt / 1e6, (double)(cur[2] - last[2]) / dt,
			(double)(cur[3] - last[3]) * 8 / dt / 1e6,
			e->tcp != NULL ? (unsigned)e->tcp->conns : 0,
			e->tcp != NULL ? (unsigned)e->tcp->by_state[DPS_TCP_ESTABLISHED] : 0,
			(unsigned long long)(cur[4] - last[4]),
			(unsigned long long)(cur[5] - last[5]));
	}
	memcpy(last, cur, sizeof(last));
	last_ns = now;
}

int dps_poll(void)
{
	uint64_t now;
	int n;

	ENGINE_OR_ENODEV(e);
	now = dps_now_ns();
	n = (int)dps_engine_poll(e, now);
	stats_line(e, now);
	return n;
}

int dps_wait_fds(int *fds, int max)
{
	ENGINE_OR_ENODEV(e);
	return dps_dev_wait_fds(e->dev, fds, max);
}

uint64_t dps_next_deadline(void)
{
	struct dps_engine *e = dps_start_engine();
	uint64_t at, tcp;

	if (e == NULL)
		return DPS_DEADLINE_NONE;
	at = e->next_timer_ns;
	tcp = e->tcp != NULL ? dps_wheel_next_expiry(&e->tcp->wheel) : DPS_DEADLINE_NONE;
	return tcp < at ? tcp : at;
}

/* Connections still exchanging packets: not closed, listening or in TIME_WAIT. */
static unsigned active_conns(struct dps_engine *e)
{
	unsigned n = 0;

	if (e->tcp == NULL)
		return 0;
	for (unsigned st = 0; st < DPS_TCP_NSTATES; st++)
		if (st != DPS_TCP_CLOSED && st != DPS_TCP_LISTEN && st != DPS_TCP_TIME_WAIT)
			n += e->tcp->by_state[st];
	return n;
}

int dps_drain(uint64_t max_ns)
{
	uint64_t until = dps_now_ns() + max_ns;
	struct timespec nap = { 0, 200000 };

	ENGINE_OR_ENODEV(e);
	do {
		dps_engine_poll(e, dps_now_ns());
		if (active_conns(e) == 0)
			break;
		nanosleep(&nap, NULL);
	} while (dps_now_ns() < until);
	dps_engine_flush(e);
	return (int)active_conns(e);
}

int dps_flush(void)
{
	ENGINE_OR_ENODEV(e);
	dps_engine_flush(e);
	return 0;
}

int dps_counters(void (*fn)(const char *name, uint64_t value, void *arg), void *arg)
{
	unsigned n = dps_engine_counter_count();

	ENGINE_OR_ENODEV(e);
	struct dps_dev_stats st;

	for (unsigned i = 0; i < n; i++)
		fn(dps_engine_counter_name(i), dps_engine_counter_value(e, i), arg);
	/* The device's own view (what the PMD counted): losses below the engine show here. */
	if (e->dev->ops->stats(e->dev, &st) == 0) {
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

int dps_socket(void)
{
	ENGINE_OR_ENODEV(e);
	return dps_tcp_socket(e);
}

int dps_bind(int s, const struct sockaddr_in *a)
{
	ENGINE_OR_ENODEV(e);
	if (a->sin_family != AF_INET)
		return -EAFNOSUPPORT;
	return dps_tcp_bind(e, s, a->sin_addr.s_addr, ntohs(a->sin_port));
}

int dps_listen(int s, int backlog)
{
	ENGINE_OR_ENODEV(e);
	return dps_tcp_listen(e, s, backlog);
}

int dps_accept(int s, struct sockaddr_in *peer)
{
	uint32_t addr;
	uint16_t port;
	int rc;

	ENGINE_OR_ENODEV(e);
	rc = dps_tcp_accept(e, s, &addr, &port);
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
	ENGINE_OR_ENODEV(e);
	if (a->sin_family != AF_INET)
		return -EAFNOSUPPORT;
	return dps_tcp_connect(e, s, a->sin_addr.s_addr, ntohs(a->sin_port), dps_now_ns());
}

long dps_send(int s, const void *buf, size_t len, int flags)
{
	ENGINE_OR_ENODEV(e);
	return dps_tcp_send(e, s, buf, len, flags, dps_now_ns());
}

long dps_recv(int s, void *buf, size_t len, int flags)
{
	ENGINE_OR_ENODEV(e);
	return dps_tcp_recv(e, s, buf, len, flags, dps_now_ns());
}

int dps_shutdown(int s, int how)
{
	ENGINE_OR_ENODEV(e);
	return dps_tcp_shutdown(e, s, how, dps_now_ns());
}

int dps_close(int s)
{
	ENGINE_OR_ENODEV(e);
	return dps_tcp_close(e, s, dps_now_ns());
}

int dps_setsockopt(int s, int level, int name, const void *val, uint32_t len)
{
	ENGINE_OR_ENODEV(e);
	return dps_tcp_setsockopt(e, s, level, name, val, len);
}

int dps_setsockopt_check(int level, int name, const void *val, uint32_t len)
{
	return dps_tcp_sockopt_check(level, name, val, len);
}

int dps_getsockopt(int s, int level, int name, void *val, uint32_t *len)
{
	ENGINE_OR_ENODEV(e);
	return dps_tcp_getsockopt(e, s, level, name, val, len);
}

static int name_of(int s, struct sockaddr_in *a,
		   int (*fn)(struct dps_engine *, int, uint32_t *, uint16_t *))
{
	uint32_t addr;
	uint16_t port;
	int rc;

	ENGINE_OR_ENODEV(e);
	rc = fn(e, s, &addr, &port);
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
	ENGINE_OR_ENODEV(e);
	return dps_tcp_events(e, s);
}

int dps_set_callback(int s, void (*fn)(void *arg, uint32_t events), void *arg)
{
	ENGINE_OR_ENODEV(e);
	return dps_tcp_set_callback(e, s, fn, arg);
}

int dps_queued(int s, int tx)
{
	ENGINE_OR_ENODEV(e);
	return dps_tcp_queued(e, s, tx);
}
