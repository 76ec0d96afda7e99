/*
 * csum_partial: dps_tcp_csum_is_partial() recognises the checksum a Linux sender leaves to
 * offload (CHECKSUM_PARTIAL: the folded pseudo-header sum in the field) and nothing else. The
 * segment is a real one: the SYN a kernel peer sent over a veth with default offloads (captured
 * with tshark on the peer's end; tshark: "Checksum: 0x9458 incorrect, should be 0x1af6 (maybe
 * caused by TCP checksum offload?)"). Exact-size heap copies, so ASan catches a read past the end.
 */
#include "tcp_wire.h"
#include "test/unit/check.h"

#include <stdlib.h>

#include <rte_ip.h>

/* 198.19.4.1:42268 -> 198.19.4.2:7, SYN, MSS 1460, SACK-permitted, timestamps, window scale 10:
 * the IPv4 header, then the 40-byte TCP segment whose checksum field is 0x9458. */
static const uint8_t syn_ip[] = {
	0x45, 0x00, 0x00, 0x3c, 0x5a, 0xe8, 0x40, 0x00, 0x40, 0x06, 0x4b, 0xaa, 0xc6, 0x13, 0x04,
	0x01, 0xc6, 0x13, 0x04, 0x02, 0xa5, 0x1c, 0x00, 0x07, 0x71, 0x85, 0x90, 0xad, 0x00, 0x00,
	0x00, 0x00, 0xa0, 0x02, 0xfa, 0xf0, 0x94, 0x58, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04,
	0x02, 0x08, 0x0a, 0x8b, 0xb0, 0x6a, 0xe5, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x0a,
};
#define IP_HLEN 20
#define TCP_LEN (sizeof(syn_ip) - IP_HLEN)

static uint32_t src(void)
{
	uint32_t a;

	memcpy(&a, syn_ip + 12, 4);
	return a;
}

static uint32_t dst(void)
{
	uint32_t a;

	memcpy(&a, syn_ip + 16, 4);
	return a;
}

/* The TCP segment of syn_ip in a heap buffer of exactly len bytes (len <= TCP_LEN). */
static uint8_t *seg_copy(size_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	memcpy(p, syn_ip + IP_HLEN, len);
	return p;
}

static void test_kernel_partial_recognised(void)
{
	struct dps_tcp_seg s;
	uint8_t *t = seg_copy(TCP_LEN);

	CHECK(dps_tcp_csum_is_partial(t, TCP_LEN, src(), dst()));
	/* It is not a valid checksum: a full check drops it, as it did before. */
	CHECK_EQ(dps_tcp_parse(t, TCP_LEN, src(), dst(), &s), DPS_DROP_tcp_csum);
	/* Trusted, it parses. */
	CHECK_EQ(dps_tcp_parse_csum(t, TCP_LEN, src(), dst(), true, &s), DPS_DROP_NONE);
	CHECK_EQ(s.sport, 42268);
	CHECK_EQ(s.dport, 7);
	CHECK_EQ(s.opts.mss, 1460);
	free(t);
}

static void test_only_the_exact_pseudo_sum(void)
{
	struct dps_tcp_seg s;
	uint8_t *t = seg_copy(TCP_LEN);

	/* The completed checksum (what the device would have written): valid, not partial. */
	dps_tcp_fill_cksum((struct rte_tcp_hdr *)t, TCP_LEN, src(), dst());
	CHECK_EQ(t[16], 0x1a);
	CHECK_EQ(t[17], 0xf6);
	CHECK(!dps_tcp_csum_is_partial(t, TCP_LEN, src(), dst()));
	CHECK_EQ(dps_tcp_parse(t, TCP_LEN, src(), dst(), &s), DPS_DROP_NONE);
	/* One off, either byte: neither partial nor valid. */
	memcpy(t, syn_ip + IP_HLEN, TCP_LEN);
	t[17] ^= 0x01;
	CHECK(!dps_tcp_csum_is_partial(t, TCP_LEN, src(), dst()));
	CHECK_EQ(dps_tcp_parse(t, TCP_LEN, src(), dst(), &s), DPS_DROP_tcp_csum);
	t[17] ^= 0x01;
	t[16] ^= 0x80;
	CHECK(!dps_tcp_csum_is_partial(t, TCP_LEN, src(), dst()));
	t[16] ^= 0x80;
	/* The pseudo-header covers addresses and length: another source, another destination or a
	 * segment cut short (4 bytes of options fewer) is not what the sender summed. */
	CHECK(dps_tcp_csum_is_partial(t, TCP_LEN, src(), dst()));
	CHECK(!dps_tcp_csum_is_partial(t, TCP_LEN, src() ^ RTE_BE32(1), dst()));
	CHECK(!dps_tcp_csum_is_partial(t, TCP_LEN, src(), dst() ^ RTE_BE32(0x100)));
	CHECK(!dps_tcp_csum_is_partial(t, TCP_LEN - 4, src(), dst()));
	free(t);
}

static void test_short_segments(void)
{
	/* Every length below a TCP header: false, and no read past the buffer. */
	for (size_t len = 0; len < DPS_TCP_HDR_LEN; len++) {
		uint8_t *t = seg_copy(len);

		CHECK(!dps_tcp_csum_is_partial(t, len, src(), dst()));
		free(t);
	}
	/* A bare 20-byte header whose field holds its pseudo-header sum: partial. */
	{
		uint8_t *t = seg_copy(DPS_TCP_HDR_LEN);
		uint16_t ph = __rte_raw_cksum_reduce(dps_tcp_pseudo_sum(src(), dst(), 20));

		memcpy(t + 16, &ph, 2);
		CHECK(dps_tcp_csum_is_partial(t, DPS_TCP_HDR_LEN, src(), dst()));
		free(t);
	}
}

int main(void)
{
	RUN(test_kernel_partial_recognised);
	RUN(test_only_the_exact_pseudo_sum);
	RUN(test_short_segments);
	DONE();
}
