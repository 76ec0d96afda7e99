/*
 * Many local addresses and per-4-tuple ephemeral ports, on the in-memory device: an `ip` range
 * is local (ARP answered for each address, gratuitous ARP for each), unbound connects take the
 * range's addresses in turn and get a port unique for their 4-tuple (RFC 6056 algorithm 3), so K
 * addresses open K times the ephemeral range to one server port; IP_BIND_ADDRESS_NO_PORT defers
 * bind(addr, 0)'s port to connect; bound and listening ports are never handed out; closing gives
 * every port back. No peer answers: the SYNs wait for ARP and are dropped, the connections stay
 * in SYN_SENT.
 */
#include "dev.h"
#include "dps_conf.h"
#include "dps_stack.h"
#include "tcp.h"
#include "tcp_api.h"
#include "wire.h"
#include "test/unit/check.h"
#include "test/unit/eal_test.h"
#include "test/unit/stack/frames.h"

#include <errno.h>
#include <netinet/in.h>

#include <rte_mbuf.h>

#define NSEC_S 1000000000ull
#define POOL_N 1023
#define N_EPHEMERAL (60999 - 32768 + 1) /* Linux's ip_local_port_range, as tcp_table.c */
#define N_ADDRS 3
#define MAX_CONNS (N_ADDRS * N_EPHEMERAL + 64)

static const uint32_t peer_ip = RTE_BE32(0xc6130001); /* 198.19.0.1 */
static struct rte_mempool *mp;
static char err[512];
static struct dps_conf conf;
static struct dps_dev *dev;
static struct dps_engine *eng;
static const uint64_t now = 1000 * NSEC_S;
static int *socks;
static uint8_t *seen; /* [address][port]: a 4-tuple was handed out */

static uint32_t addr_n(unsigned i) /* 198.19.0.10 + i */
{
	return rte_cpu_to_be_32(0xc613000a + i);
}

static void conf_set(const char *k, const char *v)
{
	CHECK_EQ(dps_conf_set(&conf, k, v, DPS_SRC_ARG, "test", err, sizeof(err)), 0);
}

static unsigned drain_tx(void)
{
	struct rte_mbuf *m[64];
	unsigned n, total = 0;

	while ((n = dps_dev_mem_collect(dev, m, 64)) > 0) {
		for (unsigned i = 0; i < n; i++)
			rte_pktmbuf_free(m[i]);
		total += n;
	}
	return total;
}

static void setup(const char *ip)
{
	char max[16];

	CHECK_EQ(dps_conf_init(&conf, err, sizeof(err)), 0);
	conf_set("ip", ip);
	snprintf(max, sizeof(max), "%d", MAX_CONNS);
	conf_set("tcp_max_conns", max);
	conf_set("arp_queue_len", "1");
	CHECK_EQ(dps_dev_mem_create("memdev", &stack_mac, 256, &dev), 0);
	CHECK_EQ(dps_engine_create(&conf, dev, mp, now, &eng, err, sizeof(err)), 0);
}

static void teardown(void)
{
	drain_tx();
	dps_engine_destroy(eng);
	dps_conf_free(&conf);
	CHECK_EQ(rte_mempool_avail_count(mp), POOL_N); /* no buffer leaked */
}

/* An unbound socket connecting to peer:rport; returns its handle. */
static int connect_one(uint16_t rport, int expect)
{
	int s = dps_tcp_socket(eng);

	CHECK(s >= 0);
	CHECK_EQ(dps_tcp_connect(eng, s, peer_ip, rport, now), expect);
	drain_tx();
	return s;
}

