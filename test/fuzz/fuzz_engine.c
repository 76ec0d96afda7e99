/*
 * Fuzz target: arbitrary frames into a running engine (in-memory device, EAL without hugepages):
 * ARP learning and answers, IPv4 checks, ICMP echo, the drop counters. The input is split into
 * frames by a 2-byte length prefix, and time advances between them, so that sequences (an ARP
 * request, then a ping) are explored too. Every buffer must come back to the pool.
 */
#include "dev.h"
#include "dps_conf.h"
#include "dps_stack.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_mbuf.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define POOL_N 511

static struct rte_mempool *mp;
static struct dps_conf conf;
static char runtime_dir[4096];

static void cleanup(void)
{
	dps_conf_free(&conf);
	rte_mempool_free(mp);
	rte_eal_cleanup();
	rmdir(runtime_dir); /* EAL leaves it behind */
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char prefix[64];
	char *eal[] = { "fuzz",           "--no-huge", "--no-shconf",   "-m", "64", "--no-pci",
			"--no-telemetry", prefix,      "--log-level=1", NULL };
	char err[256];

	(void)argc;
	(void)argv;
	snprintf(prefix, sizeof(prefix), "--file-prefix=dpsfuzz%d", (int)getpid());
	if (rte_eal_init(9, eal) < 0)
		abort();
	mp = rte_pktmbuf_pool_create("fuzz_pool", POOL_N, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				     SOCKET_ID_ANY);
	if (mp == NULL || dps_conf_init(&conf, err, sizeof(err)) < 0 ||
	    dps_conf_set(&conf, "ip", "198.18.0.2/24", DPS_SRC_ARG, "fuzz", err, sizeof(err)) < 0 ||
	    dps_conf_set(&conf, "gateway", "198.18.0.1", DPS_SRC_ARG, "fuzz", err, sizeof(err)) <
		0 ||
	    dps_conf_set(&conf, "arp_entries", "16", DPS_SRC_ARG, "fuzz", err, sizeof(err)) < 0)
		abort();
	snprintf(runtime_dir, sizeof(runtime_dir), "%s", rte_eal_get_runtime_dir());
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct rte_ether_addr mac = { { 0x72, 0x12, 0x40, 0xa9, 0xb0, 0x8e } };
	struct dps_dev *dev;
	struct dps_engine *e;
	struct rte_mbuf *out[64];
	uint64_t now = 1000000000ull;
	char err[256];
	unsigned n;

	if (dps_dev_mem_create("fuzzdev", &mac, 256, &dev) < 0)
		abort();
	if (dps_engine_create(&conf, dev, mp, now, &e, err, sizeof(err)) < 0)
		abort();
	while (size >= 2) {
		size_t len = (size_t)(data[0] | data[1] << 8) % 1600;
		struct rte_mbuf *m;

		data += 2;
		size -= 2;
		if (len > size)
			len = size;
		m = rte_pktmbuf_alloc(mp);
		if (m == NULL)
			abort();
		memcpy(rte_pktmbuf_append(m, (uint16_t)len), data, len);
		data += len;
		size -= len;
		if (dps_dev_mem_inject(dev, &m, 1) != 1)
			rte_pktmbuf_free(m);
		now += 400000000ull; /* 0.4 s: ARP retries and expiry happen within a few frames */
		dps_engine_poll(e, now);
		while ((n = dps_dev_mem_collect(dev, out, 64)) > 0)
			rte_pktmbuf_free_bulk(out, n);
	}
	dps_engine_destroy(e);
	if (rte_mempool_avail_count(mp) != POOL_N)
		abort(); /* a leaked buffer */
	return 0;
}
