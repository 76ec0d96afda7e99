/*
 * Fuzz target: arbitrary TCP segments into an engine that has a listener (port 80) and one
 * established connection (peer port 40000 -> 80), over the in-memory device.
 *
 * Input: a sequence of records [ctl:1][time:1][len:2][tcp bytes: len]. ctl bit 0 rewrites the
 * ports to the established connection's, bit 1 makes the sequence and acknowledgment numbers
 * relative to that connection's ISNs (so that segments land in the window), bit 2 closes or reads
 * the socket after the segment, bit 3 sends data from the socket. The TCP checksum is always
 * fixed up (a bad checksum only tests one branch). time advances by ctl time * 10 ms, so timers
 * (retransmission, persist, keepalive, TIME_WAIT) run. Every buffer must return to the pool.
 */
#include "dev.h"
#include "dps_conf.h"
#include "dps_stack.h"
#include "tcp.h"
#include "tcp_api.h"
#include "tcp_wire.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_arp.h>
#include <rte_eal.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define POOL_N 1023
#define PEER_PORT 40000
#define PORT 80

static struct rte_mempool *mp;
static struct dps_conf conf;
static char runtime_dir[4096];
static const struct rte_ether_addr mac = { { 0x02, 0, 0, 0, 0, 2 } };
static const struct rte_ether_addr peer_mac = { { 0x02, 0, 0, 0, 0, 1 } };
static const uint32_t stack_ip = RTE_BE32(0xc6120002), peer_ip = RTE_BE32(0xc6120001);

static void cleanup(void)
{
	dps_conf_free(&conf);
	rte_mempool_free(mp);
	rte_eal_cleanup();
	rmdir(runtime_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char prefix[64];
	char *eal[] = { "fuzz",           "--no-huge", "--no-shconf",   "-m", "128", "--no-pci",
			"--no-telemetry", prefix,      "--log-level=1", NULL };
	char err[256];

	(void)argc;
	(void)argv;
	snprintf(prefix, sizeof(prefix), "--file-prefix=dpsfuzztcp%d", (int)getpid());
	if (rte_eal_init(9, eal) < 0)
		abort();
	mp = rte_pktmbuf_pool_create("fuzz_tcp_pool", POOL_N, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				     SOCKET_ID_ANY);
	if (mp == NULL || dps_conf_init(&conf, err, sizeof(err)) < 0 ||
	    dps_conf_set(&conf, "ip", "198.18.0.2/24", DPS_SRC_ARG, "fuzz", err, sizeof(err)) < 0 ||
	    dps_conf_set(&conf, "tcp_max_conns", "64", DPS_SRC_ARG, "fuzz", err, sizeof(err)) < 0 ||
	    dps_conf_set(&conf, "tcp_rcvbuf", "16384", DPS_SRC_ARG, "fuzz", err, sizeof(err)) < 0)
		abort();
	snprintf(runtime_dir, sizeof(runtime_dir), "%s", rte_eal_get_runtime_dir());
	atexit(cleanup);
	return 0;
}

/* Build eth + IPv4 around tcp[0..len) (from the peer) and feed it to the engine at now. */
static void inject(struct dps_dev *dev, struct dps_engine *e, const uint8_t *tcp, size_t len,
		   uint64_t now)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	struct rte_ether_hdr *eth;
	struct rte_ipv4_hdr *ip;
	uint8_t *p;

	if (m == NULL)
		abort();
	p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(sizeof(*eth) + sizeof(*ip) + len));
	if (p == NULL) {
		rte_pktmbuf_free(m);
		return;
	}
	eth = (struct rte_ether_hdr *)p;
	eth->dst_addr = mac;
	eth->src_addr = peer_mac;
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	ip = (struct rte_ipv4_hdr *)(eth + 1);
	*ip = (struct rte_ipv4_hdr){
		.version_ihl = RTE_IPV4_VHL_DEF,
		.total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + len)),
		.time_to_live = 64,
		.next_proto_id = IPPROTO_TCP,
		.src_addr = peer_ip,
		.dst_addr = stack_ip,
	};
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	memcpy(ip + 1, tcp, len);
	if (len >= sizeof(struct rte_tcp_hdr))
		dps_tcp_fill_cksum((struct rte_tcp_hdr *)(ip + 1), len, peer_ip, stack_ip);
	if (dps_dev_mem_inject(dev, &m, 1) != 1)
		rte_pktmbuf_free(m);
	dps_engine_poll(e, now);
}

static void drain(struct dps_dev *dev)
{
	struct rte_mbuf *out[64];
	unsigned n;

	while ((n = dps_dev_mem_collect(dev, out, 64)) > 0)
		rte_pktmbuf_free_bulk(out, n);
}

