/*
 * bench_prio: what the priority rules cost per received packet at the NIC layer (issue 8: "cost
 * per packet reported with 0, 1 and 8 rules"). An engine over the in-memory device receives
 * bursts of 32 UDP frames (dropped by IPv4 right after classification: the stack has no UDP, so
 * what is timed is the engine's per-frame path plus the classifier) with no rules, 1 rule and 8
 * rules; every rule fails on its last term (a payload prefix), the worst case for first-match.
 * Rounds alternate between the three, and the median of each is reported with the difference to
 * no rules. Figures, not assertions (run: bench_prio [bursts]).
 */
#include "dps_stack.h"
#include "dev.h"
#include "test/unit/eal_test.h"
#include "test/unit/stack/frames.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_mbuf.h>
#include <rte_udp.h>

#define BURST 32
#define ROUNDS 7

static struct rte_mempool *mp;

static const char *const rules[3] = {
	"",
	"dport 9000 payload \"GET \" -> high",
	"dport 9000 payload \"GET \" -> high; dport 9000 payload \"PUT \" -> high; "
	"dport 9000 payload \"DEL \" -> high; src 198.18.0.0/24 dport 9000 payload \"SET \" -> "
	"high; "
	"sport 1000-60000 dport 9000 payload \"INC \" -> high; len 1-1000 dport 9000 payload "
	"\"HDR \" -> high; dst 198.18.0.2 dport 9000 payload[4] == 0x20 payload \"X\" -> high; "
	"dport 9000 payload \"PING\" -> high",
};

static size_t frame_udp(uint8_t *f)
{
	size_t n = frame_eth(f, &stack_mac, &peer_mac, RTE_ETHER_TYPE_IPV4);
	struct rte_udp_hdr *u;

	n += frame_ipv4_hdr(f + n, IPPROTO_UDP, ip4(198, 18, 0, 1), ip4(198, 18, 0, 2), 8 + 64);
	u = (struct rte_udp_hdr *)(f + n);
	u->src_port = rte_cpu_to_be_16(40000);
	u->dst_port = rte_cpu_to_be_16(9000);
	u->dgram_len = rte_cpu_to_be_16(8 + 64);
	u->dgram_cksum = 0;
	memcpy(f + n + 8, "GEX key-0123456789 .............................................", 64);
	return n + 8 + 64;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ns per packet of `bursts` bursts through an engine with rules r */
static double run(const char *r, unsigned bursts)
{
	char err[256];
	struct dps_conf c;
	struct dps_dev *dev;
	struct dps_engine *e;
	struct rte_mbuf *m[BURST];
	uint8_t f[FRAME_MAX];
	size_t len = frame_udp(f);
	uint64_t t, spent = 0;

	if (dps_conf_init(&c, err, sizeof(err)) != 0 ||
	    dps_conf_set(&c, "ip", "198.18.0.2/24", DPS_SRC_ARG, "bench", err, sizeof(err)) != 0 ||
	    dps_conf_set(&c, "priority", r, DPS_SRC_ARG, "bench", err, sizeof(err)) != 0 ||
	    dps_dev_mem_create("benchdev", &stack_mac, 256, &dev) != 0 ||
	    dps_engine_create(&c, dev, mp, 0, &e, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_prio: %s\n", err);
		exit(1);
	}
	for (unsigned b = 0; b < bursts; b++) {
		for (unsigned i = 0; i < BURST; i++) {
			m[i] = rte_pktmbuf_alloc(mp);
			memcpy(rte_pktmbuf_append(m[i], (uint16_t)len), f, len);
		}
		dps_dev_mem_inject(dev, m, BURST);
		t = now_ns();
		dps_engine_poll(e, t);
		spent += now_ns() - t;
		while (dps_dev_mem_collect(dev, m, BURST) > 0) /* the gratuitous ARP */
			rte_pktmbuf_free(m[0]);
	}
	dps_engine_destroy(e);
	dps_conf_free(&c);
	return (double)spent / ((double)bursts * BURST);
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	unsigned bursts = argc > 1 ? (unsigned)atoi(argv[1]) : 20000;
	double ns[3][ROUNDS], med[3];
	static const int n_rules[3] = { 0, 1, 8 };

	if (test_eal_start("bench_prio", "256") < 0)
		return 1;
	mp = rte_pktmbuf_pool_create("bench_pool", 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				     SOCKET_ID_ANY);
	if (mp == NULL)
		return 1;
	for (int k = 0; k < 3; k++)
		(void)run(rules[k], bursts / 10); /* warm up */
	for (int r = 0; r < ROUNDS; r++)
		for (int k = 0; k < 3; k++)
			ns[k][r] = run(rules[k], bursts);
	printf("priority rules at the NIC layer: ns per received packet, median of %d rounds of "
	       "%u bursts of %d\n",
	       ROUNDS, bursts, BURST);
	printf("| rules | ns/packet | vs no rules |\n|---|---|---|\n");
	for (int k = 0; k < 3; k++) {
		qsort(ns[k], ROUNDS, sizeof(double), cmp);
		med[k] = ns[k][ROUNDS / 2];
		printf("| %d | %.1f | %+.1f |\n", n_rules[k], med[k], med[k] - med[0]);
	}
	rte_mempool_free(mp);
	test_eal_stop();
	return 0;
}
