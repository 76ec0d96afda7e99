/*
 * net: Ethernet, ARP, IPv4 and ICMP over one device (struct dps_netif), below TCP and the engine.
 *
 * Call order on receive: the engine hands a frame to dps_eth_input -> dps_arp_input |
 * dps_ipv4_input -> dps_icmp_input, or up to the transport through ops->tcp_input. On send: a
 * transport (or ICMP) gives dps_ipv4_output its packet -> route (on-link or gateway) ->
 * dps_arp_output (resolve, or queue while resolving) -> dps_eth_output -> ops->xmit, the layer
 * above's transmit batch. All functions take `now` (nanoseconds, monotonic); none reads a clock.
 *
 * This layer includes dev/ and obs/ only (docs/design-notes.md: the include directions). What it
 * needs from above, transmitting and delivering a segment, it calls through the ops table the
 * engine installs; it counts into the engine's arrays through ctr and drop.
 */
#ifndef DPS_NET_H
#define DPS_NET_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#include "dps_conf.h"
#include "dps_counters.h"

struct rte_mempool;
struct dps_dev;
struct dps_arp;
struct dps_netif;
struct dps_ipv4_view;

/* What the layer above provides. */
struct dps_netif_ops {
	/* Queue a complete frame for transmission (takes ownership). */
	void (*xmit)(struct dps_netif *n, struct rte_mbuf *m);
	/* A TCP segment for one of our addresses: m starts at the validated IPv4 header ip,
	 * trimmed to its total length (takes ownership). */
	void (*tcp_input)(struct dps_netif *n, struct rte_mbuf *m, const struct dps_ipv4_view *ip,
			  uint64_t now);
};

/*
 * What travels with a packet (STYLE.md "Layers"): an mbuf dynfield ("dpsock_pkt"), registered by
 * the engine, its offset in dps_netif.meta_off. This layer writes the transmit side and carries
 * cls without interpreting it (the engine's DPS_PRIO_CLASS_* | DPS_PRIO_CONN, prio.h).
 */
struct dps_pkt_meta {
	uint64_t rx_ns; /* received: the time of the rx poll that took it */
	const void *flow; /* sent: the connection it belongs to (NULL: none) */
	uint8_t cls; /* received: the rules' class; sent: its connection's class */
};

struct dps_netif {
	const struct dps_netif_ops *ops;
	struct dps_dev *dev; /* not owned */
	struct rte_mempool *pool; /* not owned */
	struct dps_arp *arp; /* owned (dps_arp_create / dps_arp_destroy) */
	struct rte_ether_addr mac;
	struct dps_nets nets; /* our addresses */
	uint32_t gateway; /* network order, 0: none */
	uint16_t mtu;
	int meta_off; /* mbuf dynfield: struct dps_pkt_meta */
	uint64_t *ctr; /* [DPS_CTR_COUNT], the caller's */
	uint64_t *drop; /* [DPS_DROP_COUNT], the caller's */
};

static inline struct dps_pkt_meta *dps_pkt_meta(const struct dps_netif *n, struct rte_mbuf *m)
{
	return RTE_MBUF_DYNFIELD(m, n->meta_off, struct dps_pkt_meta *);
}

/* Count a drop and free the frame. m may be NULL (only counts). */
static inline void dps_netif_drop(struct dps_netif *n, struct rte_mbuf *m, enum dps_drop why)
{
	n->drop[why]++;
	rte_pktmbuf_free(m);
}

/* The checksum offloads of the device under n (DPS_DEV_* of dev.h), for the transport's sums. */
uint32_t dps_netif_csum(const struct dps_netif *n);

/* Is addr (network order) one of ours? Does it lie in one of our subnets? */
bool dps_netif_is_local(const struct dps_netif *n, uint32_t addr);
bool dps_netif_is_onlink(const struct dps_netif *n, uint32_t addr);
/* Is addr a broadcast address for us: 255.255.255.255 or the directed broadcast of a subnet? */
bool dps_netif_is_bcast(const struct dps_netif *n, uint32_t addr);

void dps_eth_input(struct dps_netif *n, struct rte_mbuf *m, uint64_t now);
/* Prepend an Ethernet header to m (starting at the L3 header) and queue it for transmission. */
void dps_eth_output(struct dps_netif *n, struct rte_mbuf *m, const struct rte_ether_addr *dst,
		    uint16_t ethertype);

int dps_arp_create(struct dps_netif *n, const struct dps_conf *c, struct dps_arp **out);
void dps_arp_destroy(struct dps_arp *a);
void dps_arp_input(struct dps_netif *n, struct rte_mbuf *m, uint64_t now);
/* Send m (starting at its IPv4 header) to nexthop: at once when resolved, else after resolution. */
void dps_arp_output(struct dps_netif *n, struct rte_mbuf *m, uint32_t nexthop, uint64_t now);
/* Expire entries, retry requests, drop packets whose next hop never answered. */
void dps_arp_timer(struct dps_netif *n, uint64_t now);
/* Broadcast a gratuitous ARP announcing ip. */
void dps_arp_announce(struct dps_netif *n, uint32_t ip);
/* Look up a resolved entry of a; returns 1 and *mac when known (for tests and stats). */
int dps_arp_find(const struct dps_arp *a, uint32_t ip, struct rte_ether_addr *mac);
/* Number of entries of a in use. */
unsigned dps_arp_in_use(const struct dps_arp *a);

void dps_ipv4_input(struct dps_netif *n, struct rte_mbuf *m, uint64_t now);

/* What a transport (TCP, ICMP) says of the IPv4 packet it hands down; the rest is this layer's. */
struct dps_ipv4_out {
	uint32_t src, dst; /* network order */
	uint8_t proto; /* IPPROTO_* */
	uint8_t tos;
	bool df; /* don't fragment (RFC 1191 path MTU discovery: TCP sets it) */
	uint8_t cls; /* the packet's class, and */
	const void *flow; /* its connection, for the transmit batch (struct dps_pkt_meta) */
};

/*
 * The one IPv4 output (lwIP's ip_output_if): prepend the header o describes to m, which starts at
 * the transport header and holds the whole payload, stamp o's class and flow on it (they travel
 * with the packet, through an ARP queue too), fill in its checksum or leave it to the device
 * (l3_len and ol_flags for offload; a transport that offloads its own sum sets its flags and
 * l4_len first), route (on-link, broadcast or the gateway) and hand it to ARP. Takes ownership;
 * failures are counted drops (nombuf without headroom, no_route).
 */
void dps_ipv4_output(struct dps_netif *n, struct rte_mbuf *m, const struct dps_ipv4_out *o,
		     uint64_t now);

/* m starts at the validated IPv4 header ip (trimmed to its total length); the payload is ICMP. */
void dps_icmp_input(struct dps_netif *n, struct rte_mbuf *m, const struct dps_ipv4_view *ip,
		    uint64_t now);

#endif