/* A handshake from the peer to the listener; returns the accepted handle and our ISN. */
static int handshake(struct dps_dev *dev, struct dps_engine *e, int l, uint64_t now, uint32_t *iss)
{
	struct rte_tcp_hdr h = {
		.src_port = RTE_BE16(PEER_PORT),
		.dst_port = RTE_BE16(PORT),
		.sent_seq = RTE_BE32(1000),
		.data_off = 5 << 4,
		.tcp_flags = RTE_TCP_SYN_FLAG,
		.rx_win = RTE_BE16(65535),
	};
	struct dps_tcb *t;

	inject(dev, e, (uint8_t *)&h, sizeof(h), now);
	t = dps_tcp_flow_find(e, stack_ip, PORT, peer_ip, PEER_PORT);
	if (t == NULL)
		abort();
	*iss = t->iss;
	h.tcp_flags = RTE_TCP_ACK_FLAG;
	h.sent_seq = RTE_BE32(1001);
	h.recv_ack = rte_cpu_to_be_32(t->iss + 1);
	inject(dev, e, (uint8_t *)&h, sizeof(h), now);
	drain(dev);
	return dps_tcp_accept(e, l, NULL, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dps_dev *dev;
	struct dps_engine *e;
	uint64_t now = 1000000000ull;
	uint8_t seg[1600], buf[8192] = { 0 };
	uint32_t iss;
	char err[256];
	int l, c;

	/* The ARP entry of the peer first, so that answers are not held by ARP. */
	if (dps_dev_mem_create("fuzztcp", &mac, 1024, &dev) < 0 ||
	    dps_engine_create(&conf, dev, mp, now, &e, err, sizeof(err)) < 0)
		abort();
	l = dps_tcp_socket(e);
	if (l < 0 || dps_tcp_bind(e, l, 0, PORT) < 0 || dps_tcp_listen(e, l, 4) < 0)
		abort();
	{
		uint8_t arp[64];
		struct rte_ether_hdr *eh = (struct rte_ether_hdr *)arp;
		struct rte_arp_hdr *a = (struct rte_arp_hdr *)(eh + 1);
		struct rte_mbuf *m = rte_pktmbuf_alloc(mp);

		eh->dst_addr = mac;
		eh->src_addr = peer_mac;
		eh->ether_type = RTE_BE16(RTE_ETHER_TYPE_ARP);
		a->arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER);
		a->arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4);
		a->arp_hlen = 6;
		a->arp_plen = 4;
		a->arp_opcode = RTE_BE16(RTE_ARP_OP_REPLY);
		a->arp_data.arp_sha = peer_mac;
		a->arp_data.arp_sip = peer_ip;
		a->arp_data.arp_tha = mac;
		a->arp_data.arp_tip = stack_ip;
		memcpy(rte_pktmbuf_append(m, sizeof(*eh) + sizeof(*a)), arp,
		       sizeof(*eh) + sizeof(*a));
		dps_dev_mem_inject(dev, &m, 1);
		dps_engine_poll(e, now);
		drain(dev);
	}
	c = handshake(dev, e, l, now, &iss);
	while (size >= 4) {
		uint8_t ctl = data[0];
		size_t len = (size_t)(data[2] | data[3] << 8) % sizeof(seg);

		now += (uint64_t)data[1] * 10000000ull;
		data += 4;
		size -= 4;
		if (len > size)
			len = size;
		memcpy(seg, data, len);
		data += len;
		size -= len;
		if (len >= sizeof(struct rte_tcp_hdr)) {
			struct rte_tcp_hdr *h = (struct rte_tcp_hdr *)seg;

			if (ctl & 1) {
				h->src_port = RTE_BE16(PEER_PORT);
				h->dst_port = RTE_BE16(PORT);
			}
			if (ctl & 2) {
				h->sent_seq =
				    rte_cpu_to_be_32(1001 + rte_be_to_cpu_32(h->sent_seq) % 70000);
				h->recv_ack =
				    rte_cpu_to_be_32(iss + rte_be_to_cpu_32(h->recv_ack) % 70000);
			}
		}
		inject(dev, e, seg, len, now);
		if (c >= 0 && (ctl & 8))
			dps_tcp_send(e, c, buf, (size_t)(ctl >> 4) * 300, 0, now);
		if (c >= 0 && (ctl & 4)) {
			if (ctl & 0x40) {
				dps_tcp_close(e, c, now);
				c = -1;
			} else {
				dps_tcp_recv(e, c, buf, sizeof(buf), 0, now);
			}
		}
		drain(dev);
	}
	/* Let every timer run out: retransmissions give up, TIME_WAIT ends. */
	for (int i = 0; i < 40; i++) {
		now += 60ull * 1000000000;
		dps_engine_poll(e, now);
		drain(dev);
	}
	if (c >= 0)
		dps_tcp_close(e, c, now);
	dps_tcp_close(e, l, now);
	dps_engine_destroy(e);
	if (rte_mempool_avail_count(mp) != POOL_N)
		abort(); /* a leaked buffer */
	return 0;
}
