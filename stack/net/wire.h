/*
 * wire: stateless parsing of Ethernet, ARP, IPv4 and ICMP headers (STYLE.md: smoltcp's wire split).
 *
 * Each parser checks the length first, so it never reads past len bytes, and returns DPS_DROP_NONE or
 * the reason the packet must be dropped. Parsers read buffers, not mbufs: the fuzz target feeds them
 * arbitrary bytes. Multi-byte fields stay in network order (rte_be*_t).
 */
#ifndef DPS_WIRE_H
#define DPS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_arp.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>

#include "dps_counters.h"

struct dps_eth_view {
	const struct rte_ether_hdr *h;
	uint16_t type; /* host order */
	size_t hlen;
};

struct dps_arp_view {
	uint16_t op; /* host order: RTE_ARP_OP_REQUEST or RTE_ARP_OP_REPLY */
	struct rte_ether_addr sha, tha;
	uint32_t spa, tpa; /* network order */
};

struct dps_ipv4_view {
	const struct rte_ipv4_hdr *h;
	size_t hlen; /* header bytes, options included */
	size_t total; /* total length: header + payload (the frame may carry padding after it) */
	uint32_t src, dst; /* network order */
	uint8_t proto;
};

struct dps_icmp_view {
	uint8_t type, code;
};

enum dps_drop dps_wire_eth_parse(const void *buf, size_t len, struct dps_eth_view *v);
enum dps_drop dps_wire_arp_parse(const void *buf, size_t len, struct dps_arp_view *v);
/* Also checks version, IHL, total length against len, header checksum, TTL, fragments, martian
 * sources. Destination checks need the engine's addresses: they are the caller's. */
enum dps_drop dps_wire_ipv4_parse(const void *buf, size_t len, struct dps_ipv4_view *v);
/* The same, with the header checksum left unchecked when csum_ok (the device verified it). */
enum dps_drop dps_wire_ipv4_parse_csum(const void *buf, size_t len, struct dps_ipv4_view *v,
				       bool csum_ok);
/* buf/len is the ICMP message (IPv4 payload, exactly total - hlen bytes); checks the checksum. */
enum dps_drop dps_wire_icmp_parse(const void *buf, size_t len, struct dps_icmp_view *v);

/* Parse a whole frame as far as this layer understands it; for the fuzz target and tests.
 * Returns the first drop reason or DPS_DROP_NONE. */
enum dps_drop dps_wire_frame_parse(const void *buf, size_t len);

#endif
