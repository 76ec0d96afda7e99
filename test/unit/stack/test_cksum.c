/*
 * test_cksum: dps_tcp_cksum_chain over mbuf chains cut at every length, odd ones included, must
 * equal the checksum of the same bytes in one flat buffer (DPDK 22.11's rte_raw_cksum_mbuf does
 * not when a segment starts at an odd offset and its sum carries: the bug this guards against).
 * The mbufs are built by hand on the stack: no EAL needed.
 */
#include "tcp.h"
#include "test/unit/check.h"

#include <stdlib.h>
#include <string.h>

#include <rte_ip.h>
#include <rte_mbuf.h>

#define LEN 3000

static uint8_t data[LEN];

/* A chain of nseg mbufs over data[0..len), cut at the given lengths. */
static void build(struct rte_mbuf *m, const uint32_t *cuts, int nseg, uint32_t len)
{
	uint32_t off = 0;

	memset(m, 0, sizeof(*m) * (size_t)nseg);
	for (int i = 0; i < nseg; i++) {
		uint32_t n = i == nseg - 1 ? len - off : cuts[i];

		m[i].buf_addr = data + off;
		m[i].data_off = 0;
		m[i].data_len = (uint16_t)n;
		m[i].next = i + 1 < nseg ? &m[i + 1] : NULL;
		off += n;
	}
	m[0].nb_segs = (uint16_t)nseg;
	m[0].pkt_len = len;
}

static void odd_cuts(void)
{
	struct rte_mbuf m[4];

	for (uint32_t a = 1; a < 60; a++)
		for (uint32_t b = 1; b < 60; b += 7) {
			uint32_t cuts[3] = { a, b, 1400 };
			uint16_t flat = rte_raw_cksum(data, LEN);

			build(m, cuts, 4, LEN);
			CHECK_EQ(dps_tcp_cksum_chain(m, LEN), flat);
			/* a prefix of the chain */
			CHECK_EQ(dps_tcp_cksum_chain(m, a + b + 5), rte_raw_cksum(data, a + b + 5));
		}
}

static void one_segment(void)
{
	struct rte_mbuf m[1];
	uint32_t none[1] = { 0 };

	build(m, none, 1, LEN);
	CHECK_EQ(dps_tcp_cksum_chain(m, LEN), rte_raw_cksum(data, LEN));
	CHECK_EQ(dps_tcp_cksum_chain(m, 1), rte_raw_cksum(data, 1));
}

int main(void)
{
	/* 0xff-heavy data makes every partial sum carry: the case the swap-before-reduce lost. */
	srand(7);
	for (int i = 0; i < LEN; i++)
		data[i] = (uint8_t)(i % 3 == 0 ? rand() : 0xff);
	RUN(odd_cuts);
	RUN(one_segment);
	DONE();
}
