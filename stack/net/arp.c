/*
 * arp: neighbour resolution for IPv4 over Ethernet (RFC 826, RFC 1122 §2.3.2).
 *
 * The cache is an rte_hash from IPv4 address to a slot of a fixed entry array (the hash's key
 * position is the slot). An entry is INCOMPLETE while we ask (packets for it wait in a bounded
 * per-entry queue) and REACHABLE once answered. A REACHABLE entry older than arp_timeout_ms stays in
 * use while we refresh it (one request a second, RFC 1122 §2.3.2.1); if no answer comes within
 * DPS_ARP_TRIES seconds it is removed. An INCOMPLETE entry gives up after DPS_ARP_TRIES requests and
 * drops what waited on it.
 *
 * Call order: dps_arp_input (from eth) learns and answers; dps_arp_output (from ipv4) sends or
 * queues; dps_arp_timer (from the engine, every DPS_TIMER_NS) retries, refreshes and expires.
 */
#include "net.h"
#include "wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_mbuf.h>

#define DPS_ARP_TRIES 3
#define DPS_ARP_RETRY_NS 1000000000ull /* RFC 1122 §2.3.2.1: at most one request a second */

enum arp_state { ARP_FREE, ARP_INCOMPLETE, ARP_REACHABLE };

struct arp_entry {
	uint32_t ip;
	uint8_t state;
	uint8_t tries;
	uint16_t qlen;
	struct rte_ether_addr mac;
	uint64_t confirmed; /* REACHABLE: when an answer last confirmed mac */
	uint64_t last_req; /* when we last sent a request for ip */
};

struct dps_arp {
	struct rte_hash *h;
	struct arp_entry *ent;
	struct rte_mbuf **queue; /* qmax waiting packets per entry */
	unsigned n_ent, qmax, in_use;
	uint64_t timeout_ns;
};

int dps_arp_create(struct dps_netif *n, const struct dps_conf *c, struct dps_arp **out)
{
	char name[RTE_HASH_NAMESIZE];
	struct rte_hash_parameters p = {
		.name = name,
		.entries = (uint32_t)c->arp_entries,
		.key_len = sizeof(uint32_t),
		.hash_func = rte_jhash,
		.socket_id = SOCKET_ID_ANY,
	};
	struct dps_arp *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return -ENOMEM;
	snprintf(name, sizeof(name), "dps_arp_%p", (void *)n);
	a->n_ent = (unsigned)c->arp_entries;
	a->qmax = (unsigned)c->arp_queue_len;
	a->timeout_ns = c->arp_timeout_ms * 1000000ull;
	a->h = rte_hash_create(&p);
	a->ent = calloc(a->n_ent, sizeof(*a->ent));
	a->queue = calloc((size_t)a->n_ent * a->qmax, sizeof(*a->queue));
	if (a->h == NULL || a->ent == NULL || a->queue == NULL) {
		dps_arp_destroy(a);
		return -ENOMEM;
	}
	*out = a;
	return 0;
}

static struct rte_mbuf **entry_queue(struct dps_arp *a, struct arp_entry *x)
{
	return &a->queue[(size_t)(x - a->ent) * a->qmax];
}

static void entry_drop_queue(struct dps_netif *n, struct arp_entry *x, enum dps_drop why)
{
	struct rte_mbuf **q = entry_queue(n->arp, x);

	for (unsigned i = 0; i < x->qlen; i++)
		dps_netif_drop(n, q[i], why);
	x->qlen = 0;
}

void dps_arp_destroy(struct dps_arp *a)
{
	if (a == NULL)
		return;
	if (a->ent != NULL && a->queue != NULL)
		for (unsigned i = 0; i < a->n_ent; i++)
			for (unsigned k = 0; k < a->ent[i].qlen; k++)
				rte_pktmbuf_free(a->queue[(size_t)i * a->qmax + k]);
	rte_hash_free(a->h);
	free(a->ent);
	free(a->queue);
	free(a);
}

static struct arp_entry *entry_find(struct dps_arp *a, uint32_t ip)
{
	int32_t pos = rte_hash_lookup(a->h, &ip);

	return pos < 0 ? NULL : &a->ent[pos];
}

static struct arp_entry *entry_add(struct dps_arp *a, uint32_t ip)
{
	int32_t pos = rte_hash_add_key(a->h, &ip);
	struct arp_entry *x;

