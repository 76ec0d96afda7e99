/*
 * engine: one rx/tx queue pair, its ARP cache, counters and capture (DESIGN.md §2).
 *
 * dps_engine_poll: rx burst -> capture copies -> dps_engine_input per frame (eth and up) -> timers
 * when due -> flush the tx batch. Frames the layers send are batched by dps_engine_xmit and reach the
 * device at the flush; frames the device refuses stay queued for the next flush while there is room.
 */
#include "dps_stack.h"
#include "hist.h"
#include "prio.h"
#include "wire.h"

#include "tcp.h"

#include "capture.h"
#include "dev.h"
#include "dps_log.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#define DPS_TIMER_NS 100000000ull /* ARP timers run every 100 ms */
#define DPS_ANNOUNCE_MAX 64 /* gratuitous ARPs sent at start, at most */

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
	/* queueing delay of received data per class (rx poll to the application's read) */
	"prio_delay_high_reads",
	"prio_delay_high_p50_us",
	"prio_delay_high_p99_us",
	"prio_delay_high_max_us",
	"prio_delay_low_reads",
	"prio_delay_low_p50_us",
	"prio_delay_low_p99_us",
	"prio_delay_low_max_us",
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
	if (i > DPS_TCP_NSTATES) {
		const struct dps_hist *h;

		i -= DPS_TCP_NSTATES + 1;
		if (i >= 8)
			return 0;
		h = e->delay[i < 4 ? DPS_PRIO_CLASS_HIGH : DPS_PRIO_CLASS_LOW];
		switch (i % 4) {
		case 0:
			return h->n;
		case 1:
			return dps_hist_quantile(h, 0.5) / 1000;
		case 2:
			return dps_hist_quantile(h, 0.99) / 1000;
		default:
			return h->max / 1000;
		}
	}
	if (e->tcp == NULL)
		return 0;
	if (i == 0)
		return e->tcp->conns;
	return e->tcp->by_state[i - 1];
}

int dps_engine_is_local(const struct dps_engine *e, uint32_t addr)
{
	return dps_netif_is_local(&e->nif, addr);
}

int dps_engine_is_onlink(const struct dps_engine *e, uint32_t addr)
{
	return dps_netif_is_onlink(&e->nif, addr);
}

int dps_engine_is_bcast(const struct dps_engine *e, uint32_t addr)
{
	return dps_netif_is_bcast(&e->nif, addr);
}

int dps_arp_lookup(struct dps_engine *e, uint32_t ip, struct rte_ether_addr *mac)
{
	return dps_arp_find(e->nif.arp, ip, mac);
}

unsigned dps_arp_count(const struct dps_engine *e)
{
	return dps_arp_in_use(e->nif.arp);
}

void dps_engine_drop(struct dps_engine *e, struct rte_mbuf *m, enum dps_drop why)
{
	e->drop[why]++;
	rte_pktmbuf_free(m);
}

/* The interface's calls up (net/net.h): into the transmit batch, and into TCP. */
static struct dps_engine *engine_of(struct dps_netif *n)
{
	return container_of(n, struct dps_engine, nif);
}

static void nif_xmit(struct dps_netif *n, struct rte_mbuf *m)
{
	dps_engine_xmit(engine_of(n), m);
}

static void nif_tcp_input(struct dps_netif *n, struct rte_mbuf *m, const struct dps_ipv4_view *ip,
			  uint64_t now)
{
	dps_tcp_input(engine_of(n), m, ip, now);
}

