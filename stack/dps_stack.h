/*
 * stack: the engine (DESIGN.md §1-2) and its protocol layers. Internal to dpsock.
 *
 * Call order on receive: dps_engine_poll -> dps_engine_input (per frame) -> eth_input -> arp_input |
 * ipv4_input -> icmp_input. On send: icmp (or a later TCP) builds an IPv4 packet -> ipv4_output
 * (route: on-link or gateway) -> arp_output (resolve, or queue while resolving) -> eth_output ->
 * the engine's tx batch -> flushed to the device at the end of each poll or when full.
 * All functions take `now` (nanoseconds, monotonic) from the caller; none reads a clock.
 */
#ifndef DPS_STACK_H
#define DPS_STACK_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>

#include "dps_conf.h"

struct rte_mbuf;
struct rte_mempool;
struct dps_dev;
struct dps_arp;
struct dps_capture;
struct dps_tcp;

enum dps_ctr_id {
#define DPS_CTR(name, doc) DPS_CTR_##name,
#include "counters.def"
#undef DPS_CTR
	DPS_CTR_COUNT
};

/* Drop reasons; 0 means "not dropped", so that parsers can return one. */
enum dps_drop {
	DPS_DROP_NONE,
#define DPS_DROP(name, doc) DPS_DROP_##name,
#include "counters.def"
#undef DPS_DROP
	DPS_DROP_COUNT
};

#define DPS_TX_BATCH 64
#define DPS_RX_BURST 32

struct dps_prio_rules;
struct dps_hist;

struct dps_engine {
	struct dps_prio_rules *prio; /* priority rules, NULL when none (DESIGN.md §8) */
	/* Queueing delay of received data, from the rx poll to the application's read, per
	 * class (DPS_PRIO_CLASS_*), in ns. */
	struct dps_hist *delay[2];
	struct dps_dev *dev;
	struct rte_mempool *pool;
	struct dps_arp *arp;
	struct dps_capture *cap;
	struct dps_tcp *tcp;
	struct rte_ether_addr mac;
	struct dps_nets nets; /* our addresses */
	uint32_t gateway; /* network order, 0: none */
	uint16_t mtu;
	uint16_t tx_n;
	uint16_t tx_hi_n; /* tx[0, tx_hi_n) are high priority: they go first (DESIGN.md §8) */
	bool kick_due; /* the device sent something since the last kick */
	uint8_t rx_cls; /* class of the frame being input (DPS_PRIO_CLASS_*, | DPS_PRIO_CONN) */
	const void *tx_flow; /* connection of the frame being queued (NULL: none), */
	bool tx_high; /* and whether it is high priority: set around its output */
	int rx_stamp_off; /* mbuf dynfield: rx time in ns, low bit the frame's class */
	struct rte_mbuf *tx[DPS_TX_BATCH];
	const void *tx_owner[DPS_TX_BATCH]; /* connection of each queued frame (NULL: none) */
	uint64_t next_timer_ns;
	uint64_t ctr[DPS_CTR_COUNT];
	uint64_t drop[DPS_DROP_COUNT];
};

/* Engine (engine.c) */

/*
 * Create an engine over dev (which it then owns) with packets from pool (not owned), configured by c
 * (addresses, gateway, mtu, ARP limits, capture). Sends a gratuitous ARP per address at `now`.
 * Errors: -EINVAL (no address configured), -ENOMEM, capture errors (-errno of open).
 */
int dps_engine_create(const struct dps_conf *c, struct dps_dev *dev, struct rte_mempool *pool,
		      uint64_t now, struct dps_engine **out, char *err, size_t errlen);
void dps_engine_destroy(struct dps_engine *e);

/* One iteration: an rx burst processed, timers run when due, the tx batch flushed. Returns the
 * number of frames received. */
unsigned dps_engine_poll(struct dps_engine *e, uint64_t now);

/* Process one received frame (takes ownership). */
void dps_engine_input(struct dps_engine *e, struct rte_mbuf *m, uint64_t now);

/* Queue a complete frame for transmission (takes ownership); flushes when the batch is full.
 * With e->tx_high set, the frame goes ahead of the batch's low-priority frames, and takes the
 * queued frames of its own connection (e->tx_flow) with it, so that none is overtaken. */
