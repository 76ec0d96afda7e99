/*
 * Frame builders for the stack's tests: Ethernet/ARP/IPv4/ICMP frames written into a byte buffer,
 * valid unless a test then breaks one field. Used by the unit tests and to write the fuzz seeds.
 */
#ifndef DPS_TEST_FRAMES_H
#define DPS_TEST_FRAMES_H

#include <stdint.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>

#define FRAME_MAX 2048

static const struct rte_ether_addr stack_mac = { { 0x02, 0xd5, 0x00, 0x00, 0x00, 0x02 } };
static const struct rte_ether_addr peer_mac = { { 0x02, 0xd5, 0x00, 0x00, 0x00, 0x01 } };
static const struct rte_ether_addr bcast_mac = { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };

static inline uint32_t ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	return rte_cpu_to_be_32((uint32_t)a << 24 | (uint32_t)b << 16 | (uint32_t)c << 8 | d);
}

static inline size_t frame_eth(uint8_t *buf, const struct rte_ether_addr *dst,
			       const struct rte_ether_addr *src, uint16_t type)
{
	struct rte_ether_hdr *h = (struct rte_ether_hdr *)buf;

	h->dst_addr = *dst;
	h->src_addr = *src;
	h->ether_type = rte_cpu_to_be_16(type);
	return sizeof(*h);
}

/* An ARP frame from src_mac. */
static inline size_t frame_arp(uint8_t *buf, const struct rte_ether_addr *eth_dst, uint16_t op,
			       const struct rte_ether_addr *sha, uint32_t spa,
			       const struct rte_ether_addr *tha, uint32_t tpa)
{
	size_t n = frame_eth(buf, eth_dst, sha, RTE_ETHER_TYPE_ARP);
	struct rte_arp_hdr *a = (struct rte_arp_hdr *)(buf + n);

	a->arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER);
	a->arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	a->arp_hlen = 6;
	a->arp_plen = 4;
	a->arp_opcode = rte_cpu_to_be_16(op);
	a->arp_data.arp_sha = *sha;
	a->arp_data.arp_sip = spa;
	a->arp_data.arp_tha = *tha;
	a->arp_data.arp_tip = tpa;
	return n + sizeof(*a);
}

/* An IPv4 header at buf with payload_len bytes of payload after it (checksum filled). */
static inline size_t frame_ipv4_hdr(uint8_t *buf, uint8_t proto, uint32_t src, uint32_t dst,
				    size_t payload_len)
{
	struct rte_ipv4_hdr *h = (struct rte_ipv4_hdr *)buf;

	memset(h, 0, sizeof(*h));
	h->version_ihl = RTE_IPV4_VHL_DEF;
	h->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*h) + payload_len));
	h->packet_id = RTE_BE16(0x1234);
	h->time_to_live = 64;
	h->next_proto_id = proto;
	h->src_addr = src;
	h->dst_addr = dst;
	h->hdr_checksum = rte_ipv4_cksum(h);
	return sizeof(*h);
}

/* A whole Ethernet + IPv4 + ICMP echo request frame with data_len bytes of data (0, 1, 2, ...). */
static inline size_t frame_echo(uint8_t *buf, const struct rte_ether_addr *eth_dst, uint32_t src,
				uint32_t dst, uint16_t id, uint16_t seq, size_t data_len)
{
	size_t n = frame_eth(buf, eth_dst, &peer_mac, RTE_ETHER_TYPE_IPV4);
	size_t icmp_len = sizeof(struct rte_icmp_hdr) + data_len;
	struct rte_icmp_hdr *icmp;

	n += frame_ipv4_hdr(buf + n, IPPROTO_ICMP, src, dst, icmp_len);
	icmp = (struct rte_icmp_hdr *)(buf + n);
	icmp->icmp_type = RTE_IP_ICMP_ECHO_REQUEST;
	icmp->icmp_code = 0;
	icmp->icmp_cksum = 0;
	icmp->icmp_ident = rte_cpu_to_be_16(id);
	icmp->icmp_seq_nb = rte_cpu_to_be_16(seq);
	for (size_t i = 0; i < data_len; i++)
		buf[n + sizeof(*icmp) + i] = (uint8_t)i;
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, icmp_len);
	return n + icmp_len;
}

/* Recompute the IPv4 header checksum of a frame after a test changed a field. */
static inline void frame_fix_ip_cksum(uint8_t *frame)
{
	struct rte_ipv4_hdr *h = (struct rte_ipv4_hdr *)(frame + sizeof(struct rte_ether_hdr));

	h->hdr_checksum = 0;
	h->hdr_checksum = rte_ipv4_cksum(h);
}

#endif
