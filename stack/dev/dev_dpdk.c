/*
 * dev_dpdk: the device over an rte_ethdev port (a vdev such as net_af_packet, net_af_xdp, net_memif,
 * net_tap, or a PCI NIC bound to a DPDK driver).
 *
 * Open order: find the port EAL probed for devargs -> configure one rx/tx queue pair -> set the MTU
 * -> start -> wait for link. The engine polls queue 0 of both directions.
 */
#include "dps_sys.h"
#include "dev.h"

#include "dps_conf.h"
#include "dps_eal.h"
#include "dps_log.h"

#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>

#include <rte_common.h>
#include <rte_ethdev.h>

struct dev_dpdk {
	struct dps_dev dev; /* first */
	uint16_t port;
	bool adapt; /* peer_offloads=adapt */
	int xdp_link; /* link fd of the pass-all XDP program on our veth end, or -1 */
};

static uint16_t dpdk_rx(struct dps_dev *dev, struct rte_mbuf **pkts, uint16_t n)
{
	return rte_eth_rx_burst(((struct dev_dpdk *)dev)->port, 0, pkts, n);
}

static uint16_t dpdk_tx(struct dps_dev *dev, struct rte_mbuf **pkts, uint16_t n)
{
	return rte_eth_tx_burst(((struct dev_dpdk *)dev)->port, 0, pkts, n);
}

/*
 * net_af_packet hands its TX ring to the kernel with one sendto(MSG_DONTWAIT) per burst; when the
 * socket's send buffer is full the kernel stops part-way and the rest of the ring waits for the
 * next burst, which may not come (the stack is waiting for an ACK of exactly those frames). An
 * empty burst still makes the PMD call sendto: the engine does one after a poll that sent.
 */
static void dpdk_kick(struct dps_dev *dev)
{
	rte_eth_tx_burst(((struct dev_dpdk *)dev)->port, 0, NULL, 0);
}

static int dpdk_stats(struct dps_dev *dev, struct dps_dev_stats *st)
{
	struct rte_eth_stats s;
	int rc = rte_eth_stats_get(((struct dev_dpdk *)dev)->port, &s);

	if (rc < 0)
		return rc;
	*st = (struct dps_dev_stats){
		.rx_frames = s.ipackets,
		.rx_bytes = s.ibytes,
		.tx_frames = s.opackets,
		.tx_bytes = s.obytes,
		.rx_missed = s.imissed,
		.rx_errors = s.ierrors,
		.tx_errors = s.oerrors,
		.rx_nombuf = s.rx_nombuf,
	};
	return 0;
}

static void dpdk_close(struct dps_dev *dev)
{
	struct dev_dpdk *d = (struct dev_dpdk *)dev;

	if (d->xdp_link >= 0) /* detaches the program: the peer gets its TSO back */
		dps_sys_close(d->xdp_link);
	rte_eth_dev_stop(d->port);
	rte_eth_dev_close(d->port);
	free(d);
}

/*
 * The wait fds (dev.h): the kernel sockets of the af_packet and af_xdp PMDs (one per queue), which
 * poll readable when frames wait in their rx ring. DPDK has no call that names them; its one wait
 * fd, rte_eth_dev_rx_intr_ctl_q_get_fd, needs rx interrupts configured (intr_conf.rxq) and armed
 * before each sleep (rte_eth_dev_rx_intr_enable), which port_setup does not do: memif's eventfds
 * and a NIC's interrupts stay unused, and those devices are polled. So ask the kernel: the open
 * fds that are packet sockets bound to our interface (getsockname's sll_ifindex; any packet
 * socket when that cannot be read), or XDP sockets (AF_XDP has no getsockname). Raw syscalls, as
 * below the shim (getsockname is interposed). Returns the count, at most max.
 */