void dps_engine_xmit(struct dps_engine *e, struct rte_mbuf *m);

/* Hand the tx batch to the device; frames it refuses are freed and counted as tx_full. */
void dps_engine_flush(struct dps_engine *e);

/* Run timers (ARP) if due. */
void dps_engine_timers(struct dps_engine *e, uint64_t now);

/* Count a drop and free the frame. m may be NULL (only counts). */
void dps_engine_drop(struct dps_engine *e, struct rte_mbuf *m, enum dps_drop why);

/* The rx time (ns) and class stamped on a received frame by dps_engine_input. */
static inline uint64_t *dps_engine_rx_stamp(const struct dps_engine *e, struct rte_mbuf *m)
{
	return (uint64_t *)((char *)m + e->rx_stamp_off);
}

/* Counter names ("rx_frames", "drop_ip_csum", ...) and values, in one list of n entries. */
unsigned dps_engine_counter_count(void);
const char *dps_engine_counter_name(unsigned i);
uint64_t dps_engine_counter_value(const struct dps_engine *e, unsigned i);

/* Is addr (network order) one of ours? Does it lie in one of our subnets? */
int dps_engine_is_local(const struct dps_engine *e, uint32_t addr);
int dps_engine_is_onlink(const struct dps_engine *e, uint32_t addr);
/* Is addr a broadcast address for us: 255.255.255.255 or the directed broadcast of a subnet? */
int dps_engine_is_bcast(const struct dps_engine *e, uint32_t addr);

/* Layers */
void dps_eth_input(struct dps_engine *e, struct rte_mbuf *m, uint64_t now);
/* Prepend an Ethernet header to m (starting at the L3 header) and queue it for transmission. */
void dps_eth_output(struct dps_engine *e, struct rte_mbuf *m, const struct rte_ether_addr *dst,
		    uint16_t ethertype);

int dps_arp_create(struct dps_engine *e, const struct dps_conf *c, struct dps_arp **out);
void dps_arp_destroy(struct dps_arp *a);
void dps_arp_input(struct dps_engine *e, struct rte_mbuf *m, uint64_t now);
/* Send m (starting at its IPv4 header) to nexthop: at once when resolved, else after resolution. */
void dps_arp_output(struct dps_engine *e, struct rte_mbuf *m, uint32_t nexthop, uint64_t now);
/* Expire entries, retry requests, drop packets whose next hop never answered. */
void dps_arp_timer(struct dps_engine *e, uint64_t now);
/* Broadcast a gratuitous ARP announcing ip. */
void dps_arp_announce(struct dps_engine *e, uint32_t ip);
/* Look up a resolved entry; returns 1 and *mac when known (for tests and stats). */
int dps_arp_lookup(struct dps_engine *e, uint32_t ip, struct rte_ether_addr *mac);
/* Number of entries in use. */
unsigned dps_arp_count(const struct dps_engine *e);

void dps_ipv4_input(struct dps_engine *e, struct rte_mbuf *m, uint64_t now);
/* Route and send m, which starts at a complete IPv4 header (checksum filled in here). */
void dps_ipv4_output(struct dps_engine *e, struct rte_mbuf *m, uint64_t now);

struct dps_ipv4_view;
/* m starts at the validated IPv4 header ip (trimmed to its total length); the payload is ICMP. */
void dps_icmp_input(struct dps_engine *e, struct rte_mbuf *m, const struct dps_ipv4_view *ip,
		    uint64_t now);

/* Telemetry (telemetry.c): serve e's counters as /dpsock/info and /dpsock/counters. */
void dps_telemetry_attach(struct dps_engine *e, const struct dps_conf *c);
void dps_telemetry_detach(void);

/* Capture (capture.c): open path as pcapng for the device's port; NULL path = off. */
int dps_capture_open(const char *path, int port_id, struct dps_capture **out, char *err,
		     size_t errlen);
void dps_capture_close(struct dps_capture *c);
/* Copy n frames into the capture file (rx: 1 for received, 0 for sent). Returns frames written. */
unsigned dps_capture_frames(struct dps_capture *c, struct rte_mbuf **m, unsigned n, int rx);
/* Write buffered copies to the file. */
void dps_capture_flush(struct dps_capture *c);

#endif
