/*
 * tcp_secret (stack/tcp/tcp_secret.c): SipHash-2-4 against its reference vectors, the secret derived
 * from a boot id, and the three keyed numbers: for one 4-tuple the ISN grows with the host clock
 * (RFC 6528 §3: 1 per 4 us) whatever process computes it, different tuples get unrelated ISNs,
 * the TS offset depends on the address pair only (Linux's secure_tcp_ts_off), the port offset on
 * (local address, remote address, remote port) (RFC 6056 §3.3.3). No EAL, no engine: the
 * functions are pure.
 */
#include "tcp.h"
#include "test/unit/check.h"

#include <stdint.h>

#include <rte_byteorder.h>

#define MS 1000000ull /* ns */
#define SEC (1000 * MS)

static const char boot_a[] = "0f3c8d6e-9a51-4b7e-8c2d-5e1f7a3b9c40";
static const char boot_b[] = "0f3c8d6e-9a51-4b7e-8c2d-5e1f7a3b9c41";
static const uint32_t l_ip = RTE_BE32(0xc6120002), r_ip = RTE_BE32(0xc6120001);

/* The SipHash paper's appendix A and the reference implementation's vectors.c: key 00..0f,
 * message 00..(len-1). */
static void test_siphash_vectors(void)
{
	uint8_t msg[64];
	uint64_t k0 = 0x0706050403020100ull, k1 = 0x0f0e0d0c0b0a0908ull;

	for (unsigned i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)i;
	CHECK(dps_siphash24(k0, k1, msg, 0) == 0x726fdb47dd0e0e31ull);
	CHECK(dps_siphash24(k0, k1, msg, 1) == 0x74f839c593dc67fdull);
	CHECK(dps_siphash24(k0, k1, msg, 8) == 0x93f5f5799a932462ull);
	CHECK(dps_siphash24(k0, k1, msg, 15) == 0xa129ca6149be45e5ull);
	CHECK(dps_siphash24(k0, k1, msg, 63) == 0x958a324ceb064572ull);
}

static void test_secret_per_boot(void)
{
	struct dps_tcp_secret a1, a2, b, loaded1, loaded2;

	dps_tcp_secret_derive(&a1, boot_a, sizeof(boot_a) - 1);
	dps_tcp_secret_derive(&a2, boot_a, sizeof(boot_a) - 1);
	dps_tcp_secret_derive(&b, boot_b, sizeof(boot_b) - 1);
	CHECK(a1.k0 == a2.k0 && a1.k1 == a2.k1); /* two processes of one boot */
	CHECK(a1.k0 != b.k0 && a1.k1 != b.k1); /* another boot */
	CHECK(a1.k0 != a1.k1);
	/* The host's: the same at every load (this machine's boot id). */
	CHECK_EQ(dps_tcp_secret_load(&loaded1), 0);
	CHECK_EQ(dps_tcp_secret_load(&loaded2), 0);
	CHECK(loaded1.k0 == loaded2.k0 && loaded1.k1 == loaded2.k1);
}

static void test_isn_monotonic_per_tuple(void)
{
	struct dps_tcp_secret s, other;
	uint64_t t0 = 5000 * SEC; /* host uptime: an engine started long after boot */
	uint32_t i0, i1, i2;

	dps_tcp_secret_derive(&s, boot_a, sizeof(boot_a) - 1);
	dps_tcp_secret_derive(&other, boot_b, sizeof(boot_b) - 1);
	i0 = dps_tcp_isn(&s, l_ip, 40000, r_ip, 80, t0);
	i1 = dps_tcp_isn(&s, l_ip, 40000, r_ip, 80, t0 + 4000); /* 4 us later: +1 */
	i2 = dps_tcp_isn(&s, l_ip, 40000, r_ip, 80, t0 + 10 * SEC); /* a later process */
	CHECK_EQ(i1 - i0, 1);
	CHECK_EQ(i2 - i0, 10 * SEC / 4000);
	CHECK(seq_gt(i2, i0));
	/* Different tuples, same time: unrelated ISNs (a 32-bit collision would be 2^-32). */
	CHECK(dps_tcp_isn(&s, l_ip, 40001, r_ip, 80, t0) != i0);
	CHECK(dps_tcp_isn(&s, l_ip, 40000, r_ip, 81, t0) != i0);
	CHECK(dps_tcp_isn(&s, r_ip, 40000, l_ip, 80, t0) != i0);
	CHECK(dps_tcp_isn(&s, l_ip, 80, r_ip, 40000, t0) != i0); /* ports swapped */
	CHECK(dps_tcp_isn(&other, l_ip, 40000, r_ip, 80, t0) != i0); /* another boot */
}

static void test_ts_offset_per_address_pair(void)
{
	struct dps_tcp_secret s, other;
	uint32_t o = 0;

	dps_tcp_secret_derive(&s, boot_a, sizeof(boot_a) - 1);
	dps_tcp_secret_derive(&other, boot_b, sizeof(boot_b) - 1);
	o = dps_tcp_ts_offset(&s, l_ip, r_ip);
	CHECK(dps_tcp_ts_offset(&s, l_ip, r_ip) == o);
	CHECK(dps_tcp_ts_offset(&s, r_ip, l_ip) != o);
	CHECK(dps_tcp_ts_offset(&s, l_ip, RTE_BE32(0xc6120003)) != o);
	CHECK(dps_tcp_ts_offset(&other, l_ip, r_ip) != o);
	/* TSval = host ms + offset: a later process on the pair sends a larger TSval. */
	CHECK(seq_gt((uint32_t)(5010 * 1000) + o, (uint32_t)(5000 * 1000) + o));
}

static void test_port_offset(void)
{
	struct dps_tcp_secret s;
	uint32_t p;

	dps_tcp_secret_derive(&s, boot_a, sizeof(boot_a) - 1);
	p = dps_tcp_port_offset(&s, l_ip, r_ip, 80);
	CHECK(dps_tcp_port_offset(&s, l_ip, r_ip, 80) == p); /* a new process: the same offset */
	CHECK(dps_tcp_port_offset(&s, l_ip, r_ip, 81) != p);
	CHECK(dps_tcp_port_offset(&s, RTE_BE32(0xc6120003), r_ip, 80) != p);
	CHECK(dps_tcp_port_offset(&s, l_ip, RTE_BE32(0xc6120003), 80) != p);
	/* Its own domain: not the ISN's hash of a similar input. */
	CHECK(p != dps_tcp_isn(&s, l_ip, 0, r_ip, 80, 0));
}

int main(void)
{
	RUN(test_siphash_vectors);
	RUN(test_secret_per_boot);
	RUN(test_isn_monotonic_per_tuple);
	RUN(test_ts_offset_per_address_pair);
	RUN(test_port_offset);
	DONE();
}