/* The range is local (ARP for each address), announced once per address. */
static void test_range_is_local(void)
{
	uint8_t f[FRAME_MAX];
	struct rte_mbuf *m[8];
	size_t n;

	setup("198.19.0.10-198.19.0.12/16");
	CHECK_EQ(drain_tx(), N_ADDRS); /* a gratuitous ARP each */
	for (unsigned i = 0; i < N_ADDRS; i++)
		CHECK(dps_engine_is_local(eng, addr_n(i)));
	CHECK(!dps_engine_is_local(eng, addr_n(N_ADDRS)));
	CHECK(!dps_engine_is_local(eng, rte_cpu_to_be_32(0xc6130009)));
	CHECK(dps_engine_is_onlink(eng, peer_ip));
	CHECK(dps_engine_is_onlink(eng, rte_cpu_to_be_32(0xc613ff01)));
	for (unsigned i = 0; i <= N_ADDRS; i++) {
		struct rte_mbuf *in = rte_pktmbuf_alloc(mp);
		unsigned got;

		n = frame_arp(f, &bcast_mac, RTE_ARP_OP_REQUEST, &peer_mac, peer_ip, &bcast_mac,
			      addr_n(i));
		memcpy(rte_pktmbuf_append(in, (uint16_t)n), f, n);
		CHECK_EQ(dps_dev_mem_inject(dev, &in, 1), 1);
		dps_engine_poll(eng, now);
		got = dps_dev_mem_collect(dev, m, 8);
		CHECK_EQ(got, i < N_ADDRS ? 1 : 0); /* the address past the range is not ours */
		for (unsigned k = 0; k < got; k++) {
			struct dps_arp_view a;

			CHECK_EQ(dps_wire_arp_parse(rte_pktmbuf_mtod(m[k], uint8_t *) + 14,
						    rte_pktmbuf_data_len(m[k]) - 14, &a),
				 DPS_DROP_NONE);
			CHECK_EQ(a.op, RTE_ARP_OP_REPLY);
			CHECK_EQ(a.spa, addr_n(i));
			rte_pktmbuf_free(m[k]);
		}
	}
	teardown();
}

/* K addresses x the ephemeral range to one server port, each 4-tuple once, then EADDRNOTAVAIL;
 * closing them all gives every port back. */
static void test_k_times_range(void)
{
	const unsigned total = N_ADDRS * N_EPHEMERAL;
	unsigned per_addr[N_ADDRS] = { 0 };
	uint32_t laddr;
	uint16_t lport;
	int s;

	setup("198.19.0.10-198.19.0.12/16");
	drain_tx();
	memset(seen, 0, (size_t)N_ADDRS * 65536);
	for (unsigned i = 0; i < total; i++) {
		unsigned a;

		socks[i] = connect_one(80, -EINPROGRESS);
		CHECK_EQ(dps_tcp_getsockname(eng, socks[i], &laddr, &lport), 0);
		a = rte_be_to_cpu_32(laddr) - 0xc613000a;
		CHECK(a < N_ADDRS);
		CHECK(lport >= 32768 && lport <= 60999);
		CHECK(!seen[(size_t)a * 65536 + lport]);
		seen[(size_t)a * 65536 + lport] = 1;
		per_addr[a]++;
		/* in turn: the first N_EPHEMERAL rounds hit every address once each */
		if (i < 3000)
			CHECK_EQ(a, i % N_ADDRS);
	}
	for (unsigned a = 0; a < N_ADDRS; a++)
		CHECK_EQ(per_addr[a], N_EPHEMERAL);
	CHECK_EQ(eng->tcp->by_state[DPS_TCP_SYN_SENT], total);
	s = connect_one(80, -EADDRNOTAVAIL); /* every 4-tuple towards peer:80 is taken */
	dps_tcp_close(eng, s, now);
	/* Another server port: the same local ports again. */
	s = connect_one(81, -EINPROGRESS);
	dps_tcp_close(eng, s, now);
	/* No port is held for every peer: an explicit bind to one of them is refused, and the
	 * bind-time ephemeral search finds nothing free. */
	s = dps_tcp_socket(eng);
	CHECK_EQ(dps_tcp_bind(eng, s, 0, 40000), -EADDRINUSE);
	CHECK_EQ(dps_tcp_bind(eng, s, 0, 0), -EADDRNOTAVAIL);
	dps_tcp_close(eng, s, now);
	for (unsigned i = 0; i < total; i++)
		CHECK_EQ(dps_tcp_close(eng, socks[i], now), 0);
	for (unsigned p = 0; p < 65536; p++)
		CHECK_EQ(eng->tcp->port_conns[p], 0);
	s = dps_tcp_socket(eng);
	CHECK_EQ(dps_tcp_bind(eng, s, 0, 40000), 0);
	dps_tcp_close(eng, s, now);
	teardown();
}

