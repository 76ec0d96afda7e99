/*
 * engine over the in-memory device: ARP (announce, reply, learning, resolution queue, retries,
 * expiry, refresh), ICMP echo, routing, and one frame per drop reason counted and dropped with
 * nothing sent. Time is injected: `now` advances only when a test says so. Every test ends with
 * every packet buffer back in the pool.
 */
#include "dev.h"
#include "dps_conf.h"
#include "dps_stack.h"
#include "prio.h"
#include "wire.h"
#include "test/unit/check.h"
#include "test/unit/eal_test.h"
#include "test/unit/stack/frames.h"

#include <errno.h>
#include <limits.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_mbuf.h>

#define NSEC_S 1000000000ull
#define POOL_N 1023

static const uint32_t peer_ip = RTE_BE32(0xc6120001), stack_ip = RTE_BE32(0xc6120002);
static const uint32_t other_ip = RTE_BE32(0xc6120009), far_ip = RTE_BE32(0x0a000001);
static struct rte_mempool *mp;
static char err[512];

struct fix {
	struct dps_conf c;
	struct dps_dev *dev;
	struct dps_engine *e;
	uint64_t now;
	unsigned n_out;
	size_t len[64];
	uint8_t out[64][FRAME_MAX];
};

static struct fix F;

static void conf_set(const char *k, const char *v)
{
	CHECK_EQ(dps_conf_set(&F.c, k, v, DPS_SRC_ARG, "test", err, sizeof(err)), 0);
}

/* Take what the engine sent since the last call into F.out. */
static unsigned collect(void)
{
	struct rte_mbuf *m[64];
	unsigned n = dps_dev_mem_collect(F.dev, m, 64);

	F.n_out = n;
	for (unsigned i = 0; i < n; i++) {
		F.len[i] = rte_pktmbuf_pkt_len(m[i]);
		CHECK(F.len[i] <= FRAME_MAX);
		memcpy(F.out[i], rte_pktmbuf_read(m[i], 0, (uint32_t)F.len[i], F.out[i]), F.len[i]);
		rte_pktmbuf_free(m[i]);
	}
	return n;
}

static void setup_with(const char *gateway)
{
	memset(&F, 0, sizeof(F));
	F.now = 1000 * NSEC_S;
	CHECK_EQ(dps_conf_init(&F.c, err, sizeof(err)), 0);
	conf_set("ip", "198.18.0.2/24");
	conf_set("gateway", gateway);
	conf_set("arp_queue_len", "4");
	conf_set("arp_timeout_ms", "30000");
	CHECK_EQ(dps_dev_mem_create("memdev", &stack_mac, 256, &F.dev), 0);
	CHECK_EQ(dps_engine_create(&F.c, F.dev, mp, F.now, &F.e, err, sizeof(err)), 0);
}

static void setup(void)
{
	setup_with("");
	CHECK_EQ(collect(), 1); /* the gratuitous ARP; checked by test_announce */
}

static void teardown(void)
{
	collect();
	dps_engine_destroy(F.e);
	dps_conf_free(&F.c);
	CHECK_EQ(rte_mempool_avail_count(mp), POOL_N); /* no buffer leaked */
}

/* A frame arrives; the engine polls once at F.now. */
static void inject(const uint8_t *frame, size_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);

	CHECK(m != NULL);
	memcpy(rte_pktmbuf_append(m, (uint16_t)len), frame, len);
	CHECK_EQ(dps_dev_mem_inject(F.dev, &m, 1), 1);
	CHECK_EQ(dps_engine_poll(F.e, F.now), 1);
}

static uint64_t counter(const char *name)
{
	for (unsigned i = 0; i < dps_engine_counter_count(); i++)
		if (strcmp(dps_engine_counter_name(i), name) == 0)
			return dps_engine_counter_value(F.e, i);
	fprintf(stderr, "no counter %s\n", name);
	exit(1);
}

static uint64_t drops_total(void)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < dps_engine_counter_count(); i++)
		if (strncmp(dps_engine_counter_name(i), "drop_", 5) == 0)
			sum += dps_engine_counter_value(F.e, i);
	return sum;
}