static const struct dps_netif_ops nif_ops = {
	.xmit = nif_xmit,
	.tcp_input = nif_tcp_input,
};

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
	static const struct rte_mbuf_dynfield meta_field = {
		.name = "dpsock_pkt",
		.size = sizeof(struct dps_pkt_meta),
		.align = __alignof__(struct dps_pkt_meta),
	};
	int meta_off = rte_mbuf_dynfield_register(&meta_field);

	if (meta_off < 0) {
		dps_errf(err, errlen, "cannot register the mbuf field of the packet's class: %s",
			 strerror(rte_errno));
		return -ENOMEM;
	}
	e = rte_zmalloc("dps_engine", sizeof(*e), RTE_CACHE_LINE_SIZE);
	if (e == NULL)
		return -ENOMEM;
	for (int k = 0; k < 2; k++) {
		e->delay[k] = rte_zmalloc("dps_delay", dps_hist_size(3), 0); /* 12.5 %, 4 KiB */
		if (e->delay[k] == NULL) {
			rc = -ENOMEM;
			goto err;
		}
		e->delay[k]->sub = 3;
	}
	e->dev = dev;
	e->pool = pool;
	e->mac = dev->mac;
	e->nets = c->ip;
	e->gateway = c->gateway;
	e->mtu = (uint16_t)c->mtu;
	e->nif = (struct dps_netif){
		.ops = &nif_ops,
		.dev = dev,
		.pool = pool,
		.mac = dev->mac,
		.nets = c->ip,
		.gateway = c->gateway,
		.mtu = (uint16_t)c->mtu,
		.meta_off = meta_off,
		.ctr = e->ctr,
		.drop = e->drop,
	};
	if (e->gateway != 0 && !dps_engine_is_onlink(e, e->gateway)) {
		dps_errf(err, errlen, "gateway %s is not inside any subnet of ip",
			 dps_ip_str(e->gateway, a, sizeof(a)));
		rc = -EINVAL;
		goto err;
	}
	rc = dps_arp_create(&e->nif, c, &e->nif.arp);
	if (rc < 0) {
		dps_errf(err, errlen, "cannot create the ARP cache: %s", strerror(-rc));
		goto err;
	}
	if (c->capture[0] != '\0') {
		rc = dps_capture_open(c->capture, dev->port_id, &e->cap, err, errlen);
		if (rc < 0)
			goto err;
	}
	if (c->priority[0] != '\0') {
		char why[200];

		e->prio = rte_zmalloc("dps_prio", sizeof(*e->prio), 0);
		if (e->prio == NULL) {
			rc = -ENOMEM;
			goto err;
		}
		rc = dps_prio_compile(c->priority, e->prio, why, sizeof(why));
		if (rc < 0) {
			dps_errf(err, errlen, "priority (DPSOCK_PRIORITY): %s", why);
			goto err;
		}
	}
	rc = dps_tcp_create(e, c, now, err, errlen);
	if (rc < 0)
		goto err;
	e->next_timer_ns = now + DPS_TIMER_NS;
	/* A gratuitous ARP per address, the first DPS_ANNOUNCE_MAX of them: a range of thousands
	 * would flood the link at start; the others are learned when asked (ARP replies cover
	 * every address). */
	for (unsigned i = 0, sent = 0; i < e->nets.n; i++)
		for (uint32_t k = 0; k < e->nets.net[i].count && sent < DPS_ANNOUNCE_MAX;
		     k++, sent++)
			dps_arp_announce(&e->nif, htonl(ntohl(e->nets.net[i].addr) + k));
	dps_engine_flush(e);
	*out = e;
	return 0;
err:
	rte_free(e->delay[0]);
	rte_free(e->delay[1]);
	rte_free(e->prio);
	dps_capture_close(e->cap);
	dps_arp_destroy(e->nif.arp);
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
	dps_arp_destroy(e->nif.arp);
	dps_dev_close(e->dev);
	rte_free(e->delay[0]);
	rte_free(e->delay[1]);
	rte_free(e->prio);
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
	memmove(e->tx_owner, e->tx_owner + sent, (e->tx_n - sent) * sizeof(e->tx_owner[0]));
	e->tx_n = (uint16_t)(e->tx_n - sent);
	e->tx_hi_n = e->tx_hi_n > sent ? (uint16_t)(e->tx_hi_n - sent) : 0;
	if (e->cap != NULL)
		dps_capture_flush(e->cap);
}

