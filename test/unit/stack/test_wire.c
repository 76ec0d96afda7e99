/*
 * wire: each parser on valid input, on every truncation of a valid frame (exact-size buffers, so
 * ASan catches any read past the end) and on each malformation, with the exact drop reason.
 */
#include "wire.h"
#include "test/unit/check.h"
#include "test/unit/stack/frames.h"

#include <stdlib.h>

static const uint32_t peer_ip = RTE_BE32(0xc6120001), stack_ip = RTE_BE32(0xc6120002);

/* Parse a copy of frame[0..len) in a heap buffer of exactly len bytes. */
static enum dps_drop parse_exact(const uint8_t *frame, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);
	enum dps_drop d;

	memcpy(copy, frame, len);
	d = dps_wire_frame_parse(copy, len);
	free(copy);
	return d;
}

static void test_valid_frames(void)
{
	uint8_t f[FRAME_MAX];
	size_t n;

	n = frame_echo(f, &stack_mac, peer_ip, stack_ip, 7, 1, 56);
	CHECK_EQ(n, 14 + 20 + 8 + 56);
	CHECK_EQ(parse_exact(f, n), DPS_DROP_NONE);
	n = frame_echo(f, &stack_mac, peer_ip, stack_ip, 7, 1, 0);
	CHECK_EQ(parse_exact(f, n), DPS_DROP_NONE);
	n = frame_arp(f, &bcast_mac, RTE_ARP_OP_REQUEST, &peer_mac, peer_ip, &bcast_mac, stack_ip);
	CHECK_EQ(parse_exact(f, n), DPS_DROP_NONE);
}

static void test_truncations(void)
{
	uint8_t f[FRAME_MAX];
	size_t n = frame_echo(f, &stack_mac, peer_ip, stack_ip, 7, 1, 56);

	for (size_t len = 0; len < n; len++) {
		enum dps_drop d = parse_exact(f, len);
		if (len < 14)
			CHECK_EQ(d, DPS_DROP_eth_short);
		else if (len < 14 + 20)
			CHECK_EQ(d, DPS_DROP_ip_short);
		else
			CHECK_EQ(d, DPS_DROP_ip_len); /* total length beyond the frame */
	}
	n = frame_arp(f, &bcast_mac, RTE_ARP_OP_REQUEST, &peer_mac, peer_ip, &bcast_mac, stack_ip);
	for (size_t len = 14; len < n; len++)
		CHECK_EQ(parse_exact(f, len), DPS_DROP_arp_short);
	/* Ethernet padding after the IP packet is fine. */
	n = frame_echo(f, &stack_mac, peer_ip, stack_ip, 7, 1, 4);
	memset(f + n, 0, 20);
	CHECK_EQ(parse_exact(f, n + 20), DPS_DROP_NONE);
}

struct ip_case {
	const char *what;
	size_t off; /* byte offset in the IPv4 header */
	uint8_t value;
	int fix_cksum;
	enum dps_drop expect;
};

static void test_ipv4_malformations(void)
{
	static const struct ip_case cases[] = {
		{ "version 6", 0, 0x65, 1, DPS_DROP_ip_version },
		{ "IHL 4", 0, 0x44, 1, DPS_DROP_ip_ihl },
		{ "IHL 0", 0, 0x40, 1, DPS_DROP_ip_ihl },
		{ "IHL 15 past the frame", 0, 0x4f, 1, DPS_DROP_ip_ihl },
		{ "total length 19", 3, 19, 1, DPS_DROP_ip_len },
		{ "total length past frame", 2, 0x05, 1, DPS_DROP_ip_len },
		{ "bad checksum", 10, 0x00, 0, DPS_DROP_ip_csum },
		{ "TTL 0", 8, 0, 1, DPS_DROP_ip_ttl },
		{ "more fragments", 6, 0x20, 1, DPS_DROP_ip_frag },
		{ "fragment offset", 7, 0x01, 1, DPS_DROP_ip_frag },
		{ "source 0/8", 12, 0, 1, DPS_DROP_ip_src },
		{ "source loopback", 12, 127, 1, DPS_DROP_ip_src },
		{ "source multicast", 12, 224, 1, DPS_DROP_ip_src },
		{ "source broadcast", 12, 255, 1, DPS_DROP_ip_src },
		{ "DF is fine", 6, 0x40, 1, DPS_DROP_NONE },
	};
	uint8_t f[FRAME_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = frame_echo(f, &stack_mac, peer_ip, stack_ip, 7, 1, 10);
		uint8_t *ip = f + 14;

		ip[cases[i].off] = cases[i].value;
		if (cases[i].fix_cksum)
			frame_fix_ip_cksum(f);
		else if (ip[10] == 0 && ip[11] == 0)
			ip[11] = 1; /* make sure the checksum really is wrong */
		if (parse_exact(f, n) != cases[i].expect) {
			fprintf(stderr, "case '%s'\n", cases[i].what);
			CHECK_EQ(parse_exact(f, n), cases[i].expect);
		}
	}
}