/* Check out frame i is an ARP message with these fields. */
static void expect_arp(unsigned i, const struct rte_ether_addr *eth_dst, uint16_t op, uint32_t spa,
		       const struct rte_ether_addr *tha, uint32_t tpa)
{
	struct dps_eth_view eth;
	struct dps_arp_view a;

	CHECK(i < F.n_out);
	CHECK_EQ(dps_wire_eth_parse(F.out[i], F.len[i], &eth), DPS_DROP_NONE);
	CHECK_EQ(eth.type, RTE_ETHER_TYPE_ARP);
	CHECK(rte_is_same_ether_addr(&eth.h->dst_addr, eth_dst));
	CHECK(rte_is_same_ether_addr(&eth.h->src_addr, &stack_mac));
	CHECK_EQ(dps_wire_arp_parse(F.out[i] + 14, F.len[i] - 14, &a), DPS_DROP_NONE);
	CHECK_EQ(a.op, op);
	CHECK(rte_is_same_ether_addr(&a.sha, &stack_mac));
	CHECK_EQ(a.spa, spa);
	CHECK(rte_is_same_ether_addr(&a.tha, tha));
	CHECK_EQ(a.tpa, tpa);
}

/* Check out frame i is an echo reply to request (id, seq, data_len) sent to eth_dst. */
static void expect_echo_reply(unsigned i, const struct rte_ether_addr *eth_dst, uint32_t dst,
			      uint16_t id, uint16_t seq, size_t data_len)
{
	struct dps_eth_view eth;
	struct dps_ipv4_view ip;
	struct dps_icmp_view icmp;
	const struct rte_icmp_hdr *h;

	CHECK(i < F.n_out);
	CHECK_EQ(F.len[i], 14 + 20 + 8 + data_len);
	CHECK_EQ(dps_wire_frame_parse(F.out[i], F.len[i]), DPS_DROP_NONE); /* checksums valid */
	CHECK_EQ(dps_wire_eth_parse(F.out[i], F.len[i], &eth), DPS_DROP_NONE);
	CHECK(rte_is_same_ether_addr(&eth.h->dst_addr, eth_dst));
	CHECK_EQ(dps_wire_ipv4_parse(F.out[i] + 14, F.len[i] - 14, &ip), DPS_DROP_NONE);
	CHECK_EQ(ip.src, stack_ip);
	CHECK_EQ(ip.dst, dst);
	CHECK_EQ(ip.proto, IPPROTO_ICMP);
	CHECK_EQ(ip.h->time_to_live, 64);
	CHECK_EQ(dps_wire_icmp_parse(F.out[i] + 34, F.len[i] - 34, &icmp), DPS_DROP_NONE);
	CHECK_EQ(icmp.type, RTE_IP_ICMP_ECHO_REPLY);
	h = (const struct rte_icmp_hdr *)(F.out[i] + 34);
	CHECK_EQ(rte_be_to_cpu_16(h->icmp_ident), id);
	CHECK_EQ(rte_be_to_cpu_16(h->icmp_seq_nb), seq);
	for (size_t k = 0; k < data_len; k++)
		CHECK_EQ(F.out[i][42 + k], (uint8_t)k);
}

/* The peer asks for us: we answer and learn it. */
static void peer_arps(void)
{
	uint8_t f[FRAME_MAX];
	size_t n =
	    frame_arp(f, &bcast_mac, RTE_ARP_OP_REQUEST, &peer_mac, peer_ip, &bcast_mac, stack_ip);

	inject(f, n);
	CHECK_EQ(collect(), 1);
	expect_arp(0, &peer_mac, RTE_ARP_OP_REPLY, stack_ip, &peer_mac, peer_ip);
}

static void test_announce(void)
{
	setup_with("");
	CHECK_EQ(collect(), 1);
	expect_arp(0, &bcast_mac, RTE_ARP_OP_REQUEST, stack_ip, &(struct rte_ether_addr){ { 0 } },
		   stack_ip);
	teardown();
}

static void test_arp_reply_and_learn(void)
{
	struct rte_ether_addr mac;

	setup();
	peer_arps();
	CHECK(dps_arp_lookup(F.e, peer_ip, &mac));
	CHECK(rte_is_same_ether_addr(&mac, &peer_mac));
	CHECK_EQ(counter("arp_rx_request"), 1);
	CHECK_EQ(counter("arp_tx_reply"), 1);
	CHECK_EQ(drops_total(), 0);
	teardown();
}

