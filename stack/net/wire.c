/* wire: header parsers. Every one checks the length before it reads a field. */
#include "wire.h"

#include <string.h>

#include <rte_tcp.h>
#include <rte_udp.h>

enum dps_drop dps_wire_eth_parse(const void *buf, size_t len, struct dps_eth_view *v)
{
	if (len < sizeof(struct rte_ether_hdr))
		return DPS_DROP_eth_short;
	v->h = buf;
	v->type = rte_be_to_cpu_16(v->h->ether_type);
	v->hlen = sizeof(struct rte_ether_hdr);
	return DPS_DROP_NONE;
}

enum dps_drop dps_wire_arp_parse(const void *buf, size_t len, struct dps_arp_view *v)
{
	const struct rte_arp_hdr *a = buf;

	if (len < sizeof(*a))
		return DPS_DROP_arp_short;
	/* RFC 826: Ethernet (1) hardware, IPv4 (0x0800) protocol, 6- and 4-byte addresses. */
	if (a->arp_hardware != RTE_BE16(RTE_ARP_HRD_ETHER) ||
	    a->arp_protocol != RTE_BE16(RTE_ETHER_TYPE_IPV4) || a->arp_hlen != RTE_ETHER_ADDR_LEN ||
	    a->arp_plen != 4)
		return DPS_DROP_arp_format;
	v->op = rte_be_to_cpu_16(a->arp_opcode);
	if (v->op != RTE_ARP_OP_REQUEST && v->op != RTE_ARP_OP_REPLY)
		return DPS_DROP_arp_op;
	/* The payload is packed (unaligned): copy the fields out. */
	memcpy(&v->sha, &a->arp_data.arp_sha, sizeof(v->sha));
	memcpy(&v->tha, &a->arp_data.arp_tha, sizeof(v->tha));
	memcpy(&v->spa, &a->arp_data.arp_sip, sizeof(v->spa));
	memcpy(&v->tpa, &a->arp_data.arp_tip, sizeof(v->tpa));
	return DPS_DROP_NONE;
}

/* RFC 1122 §3.2.1.3: a source must not be 0, loopback (127/8), multicast or limited broadcast;
 * class E (240/4) is reserved. */
static int ipv4_src_is_martian(uint32_t be)
{
	uint32_t h = rte_be_to_cpu_32(be);

	return (h >> 24) == 0 || (h >> 24) == 127 || (h >> 28) >= 0xe;
}

enum dps_drop dps_wire_ipv4_parse(const void *buf, size_t len, struct dps_ipv4_view *v)
{
	return dps_wire_ipv4_parse_csum(buf, len, v, false);
}

enum dps_drop dps_wire_ipv4_parse_csum(const void *buf, size_t len, struct dps_ipv4_view *v,
				       bool csum_ok)
{
	const struct rte_ipv4_hdr *h = buf;
	size_t hlen, total;

	if (len < sizeof(*h))
		return DPS_DROP_ip_short;
	if ((h->version_ihl >> 4) != 4)
		return DPS_DROP_ip_version;
	hlen = (size_t)(h->version_ihl & RTE_IPV4_HDR_IHL_MASK) * RTE_IPV4_IHL_MULTIPLIER;
	if (hlen < sizeof(*h) || hlen > len)
		return DPS_DROP_ip_ihl;
	total = rte_be_to_cpu_16(h->total_length);
	if (total < hlen || total > len)
		return DPS_DROP_ip_len;
	/* RFC 1071: the sum over a valid header, checksum field included, is all ones. */
	if (!csum_ok && rte_raw_cksum(h, hlen) != 0xffff)
		return DPS_DROP_ip_csum;
	if (h->time_to_live == 0)
		return DPS_DROP_ip_ttl;
	if ((h->fragment_offset & RTE_BE16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) != 0)
		return DPS_DROP_ip_frag;
	if (ipv4_src_is_martian(h->src_addr))
		return DPS_DROP_ip_src;
	v->h = h;
	v->hlen = hlen;
	v->total = total;
	v->src = h->src_addr;
	v->dst = h->dst_addr;
	v->proto = h->next_proto_id;
	return DPS_DROP_NONE;
}

