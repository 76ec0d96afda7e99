/*
 * stack: the engine (DESIGN.md §1-2), above its protocol layers (net/net.h, tcp/tcp.h). Internal to
 * dpsock.
 *
 * Call order on receive: dps_engine_poll -> dps_engine_input (per frame) -> dps_eth_input on the
 * engine's interface (e->nif, net/net.h) -> arp | ipv4 -> icmp, or back up through the ops table
 * the engine installs to dps_tcp_input. On send: TCP or ICMP -> dps_ipv4_output -> arp -> eth ->
 * the ops table's xmit, dps_engine_xmit (the tx batch) -> flushed to the device at the end of each
 * poll or when full.
 * All functions take `now` (nanoseconds, monotonic) from the caller; none reads a clock.
 */
#ifndef DPS_STACK_H
#define DPS_STACK_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>

#include "dps_conf.h"
#include "dps_counters.h"
#include "net.h"

struct rte_mbuf;
struct rte_mempool;
struct dps_dev;
struct dps_arp;
struct dps_capture;
struct dps_tcp;

#define DPS_TX_BATCH 64
#define DPS_RX_BURST 32

struct dps_prio_rules;
struct dps_hist;

struct dps_engine {
	/* The layers below (net/) run on this: copies of dev, pool, mac, nets, gateway and mtu, the
	 * ARP cache, and the ops table through which they call back (engine.c). */
	struct dps_netif nif;
	struct dps_prio_rules *prio; /* priority rules, NULL when none (DESIGN.md §8) */
	/* Queueing delay of received data, from the rx poll to the application's read, per
	 * class (DPS_PRIO_CLASS_*), in ns. */
	struct dps_hist *delay[2];
	struct dps_dev *dev;
	struct rte_mempool *pool;
	struct dps_capture *cap;
	struct dps_tcp *tcp;
	struct rte_ether_addr mac;
	struct dps_nets nets; /* our addresses */
	uint32_t gateway; /* network order, 0: none */
	uint16_t mtu;
	uint16_t tx_n;
	uint16_t tx_hi_n; /* tx[0, tx_hi_n) are high priority: they go first (DESIGN.md §8) */
	bool kick_due; /* the device sent something since the last kick */
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

/* Process one received frame (takes ownership), of the low class (the poll classifies its own). */
void dps_engine_input(struct dps_engine *e, struct rte_mbuf *m, uint64_t now);

/* Queue a complete frame for transmission (takes ownership); flushes when the batch is full.
 * With priority rules, a frame whose dps_pkt_meta (net.h) says high goes ahead of the batch's
 * low-priority frames, and takes the queued frames of its own connection (its flow) with it, so
 * that none is overtaken. */
void dps_engine_xmit(struct dps_engine *e, struct rte_mbuf *m);

/* Hand the tx batch to the device; frames it refuses are freed and counted as tx_full. */
void dps_engine_flush(struct dps_engine *e);

/* Run timers (ARP) if due. */
void dps_engine_timers(struct dps_engine *e, uint64_t now);

/* Count a drop and free the frame. m may be NULL (only counts). */
void dps_engine_drop(struct dps_engine *e, struct rte_mbuf *m, enum dps_drop why);

/* Counter names ("rx_frames", "drop_ip_csum", ...) and values, in one list of n entries. */
unsigned dps_engine_counter_count(void);
const char *dps_engine_counter_name(unsigned i);
uint64_t dps_engine_counter_value(const struct dps_engine *e, unsigned i);

/* Is addr (network order) one of ours? Does it lie in one of our subnets? */
int dps_engine_is_local(const struct dps_engine *e, uint32_t addr);
int dps_engine_is_onlink(const struct dps_engine *e, uint32_t addr);
/* Is addr a broadcast address for us: 255.255.255.255 or the directed broadcast of a subnet? */
int dps_engine_is_bcast(const struct dps_engine *e, uint32_t addr);

/* The ARP cache of the engine's interface (dps_arp_find, dps_arp_in_use): for tests and stats. */
int dps_arp_lookup(struct dps_engine *e, uint32_t ip, struct rte_ether_addr *mac);
unsigned dps_arp_count(const struct dps_engine *e);

/* Telemetry (telemetry.c): serve e's counters as /dpsock/info and /dpsock/counters. */
void dps_telemetry_attach(struct dps_engine *e, const struct dps_conf *c);
void dps_telemetry_detach(void);

#endif