static void test_icmp_and_arp_malformations(void)
{
	uint8_t f[FRAME_MAX];
	size_t n;

	/* ICMP shorter than its 8-byte header: an IP packet with 4 bytes of payload. */
	n = frame_eth(f, &stack_mac, &peer_mac, RTE_ETHER_TYPE_IPV4);
	n += frame_ipv4_hdr(f + n, IPPROTO_ICMP, peer_ip, stack_ip, 4);
	memset(f + n, 8, 4);
	CHECK_EQ(parse_exact(f, n + 4), DPS_DROP_icmp_short);
	/* ICMP checksum */
	n = frame_echo(f, &stack_mac, peer_ip, stack_ip, 7, 1, 10);
	f[n - 1] ^= 0x40;
	CHECK_EQ(parse_exact(f, n), DPS_DROP_icmp_csum);
	/* ARP: hardware type, address lengths, opcode */
	n = frame_arp(f, &bcast_mac, RTE_ARP_OP_REQUEST, &peer_mac, peer_ip, &bcast_mac, stack_ip);
	f[14 + 1] = 6; /* htype 6 (IEEE 802) */
	CHECK_EQ(parse_exact(f, n), DPS_DROP_arp_format);
	n = frame_arp(f, &bcast_mac, RTE_ARP_OP_REQUEST, &peer_mac, peer_ip, &bcast_mac, stack_ip);
	f[14 + 4] = 8; /* hlen */
	CHECK_EQ(parse_exact(f, n), DPS_DROP_arp_format);
	n = frame_arp(f, &bcast_mac, 3, &peer_mac, peer_ip, &bcast_mac, stack_ip);
	CHECK_EQ(parse_exact(f, n), DPS_DROP_arp_op);
	/* Unknown EtherTypes */
	n = frame_eth(f, &stack_mac, &peer_mac, RTE_ETHER_TYPE_IPV6);
	memset(f + n, 0, 40);
	CHECK_EQ(parse_exact(f, n + 40), DPS_DROP_eth_type);
}

/* A TCP frame with doff*4 header bytes declared, "GET /" as payload, in an exact-size buffer. */
static size_t frame_tcp(uint8_t *f, uint8_t doff)
{
	size_t n = frame_eth(f, &stack_mac, &peer_mac, RTE_ETHER_TYPE_IPV4);

	n += frame_ipv4_hdr(f + n, IPPROTO_TCP, peer_ip, stack_ip, 20 + 5);
	memset(f + n, 0, 20);
	f[n] = 0x30, f[n + 1] = 0x39; /* sport 12345 */
	f[n + 2] = 0x18, f[n + 3] = 0xeb; /* dport 6379 */
	f[n + 12] = (uint8_t)(doff << 4);
	memcpy(f + n + 20, "GET /", 5);
	return n + 25;
}

static enum dps_drop flow_exact(const uint8_t *frame, size_t len, struct dps_flow_view *v,
				const uint8_t **copy_out)
{
	uint8_t *copy = malloc(len ? len : 1);
	enum dps_drop d;

	memcpy(copy, frame, len);
	d = dps_wire_flow_parse(copy, len, v);
	for (uint32_t i = 0; d == DPS_DROP_NONE && i < v->paylen; i++)
		(void)*(volatile const uint8_t *)(v->payload + i);
	*copy_out = copy;
	return d;
}

/* The classifier's view (engine.c's rx_view): ports, header length and payload, bounded reads. */
static void test_flow_view(void)
{
	uint8_t f[FRAME_MAX];
	struct dps_flow_view v;
	const uint8_t *c;
	size_t n = frame_tcp(f, 5);

	CHECK_EQ(flow_exact(f, n, &v, &c), DPS_DROP_NONE);
	CHECK_EQ(v.proto, IPPROTO_TCP);
	CHECK_EQ(v.src, peer_ip);
	CHECK_EQ(v.dst, stack_ip);
	CHECK_EQ(v.sport, 12345);
	CHECK_EQ(v.dport, 6379);
	CHECK_EQ(v.hdrlen, 20);
	CHECK_EQ(v.paylen, 5);
	CHECK(v.payload == c + n - 5);
	free((void *)c);
	/* A data offset beyond the segment is cut to it: no payload. */
	n = frame_tcp(f, 15);
	CHECK_EQ(flow_exact(f, n, &v, &c), DPS_DROP_NONE);
	CHECK_EQ(v.hdrlen, 25);
	CHECK_EQ(v.paylen, 0);
	free((void *)c);
	/* Every truncation: the IPv4 total length no longer fits (or less), all zero. */
	for (size_t len = 0; len < n; len++) {
		enum dps_drop d = flow_exact(f, len, &v, &c);

		CHECK(d != DPS_DROP_NONE);
		CHECK_EQ(v.sport, 0);
		CHECK_EQ(v.paylen, 0);
		free((void *)c);
	}
	/* An ICMP echo: its identifier is the source port. */
	n = frame_echo(f, &stack_mac, peer_ip, stack_ip, 7, 1, 3);
	CHECK_EQ(flow_exact(f, n, &v, &c), DPS_DROP_NONE);
	CHECK_EQ(v.sport, 7);
	CHECK_EQ(v.hdrlen, 8);
	CHECK_EQ(v.paylen, 3);
	free((void *)c);
	/* Not IPv4. */
	n = frame_arp(f, &bcast_mac, RTE_ARP_OP_REQUEST, &peer_mac, peer_ip, &bcast_mac, stack_ip);
	CHECK_EQ(flow_exact(f, n, &v, &c), DPS_DROP_eth_type);
	free((void *)c);
}

int main(void)
{
	RUN(test_valid_frames);
	RUN(test_truncations);
	RUN(test_ipv4_malformations);
	RUN(test_icmp_and_arp_malformations);
	RUN(test_flow_view);
	DONE();
}