	if (pos < 0 || (unsigned)pos >= a->n_ent) {
		if (pos >= 0)
			rte_hash_del_key(a->h, &ip);
		return NULL;
	}
	x = &a->ent[pos];
	*x = (struct arp_entry){ .ip = ip, .state = ARP_INCOMPLETE };
	a->in_use++;
	return x;
}

static void entry_del(struct dps_arp *a, struct arp_entry *x)
{
	rte_hash_del_key(a->h, &x->ip);
	x->state = ARP_FREE;
	a->in_use--;
}

/* Fill an ARP message into a fresh buffer and send it in an Ethernet frame to eth_dst. */
static void arp_send(struct dps_netif *n, uint16_t op, uint32_t spa,
		     const struct rte_ether_addr *tha, uint32_t tpa,
		     const struct rte_ether_addr *eth_dst)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(n->pool);
	struct rte_arp_hdr *a;

	if (m == NULL) {
		dps_netif_drop(n, NULL, DPS_DROP_nombuf);
		return;
	}
	*dps_pkt_meta(n, m) = (struct dps_pkt_meta){ 0 }; /* no connection's, lowest class */
	a = (struct rte_arp_hdr *)rte_pktmbuf_append(m, sizeof(*a));
	a->arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER);
	a->arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	a->arp_hlen = RTE_ETHER_ADDR_LEN;
	a->arp_plen = 4;
	a->arp_opcode = rte_cpu_to_be_16(op);
	rte_ether_addr_copy(&n->mac, &a->arp_data.arp_sha);
	a->arp_data.arp_sip = spa;
	rte_ether_addr_copy(tha, &a->arp_data.arp_tha);
	a->arp_data.arp_tip = tpa;
	n->ctr[op == RTE_ARP_OP_REQUEST ? DPS_CTR_arp_tx_request : DPS_CTR_arp_tx_reply]++;
	dps_eth_output(n, m, eth_dst, RTE_ETHER_TYPE_ARP);
}

/* Our address to speak from when talking to ip: the one whose subnet holds ip, else the first. */
static uint32_t source_for(const struct dps_netif *n, uint32_t ip)
{
	for (unsigned i = 0; i < n->nets.n; i++) {
		uint32_t mask = rte_cpu_to_be_32(~0u << (32 - n->nets.net[i].len));
		if (((ip ^ n->nets.net[i].addr) & mask) == 0)
			return n->nets.net[i].addr;
	}
	return n->nets.net[0].addr;
}

static void arp_request(struct dps_netif *n, struct arp_entry *x, uint64_t now)
{
	static const struct rte_ether_addr zero = { { 0 } };
	struct rte_ether_addr bcast;

	memset(&bcast, 0xff, sizeof(bcast));
	x->last_req = now;
	arp_send(n, RTE_ARP_OP_REQUEST, source_for(n, x->ip), &zero, x->ip, &bcast);
}

void dps_arp_announce(struct dps_netif *n, uint32_t ip)
{
	static const struct rte_ether_addr zero = { { 0 } };
	struct rte_ether_addr bcast;

	/* A gratuitous ARP request (RFC 5227 §3: sender and target address both ours). */
	memset(&bcast, 0xff, sizeof(bcast));
	arp_send(n, RTE_ARP_OP_REQUEST, ip, &zero, ip, &bcast);
}

/* The entry now knows its MAC: send what waited for it. */
static void entry_resolved(struct dps_netif *n, struct arp_entry *x,
			   const struct rte_ether_addr *mac, uint64_t now)
{
	struct rte_mbuf **q = entry_queue(n->arp, x);

	x->mac = *mac;
	x->state = ARP_REACHABLE;
	x->confirmed = now;
	x->tries = 0;
	n->ctr[DPS_CTR_arp_learned]++;
	for (unsigned i = 0; i < x->qlen; i++)
		dps_eth_output(n, q[i], &x->mac, RTE_ETHER_TYPE_IPV4);
	x->qlen = 0;
}