static int dpdk_wait_fds(struct dps_dev *dev, int *fds, int max)
{
	unsigned ifindex = dev->iface[0] != '\0' ? if_nametoindex(dev->iface) : 0;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL && n < max) {
		struct sockaddr_ll sll;
		socklen_t len;
		int dom = 0, fd;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		fd = (int)strtol(de->d_name, NULL, 10);
		if (fd == dirfd(d))
			continue;
		len = sizeof(dom);
		if (dps_sys_getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &len) != 0)
			continue;
		if (dom == AF_PACKET) {
			len = sizeof(sll);
			if (ifindex != 0 &&
			    syscall(SYS_getsockname, fd, (struct sockaddr *)&sll, &len) == 0 &&
			    (unsigned)sll.sll_ifindex != ifindex)
				continue;
		} else if (dom != 44 /* AF_XDP */) {
			continue;
		}
		fds[n++] = fd;
	}
	closedir(d);
	return n;
}

static const struct dps_dev_ops dpdk_ops = {
	.rx_burst = dpdk_rx,
	.tx_burst = dpdk_tx,
	.stats = dpdk_stats,
	.close = dpdk_close,
	.wait_fds = dpdk_wait_fds,
};

static const struct dps_dev_ops af_packet_ops = {
	.rx_burst = dpdk_rx,
	.tx_burst = dpdk_tx,
	.stats = dpdk_stats,
	.kick = dpdk_kick,
	.close = dpdk_close,
	.wait_fds = dpdk_wait_fds,
};

/* Whether iface is one end of a veth pair (its driver, as `ethtool -i` reads it). */
static bool iface_is_veth(const char *iface)
{
	struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr = { .ifr_data = (void *)&info };
	int s = dps_sys_socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc;

	if (s < 0)
		return false;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", iface);
	rc = dps_sys_ioctl(s, SIOCETHTOOL, &ifr);
	dps_sys_close(s);
	return rc == 0 && strcmp(info.driver, "veth") == 0;
}

/*
 * Attach a program that passes every frame (r0 = XDP_PASS; exit) to iface's native XDP hook, as a
 * bpf link: closing the returned fd (or the process ending) detaches it. On a veth, the kernel then
 * takes TSO away from the peer end (veth_xdp_set(): peer->hw_features &= ~NETIF_F_GSO_SOFTWARE;
 * its frames must fit one page for XDP), so the peer segments before it sends. Frames still reach
 * the kernel and af_packet unchanged. Returns the link fd or -errno (EBUSY: another program).
 */
