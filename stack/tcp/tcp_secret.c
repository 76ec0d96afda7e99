/*
 * tcp_secret: the numbers TCP draws from a secret, and the secret.
 *
 * Three choices must not be guessable from off the path, and must keep increasing for a 4-tuple
 * from one process of this host to the next (issue 13: a restarted client reused tuples still in
 * TIME_WAIT at the server with a lower ISN and TSval, got a challenge ACK and waited for its 1 s
 * RTO on each): the ISN (RFC 6528), the timestamp offset (RFC 7323 §5.4, §7.1) and the ephemeral
 * port's offset (RFC 6056 §3.3.3). Linux keys all three on net_secret, random once per boot, and
 * adds a host clock. We cannot keep a secret in the kernel, so the secret is derived from the
 * boot's id (/proc/sys/kernel/random/boot_id, new at every boot like net_secret) through SipHash
 * under a fixed label: the same for every process of one boot, another after a reboot. The clock
 * is the `now` the engine is given (CLOCK_MONOTONIC, dps_now_ns(): one clock for the whole host,
 * not restarted with the engine). What this costs: a local user can read boot_id and so compute
 * our ISNs (Linux's secret is the kernel's alone); off the host they stay as hard to guess as
 * Linux's (docs/tcp.md, "ISN, timestamps and ports").
 *
 * The functions are pure (the secret and the time are arguments), so tests can run two "processes"
 * with chosen clocks; only dps_tcp_secret_load reads a file, once, at engine creation.
 */
#include "dps_sys.h"
#include "tcp.h"

#include "dps_log.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define BOOT_ID_PATH "/proc/sys/kernel/random/boot_id"

/* The fixed label the boot id is hashed under, as SipHash's key (ASCII "psck-tcp--dsecr1" read
 * as two little-endian words). Changing it changes every ISN of the host: keep it stable. */
#define LABEL_K0 0x7063742d6b637370ull
#define LABEL_K1 0x3172636573642d2dull

/* Domain tags: one secret, three unrelated functions (Linux uses net_secret and ts_secret). */
enum { TAG_ISN = 1, TAG_TS = 2, TAG_PORT = 3, TAG_K0 = 4, TAG_K1 = 5 };

static inline uint64_t rotl(uint64_t x, unsigned b)
{
	return (x << b) | (x >> (64 - b));
}

static void sipround(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = rotl(v[1], 13) ^ v[0];
	v[0] = rotl(v[0], 32);
	v[2] += v[3];
	v[3] = rotl(v[3], 16) ^ v[2];
	v[0] += v[3];
	v[3] = rotl(v[3], 21) ^ v[0];
	v[2] += v[1];
	v[1] = rotl(v[1], 17) ^ v[2];
	v[2] = rotl(v[2], 32);
}

/* SipHash-2-4 (Aumasson and Bernstein, 2012; what Linux's secure_tcp_seq uses) of len bytes. */
uint64_t dps_siphash24(uint64_t k0, uint64_t k1, const void *data, size_t len)
{
	const uint8_t *in = data;
	uint64_t v[4] = { 0x736f6d6570736575ull ^ k0, 0x646f72616e646f6dull ^ k1,
			  0x6c7967656e657261ull ^ k0, 0x7465646279746573ull ^ k1 };
	uint64_t b = (uint64_t)len << 56, m;
	size_t end = len - len % 8;

	for (size_t i = 0; i < end; i += 8) {
		m = 0;
		for (unsigned j = 0; j < 8; j++)
			m |= (uint64_t)in[i + j] << (8 * j);
		v[3] ^= m;
		sipround(v); /* c = 2 compression rounds */
		sipround(v);
		v[0] ^= m;
	}
	for (size_t j = 0; j < len % 8; j++)
		b |= (uint64_t)in[end + j] << (8 * j);
	v[3] ^= b;
	sipround(v);
	sipround(v);
	v[0] ^= b;
	v[2] ^= 0xff;
	for (int r = 0; r < 4; r++) /* d = 4 finalization rounds */
		sipround(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

static uint64_t keyed(const struct dps_tcp_secret *s, uint32_t tag, uint32_t a, uint32_t b,
		      uint32_t c)
{
	uint32_t in[4] = { a, b, c, tag };

	return dps_siphash24(s->k0, s->k1, in, sizeof(in));
}

void dps_tcp_secret_derive(struct dps_tcp_secret *s, const void *seed, size_t len)
{
	uint8_t buf[128];

	if (len > sizeof(buf) - 1)
		len = sizeof(buf) - 1;
	memcpy(buf, seed, len);
	buf[len] = TAG_K0;
	s->k0 = dps_siphash24(LABEL_K0, LABEL_K1, buf, len + 1);
	buf[len] = TAG_K1;
	s->k1 = dps_siphash24(LABEL_K0, LABEL_K1, buf, len + 1);
}

int dps_tcp_secret_load(struct dps_tcp_secret *s)
{
	char id[64];
	ssize_t n = -1;
	int fd = open(BOOT_ID_PATH, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		n = dps_sys_read(fd, id, sizeof(id));
		dps_sys_close(fd);
	}
	while (n > 0 && (id[n - 1] == '\n' || id[n - 1] == ' '))
		n--;
	if (n >= 16) { /* a UUID: 36 characters */
		dps_tcp_secret_derive(s, id, (size_t)n);
		return 0;
	}
	/* No boot id (no /proc): a secret of this process alone. Correct, but a restarted client
	 * meets its own TIME_WAITs at the server again (issue 13); say so once per engine. */
	DPS_LOG(WARNING, "cannot read %s: TCP ISNs and timestamps are keyed per process",
		BOOT_ID_PATH);
	if (getrandom(s, sizeof(*s), 0) != sizeof(*s))
		return -EIO;
	return 0;
}

uint32_t dps_tcp_isn(const struct dps_tcp_secret *s, uint32_t laddr, uint16_t lport, uint32_t raddr,
		     uint16_t rport, uint64_t now_ns)
{
	/* RFC 6528 §3: ISN = M + F(localip, localport, remoteip, remoteport, secretkey), M a timer
	 * ticking every 4 us; F SipHash (§3 asks for a cryptographic hash; Linux: siphash). */
	uint32_t f = (uint32_t)keyed(s, TAG_ISN, laddr, raddr, (uint32_t)lport << 16 | rport);

	return f + (uint32_t)(now_ns / 4000);
}

uint32_t dps_tcp_ts_offset(const struct dps_tcp_secret *s, uint32_t laddr, uint32_t raddr)
{
	/* RFC 7323 §7.1 (randomized offsets) keyed per address pair, as Linux's secure_tcp_ts_off():
	 * every connection between two hosts shares one TS clock, so a new connection's TSval is
	 * above what the peer remembers of an old one on the same pair (its TIME_WAIT's PAWS state,
	 * RFC 7323 §5.8 / appendix B.2), whichever process sends it. */
	return (uint32_t)keyed(s, TAG_TS, laddr, raddr, 0);
}

uint32_t dps_tcp_port_offset(const struct dps_tcp_secret *s, uint32_t laddr, uint32_t raddr,
			     uint16_t rport)
{
	/* RFC 6056 §3.3.3: offset = F(local_IP, remote_IP, remote_port, secret_key). */
	return (uint32_t)keyed(s, TAG_PORT, laddr, raddr, rport);
}