enum dps_drop dps_wire_icmp_parse(const void *buf, size_t len, struct dps_icmp_view *v)
{
	const struct rte_icmp_hdr *h = buf;

	if (len < sizeof(*h))
		return DPS_DROP_icmp_short;
	if (rte_raw_cksum(buf, len) != 0xffff)
		return DPS_DROP_icmp_csum;
	v->type = h->icmp_type;
	v->code = h->icmp_code;
	return DPS_DROP_NONE;
}

enum dps_drop dps_wire_flow_parse(const void *buf, size_t len, struct dps_flow_view *v)
{
	const struct rte_ether_hdr *eh = buf;
	const struct rte_ipv4_hdr *h = (const struct rte_ipv4_hdr *)(eh + 1);
	const uint8_t *l4;
	size_t hlen, total, l4len, thl = 0;

	memset(v, 0, sizeof(*v));
	if (len < sizeof(*eh))
		return DPS_DROP_eth_short;
	if (eh->ether_type != RTE_BE16(RTE_ETHER_TYPE_IPV4))
		return DPS_DROP_eth_type;
	len -= sizeof(*eh);
	if (len < sizeof(*h))
		return DPS_DROP_ip_short;
	if ((h->version_ihl >> 4) != 4)
		return DPS_DROP_ip_version;
	hlen = (size_t)(h->version_ihl & RTE_IPV4_HDR_IHL_MASK) * RTE_IPV4_IHL_MULTIPLIER;
	if (hlen < sizeof(*h))
		return DPS_DROP_ip_ihl;
	total = rte_be_to_cpu_16(h->total_length);
	if (total < hlen || total > len)
		return DPS_DROP_ip_len;
	v->proto = h->next_proto_id;
	v->src = h->src_addr;
	v->dst = h->dst_addr;
	l4 = (const uint8_t *)h + hlen;
	l4len = total - hlen;
	if ((v->proto == IPPROTO_TCP && l4len >= sizeof(struct rte_tcp_hdr)) ||
	    (v->proto == IPPROTO_UDP && l4len >= sizeof(struct rte_udp_hdr))) {
		/* The ports are the first 4 bytes of both headers. */
		v->sport = (uint16_t)(l4[0] << 8 | l4[1]);
		v->dport = (uint16_t)(l4[2] << 8 | l4[3]);
		thl = v->proto == IPPROTO_TCP ? (size_t)(l4[12] >> 4) * 4
					      : sizeof(struct rte_udp_hdr);
	} else if (v->proto == IPPROTO_ICMP && l4len >= 8) {
		v->sport = (uint16_t)(l4[4] << 8 | l4[5]); /* RFC 792: an echo's identifier */
		thl = 8;
	}
	if (thl > l4len)
		thl = l4len;
	v->hdrlen = (uint16_t)thl;
	v->payload = l4 + thl;
	v->paylen = (uint32_t)(l4len - thl);
	return DPS_DROP_NONE;
}

enum dps_drop dps_wire_frame_parse(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	struct dps_eth_view eth;
	struct dps_arp_view arp;
	struct dps_ipv4_view ip;
	struct dps_icmp_view icmp;
	enum dps_drop d;

	d = dps_wire_eth_parse(p, len, &eth);
	if (d != DPS_DROP_NONE)
		return d;
	p += eth.hlen;
	len -= eth.hlen;
	switch (eth.type) {
	case RTE_ETHER_TYPE_ARP:
		return dps_wire_arp_parse(p, len, &arp);
	case RTE_ETHER_TYPE_IPV4:
		d = dps_wire_ipv4_parse(p, len, &ip);
		if (d != DPS_DROP_NONE || ip.proto != IPPROTO_ICMP)
			return d;
		return dps_wire_icmp_parse(p + ip.hlen, ip.total - ip.hlen, &icmp);
	default:
		return DPS_DROP_eth_type;
	}
}
