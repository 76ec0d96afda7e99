/*
 * The size of a connection, all-in (issue 3: "a compact connection block ... report its size;
 * target <= 512 bytes all-in including table entry and timers"): the tcb (its wheel timer, SACK
 * scoreboard, deadlines and congestion state are inside it), its share of the flow table (the
 * rte_hash sized from tcp_max_conns: measured as the DPDK heap's growth between two engines of
 * different sizes) and of the handle table (tcp_table.c: one pointer and one free-list int per
 * handle). Printed, and checked against the target.
 */
#include "dev.h"
#include "dps_stack.h"
#include "tcp.h"
#include "test/unit/check.h"
#include "test/unit/eal_test.h"

#include <rte_malloc.h>
#include <rte_mbuf.h>

static struct rte_mempool *mp;

/* DPDK heap bytes an engine with tcp_max_conns = conns holds. */
static size_t engine_heap(const char *conns)
{
	struct rte_malloc_socket_stats before, after;
	struct rte_ether_addr mac = { { 0x02, 0, 0, 0, 0, 1 } };
	struct dps_engine *e;
	struct dps_dev *dev;
	struct dps_conf c;
	char err[256];

	CHECK_EQ(dps_conf_init(&c, err, sizeof(err)), 0);
	CHECK_EQ(dps_conf_set(&c, "ip", "198.18.0.2/24", DPS_SRC_ARG, "test", err, sizeof(err)), 0);
	CHECK_EQ(dps_conf_set(&c, "tcp_max_conns", conns, DPS_SRC_ARG, "test", err, sizeof(err)),
		 0);
	CHECK_EQ(dps_dev_mem_create("memdev", &mac, 256, &dev), 0);
	CHECK_EQ(rte_malloc_get_socket_stats(rte_socket_id(), &before), 0);
	CHECK_EQ(dps_engine_create(&c, dev, mp, 0, &e, err, sizeof(err)), 0);
	CHECK_EQ(rte_malloc_get_socket_stats(rte_socket_id(), &after), 0);
	dps_engine_destroy(e);
	dps_conf_free(&c);
	return after.heap_allocsz_bytes - before.heap_allocsz_bytes;
}

static void test_connection_size(void)
{
	size_t small = engine_heap("65536"), big = engine_heap("524288");
	double flow = (double)(big - small) / (524288 - 65536);
	double handle = sizeof(void *) + sizeof(int);
	double all = (double)sizeof(struct dps_tcb) + flow + handle;

	printf("connection block: tcb %zu B (wheel timer %zu B, deadlines, SACK scoreboard and "
	       "congestion state inside), flow table %.1f B, handle table %.1f B: %.1f B all-in\n",
	       sizeof(struct dps_tcb), sizeof(struct dps_timer), flow, handle, all);
	CHECK(all <= 512);
}

int main(void)
{
	CHECK(test_eal_start("test_connsize", "512") >= 0);
	mp = rte_pktmbuf_pool_create("connsize", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				     rte_socket_id());
	CHECK(mp != NULL);
	RUN(test_connection_size);
	rte_mempool_free(mp);
	test_eal_stop();
	DONE();
}
