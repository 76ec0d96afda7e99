/*
 * ipv4: input (validate, accept our addresses and broadcast, dispatch by protocol) and output
 * (checksum, route to an on-link host or the gateway, hand to ARP).
 */
#include "dps_stack.h"
#include "wire.h"
#include "tcp.h"

#include <rte_mbuf.h>

void dps_ipv4_input(struct dps_engine *e, struct rte_mbuf *m, uint64_t now)
{
	struct dps_ipv4_view ip;
	enum dps_drop d =
	    dps_wire_ipv4_parse(rte_pktmbuf_mtod(m, void *), rte_pktmbuf_data_len(m), &ip);

	if (d != DPS_DROP_NONE) {
		dps_engine_drop(e, m, d);
		return;
	}
	if (!dps_engine_is_local(e, ip.dst) && !dps_engine_is_bcast(e, ip.dst)) {
		dps_engine_drop(e, m, DPS_DROP_ip_not_for_us);
		return;
	}
	/* Ethernet pads short frames to 60 bytes: the IP total length is the truth. */
	if (rte_pktmbuf_pkt_len(m) > ip.total)
		rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_pkt_len(m) - ip.total));
	e->ctr[DPS_CTR_ip_rx]++;
	switch (ip.proto) {
	case IPPROTO_ICMP:
		dps_icmp_input(e, m, &ip, now);
		break;
	case IPPROTO_TCP:
		if (!dps_engine_is_local(e, ip.dst)) { /* no TCP to broadcast addresses */
			dps_engine_drop(e, m, DPS_DROP_ip_not_for_us);
			break;
		}
		dps_tcp_input(e, m, &ip, now);
		break;
	default:
		/* UDP and the rest stay the kernel's (the shim sends them there). */
		dps_engine_drop(e, m, DPS_DROP_ip_proto);
		break;
	}
}

void dps_ipv4_output(struct dps_engine *e, struct rte_mbuf *m, uint64_t now)
{
	struct rte_ipv4_hdr *h = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
	uint32_t nexthop;

	h->hdr_checksum = 0;
	h->hdr_checksum = rte_ipv4_cksum(h);
	if (dps_engine_is_onlink(e, h->dst_addr) || dps_engine_is_bcast(e, h->dst_addr))
		nexthop = h->dst_addr;
	else if (e->gateway != 0)
		nexthop = e->gateway;
	else {
		dps_engine_drop(e, m, DPS_DROP_no_route);
		return;
	}
	e->ctr[DPS_CTR_ip_tx]++;
	dps_arp_output(e, m, nexthop, now);
}