static void test_arp_for_other_not_learned(void)
{
	uint8_t f[FRAME_MAX];
	struct rte_ether_addr mac;
	size_t n =
	    frame_arp(f, &bcast_mac, RTE_ARP_OP_REQUEST, &peer_mac, peer_ip, &bcast_mac, other_ip);

	setup();
	inject(f, n);
	CHECK_EQ(collect(), 0);
	CHECK(!dps_arp_lookup(F.e, peer_ip, &mac));
	CHECK_EQ(counter("drop_arp_not_for_us"), 1);
	/* Someone claiming our own address is not believed. */
	n = frame_arp(f, &bcast_mac, RTE_ARP_OP_REQUEST, &peer_mac, stack_ip, &bcast_mac, stack_ip);
	inject(f, n);
	CHECK_EQ(collect(), 0);
	CHECK_EQ(counter("drop_arp_bad_sender"), 1);
	teardown();
}

static void test_echo_reply(void)
{
	uint8_t f[FRAME_MAX];
	size_t n;

	setup();
	peer_arps();
	n = frame_echo(f, &stack_mac, peer_ip, stack_ip, 0x77, 3, 56);
	inject(f, n);
	CHECK_EQ(collect(), 1);
	expect_echo_reply(0, &peer_mac, peer_ip, 0x77, 3, 56);
	/* Ethernet padding behind a short request is not echoed back. */
	n = frame_echo(f, &stack_mac, peer_ip, stack_ip, 0x77, 4, 2);
	memset(f + n, 0xee, 16);
	inject(f, n + 16);
	CHECK_EQ(collect(), 1);
	expect_echo_reply(0, &peer_mac, peer_ip, 0x77, 4, 2);
	CHECK_EQ(counter("icmp_echo_tx"), 2);
	CHECK_EQ(drops_total(), 0);
	teardown();
}

/* An echo from a host we have no ARP entry for: the reply waits for resolution. */
static void test_reply_waits_for_arp(void)
{
	uint8_t f[FRAME_MAX];
	size_t n;

	setup();
	n = frame_echo(f, &stack_mac, peer_ip, stack_ip, 1, 1, 8);
	inject(f, n);
	CHECK_EQ(collect(), 1);
	expect_arp(0, &bcast_mac, RTE_ARP_OP_REQUEST, stack_ip, &(struct rte_ether_addr){ { 0 } },
		   peer_ip);
	n = frame_echo(f, &stack_mac, peer_ip, stack_ip, 1, 2, 8);
	inject(f, n);
	CHECK_EQ(collect(), 0); /* no second request within the second */
	n = frame_arp(f, &stack_mac, RTE_ARP_OP_REPLY, &peer_mac, peer_ip, &stack_mac, stack_ip);
	inject(f, n);
	CHECK_EQ(collect(), 2);
	expect_echo_reply(0, &peer_mac, peer_ip, 1, 1, 8);
	expect_echo_reply(1, &peer_mac, peer_ip, 1, 2, 8);
	CHECK_EQ(drops_total(), 0);
	teardown();
}

static void advance(uint64_t ns)
{
	F.now += ns;
	dps_engine_poll(F.e, F.now);
}

static void test_arp_retries_then_gives_up(void)
{
	uint8_t f[FRAME_MAX];
	struct rte_ether_addr mac;
	size_t n;

	setup();
	for (int i = 0; i < 6; i++) { /* 4 wait, 2 overflow the queue */
		n = frame_echo(f, &stack_mac, peer_ip, stack_ip, 1, (uint16_t)i, 8);
		inject(f, n);
	}
	CHECK_EQ(collect(), 1);
	CHECK_EQ(counter("drop_arp_queue_full"), 2);
	advance(NSEC_S / 2);
	CHECK_EQ(collect(), 0);
	advance(NSEC_S / 2); /* 1 s after the first: second request */
	CHECK_EQ(collect(), 1);
	expect_arp(0, &bcast_mac, RTE_ARP_OP_REQUEST, stack_ip, &(struct rte_ether_addr){ { 0 } },
		   peer_ip);
	advance(NSEC_S);
	CHECK_EQ(collect(), 1); /* third */
	CHECK_EQ(counter("arp_tx_request"), 4); /* announce + 3 */
	advance(NSEC_S);
	CHECK_EQ(collect(), 0); /* gave up */
	CHECK_EQ(counter("drop_arp_timeout"), 4);
	CHECK(!dps_arp_lookup(F.e, peer_ip, &mac));
	CHECK_EQ(dps_arp_count(F.e), 0);
	teardown();
}

