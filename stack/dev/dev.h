/*
 * dev: the device layer, an ops table over which the engine receives and sends bursts of frames.
 *
 * Two implementations: dev_dpdk (an rte_ethdev port: a vdev such as net_af_packet or net_memif, or a
 * PCI NIC) and dev_mem (two rte_rings, for unit tests: tests inject frames and collect what the
 * engine sends). Bursts return a count, as in DPDK; tx_burst takes ownership of the frames it accepts
 * and leaves the rest to the caller.
 */
#ifndef DPS_DEV_H
#define DPS_DEV_H

#include <stdint.h>

#include <rte_ether.h>

struct rte_mbuf;
struct rte_mempool;
struct dps_conf;
struct dps_dev;

struct dps_dev_stats {
	uint64_t rx_frames, rx_bytes, tx_frames, tx_bytes;
	uint64_t rx_missed, rx_errors, tx_errors, rx_nombuf;
};

struct dps_dev_ops {
	uint16_t (*rx_burst)(struct dps_dev *dev, struct rte_mbuf **pkts, uint16_t n);
	uint16_t (*tx_burst)(struct dps_dev *dev, struct rte_mbuf **pkts, uint16_t n);
	int (*stats)(struct dps_dev *dev, struct dps_dev_stats *st);
	/* Optional: push out frames the driver may still hold from earlier bursts (NULL: none). */
	void (*kick)(struct dps_dev *dev);
	void (*close)(struct dps_dev *dev);
	/* Optional: the kernel fds that poll readable when frames wait to be received (an idle
	 * process sleeps on them: DESIGN.md §4), at most max into fds. Returns the count (NULL:
	 * none, the engine polls). */
	int (*wait_fds)(struct dps_dev *dev, int *fds, int max);
};

/* Checksum offloads a device has enabled (dps_dev.csum): DPS_DEV_TX_* frames may leave with
 * their checksum to fill in (ol_flags, l2/l3/l4_len, and for TCP the pseudo-header sum in the
 * field, as rte_ipv4_phdr_cksum gives it); DPS_DEV_RX_* frames arrive with
 * RTE_MBUF_F_RX_{IP,L4}_CKSUM_{GOOD,BAD,NONE,UNKNOWN}, and only UNKNOWN is checked in software. */
enum {
	DPS_DEV_TX_IP_CSUM = 1u << 0,
	DPS_DEV_TX_TCP_CSUM = 1u << 1,
	DPS_DEV_RX_IP_CSUM = 1u << 2,
	DPS_DEV_RX_TCP_CSUM = 1u << 3,
	/* Not an offload: received TCP segments whose checksum field holds exactly the pseudo-
	 * header sum are trusted, as the local kernel that sent them left them to offload
	 * (CHECKSUM_PARTIAL; net_af_packet hands them over unchanged, option rx_csum_partial). */
	DPS_DEV_RX_TCP_PARTIAL = 1u << 4,
};

/* The choices of option peer_offloads, in its order. */
enum { DPS_PEER_OFFLOADS_ADAPT, DPS_PEER_OFFLOADS_OFF };

/* One-time messages a device has printed (dps_dev.warned). */
enum {
	DPS_DEV_WARN_CSUM_PARTIAL = 1u << 0,
	DPS_DEV_WARN_TRUNCATED = 1u << 1,
};

struct dps_dev {
	const struct dps_dev_ops *ops;
	struct rte_ether_addr mac;
	int port_id; /* the ethdev port, or -1 when the device is not one */
	uint32_t csum; /* DPS_DEV_*: checksum offloads in use */
	uint32_t warned; /* DPS_DEV_WARN_*: one-time messages already printed */
	char name[64];
	char iface[16]; /* the kernel interface under the device (af_packet, af_xdp), or "" */
};

/*
 * Open, configure (one rx/tx queue pair) and start the ethdev named by devargs (as given to --vdev or
 * -a; EAL must be up and have probed it), receiving into mp, and wait up to conf->link_wait_ms for
 * link. Errors: -ENODEV (not probed: err says why and what to check), -errno from ethdev set-up.
 */
int dps_dev_dpdk_open(const char *devargs, const struct dps_conf *conf, struct rte_mempool *mp,
		      struct dps_dev **out, char *err, size_t errlen);

/* An in-memory device of ring size size (a power of two) with MAC mac. Errors: -ENOMEM, -EINVAL. */
int dps_dev_mem_create(const char *name, const struct rte_ether_addr *mac, unsigned size,
		       struct dps_dev **out);
/* Make frames arrive at a dev_mem device (the engine reads them on its next rx burst). Returns how
 * many were queued; the caller still owns the rest. */
unsigned dps_dev_mem_inject(struct dps_dev *dev, struct rte_mbuf **pkts, unsigned n);
/* Take up to n frames the engine sent on a dev_mem device. Returns the count. */
unsigned dps_dev_mem_collect(struct dps_dev *dev, struct rte_mbuf **pkts, unsigned n);
/*
 * Make a dev_mem device offer checksum offloads (DPS_DEV_* flags; 0: none, the default), as a NIC
 * would: frames sent with offload flags are checked against the driver contract (IP checksum
 * field 0, l2/l3/l4_len, the TCP field holding the pseudo-header sum) and their checksums filled
 * in before the test collects them; received frames get GOOD/BAD flags from a check done here.
 */
void dps_dev_mem_set_csum(struct dps_dev *dev, uint32_t csum);
/* Frames sent with checksum offload flags that kept the contract, and that broke it. */
void dps_dev_mem_csum_stats(const struct dps_dev *dev, uint64_t *tx_ok, uint64_t *tx_bad);

/*
 * Say once on stderr (per device) that TCP segments with a checksum left to offload by their
 * sender are being dropped (drop_tcp_csum), why, and the one command or option that fixes it.
 */
void dps_dev_warn_partial(struct dps_dev *dev);
/*
 * A frame of len bytes arrived holding the start of an IPv4 packet of total bytes (> the MTU): a
 * local peer's GSO/TSO super-frame cut to what the device hands over (af_packet's ring frame). The
 * first time (per device): on net_af_packet over a veth with peer_offloads=adapt, attach a pass-all
 * XDP program to our end, which makes the kernel stop TSO on the peer end, and say so; elsewhere,
 * or when that fails, say on stderr what is wrong and the command that fixes it.
 */
void dps_dev_truncated(struct dps_dev *dev, unsigned len, unsigned total);

static inline uint16_t dps_dev_rx(struct dps_dev *dev, struct rte_mbuf **pkts, uint16_t n)
{
	return dev->ops->rx_burst(dev, pkts, n);
}

static inline uint16_t dps_dev_tx(struct dps_dev *dev, struct rte_mbuf **pkts, uint16_t n)
{
	return dev->ops->tx_burst(dev, pkts, n);
}

static inline void dps_dev_kick(struct dps_dev *dev)
{
	if (dev->ops->kick != NULL)
		dev->ops->kick(dev);
}

static inline void dps_dev_close(struct dps_dev *dev)
{
	if (dev != NULL)
		dev->ops->close(dev);
}

/* As many wait fds as the engine asks a device for (dps_wait_fds: the shim passes as many). */
#define DPS_DEV_MAX_WAIT_FDS 8

/* dev's wait fds (its wait_fds operation), at most max: the count, 0 when it has none. */
static inline int dps_dev_wait_fds(struct dps_dev *dev, int *fds, int max)
{
	if (dev->ops->wait_fds == NULL || max <= 0)
		return 0;
	return dev->ops->wait_fds(dev, fds, max);
}

#endif
