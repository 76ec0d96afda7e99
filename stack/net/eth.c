/* eth: Ethernet II input (destination filter, EtherType dispatch) and output (header prepend). */
#include "net.h"
#include "wire.h"

#include <rte_mbuf.h>

void dps_eth_input(struct dps_netif *n, struct rte_mbuf *m, uint64_t now)
{
	struct dps_eth_view v;
	enum dps_drop d =
	    dps_wire_eth_parse(rte_pktmbuf_mtod(m, void *), rte_pktmbuf_data_len(m), &v);

	if (d != DPS_DROP_NONE) {
		dps_netif_drop(n, m, d);
		return;
	}
	/* af_packet and promiscuous NICs deliver everything on the segment: keep ours and broadcast.
	 * Multicast is dropped: the stack joins no group. */
	if (!rte_is_same_ether_addr(&v.h->dst_addr, &n->mac) &&
	    !rte_is_broadcast_ether_addr(&v.h->dst_addr)) {
		dps_netif_drop(n, m, DPS_DROP_eth_not_for_us);
		return;
	}
	rte_pktmbuf_adj(m, (uint16_t)v.hlen);
	switch (v.type) {
	case RTE_ETHER_TYPE_ARP:
		dps_arp_input(n, m, now);
		break;
	case RTE_ETHER_TYPE_IPV4:
		dps_ipv4_input(n, m, now);
		break;
	default:
		dps_netif_drop(n, m, DPS_DROP_eth_type);
		break;
	}
}

void dps_eth_output(struct dps_netif *n, struct rte_mbuf *m, const struct rte_ether_addr *dst,
		    uint16_t ethertype)
{
	struct rte_ether_hdr *h =
	    (struct rte_ether_hdr *)rte_pktmbuf_prepend(m, sizeof(struct rte_ether_hdr));

	if (h == NULL) { /* no headroom: only a bug in a layer above can cause this */
		dps_netif_drop(n, m, DPS_DROP_nombuf);
		return;
	}
	rte_ether_addr_copy(dst, &h->dst_addr);
	rte_ether_addr_copy(&n->mac, &h->src_addr);
	h->ether_type = rte_cpu_to_be_16(ethertype);
	m->l2_len = sizeof(*h); /* for checksum offload */
	n->ops->xmit(n, m);
}