static void test_arp_refresh_and_expiry(void)
{
	uint8_t f[FRAME_MAX];
	struct rte_ether_addr mac;
	size_t n;

	setup();
	peer_arps();
	advance(31 * NSEC_S); /* stale, unused: nothing sent */
	CHECK_EQ(collect(), 0);
	CHECK(dps_arp_lookup(F.e, peer_ip, &mac));
	n = frame_echo(f, &stack_mac, peer_ip, stack_ip, 1, 1, 8);
	inject(f, n); /* used while stale: the reply goes out at once, with a refresh request */
	CHECK_EQ(collect(), 2);
	expect_arp(0, &bcast_mac, RTE_ARP_OP_REQUEST, stack_ip, &(struct rte_ether_addr){ { 0 } },
		   peer_ip);
	expect_echo_reply(1, &peer_mac, peer_ip, 1, 1, 8);
	/* The peer answers: fresh again, nothing more to ask. */
	n = frame_arp(f, &stack_mac, RTE_ARP_OP_REPLY, &peer_mac, peer_ip, &stack_mac, stack_ip);
	inject(f, n);
	advance(29 * NSEC_S);
	CHECK(dps_arp_lookup(F.e, peer_ip, &mac));
	/* No answer any more: gone 3 s after it went stale. */
	advance(4 * NSEC_S);
	CHECK(!dps_arp_lookup(F.e, peer_ip, &mac));
	CHECK_EQ(counter("arp_expired"), 1);
	CHECK_EQ(collect(), 0);
	teardown();
}

