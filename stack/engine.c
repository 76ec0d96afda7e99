/*
 * engine: one rx/tx queue pair, its ARP cache, counters and capture (DESIGN.md §2).
 *
 * dps_engine_poll: rx burst -> capture copies -> dps_engine_input per frame (eth and up) -> timers
 * when due -> flush the tx batch. Frames the layers send are batched by dps_engine_xmit and reach the
 * device at the flush; frames the device refuses stay queued for the next flush while there is room.
 */
#include "dps_stack.h"

#include "tcp.h"

#include "dev.h"
#include "dps_log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_malloc.h>
#include <rte_mbuf.h>

#define DPS_TIMER_NS 100000000ull /* ARP timers run every 100 ms */

static const char *const counter_names[] = {
#define DPS_CTR(name, doc) #name,
#include "counters.def"
#undef DPS_CTR
#define DPS_DROP(name, doc) "drop_" #name,
#include "counters.def"
#undef DPS_DROP
};

/* Gauges after the counters: connections alive, and per TCP state (enum dps_tcp_state order). */
static const char *const gauge_names[] = {
	"tcp_conns",
	"tcp_state_closed",
	"tcp_state_listen",
	"tcp_state_syn_sent",
	"tcp_state_syn_rcvd",
	"tcp_state_established",
	"tcp_state_fin_wait_1",
	"tcp_state_fin_wait_2",
	"tcp_state_close_wait",
	"tcp_state_closing",
	"tcp_state_last_ack",
	"tcp_state_time_wait",
};

#define N_COUNTERS (DPS_CTR_COUNT + DPS_DROP_COUNT - 1)

unsigned dps_engine_counter_count(void)
{
	return N_COUNTERS + sizeof(gauge_names) / sizeof(gauge_names[0]);
}

const char *dps_engine_counter_name(unsigned i)
{
	if (i < N_COUNTERS)
		return counter_names[i];
	i -= N_COUNTERS;
	return i < sizeof(gauge_names) / sizeof(gauge_names[0]) ? gauge_names[i] : NULL;
}

uint64_t dps_engine_counter_value(const struct dps_engine *e, unsigned i)
{
	if (i < DPS_CTR_COUNT)
		return e->ctr[i];
	if (i < N_COUNTERS)
		return e->drop[i - DPS_CTR_COUNT + 1];
	i -= N_COUNTERS;
	if (e->tcp == NULL)
		return 0;
	if (i == 0)
		return e->tcp->conns;
	return i - 1 < DPS_TCP_NSTATES ? e->tcp->by_state[i - 1] : 0;
}

static uint32_t prefix_mask(uint8_t len)
{
	return rte_cpu_to_be_32(len == 0 ? 0 : ~0u << (32 - len));
}

int dps_engine_is_local(const struct dps_engine *e, uint32_t addr)
{
	for (unsigned i = 0; i < e->nets.n; i++)
		if (e->nets.net[i].addr == addr)
			return 1;
	return 0;
}

int dps_engine_is_onlink(const struct dps_engine *e, uint32_t addr)
{
	for (unsigned i = 0; i < e->nets.n; i++)
		if (((addr ^ e->nets.net[i].addr) & prefix_mask(e->nets.net[i].len)) == 0)
			return 1;
	return 0;
}

int dps_engine_is_bcast(const struct dps_engine *e, uint32_t addr)
{
	if (addr == 0xffffffffu)
		return 1;
	for (unsigned i = 0; i < e->nets.n; i++) {
		uint32_t mask = prefix_mask(e->nets.net[i].len);
		/* A /31 or /32 has no directed broadcast (RFC 3021). */
		if (e->nets.net[i].len <= 30 && ((addr ^ e->nets.net[i].addr) & mask) == 0 &&
		    (addr | mask) == 0xffffffffu)
			return 1;
	}
	return 0;
}

void dps_engine_drop(struct dps_engine *e, struct rte_mbuf *m, enum dps_drop why)
{
	e->drop[why]++;
	rte_pktmbuf_free(m);
}