/* bind(addr, 0): a port for every peer, unless IP_BIND_ADDRESS_NO_PORT leaves it to connect. */
static void test_bind_address_no_port(void)
{
	uint32_t laddr;
	uint16_t lport, p1;
	int one = 1, v = 0, s, s2, l;
	uint32_t len = sizeof(v);

	setup("198.19.0.10-198.19.0.12/16");
	drain_tx();
	/* Without the option: bind picks the port, connect keeps it. */
	s = dps_tcp_socket(eng);
	CHECK_EQ(dps_tcp_bind(eng, s, addr_n(2), 0), 0);
	CHECK_EQ(dps_tcp_getsockname(eng, s, &laddr, &p1), 0);
	CHECK_EQ(laddr, addr_n(2));
	CHECK(p1 >= 32768 && p1 <= 60999);
	CHECK_EQ(eng->tcp->port_users[p1], 1);
	CHECK_EQ(dps_tcp_connect(eng, s, peer_ip, 80, now), -EINPROGRESS);
	CHECK_EQ(dps_tcp_getsockname(eng, s, &laddr, &lport), 0);
	CHECK_EQ(lport, p1);
	/* A second bind is refused. */
	CHECK_EQ(dps_tcp_bind(eng, s, addr_n(2), 0), -EINVAL);
	/* With it: no port until connect, then one for the 4-tuple, from the bound address. */
	s2 = dps_tcp_socket(eng);
	CHECK_EQ(
	    dps_tcp_setsockopt(eng, s2, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one)), 0);
	CHECK_EQ(dps_tcp_getsockopt(eng, s2, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &v, &len), 0);
	CHECK_EQ(v, 1);
	CHECK_EQ(dps_tcp_bind(eng, s2, addr_n(1), 0), 0);
	CHECK_EQ(dps_tcp_getsockname(eng, s2, &laddr, &lport), 0);
	CHECK_EQ(laddr, addr_n(1));
	CHECK_EQ(lport, 0);
	CHECK_EQ(dps_tcp_bind(eng, s2, addr_n(1), 0), -EINVAL);
	CHECK_EQ(dps_tcp_connect(eng, s2, peer_ip, 80, now), -EINPROGRESS);
	CHECK_EQ(dps_tcp_getsockname(eng, s2, &laddr, &lport), 0);
	CHECK_EQ(laddr, addr_n(1));
	CHECK(lport >= 32768 && lport <= 60999 && lport != p1);
	CHECK_EQ(eng->tcp->port_conns[lport], 1);
	CHECK_EQ(eng->tcp->port_users[lport], 0);
	drain_tx();
	/* An address that is not ours. */
	l = dps_tcp_socket(eng);
	CHECK_EQ(dps_tcp_bind(eng, l, addr_n(3), 0), -EADDRNOTAVAIL);
	dps_tcp_close(eng, l, now);
	dps_tcp_close(eng, s, now);
	dps_tcp_close(eng, s2, now);
	CHECK_EQ(eng->tcp->port_users[p1], 0);
	CHECK_EQ(eng->tcp->port_conns[lport], 0);
	teardown();
}

/* A port that is listened on (or bound) is never handed out by connect. */
static void test_listen_port_skipped(void)
{
	uint32_t laddr;
	uint16_t lport;
	int l, s;

	setup("198.19.0.10/16");
	drain_tx();
	l = dps_tcp_socket(eng);
	/* hold every ephemeral port but one with listeners would need 28k of them: bind instead */
	for (unsigned p = 32768; p <= 60999; p++)
		if (p != 45000)
			eng->tcp->port_users[p]++;
	CHECK_EQ(dps_tcp_bind(eng, l, 0, 45000), 0);
	CHECK_EQ(dps_tcp_listen(eng, l, 16), 0);
	s = dps_tcp_socket(eng);
	CHECK_EQ(dps_tcp_connect(eng, s, peer_ip, 80, now), -EADDRNOTAVAIL);
	dps_tcp_close(eng, s, now);
	dps_tcp_close(eng, l, now); /* 45000 free again */
	s = dps_tcp_socket(eng);
	CHECK_EQ(dps_tcp_connect(eng, s, peer_ip, 80, now), -EINPROGRESS);
	CHECK_EQ(dps_tcp_getsockname(eng, s, &laddr, &lport), 0);
	CHECK_EQ(lport, 45000);
	CHECK_EQ(laddr, addr_n(0));
	dps_tcp_close(eng, s, now);
	for (unsigned p = 32768; p <= 60999; p++)
		if (p != 45000)
			eng->tcp->port_users[p]--;
	teardown();
}

int main(void)
{
	CHECK(test_eal_start("test_ports", "256") >= 0);
	mp = rte_pktmbuf_pool_create("test_pool", POOL_N, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				     SOCKET_ID_ANY);
	CHECK(mp != NULL);
	socks = calloc(MAX_CONNS, sizeof(*socks));
	seen = calloc((size_t)N_ADDRS * 65536, 1);
	CHECK(socks != NULL && seen != NULL);
	RUN(test_range_is_local);
	RUN(test_k_times_range);
	RUN(test_bind_address_no_port);
	RUN(test_listen_port_skipped);
	free(socks);
	free(seen);
	rte_mempool_free(mp);
	test_eal_stop();
	DONE();
}