static void test_routing(void)
{
	uint8_t f[FRAME_MAX];
	size_t n;

	/* No gateway: an echo from off-subnet cannot be answered. */
	setup();
	n = frame_echo(f, &stack_mac, far_ip, stack_ip, 1, 1, 8);
	inject(f, n);
	CHECK_EQ(collect(), 0);
	CHECK_EQ(counter("drop_no_route"), 1);
	teardown();
	/* With a gateway the reply is sent to it. */
	setup_with("198.18.0.1");
	collect();
	peer_arps();
	inject(f, n);
	CHECK_EQ(collect(), 1);
	expect_echo_reply(0, &peer_mac, far_ip, 1, 1, 8);
	teardown();
	/* A gateway outside the subnet is a configuration error. */
	memset(&F, 0, sizeof(F));
	CHECK_EQ(dps_conf_init(&F.c, err, sizeof(err)), 0);
	conf_set("ip", "198.18.0.2/24");
	conf_set("gateway", "10.0.0.1");
	CHECK_EQ(dps_dev_mem_create("memdev", &stack_mac, 256, &F.dev), 0);
	CHECK_EQ(dps_engine_create(&F.c, F.dev, mp, 0, &F.e, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "gateway 10.0.0.1 is not inside any subnet of ip");
	dps_dev_close(F.dev);
	dps_conf_free(&F.c);
}

/* One malformed or unwanted frame per drop reason: counted once, nothing sent. */
struct bad {
	const char *counter;
	void (*make)(uint8_t *f, size_t *n);
};

static void mk_eth_short(uint8_t *f, size_t *n)
{
	*n = frame_echo(f, &stack_mac, peer_ip, stack_ip, 1, 1, 8);
	*n = 10;
}
static void mk_eth_other_mac(uint8_t *f, size_t *n)
{
	*n = frame_echo(f, &peer_mac, peer_ip, stack_ip, 1, 1, 8);
}
static void mk_eth_multicast(uint8_t *f, size_t *n)
{
	static const struct rte_ether_addr mc = { { 0x01, 0x00, 0x5e, 0, 0, 1 } };
	*n = frame_echo(f, &mc, peer_ip, stack_ip, 1, 1, 8);
}
static void mk_eth_ipv6(uint8_t *f, size_t *n)
{
	*n = frame_eth(f, &stack_mac, &peer_mac, RTE_ETHER_TYPE_IPV6) + 40;
	memset(f + 14, 0x60, 40);
}
static void mk_arp_short(uint8_t *f, size_t *n)
{
	*n = frame_arp(f, &bcast_mac, 1, &peer_mac, peer_ip, &bcast_mac, stack_ip) - 1;
}
static void mk_arp_format(uint8_t *f, size_t *n)
{
	*n = frame_arp(f, &bcast_mac, 1, &peer_mac, peer_ip, &bcast_mac, stack_ip);
	f[14 + 5] = 16;
}
static void mk_arp_op(uint8_t *f, size_t *n)
{
	*n = frame_arp(f, &bcast_mac, 9, &peer_mac, peer_ip, &bcast_mac, stack_ip);
}
static void mk_arp_bcast_sender(uint8_t *f, size_t *n)
{
	*n = frame_arp(f, &bcast_mac, 1, &bcast_mac, peer_ip, &bcast_mac, stack_ip);
}
static void mk_ip_short(uint8_t *f, size_t *n)
{
	*n = frame_echo(f, &stack_mac, peer_ip, stack_ip, 1, 1, 8);
	*n = 14 + 19;
}
static void mk_ip_version(uint8_t *f, size_t *n)
{
	*n = frame_echo(f, &stack_mac, peer_ip, stack_ip, 1, 1, 8);
	f[14] = 0x55;
	frame_fix_ip_cksum(f);
}
static void mk_ip_ihl(uint8_t *f, size_t *n)
{
	*n = frame_echo(f, &stack_mac, peer_ip, stack_ip, 1, 1, 8);
	f[14] = 0x43;
}
static void mk_ip_len(uint8_t *f, size_t *n)
{
	*n = frame_echo(f, &stack_mac, peer_ip, stack_ip, 1, 1, 8);
	f[16] = 0x10;
	frame_fix_ip_cksum(f);
}
/* A local peer's TSO super-frame as net_af_packet hands it over: a 7292-byte IPv4 packet cut to
 * af_packet's 2048-byte ring frame (1982 bytes of Ethernet frame: measured on a default veth). */
static void mk_ip_truncated(uint8_t *f, size_t *n)
{
	size_t l = frame_eth(f, &stack_mac, &peer_mac, RTE_ETHER_TYPE_IPV4);

	l += frame_ipv4_hdr(f + l, IPPROTO_TCP, peer_ip, stack_ip, 7292 - 20);
	*n = 1982;
	memset(f + l, 0, *n - l);
}
static void mk_ip_csum(uint8_t *f, size_t *n)
{
	*n = frame_echo(f, &stack_mac, peer_ip, stack_ip, 1, 1, 8);
	f[24] ^= 0xff;
}
static void mk_ip_ttl(uint8_t *f, size_t *n)
{
	*n = frame_echo(f, &stack_mac, peer_ip, stack_ip, 1, 1, 8);
	f[22] = 0;
	frame_fix_ip_cksum(f);
}
static void mk_ip_src(uint8_t *f, size_t *n)
{
	*n = frame_echo(f, &stack_mac, ip4(127, 0, 0, 1), stack_ip, 1, 1, 8);
}
static void mk_ip_other(uint8_t *f, size_t *n)
{
	*n = frame_echo(f, &stack_mac, peer_ip, other_ip, 1, 1, 8);
}
static void mk_ip_frag(uint8_t *f, size_t *n)
{
	*n = frame_echo(f, &stack_mac, peer_ip, stack_ip, 1, 1, 8);
	f[20] = 0x20;
	frame_fix_ip_cksum(f);
}
static void mk_ip_proto(uint8_t *f, size_t *n)
{
	*n = frame_echo(f, &stack_mac, peer_ip, stack_ip, 1, 1, 8);
	f[23] = IPPROTO_UDP;
	frame_fix_ip_cksum(f);
}
static void mk_icmp_short(uint8_t *f, size_t *n)
{
	*n = frame_eth(f, &stack_mac, &peer_mac, RTE_ETHER_TYPE_IPV4);
	*n += frame_ipv4_hdr(f + *n, IPPROTO_ICMP, peer_ip, stack_ip, 3);
	memset(f + *n, 8, 3);
	*n += 3;
}
static void mk_icmp_csum(uint8_t *f, size_t *n)
{
	*n = frame_echo(f, &stack_mac, peer_ip, stack_ip, 1, 1, 8);
	f[*n - 1] ^= 1;
}
static void mk_icmp_type(uint8_t *f, size_t *n)
{
	*n = frame_echo(f, &stack_mac, peer_ip, stack_ip, 1, 1, 8);
	f[34] = 13; /* timestamp request */
	f[36] = f[37] = 0;
	*(uint16_t *)(f + 36) = (uint16_t)~rte_raw_cksum(f + 34, *n - 34);
}
static void mk_icmp_bcast(uint8_t *f, size_t *n)
{
	*n = frame_echo(f, &bcast_mac, peer_ip, ip4(198, 18, 0, 255), 1, 1, 8);
}

static void test_drops(void)
{
	static const struct bad cases[] = {
		{ "drop_eth_short", mk_eth_short },
		{ "drop_eth_not_for_us", mk_eth_other_mac },
		{ "drop_eth_not_for_us", mk_eth_multicast },
		{ "drop_eth_type", mk_eth_ipv6 },
		{ "drop_arp_short", mk_arp_short },
		{ "drop_arp_format", mk_arp_format },
		{ "drop_arp_op", mk_arp_op },
		{ "drop_arp_bad_sender", mk_arp_bcast_sender },
		{ "drop_ip_short", mk_ip_short },
		{ "drop_ip_version", mk_ip_version },
		{ "drop_ip_ihl", mk_ip_ihl },
		{ "drop_ip_len", mk_ip_len },
		{ "drop_rx_truncated", mk_ip_truncated },
		{ "drop_ip_csum", mk_ip_csum },
		{ "drop_ip_ttl", mk_ip_ttl },
		{ "drop_ip_src", mk_ip_src },
		{ "drop_ip_not_for_us", mk_ip_other },
		{ "drop_ip_frag", mk_ip_frag },
		{ "drop_ip_proto", mk_ip_proto },
		{ "drop_icmp_short", mk_icmp_short },
		{ "drop_icmp_csum", mk_icmp_csum },
		{ "drop_icmp_type", mk_icmp_type },
		{ "drop_icmp_bcast", mk_icmp_bcast },
	};
	uint8_t f[FRAME_MAX];
	size_t n;

	setup();
	peer_arps();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t before = counter(cases[i].counter), total = drops_total();

		memset(f, 0, sizeof(f));
		cases[i].make(f, &n);
		inject(f, n);
		if (counter(cases[i].counter) != before + 1 || drops_total() != total + 1)
			fprintf(stderr, "case %zu (%s)\n", i, cases[i].counter);
		CHECK_EQ(counter(cases[i].counter), before + 1);
		CHECK_EQ(drops_total(), total + 1);
		CHECK_EQ(collect(), 0);
	}
	/* And the engine still answers. */
	n = frame_echo(f, &stack_mac, peer_ip, stack_ip, 9, 9, 32);
	inject(f, n);
	CHECK_EQ(collect(), 1);
	expect_echo_reply(0, &peer_mac, peer_ip, 9, 9, 32);
	teardown();
}