int dps_engine_create(const struct dps_conf *c, struct dps_dev *dev, struct rte_mempool *pool,
		      uint64_t now, struct dps_engine **out, char *err, size_t errlen)
{
	struct dps_engine *e;
	char a[16];
	int rc;

	if (c->ip.n == 0) {
		dps_errf(err, errlen, "no address: set DPSOCK_IP (e.g. 198.18.0.2/24)");
		return -EINVAL;
	}
	e = rte_zmalloc("dps_engine", sizeof(*e), RTE_CACHE_LINE_SIZE);
	if (e == NULL)
		return -ENOMEM;
	e->dev = dev;
	e->pool = pool;
	e->mac = dev->mac;
	e->nets = c->ip;
	e->gateway = c->gateway;
	e->mtu = (uint16_t)c->mtu;
	if (e->gateway != 0 && !dps_engine_is_onlink(e, e->gateway)) {
		dps_errf(err, errlen, "gateway %s is not inside any subnet of ip",
			 dps_ip_str(e->gateway, a, sizeof(a)));
		rc = -EINVAL;
		goto err;
	}
	rc = dps_arp_create(e, c, &e->arp);
	if (rc < 0) {
		dps_errf(err, errlen, "cannot create the ARP cache: %s", strerror(-rc));
		goto err;
	}
	if (c->capture[0] != '\0') {
		rc = dps_capture_open(c->capture, dev->port_id, &e->cap, err, errlen);
		if (rc < 0)
			goto err;
	}
	rc = dps_tcp_create(e, c, now, err, errlen);
	if (rc < 0)
		goto err;
	e->next_timer_ns = now + DPS_TIMER_NS;
	for (unsigned i = 0; i < e->nets.n; i++)
		dps_arp_announce(e, e->nets.net[i].addr);
	dps_engine_flush(e);
	*out = e;
	return 0;
err:
	dps_capture_close(e->cap);
	dps_arp_destroy(e->arp);
	rte_free(e);
	return rc;
}

void dps_engine_destroy(struct dps_engine *e)
{
	if (e == NULL)
		return;
	dps_tcp_destroy(e);
	dps_engine_flush(e);
	for (unsigned i = 0; i < e->tx_n; i++)
		rte_pktmbuf_free(e->tx[i]);
	dps_capture_close(e->cap);
	dps_arp_destroy(e->arp);
	dps_dev_close(e->dev);
	rte_free(e);
}

void dps_engine_flush(struct dps_engine *e)
{
	uint32_t len[DPS_TX_BATCH];
	uint16_t sent;

	if (e->tx_n == 0)
		return;
	for (unsigned i = 0; i < e->tx_n; i++)
		len[i] = rte_pktmbuf_pkt_len(e->tx[i]);
	sent = dps_dev_tx(e->dev, e->tx, e->tx_n);
	e->ctr[DPS_CTR_tx_frames] += sent;
	e->kick_due = true;
	for (unsigned i = 0; i < sent; i++)
		e->ctr[DPS_CTR_tx_bytes] += len[i];
	/* What the device refused waits for the next flush. */
	memmove(e->tx, e->tx + sent, (e->tx_n - sent) * sizeof(e->tx[0]));
	e->tx_n = (uint16_t)(e->tx_n - sent);
	if (e->cap != NULL)
		dps_capture_flush(e->cap);
}

void dps_engine_xmit(struct dps_engine *e, struct rte_mbuf *m)
{
	if (e->tx_n == DPS_TX_BATCH)
		dps_engine_flush(e);
	if (e->tx_n == DPS_TX_BATCH) {
		dps_engine_drop(e, m, DPS_DROP_tx_full);
		return;
	}
	if (e->cap != NULL)
		e->ctr[DPS_CTR_capture_frames] += dps_capture_frames(e->cap, &m, 1, 0);
	e->tx[e->tx_n++] = m;
}

void dps_engine_input(struct dps_engine *e, struct rte_mbuf *m, uint64_t now)
{
	e->ctr[DPS_CTR_rx_frames]++;
	e->ctr[DPS_CTR_rx_bytes] += rte_pktmbuf_pkt_len(m);
	/* The parsers read one contiguous buffer: join a chained frame (rare: the pool holds an
	 * MTU-sized frame per buffer). */
	if (m->nb_segs > 1 && rte_pktmbuf_linearize(m) != 0) {
		dps_engine_drop(e, m, DPS_DROP_rx_segmented);
		return;
	}
	dps_eth_input(e, m, now);
}

void dps_engine_timers(struct dps_engine *e, uint64_t now)
{
	if (e->tcp != NULL) {
		if (now / 1000000 > e->tcp->now_ms)
			e->tcp->now_ms = now / 1000000;
		dps_wheel_advance(&e->tcp->wheel, now);
	}
	if (now < e->next_timer_ns)
		return;
	e->next_timer_ns = now + DPS_TIMER_NS;
	dps_arp_timer(e, now);
}

unsigned dps_engine_poll(struct dps_engine *e, uint64_t now)
{
	struct rte_mbuf *burst[DPS_RX_BURST];
	uint16_t n;

	/* Timers first: what was due before these frames arrived happens before they are seen. */
	dps_engine_timers(e, now);
	n = dps_dev_rx(e->dev, burst, DPS_RX_BURST);
	if (n > 0 && e->cap != NULL)
		e->ctr[DPS_CTR_capture_frames] += dps_capture_frames(e->cap, burst, n, 1);
	for (uint16_t i = 0; i < n; i++)
		dps_engine_input(e, burst[i], now);
	if (e->tx_n == 0 && e->kick_due) {
		dps_dev_kick(e->dev); /* a poll after one that sent: see dev_dpdk.c */
		e->kick_due = false;
	}
	dps_engine_flush(e);
	return n;
}
