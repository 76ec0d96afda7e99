/*
 * ipv4: input (validate, accept our addresses and broadcast, dispatch by protocol) and the one
 * output (header from the transport's addresses, checksum, route to an on-link host or the
 * gateway, hand to ARP).
 */
#include "net.h"
#include "wire.h"

#include "dev.h"

#include <rte_mbuf.h>

/* RFC 1122 §3.2.1.7 leaves the TTL to the host; 64 is what Linux uses. */
#define DPS_IP_TTL 64

static uint32_t prefix_mask(uint8_t len)
{
	return rte_cpu_to_be_32(len == 0 ? 0 : ~0u << (32 - len));
}

bool dps_netif_is_local(const struct dps_netif *n, uint32_t addr)
{
	for (unsigned i = 0; i < n->nets.n; i++)
		if (dps_net_has(&n->nets.net[i], addr))
			return true;
	return false;
}

bool dps_netif_is_onlink(const struct dps_netif *n, uint32_t addr)
{
	for (unsigned i = 0; i < n->nets.n; i++)
		if (((addr ^ n->nets.net[i].addr) & prefix_mask(n->nets.net[i].len)) == 0)
			return true;
	return false;
}

bool dps_netif_is_bcast(const struct dps_netif *n, uint32_t addr)
{
	if (addr == 0xffffffffu)
		return true;
	for (unsigned i = 0; i < n->nets.n; i++) {
		uint32_t mask = prefix_mask(n->nets.net[i].len);
		/* A /31 or /32 has no directed broadcast (RFC 3021). */
		if (n->nets.net[i].len <= 30 && ((addr ^ n->nets.net[i].addr) & mask) == 0 &&
		    (addr | mask) == 0xffffffffu)
			return true;
	}
	return false;
}

uint32_t dps_netif_csum(const struct dps_netif *n)
{
	return n->dev->csum;
}

/*
 * m's IPv4 total length when m, whose total length is beyond the frame, is a packet the device cut
 * short rather than a malformed one, else 0. Cut short: longer than our MTU (no sender on the link
 * may send that, but a local kernel peer's GSO/TSO super-frame is one packet until a device
 * segments it, and af_packet copies at most its ring frame of it) and received to at least the MTU.
 */
static unsigned ipv4_truncated_total(const struct dps_netif *n, const struct rte_mbuf *m)
{
	const struct rte_ipv4_hdr *h = rte_pktmbuf_mtod(m, const struct rte_ipv4_hdr *);
	unsigned total;

	if (rte_pktmbuf_data_len(m) < sizeof(*h) || rte_pktmbuf_data_len(m) < n->mtu)
		return 0;
	total = rte_be_to_cpu_16(h->total_length);
	return total > n->mtu ? total : 0;
}

void dps_ipv4_input(struct dps_netif *n, struct rte_mbuf *m, uint64_t now)
{
	struct dps_ipv4_view ip;
	uint64_t csum = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
	enum dps_drop d;
	unsigned total;

	/* Checksum offload: the device's verdict stands (GOOD is not checked again, BAD is a drop as
	 * in software); UNKNOWN and NONE are checked here. */
	if (csum == RTE_MBUF_F_RX_IP_CKSUM_BAD) {
		dps_netif_drop(n, m, DPS_DROP_ip_csum);
		return;
	}
	d = dps_wire_ipv4_parse_csum(rte_pktmbuf_mtod(m, void *), rte_pktmbuf_data_len(m), &ip,
				     csum == RTE_MBUF_F_RX_IP_CKSUM_GOOD);
	if (d == DPS_DROP_ip_len && (total = ipv4_truncated_total(n, m)) != 0) {
		dps_dev_truncated(n->dev, rte_pktmbuf_data_len(m), total);
		d = DPS_DROP_rx_truncated;
	}
	if (d != DPS_DROP_NONE) {
		dps_netif_drop(n, m, d);
		return;
	}
	if (!dps_netif_is_local(n, ip.dst) && !dps_netif_is_bcast(n, ip.dst)) {
		dps_netif_drop(n, m, DPS_DROP_ip_not_for_us);
		return;
	}
	/* Ethernet pads short frames to 60 bytes: the IP total length is the truth. */
	if (rte_pktmbuf_pkt_len(m) > ip.total)
		rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_pkt_len(m) - ip.total));
	n->ctr[DPS_CTR_ip_rx]++;
	switch (ip.proto) {
	case IPPROTO_ICMP:
		dps_icmp_input(n, m, &ip, now);
		break;
	case IPPROTO_TCP:
		if (!dps_netif_is_local(n, ip.dst)) { /* no TCP to broadcast addresses */
			dps_netif_drop(n, m, DPS_DROP_ip_not_for_us);
			break;
		}
		n->ops->tcp_input(n, m, &ip, now);
		break;
	default:
		/* UDP and the rest stay the kernel's (the shim sends them there). */
		dps_netif_drop(n, m, DPS_DROP_ip_proto);
		break;
	}
}

void dps_ipv4_output(struct dps_netif *n, struct rte_mbuf *m, const struct dps_ipv4_out *o,
		     uint64_t now)
{
	struct rte_ipv4_hdr *h = (struct rte_ipv4_hdr *)rte_pktmbuf_prepend(m, sizeof(*h));
	uint32_t nexthop;

	if (h == NULL) { /* no headroom: only a bug in a layer above can cause this */
		dps_netif_drop(n, m, DPS_DROP_nombuf);
		return;
	}
	*h = (struct rte_ipv4_hdr){
		.version_ihl = RTE_IPV4_VHL_DEF,
		.type_of_service = o->tos,
		.total_length = rte_cpu_to_be_16((uint16_t)rte_pktmbuf_pkt_len(m)),
		.packet_id = 0,
		.fragment_offset = o->df ? RTE_BE16(RTE_IPV4_HDR_DF_FLAG) : 0,
		.time_to_live = DPS_IP_TTL,
		.next_proto_id = o->proto,
		.src_addr = o->src,
		.dst_addr = o->dst,
	};
	*dps_pkt_meta(n, m) = (struct dps_pkt_meta){ .flow = o->flow, .cls = o->cls };
	m->l3_len = sizeof(*h);
	/* With offload the device fills the checksum in (field 0, as DPDK asks). */
	if (dps_netif_csum(n) & DPS_DEV_TX_IP_CSUM)
		m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
	else
		h->hdr_checksum = rte_ipv4_cksum(h);
	if (dps_netif_is_onlink(n, o->dst) || dps_netif_is_bcast(n, o->dst))
		nexthop = o->dst;
	else if (n->gateway != 0)
		nexthop = n->gateway;
	else {
		dps_netif_drop(n, m, DPS_DROP_no_route);
		return;
	}
	n->ctr[DPS_CTR_ip_tx]++;
	dps_arp_output(n, m, nexthop, now);
}