/* A device that accepts nothing: frames wait in the batch, then overflow is counted. */
static void test_tx_backpressure(void)
{
	uint8_t f[FRAME_MAX];
	size_t n;

	memset(&F, 0, sizeof(F));
	CHECK_EQ(dps_conf_init(&F.c, err, sizeof(err)), 0);
	conf_set("ip", "198.18.0.2/24");
	CHECK_EQ(dps_dev_mem_create("tiny", &stack_mac, 64, &F.dev), 0); /* 63 frames fit */
	CHECK_EQ(dps_engine_create(&F.c, F.dev, mp, 0, &F.e, err, sizeof(err)), 0);
	CHECK_EQ(collect(), 1);
	peer_arps();
	for (int i = 0; i < 63 + DPS_TX_BATCH + 5; i++) {
		n = frame_echo(f, &stack_mac, peer_ip, stack_ip, 1, (uint16_t)i, 8);
		inject(f, n);
	}
	CHECK_EQ(counter("drop_tx_full"), 5);
	CHECK_EQ(counter("tx_frames"), 2 + 63); /* the announce and ARP reply, then 63 fit */
	CHECK_EQ(collect(), 63);
	dps_engine_poll(F.e, 0); /* the device has room again: the batch goes out, in order */
	CHECK_EQ(collect(), 63);
	expect_echo_reply(0, &peer_mac, peer_ip, 1, 63, 8);
	dps_engine_poll(F.e, 0);
	CHECK_EQ(collect(), DPS_TX_BATCH - 63);
	expect_echo_reply(0, &peer_mac, peer_ip, 1, 63 + 63, 8);
	CHECK_EQ(counter("tx_frames"), 2 + 63 + DPS_TX_BATCH);
	teardown();
}

