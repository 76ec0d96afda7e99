/* pktpool: the engine's packet mbuf pool (DESIGN.md §7: DPDK mempools with per-lcore caches). */
#include "dps_mempool.h"

#include <errno.h>
#include <rte_errno.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

struct rte_mempool *dps_pktpool_create(const char *name, unsigned n, unsigned mtu, int socket_id,
				       int *rc)
{
	/* A frame: Ethernet header + optional VLAN tag + MTU + CRC, after the headroom. */
	unsigned room =
	    RTE_PKTMBUF_HEADROOM + RTE_ETHER_HDR_LEN + RTE_VLAN_HLEN + mtu + RTE_ETHER_CRC_LEN;
	/* rte_mempool requires cache <= n / 1.5 and <= RTE_MEMPOOL_CACHE_MAX_SIZE. */
	unsigned cache = n / 2 < RTE_MEMPOOL_CACHE_MAX_SIZE ? n / 2 : RTE_MEMPOOL_CACHE_MAX_SIZE;
	struct rte_mempool *mp;

	if (room < RTE_MBUF_DEFAULT_BUF_SIZE)
		room = RTE_MBUF_DEFAULT_BUF_SIZE;
	mp = rte_pktmbuf_pool_create(name, n, cache, 0, (uint16_t)room, socket_id);
	if (mp == NULL)
		*rc = rte_errno > 0 ? -rte_errno : -ENOMEM;
	return mp;
}
