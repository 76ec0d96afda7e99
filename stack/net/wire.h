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

/*
 * The flow view of an Ethernet frame, for the priority classifier (DESIGN.md §8, the NIC-layer
 * point, which runs before the checked parsers): IPv4 addresses and protocol, TCP/UDP ports (an
 * ICMP echo's identifier as sport), transport header length and payload. It checks only what
 * bounds its reads: EtherType IPv4, version 4, header length at least 20, total length at least
 * the header and within len. No checksum, TTL, fragment or address checks: the input path makes
 * those. A transport header shorter than its minimum (TCP 20, UDP 8, ICMP 8) leaves the ports 0
 * and counts as payload; a TCP data offset is cut to the segment.
 */
struct dps_flow_view {
	uint8_t proto;
	uint32_t src, dst; /* network order */
	uint16_t sport, dport; /* host order */
	uint16_t hdrlen; /* transport header bytes */
	const uint8_t *payload; /* within buf */
	uint32_t paylen;
};

/* Fill v from the frame buf/len. Returns DPS_DROP_NONE, or the first check that failed (eth_short,
 * eth_type, ip_short, ip_version, ip_ihl, ip_len), with v all zero. */
enum dps_drop dps_wire_flow_parse(const void *buf, size_t len, struct dps_flow_view *v);

/* Parse a whole frame as far as this layer understands it; for the fuzz target and tests.
 * Returns the first drop reason or DPS_DROP_NONE. */
enum dps_drop dps_wire_frame_parse(const void *buf, size_t len);

#endif