void dps_arp_input(struct dps_netif *n, struct rte_mbuf *m, uint64_t now)
{
	struct dps_arp_view v;
	struct arp_entry *x;
	int for_us;
	enum dps_drop d =
	    dps_wire_arp_parse(rte_pktmbuf_mtod(m, void *), rte_pktmbuf_data_len(m), &v);

	if (d != DPS_DROP_NONE) {
		dps_netif_drop(n, m, d);
		return;
	}
	n->ctr[v.op == RTE_ARP_OP_REQUEST ? DPS_CTR_arp_rx_request : DPS_CTR_arp_rx_reply]++;
	/* Someone else claiming our address, or a sender that cannot be a host. spa 0 is an RFC 5227
	 * probe: answered below when it asks for us, never learned. */
	if (dps_netif_is_local(n, v.spa) || !rte_is_unicast_ether_addr(&v.sha) ||
	    rte_is_zero_ether_addr(&v.sha)) {
		dps_netif_drop(n, m, DPS_DROP_arp_bad_sender);
		return;
	}
	for_us = dps_netif_is_local(n, v.tpa);
	/* RFC 826 "merge": update a known sender; learn a new one only when it talks to us. */
	if (v.spa != 0 && dps_netif_is_onlink(n, v.spa)) {
		x = entry_find(n->arp, v.spa);
		if (x == NULL && for_us)
			x = entry_add(n->arp, v.spa);
		if (x != NULL)
			entry_resolved(n, x, &v.sha, now);
	}
	if (!for_us) {
		dps_netif_drop(n, m, DPS_DROP_arp_not_for_us);
		return;
	}
	if (v.op == RTE_ARP_OP_REQUEST)
		arp_send(n, RTE_ARP_OP_REPLY, v.tpa, &v.sha, v.spa, &v.sha);
	rte_pktmbuf_free(m);
}

void dps_arp_output(struct dps_netif *n, struct rte_mbuf *m, uint32_t nexthop, uint64_t now)
{
	struct dps_arp *a = n->arp;
	struct arp_entry *x;

	if (dps_netif_is_bcast(n, nexthop)) {
		struct rte_ether_addr bcast;
		memset(&bcast, 0xff, sizeof(bcast));
		dps_eth_output(n, m, &bcast, RTE_ETHER_TYPE_IPV4);
		return;
	}
	x = entry_find(a, nexthop);
	if (x != NULL && x->state == ARP_REACHABLE) {
		/* Stale: keep using it while one request a second asks again. */
		if (now - x->confirmed >= a->timeout_ns && now - x->last_req >= DPS_ARP_RETRY_NS)
			arp_request(n, x, now);
		dps_eth_output(n, m, &x->mac, RTE_ETHER_TYPE_IPV4);
		return;
	}
	if (x == NULL) {
		x = entry_add(a, nexthop);
		if (x == NULL) {
			dps_netif_drop(n, m, DPS_DROP_arp_table_full);
			return;
		}
		x->tries = 1;
		arp_request(n, x, now);
	}
	if (x->qlen >= a->qmax) {
		dps_netif_drop(n, m, DPS_DROP_arp_queue_full);
		return;
	}
	entry_queue(a, x)[x->qlen++] = m;
}

void dps_arp_timer(struct dps_netif *n, uint64_t now)
{
	struct dps_arp *a = n->arp;
	const void *key;
	void *data;
	uint32_t iter = 0;
	int32_t pos;

	/* Deleting the entry just returned is safe: the cuckoo hash (no extendable buckets) never
	 * moves the other keys on delete. */
	while ((pos = rte_hash_iterate(a->h, &key, &data, &iter)) >= 0) {
		struct arp_entry *x = &a->ent[pos];

		if (now - x->last_req < DPS_ARP_RETRY_NS)
			continue;
		if (x->state == ARP_INCOMPLETE) {
			if (x->tries >= DPS_ARP_TRIES) {
				entry_drop_queue(n, x, DPS_DROP_arp_timeout);
				entry_del(a, x);
				continue;
			}
			x->tries++;
			arp_request(n, x, now);
		} else if (now - x->confirmed >= a->timeout_ns + DPS_ARP_TRIES * DPS_ARP_RETRY_NS) {
			n->ctr[DPS_CTR_arp_expired]++;
			entry_del(a, x);
		}
	}
}

int dps_arp_find(const struct dps_arp *a, uint32_t ip, struct rte_ether_addr *mac)
{
	int32_t pos = rte_hash_lookup(a->h, &ip);

	if (pos < 0 || a->ent[pos].state != ARP_REACHABLE)
		return 0;
	*mac = a->ent[pos].mac;
	return 1;
}

unsigned dps_arp_in_use(const struct dps_arp *a)
{
	return a->in_use;
}