static int xdp_pass_attach(const char *iface)
{
	const struct bpf_insn prog[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	static const char license[] = "GPL";
	unsigned ifindex = if_nametoindex(iface);
	union bpf_attr a;
	int prog_fd, link_fd, rc;

	if (ifindex == 0)
		return -ENODEV;
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_XDP;
	a.insns = (uint64_t)(uintptr_t)prog;
	a.insn_cnt = RTE_DIM(prog);
	a.license = (uint64_t)(uintptr_t)license;
	snprintf(a.prog_name, sizeof(a.prog_name), "dpsock_pass");
	prog_fd = (int)syscall(__NR_bpf, BPF_PROG_LOAD, &a, sizeof(a));
	if (prog_fd < 0)
		return -errno;
	memset(&a, 0, sizeof(a));
	a.link_create.prog_fd = (uint32_t)prog_fd;
	a.link_create.target_ifindex = ifindex;
	a.link_create.attach_type = BPF_XDP;
	a.link_create.flags = XDP_FLAGS_DRV_MODE;
	link_fd = (int)syscall(__NR_bpf, BPF_LINK_CREATE, &a, sizeof(a));
	rc = link_fd < 0 ? -errno : link_fd;
	dps_sys_close(prog_fd); /* the link holds the program */
	return rc;
}

void dps_dev_warn_partial(struct dps_dev *dev)
{
	bool af_packet = dev->ops == &af_packet_ops;

	if (dev->warned & DPS_DEV_WARN_CSUM_PARTIAL)
		return;
	dev->warned |= DPS_DEV_WARN_CSUM_PARTIAL;
	DPS_LOG(
	    WARNING,
	    "%s%s%s: dropping TCP segments whose checksum field holds only the pseudo-header sum "
	    "(their sender left the checksum to offload: a local kernel peer, a veth with tx "
	    "checksum offload on; counted in drop_tcp_csum)%s. Fix: %son the sending interface "
	    "(the other end of the veth, in its namespace): ethtool -K PEER_IFACE tx off",
	    dev->name, dev->iface[0] != '\0' ? " on " : "", dev->iface,
	    af_packet ? " because peer_offloads=off" : ", which this device does not complete",
	    af_packet ? "DPSOCK_PEER_OFFLOADS=adapt, or " : "");
}

void dps_dev_truncated(struct dps_dev *dev, unsigned len, unsigned total)
{
	struct dev_dpdk *d = (struct dev_dpdk *)dev;
	int rc = -ENOTSUP;

	if (dev->warned & DPS_DEV_WARN_TRUNCATED)
		return;
	dev->warned |= DPS_DEV_WARN_TRUNCATED;
	if (dev->ops == &af_packet_ops && d->adapt && iface_is_veth(dev->iface)) {
		rc = xdp_pass_attach(dev->iface);
		if (rc >= 0) {
			d->xdp_link = rc;
			DPS_LOG(
			    WARNING,
			    "%s on %s: the veth peer sends TSO super-frames (a %u-byte IPv4 packet "
			    "arrived cut to %u bytes by af_packet's ring frame; dropped, counted "
			    "in "
			    "drop_rx_truncated): attached a pass-all XDP program to %s while the "
			    "device is open, which makes the kernel turn TSO off on the peer end "
			    "(peer_offloads=off leaves the interface alone)",
			    dev->name, dev->iface, total, len, dev->iface);
			return;
		}
	}
	DPS_LOG(WARNING,
		"%s%s%s: a %u-byte IPv4 packet arrived cut to %u bytes: the peer sends GSO/TSO "
		"super-frames, which the device cuts to its receive frame (af_packet: its ring "
		"frame); they are dropped (drop_rx_truncated) and the peer's TCP only gets through "
		"on retransmissions%s%s. Fix: on the sending interface (the other end of the veth, "
		"in its namespace): ethtool -K PEER_IFACE tso off",
		dev->name, dev->iface[0] != '\0' ? " on " : "", dev->iface, total, len,
		rc != -ENOTSUP ? "; attaching an XDP program to turn the peer's TSO off failed: "
			       : "",
		rc != -ENOTSUP ? strerror(-rc) : "");
}

static int wait_link(uint16_t port, uint64_t wait_ms)
{
	struct rte_eth_link link;
	const struct timespec tick = { 0, 10 * 1000 * 1000 };

	for (uint64_t waited = 0;; waited += 10) {
		if (rte_eth_link_get_nowait(port, &link) == 0 &&
		    link.link_status == RTE_ETH_LINK_UP)
			return 0;
		if (waited >= wait_ms)
			return -ETIMEDOUT;
		nanosleep(&tick, NULL);
	}
}

/*
 * The checksum offloads to enable: IPv4 header and TCP checksums, each direction, when the device
 * offers them (af_packet and memif offer none: the stack computes and checks in software; tap
 * offers both, computed in its PMD). Returns the DPS_DEV_* flags and fills pc's offload masks.
 */
static uint32_t csum_offloads(const struct rte_eth_dev_info *info, struct rte_eth_conf *pc)
{
	uint32_t csum = 0;

	if (info->tx_offload_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) {
		pc->txmode.offloads |= RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
		csum |= DPS_DEV_TX_IP_CSUM;
	}
	if (info->tx_offload_capa & RTE_ETH_TX_OFFLOAD_TCP_CKSUM) {
		pc->txmode.offloads |= RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
		csum |= DPS_DEV_TX_TCP_CSUM;
	}
	if (info->rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM) {
		pc->rxmode.offloads |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
		csum |= DPS_DEV_RX_IP_CSUM;
	}
	if (info->rx_offload_capa & RTE_ETH_RX_OFFLOAD_TCP_CKSUM) {
		pc->rxmode.offloads |= RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
		csum |= DPS_DEV_RX_TCP_CSUM;
	}
	/* Our frames are chains (headers, then the send queue's buffers). */
	if (info->tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS)
		pc->txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	return csum;
}

static int port_setup(uint16_t port, const struct dps_conf *conf, struct rte_mempool *mp,
		      uint32_t *csum, char *err, size_t errlen)
{
	struct rte_eth_conf pc = { 0 };
	struct rte_eth_dev_info info;
	uint16_t nrx = (uint16_t)conf->rx_desc, ntx = (uint16_t)conf->tx_desc;
	int socket = rte_eth_dev_socket_id(port), rc;

	rc = rte_eth_dev_info_get(port, &info);
	if (rc < 0) {
		dps_errf(err, errlen, "cannot read device info: %s", strerror(-rc));
		return rc;
	}
	*csum = csum_offloads(&info, &pc);
	DPS_LOG(INFO,
		"device offers tx offloads 0x%llx, rx offloads 0x%llx; checksum offloads used: "
		"%s%s%s%s",
		(unsigned long long)info.tx_offload_capa, (unsigned long long)info.rx_offload_capa,
		(*csum & DPS_DEV_TX_IP_CSUM) ? "tx-ip " : "",
		(*csum & DPS_DEV_TX_TCP_CSUM) ? "tx-tcp " : "",
		(*csum & DPS_DEV_RX_IP_CSUM) ? "rx-ip " : "",
		(*csum & DPS_DEV_RX_TCP_CSUM) ? "rx-tcp" : "");
	rc = rte_eth_dev_configure(port, 1, 1, &pc);
	if (rc == 0)
		rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nrx, &ntx);
	if (rc == 0)
		rc = rte_eth_rx_queue_setup(port, 0, nrx, socket, NULL, mp);
	if (rc == 0)
		rc = rte_eth_tx_queue_setup(port, 0, ntx, socket, NULL);
	if (rc < 0) {
		dps_errf(err, errlen, "cannot configure the device's queues: %s", strerror(-rc));
		return rc;
	}
	/* Not every PMD can change its MTU (af_packet cannot): the frames we build never exceed ours. */
	rc = rte_eth_dev_set_mtu(port, (uint16_t)conf->mtu);
	if (rc < 0 && rc != -ENOTSUP)
		DPS_LOG(WARNING, "device does not accept MTU %u (%s); continuing",
			(unsigned)conf->mtu, strerror(-rc));
	rc = rte_eth_dev_start(port);
	if (rc < 0) {
		dps_errf(err, errlen, "cannot start the device: %s", strerror(-rc));
		return rc;
	}
	return 0;
}

