/* icmp: echo reply (RFC 792; RFC 1122 §3.2.2.6). Other types are counted and dropped for now. */
#include "net.h"
#include "wire.h"

#include <rte_mbuf.h>

void dps_icmp_input(struct dps_netif *n, struct rte_mbuf *m, const struct dps_ipv4_view *ip,
		    uint64_t now)
{
	struct dps_icmp_view v;
	struct rte_icmp_hdr *icmp;
	const struct dps_ipv4_out reply = {
		.src = ip->dst,
		.dst = ip->src,
		.proto = IPPROTO_ICMP,
		.tos = ip->h->type_of_service,
	};
	enum dps_drop d;
	uint16_t len = (uint16_t)(ip->total - ip->hlen);

	d = dps_wire_icmp_parse(rte_pktmbuf_mtod_offset(m, void *, ip->hlen), len, &v);
	if (d == DPS_DROP_NONE && v.type != RTE_IP_ICMP_ECHO_REQUEST)
		d = DPS_DROP_icmp_type;
	/* Linux ignores broadcast echo by default (net.ipv4.icmp_echo_ignore_broadcasts=1). */
	if (d == DPS_DROP_NONE && !dps_netif_is_local(n, ip->dst))
		d = DPS_DROP_icmp_bcast;
	if (d != DPS_DROP_NONE) {
		dps_netif_drop(n, m, d);
		return;
	}
	n->ctr[DPS_CTR_icmp_echo_rx]++;

	/* Reply in the same buffer: the data comes back unchanged behind a fresh 20-byte header
	 * (request options are not echoed): dps_ipv4_output puts it there. */
	rte_pktmbuf_adj(m, (uint16_t)ip->hlen);
	icmp = rte_pktmbuf_mtod(m, struct rte_icmp_hdr *);
	icmp->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
	icmp->icmp_code = 0;
	icmp->icmp_cksum = 0;
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, len);
	n->ctr[DPS_CTR_icmp_echo_tx]++;
	dps_ipv4_output(n, m, &reply, now);
}