void dps_engine_xmit(struct dps_engine *e, struct rte_mbuf *m)
{
	const struct dps_pkt_meta *pm = dps_pkt_meta(&e->nif, m);
	const void *flow = pm->flow;
	bool high = (pm->cls & DPS_PRIO_CLASS_MASK) == DPS_PRIO_CLASS_HIGH;

	if (e->tx_n == DPS_TX_BATCH)
		dps_engine_flush(e);
	if (e->tx_n == DPS_TX_BATCH) {
		/* The device is full: a high frame takes the place of the newest low one (which
		 * TCP sends again), a low frame is dropped. */
		if (e->prio == NULL || !high || e->tx_hi_n == e->tx_n) {
			dps_engine_drop(e, m, DPS_DROP_tx_full);
			return;
		}
		e->tx_n--;
		e->ctr[DPS_CTR_prio_tx_evicted]++;
		dps_engine_drop(e, e->tx[e->tx_n], DPS_DROP_tx_full);
	}
	if (e->cap != NULL)
		e->ctr[DPS_CTR_capture_frames] += dps_capture_frames(e->cap, &m, 1, 0);
	if (e->prio == NULL) {
		e->tx_owner[e->tx_n] = NULL;
		e->tx[e->tx_n++] = m;
		return;
	}
	if (!high) {
		e->ctr[DPS_CTR_prio_tx_low]++;
		e->tx_owner[e->tx_n] = flow;
		e->tx[e->tx_n++] = m;
		return;
	}
	/* High: after the high frames already queued, and after the low frames of its own
	 * connection, which move up with it (a stable partition of the low part). */
	e->ctr[DPS_CTR_prio_tx_high]++;
	if (flow != NULL)
		for (uint16_t i = e->tx_hi_n; i < e->tx_n; i++) {
			if (e->tx_owner[i] != flow)
				continue;
			struct rte_mbuf *own = e->tx[i];

			memmove(e->tx + e->tx_hi_n + 1, e->tx + e->tx_hi_n,
				(i - e->tx_hi_n) * sizeof(e->tx[0]));
			memmove(e->tx_owner + e->tx_hi_n + 1, e->tx_owner + e->tx_hi_n,
				(i - e->tx_hi_n) * sizeof(e->tx_owner[0]));
			e->tx[e->tx_hi_n] = own;
			e->tx_owner[e->tx_hi_n] = flow;
			e->tx_hi_n++;
		}
	memmove(e->tx + e->tx_hi_n + 1, e->tx + e->tx_hi_n,
		(e->tx_n - e->tx_hi_n) * sizeof(e->tx[0]));
	memmove(e->tx_owner + e->tx_hi_n + 1, e->tx_owner + e->tx_hi_n,
		(e->tx_n - e->tx_hi_n) * sizeof(e->tx_owner[0]));
	e->tx[e->tx_hi_n] = m;
	e->tx_owner[e->tx_hi_n] = flow;
	e->tx_hi_n++;
	e->tx_n++;
}

/* Input one frame of class cls (DPS_PRIO_CLASS_* | DPS_PRIO_CONN), which the mbuf carries up. */
static void engine_input(struct dps_engine *e, struct rte_mbuf *m, uint8_t cls, uint64_t now)
{
	e->ctr[DPS_CTR_rx_frames]++;
	e->ctr[DPS_CTR_rx_bytes] += rte_pktmbuf_pkt_len(m);
	*dps_pkt_meta(&e->nif, m) = (struct dps_pkt_meta){ .rx_ns = now, .cls = cls };
	/* The parsers read one contiguous buffer: join a chained frame (rare: the pool holds an
	 * MTU-sized frame per buffer). */
	if (m->nb_segs > 1 && rte_pktmbuf_linearize(m) != 0) {
		dps_engine_drop(e, m, DPS_DROP_rx_segmented);
		return;
	}
	dps_eth_input(&e->nif, m, now);
}

