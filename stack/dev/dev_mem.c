/*
 * dev_mem: an in-memory device for unit tests. Two rte_rings: "wire to engine" (the test injects,
 * the engine's rx burst dequeues) and "engine to wire" (the engine's tx burst enqueues, the test
 * collects). Single producer, single consumer: the test and the engine run on one thread.
 *
 * Optional emulated checksum offload (dps_dev_mem_set_csum): tx checks each offloaded frame
 * against the driver contract and computes its checksums, as a NIC does on the wire; rx checks
 * every IPv4/TCP frame and sets the GOOD/BAD flags a NIC would.
 */
#include "dev.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_tcp.h>

struct dev_mem {
	struct dps_dev dev; /* first: a dps_dev * is a dev_mem * */
	struct rte_ring *in, *out;
	struct dps_dev_stats st;
	uint64_t csum_ok, csum_bad; /* offloaded frames that kept / broke the contract */
};

/* RFC 1071 sum of len bytes of the chain m from byte off, folded (odd piece lengths handled). */
static uint16_t chain_sum(const struct rte_mbuf *m, uint32_t off, uint32_t len)
{
	uint32_t sum = 0, done = 0;

	for (; m != NULL && off >= m->data_len; m = m->next)
		off -= m->data_len;
	for (; m != NULL && done < len; m = m->next, off = 0) {
		uint32_t n = RTE_MIN((uint32_t)m->data_len - off, len - done);
		uint16_t part = __rte_raw_cksum_reduce(
		    __rte_raw_cksum(rte_pktmbuf_mtod_offset(m, const void *, off), n, 0));

		sum += (done & 1) ? rte_bswap16(part) : part;
		done += n;
	}
	return __rte_raw_cksum_reduce(sum);
}

/* The IPv4 header of an Ethernet frame in its first buffer, or NULL. */
static struct rte_ipv4_hdr *frame_ipv4(struct rte_mbuf *m)
{
	struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);

	if (m->data_len < sizeof(*eh) + sizeof(struct rte_ipv4_hdr) ||
	    eh->ether_type != RTE_BE16(RTE_ETHER_TYPE_IPV4))
		return NULL;
	return (struct rte_ipv4_hdr *)(eh + 1);
}

/* What a NIC does with an offloaded frame: check the driver's side of the contract, then fill in
 * the checksums. Returns false when the contract was broken. */
static bool tx_offload(struct rte_mbuf *m)
{
	struct rte_ipv4_hdr *ip = frame_ipv4(m);
	uint64_t f = m->ol_flags;
	bool ok = ip != NULL && (f & RTE_MBUF_F_TX_IPV4) &&
		  m->l2_len == sizeof(struct rte_ether_hdr) && m->l3_len == rte_ipv4_hdr_len(ip);

	if (ok && (f & RTE_MBUF_F_TX_IP_CKSUM)) {
		ok = ip->hdr_checksum == 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
	}
	if (ok && (f & RTE_MBUF_F_TX_L4_MASK) == RTE_MBUF_F_TX_TCP_CKSUM) {
		uint32_t l4off = m->l2_len + m->l3_len;
		uint32_t l4len = rte_be_to_cpu_16(ip->total_length) - m->l3_len;
		struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)((uint8_t *)ip + m->l3_len);

		ok = ip->next_proto_id == IPPROTO_TCP && m->data_len >= l4off + m->l4_len &&
		     m->l4_len == (th->data_off >> 4) * 4u &&
		     th->cksum == rte_ipv4_phdr_cksum(ip, 0);
		/* The field holds the pseudo-header sum: summing the segment over it completes it. */
		th->cksum = (uint16_t)~chain_sum(m, l4off, l4len);
	}
	return ok;
}

/* What a NIC with rx checksum offload reports for a received frame. */
static void rx_offload(struct rte_mbuf *m, uint32_t csum)
{
	struct rte_ipv4_hdr *ip = frame_ipv4(m);
	uint32_t ihl, total;

	m->ol_flags &= ~(RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK);
	if (ip == NULL || (ip->version_ihl >> 4) != 4)
		return;
	ihl = rte_ipv4_hdr_len(ip);
	total = rte_be_to_cpu_16(ip->total_length);
	if (ihl < sizeof(*ip) || total < ihl || sizeof(struct rte_ether_hdr) + total > m->pkt_len)
		return;
	if ((csum & DPS_DEV_RX_IP_CSUM) && m->data_len >= sizeof(struct rte_ether_hdr) + ihl)
		m->ol_flags |= rte_raw_cksum(ip, ihl) == 0xffff ? RTE_MBUF_F_RX_IP_CKSUM_GOOD
								: RTE_MBUF_F_RX_IP_CKSUM_BAD;
	if ((csum & DPS_DEV_RX_TCP_CSUM) && ip->next_proto_id == IPPROTO_TCP &&
	    (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) ==
		0) {
		uint32_t sum = chain_sum(m, sizeof(struct rte_ether_hdr) + ihl, total - ihl) +
			       rte_ipv4_phdr_cksum(ip, 0);

		m->ol_flags |= __rte_raw_cksum_reduce(sum) == 0xffff ? RTE_MBUF_F_RX_L4_CKSUM_GOOD
								     : RTE_MBUF_F_RX_L4_CKSUM_BAD;
	}
}

static uint16_t mem_rx(struct dps_dev *dev, struct rte_mbuf **pkts, uint16_t n)
{
	struct dev_mem *m = (struct dev_mem *)dev;
	uint16_t got = (uint16_t)rte_ring_dequeue_burst(m->in, (void **)pkts, n, NULL);

	m->st.rx_frames += got;
	for (uint16_t i = 0; i < got; i++) {
		m->st.rx_bytes += rte_pktmbuf_pkt_len(pkts[i]);
		if (m->dev.csum & (DPS_DEV_RX_IP_CSUM | DPS_DEV_RX_TCP_CSUM))
			rx_offload(pkts[i], m->dev.csum);
	}
	return got;
}

static uint16_t mem_tx(struct dps_dev *dev, struct rte_mbuf **pkts, uint16_t n)
{
	struct dev_mem *m = (struct dev_mem *)dev;
	uint16_t sent = (uint16_t)rte_ring_enqueue_burst(m->out, (void **)pkts, n, NULL);

	/* The frames taken "leave on the wire": checksums filled in now (the test collects them
	 * later; nothing else touches them). */
	for (uint16_t i = 0; i < sent; i++)
		if (pkts[i]->ol_flags & (RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_L4_MASK)) {
			/* Only what the device offers may be asked of it. */
			bool asked_ok = (!(pkts[i]->ol_flags & RTE_MBUF_F_TX_IP_CKSUM) ||
					 (m->dev.csum & DPS_DEV_TX_IP_CSUM)) &&
					(!(pkts[i]->ol_flags & RTE_MBUF_F_TX_L4_MASK) ||
					 (m->dev.csum & DPS_DEV_TX_TCP_CSUM));

			if (tx_offload(pkts[i]) && asked_ok)
				m->csum_ok++;
			else
				m->csum_bad++;
		}
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

/* No wait fds (.wait_fds NULL): frames arrive by dps_dev_mem_inject, from the test itself. */
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

void dps_dev_mem_set_csum(struct dps_dev *dev, uint32_t csum)
{
	dev->csum = csum;
}

void dps_dev_mem_csum_stats(const struct dps_dev *dev, uint64_t *tx_ok, uint64_t *tx_bad)
{
	const struct dev_mem *m = (const struct dev_mem *)dev;

	*tx_ok = m->csum_ok;
	*tx_bad = m->csum_bad;
}