/* Frames arrive in one burst; the engine polls once. */
static void inject_burst(uint8_t (*frames)[FRAME_MAX], const size_t *lens, unsigned n)
{
	struct rte_mbuf *m[8];

	for (unsigned i = 0; i < n; i++) {
		m[i] = rte_pktmbuf_alloc(mp);
		CHECK(m[i] != NULL);
		memcpy(rte_pktmbuf_append(m[i], (uint16_t)lens[i]), frames[i], lens[i]);
	}
	CHECK_EQ(dps_dev_mem_inject(F.dev, m, n), n);
	CHECK_EQ(dps_engine_poll(F.e, F.now), n);
}

/*
 * Priority rules at the NIC layer (DESIGN.md §8): in one burst, high frames are processed first
 * (their echo replies leave first), but never ahead of an earlier frame of their own flow (ICMP
 * echo: the identifier is the flow's port).
 */
static void test_priority_rx(void)
{
	uint8_t f[3][FRAME_MAX];
	size_t len[3];

	memset(&F, 0, sizeof(F));
	F.now = 1000 * NSEC_S;
	CHECK_EQ(dps_conf_init(&F.c, err, sizeof(err)), 0);
	conf_set("ip", "198.18.0.2/24");
	conf_set("priority", "len 100-200 -> high; * -> low");
	CHECK_EQ(dps_dev_mem_create("memdev", &stack_mac, 256, &F.dev), 0);
	CHECK_EQ(dps_engine_create(&F.c, F.dev, mp, F.now, &F.e, err, sizeof(err)), 0);
	CHECK_EQ(collect(), 1);
	peer_arps();

	/* low (id 1) then high (id 2): the high one is answered first (the ARP frames of
	 * peer_arps were counted low: every frame is classified) */
	uint64_t low0 = counter("prio_rx_low");

	len[0] = frame_echo(f[0], &stack_mac, peer_ip, stack_ip, 1, 1, 56);
	len[1] = frame_echo(f[1], &stack_mac, peer_ip, stack_ip, 2, 1, 150);
	inject_burst(f, len, 2);
	CHECK_EQ(collect(), 2);
	expect_echo_reply(0, &peer_mac, peer_ip, 2, 1, 150);
	expect_echo_reply(1, &peer_mac, peer_ip, 1, 1, 56);
	CHECK_EQ(counter("prio_rx_high"), 1);
	CHECK_EQ(counter("prio_rx_low"), low0 + 1);

	/* id 1 low, id 2 high, id 1 high: id 1's first frame goes with its flow, in order */
	len[0] = frame_echo(f[0], &stack_mac, peer_ip, stack_ip, 1, 2, 56);
	len[1] = frame_echo(f[1], &stack_mac, peer_ip, stack_ip, 2, 2, 150);
	len[2] = frame_echo(f[2], &stack_mac, peer_ip, stack_ip, 1, 3, 150);
	inject_burst(f, len, 3);
	CHECK_EQ(collect(), 3);
	expect_echo_reply(0, &peer_mac, peer_ip, 1, 2, 56);
	expect_echo_reply(1, &peer_mac, peer_ip, 2, 2, 150);
	expect_echo_reply(2, &peer_mac, peer_ip, 1, 3, 150);
	/* counted by their own class: the promoted low frame stays low */
	CHECK_EQ(counter("prio_rx_high"), 3);
	teardown();

	/* a rule error names the option and the column */
	CHECK_EQ(dps_conf_init(&F.c, err, sizeof(err)), 0);
	conf_set("ip", "198.18.0.2/24");
	conf_set("priority", "tcp dport 6379 -> urgent");
	CHECK_EQ(dps_dev_mem_create("memdev2", &stack_mac, 256, &F.dev), 0);
	CHECK_EQ(dps_engine_create(&F.c, F.dev, mp, F.now, &F.e, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "priority (DPSOCK_PRIORITY): column 19: expected a class (high or low), "
		       "found 'urgent'");
	dps_dev_close(F.dev);
	dps_conf_free(&F.c);
}

/* One marker byte per frame, queued with the class and connection given. */
static void xmit_marked(uint8_t mark, bool high, const void *flow)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);

	CHECK(m != NULL);
	*(uint8_t *)rte_pktmbuf_append(m, 1) = mark;
	*dps_pkt_meta(&F.e->nif, m) = (struct dps_pkt_meta){
		.flow = flow,
		.cls = high ? DPS_PRIO_CLASS_HIGH : DPS_PRIO_CLASS_LOW,
	};
	dps_engine_xmit(F.e, m);
}

