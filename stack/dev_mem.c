/*
 * dev_mem: an in-memory device for unit tests. Two rte_rings: "wire to engine" (the test injects,
 * the engine's rx burst dequeues) and "engine to wire" (the engine's tx burst enqueues, the test
 * collects). Single producer, single consumer: the test and the engine run on one thread.
 */
#include "dev.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <rte_mbuf.h>
#include <rte_ring.h>

struct dev_mem {
	struct dps_dev dev; /* first: a dps_dev * is a dev_mem * */
	struct rte_ring *in, *out;
	struct dps_dev_stats st;
};

static uint16_t mem_rx(struct dps_dev *dev, struct rte_mbuf **pkts, uint16_t n)
{
	struct dev_mem *m = (struct dev_mem *)dev;
	uint16_t got = (uint16_t)rte_ring_dequeue_burst(m->in, (void **)pkts, n, NULL);

	m->st.rx_frames += got;
	for (uint16_t i = 0; i < got; i++)
		m->st.rx_bytes += rte_pktmbuf_pkt_len(pkts[i]);
	return got;
}

static uint16_t mem_tx(struct dps_dev *dev, struct rte_mbuf **pkts, uint16_t n)
{
	struct dev_mem *m = (struct dev_mem *)dev;
	uint16_t sent = (uint16_t)rte_ring_enqueue_burst(m->out, (void **)pkts, n, NULL);

	m->st.tx_frames += sent;
	for (uint16_t i = 0; i < sent; i++)
		m->st.tx_bytes += rte_pktmbuf_pkt_len(pkts[i]);
	return sent;
}

static int mem_stats(struct dps_dev *dev, struct dps_dev_stats *st)
{
	*st = ((struct dev_mem *)dev)->st;
	return 0;
}

static void mem_drain(struct rte_ring *r)
{
	void *obj;

	while (rte_ring_dequeue(r, &obj) == 0)
		rte_pktmbuf_free(obj);
}

static void mem_close(struct dps_dev *dev)
{
	struct dev_mem *m = (struct dev_mem *)dev;

	mem_drain(m->in);
	mem_drain(m->out);
	rte_ring_free(m->in);
	rte_ring_free(m->out);
	free(m);
}

static const struct dps_dev_ops mem_ops = {
	.rx_burst = mem_rx,
	.tx_burst = mem_tx,
	.stats = mem_stats,
	.close = mem_close,
};

int dps_dev_mem_create(const char *name, const struct rte_ether_addr *mac, unsigned size,
		       struct dps_dev **out)
{
	struct dev_mem *m;
	char rname[RTE_RING_NAMESIZE];

	if (!rte_is_power_of_2(size))
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return -ENOMEM;
	snprintf(rname, sizeof(rname), "%.20s_in", name);
	m->in = rte_ring_create(rname, size, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	snprintf(rname, sizeof(rname), "%.20s_out", name);
	m->out = rte_ring_create(rname, size, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (m->in == NULL || m->out == NULL) {
		rte_ring_free(m->in);
		rte_ring_free(m->out);
		free(m);
		return -ENOMEM;
	}
	m->dev.ops = &mem_ops;
	m->dev.mac = *mac;
	m->dev.port_id = -1;
	snprintf(m->dev.name, sizeof(m->dev.name), "%s", name);
	*out = &m->dev;
	return 0;
}

unsigned dps_dev_mem_inject(struct dps_dev *dev, struct rte_mbuf **pkts, unsigned n)
{
	return rte_ring_enqueue_burst(((struct dev_mem *)dev)->in, (void **)pkts, n, NULL);
}

unsigned dps_dev_mem_collect(struct dps_dev *dev, struct rte_mbuf **pkts, unsigned n)
{
	return rte_ring_dequeue_burst(((struct dev_mem *)dev)->out, (void **)pkts, n, NULL);
}