void dps_engine_input(struct dps_engine *e, struct rte_mbuf *m, uint64_t now)
{
	engine_input(e, m, DPS_PRIO_CLASS_LOW, now);
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
	dps_arp_timer(&e->nif, now);
}

/*
 * The priority rules' view of a received frame (DESIGN.md §8, the NIC-layer fastcallup point),
 * from the wire's flow parser (dps_wire_flow_parse: every read bounded, fuzzed). *flow identifies
 * the flow (addresses, protocol, ports) so that reordering never overtakes within one; 0 for a
 * frame that is not IPv4.
 */
static void rx_view(const struct rte_mbuf *m, struct dps_prio_pkt *p, uint32_t *flow)
{
	struct dps_flow_view v;

	*flow = 0;
	if (dps_wire_flow_parse(rte_pktmbuf_mtod(m, const void *), rte_pktmbuf_data_len(m), &v) !=
	    DPS_DROP_NONE) {
		memset(p, 0, sizeof(*p));
		return;
	}
	*p = (struct dps_prio_pkt){
		.proto = v.proto,
		.src = v.src,
		.dst = v.dst,
		.sport = v.sport,
		.dport = v.dport,
		.hdrlen = v.hdrlen,
		.payload = v.payload,
		.paylen = v.paylen,
	};
	*flow = rte_be_to_cpu_32(p->src) * 2654435761u ^ rte_be_to_cpu_32(p->dst) * 40503u ^
		(uint32_t)p->proto << 24 ^ ((uint32_t)p->sport << 16 | p->dport);
}

/*
 * Process a burst high priority first (DESIGN.md §8: "processed first in the rx burst"), keeping
 * the order within each flow: a low frame that precedes a high one of its flow goes with it.
 */
static void rx_prioritized(struct dps_engine *e, struct rte_mbuf **burst, uint16_t n, uint64_t now)
{
	uint8_t cls[DPS_RX_BURST], order[DPS_RX_BURST];
	uint32_t flow[DPS_RX_BURST];
	struct dps_prio_pkt p;

	for (uint16_t i = 0; i < n; i++) {
		rx_view(burst[i], &p, &flow[i]);
		cls[i] = (uint8_t)dps_prio_classify(e->prio, &p);
		order[i] = cls[i] & DPS_PRIO_CLASS_MASK;
	}
	/* A frame takes its place in the order from the highest frame after it in its flow; its
	 * own class (what TCP marks) stays its own. */
	for (uint16_t i = n; i-- > 0;)
		if (order[i] == DPS_PRIO_CLASS_HIGH)
			for (uint16_t j = 0; j < i; j++)
				if (flow[j] == flow[i])
					order[j] = DPS_PRIO_CLASS_HIGH;
	for (int pass = DPS_PRIO_CLASS_HIGH; pass >= DPS_PRIO_CLASS_LOW; pass--)
		for (uint16_t i = 0; i < n; i++)
			if (order[i] == pass) {
				bool high = (cls[i] & DPS_PRIO_CLASS_MASK) == DPS_PRIO_CLASS_HIGH;

				e->ctr[high ? DPS_CTR_prio_rx_high : DPS_CTR_prio_rx_low]++;
				e->ctr[high ? DPS_CTR_prio_rx_high_bytes
					    : DPS_CTR_prio_rx_low_bytes] +=
				    rte_pktmbuf_pkt_len(burst[i]);
				engine_input(e, burst[i], cls[i], now);
			}
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
	if (e->prio != NULL && e->prio->n > 0)
		rx_prioritized(e, burst, n, now);
	else
		for (uint16_t i = 0; i < n; i++)
			dps_engine_input(e, burst[i], now);
	if (e->tx_n == 0 && e->kick_due) {
		dps_dev_kick(e->dev); /* a poll after one that sent: see dev_dpdk.c */
		e->kick_due = false;
	}
	dps_engine_flush(e);
	return n;
}