/*
 * The transmit batch (DESIGN.md §8): high frames leave first, in their order; a high frame takes
 * the queued low frames of its own connection with it, so a connection's frames never reorder.
 */
static void test_priority_tx(void)
{
	int a, b, c;

	memset(&F, 0, sizeof(F));
	F.now = 1000 * NSEC_S;
	CHECK_EQ(dps_conf_init(&F.c, err, sizeof(err)), 0);
	conf_set("ip", "198.18.0.2/24");
	conf_set("priority", "len 100-200 -> high");
	CHECK_EQ(dps_dev_mem_create("memdev", &stack_mac, 256, &F.dev), 0);
	CHECK_EQ(dps_engine_create(&F.c, F.dev, mp, F.now, &F.e, err, sizeof(err)), 0);
	CHECK_EQ(collect(), 1); /* the gratuitous ARP */
	xmit_marked(1, false, &a);
	xmit_marked(2, false, &b);
	xmit_marked(3, false, NULL);
	xmit_marked(4, true, &c);
	xmit_marked(5, false, &a);
	xmit_marked(6, true, &b); /* takes 2 with it */
	xmit_marked(7, true, &c);
	dps_engine_flush(F.e);
	CHECK_EQ(collect(), 7);
	static const uint8_t want[7] = { 4, 2, 6, 7, 1, 3, 5 };
	for (unsigned i = 0; i < 7; i++)
		CHECK_EQ(F.out[i][0], want[i]);
	CHECK_EQ(counter("prio_tx_high"), 3);
	CHECK_EQ(counter("prio_tx_low"), 4 + 1); /* and the gratuitous ARP */
	teardown();

	/* a device that takes nothing more: a full batch gives its newest low frame's place to a
	 * high frame; a low frame, or a high one when only high ones are queued, is dropped */
	memset(&F, 0, sizeof(F));
	CHECK_EQ(dps_conf_init(&F.c, err, sizeof(err)), 0);
	conf_set("ip", "198.18.0.2/24");
	conf_set("priority", "len 100-200 -> high");
	CHECK_EQ(dps_dev_mem_create("tiny", &stack_mac, 64, &F.dev), 0); /* 63 frames fit */
	CHECK_EQ(dps_engine_create(&F.c, F.dev, mp, 0, &F.e, err, sizeof(err)), 0);
	for (int i = 0; i < 62 + DPS_TX_BATCH; i++) /* the ARP and 62 fill the device */
		xmit_marked((uint8_t)i, false, &a);
	CHECK_EQ(counter("drop_tx_full"), 0);
	xmit_marked(200, false, &a);
	CHECK_EQ(counter("drop_tx_full"), 1);
	xmit_marked(201, true, &b);
	CHECK_EQ(counter("drop_tx_full"), 2);
	CHECK_EQ(counter("prio_tx_evicted"), 1);
	CHECK_EQ(collect(), 63);
	dps_engine_flush(F.e);
	CHECK_EQ(collect(), 63);
	CHECK_EQ(F.out[0][0], 201); /* first, in place of the newest low frame (125) */
	CHECK_EQ(F.out[1][0], 62);
	CHECK_EQ(F.out[62][0], 123);
	dps_engine_flush(F.e);
	CHECK_EQ(collect(), 1);
	CHECK_EQ(F.out[0][0], 124);
	teardown();
}

int main(void)
{
	CHECK(test_eal_start("test_engine", "128") >= 0);
	mp = rte_pktmbuf_pool_create("test_pool", POOL_N, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				     SOCKET_ID_ANY);
	CHECK(mp != NULL);
	RUN(test_announce);
	RUN(test_arp_reply_and_learn);
	RUN(test_arp_for_other_not_learned);
	RUN(test_echo_reply);
	RUN(test_reply_waits_for_arp);
	RUN(test_arp_retries_then_gives_up);
	RUN(test_arp_refresh_and_expiry);
	RUN(test_routing);
	RUN(test_drops);
	RUN(test_tx_backpressure);
	RUN(test_priority_rx);
	RUN(test_priority_tx);
	rte_mempool_free(mp);
	test_eal_stop();
	DONE();
}