int dps_dev_dpdk_open(const char *devargs, const struct dps_conf *conf, struct rte_mempool *mp,
		      struct dps_dev **out, char *err, size_t errlen)
{
	char name[RTE_DEV_NAME_MAX_LEN];
	struct dev_dpdk *d;
	uint16_t port;
	uint32_t csum = 0;
	int rc;

	snprintf(name, sizeof(name), "%.*s", (int)strcspn(devargs, ","), devargs);
	if (rte_eth_dev_get_port_by_name(name, &port) != 0) {
		dps_errf(
		    err, errlen,
		    "device '%s' did not come up: DPDK could not probe it (check the device string "
		    "and its driver; set DPSOCK_LOG_LEVEL=debug for DPDK's own messages)",
		    devargs);
		return -ENODEV;
	}
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return -ENOMEM;
	rc = port_setup(port, conf, mp, &csum, err, errlen);
	if (rc < 0) {
		char why[256];

		snprintf(why, sizeof(why), "%s", err);
		dps_errf(err, errlen, "device '%s': %s", devargs, why);
		rte_eth_dev_close(port);
		free(d);
		return rc;
	}
	if (wait_link(port, conf->link_wait_ms) < 0)
		DPS_LOG(WARNING, "device '%s': link still down after %llu ms; continuing", devargs,
			(unsigned long long)conf->link_wait_ms);
	d->port = port;
	d->dev.ops = strncmp(devargs, "net_af_packet", 13) == 0 ? &af_packet_ops : &dpdk_ops;
	d->dev.port_id = port;
	d->dev.csum = csum;
	d->adapt = conf->peer_offloads == DPS_PEER_OFFLOADS_ADAPT;
	d->xdp_link = -1;
	if (d->dev.ops == &af_packet_ops && d->adapt)
		d->dev.csum |= DPS_DEV_RX_TCP_PARTIAL;
	dps_eal_devarg(devargs, "iface", d->dev.iface, sizeof(d->dev.iface));
	rte_eth_macaddr_get(port, &d->dev.mac);
	snprintf(d->dev.name, sizeof(d->dev.name), "%s", name);
	*out = &d->dev;
	return 0;
}
