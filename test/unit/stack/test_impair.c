/*
 * dev_impair over the in-memory device, with a fake clock: pass-through, loss (all, and a seeded
 * 2 % that repeats exactly), duplication, delay and jitter, reordering, corruption (in place and of
 * shared buffers), the rate limiter, queue overflow, a refusing inner device, closing with frames
 * held, an engine driving the wrapper, and the config parser. Frames carry a 32-bit id in the ICMP
 * identifier and sequence fields. Every test ends with every buffer back in the pool.
 */
#include "dev.h"
#include "dev_impair.h"
#include "dps_conf.h"
#include "dps_stack.h"
#include "wire.h"
#include "test/unit/check.h"
#include "test/unit/eal_test.h"
#include "test/unit/stack/frames.h"

#include <errno.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_mbuf.h>

#define NSEC_MS 1000000ull
#define POOL_N 2047
#define T0 (1000 * NSEC_MS * 1000) /* 1000 s: the fake clock's start */

static const uint32_t peer_ip = RTE_BE32(0xc6120001), stack_ip = RTE_BE32(0xc6120002);
static struct rte_mempool *mp;
static uint64_t now_ns;
static char err[512];

static uint64_t fake_clock(void *arg)
{
	(void)arg;
	return now_ns;
}

struct fix {
	struct dps_dev *mem, *dev;
};

static struct fix F;

/* Wrap a fresh dev_mem (ring of ring_size) in a wrapper configured by the string conf. */
static void setup_ring(const char *conf, uint64_t seed, unsigned ring_size)
{
	struct dps_impair_conf rx, tx;

	now_ns = T0;
	CHECK_EQ(dps_impair_parse(conf, NULL, &rx, &tx, &seed, err, sizeof(err)), 0);
	CHECK_EQ(dps_dev_mem_create("imp", &stack_mac, ring_size, &F.mem), 0);
	CHECK_EQ(dps_dev_impair_create(F.mem, &rx, &tx, seed, fake_clock, NULL, &F.dev), 0);
}

static void setup(const char *conf, uint64_t seed)
{
	setup_ring(conf, seed, 4096);
}

static struct dps_impair_stats rx_stats(void)
{
	struct dps_impair_stats st;

	CHECK_EQ(dps_dev_impair_stats(F.dev, &st, NULL), 0);
	return st;
}

static struct dps_impair_stats tx_stats(void)
{
	struct dps_impair_stats st;

	CHECK_EQ(dps_dev_impair_stats(F.dev, NULL, &st), 0);
	return st;
}

/* Every frame that entered is accounted for exactly once. */
static void check_balance(const struct dps_impair_stats *s)
{
	CHECK_EQ(s->seen + s->duplicated,
		 s->lost + s->rate_dropped + s->overflow + s->out + s->held);
}

static void teardown(void)
{
	struct dps_impair_stats rx, tx;

	CHECK_EQ(dps_dev_impair_stats(F.dev, &rx, &tx), 0);
	check_balance(&rx);
	check_balance(&tx);
	dps_dev_close(F.dev); /* closes F.mem too */
	CHECK_EQ(rte_mempool_avail_count(mp), POOL_N); /* no buffer leaked */
}

/* A valid echo request frame of 42 + data_len bytes carrying id. */
static size_t frame_make(uint8_t *f, uint32_t id, size_t data_len)
{
	return frame_echo(f, &stack_mac, peer_ip, stack_ip, (uint16_t)(id >> 16), (uint16_t)id,
			  data_len);
}

static struct rte_mbuf *mbuf_of(const uint8_t *f, size_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);

	CHECK(m != NULL);
	memcpy(rte_pktmbuf_append(m, (uint16_t)len), f, len);
	return m;
}

static struct rte_mbuf *frame_alloc(uint32_t id, size_t data_len)
{
	uint8_t f[FRAME_MAX];

	return mbuf_of(f, frame_make(f, id, data_len));
}

static uint32_t frame_id(const struct rte_mbuf *m)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);

	return (uint32_t)p[38] << 24 | (uint32_t)p[39] << 16 | (uint32_t)p[40] << 8 | p[41];
}

/* Frames first..first+n-1 arrive at the inner device. */
static void rx_inject(uint32_t first, unsigned n, size_t data_len)
{
	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *m = frame_alloc(first + i, data_len);

		CHECK_EQ(dps_dev_mem_inject(F.mem, &m, 1), 1);
	}
}

/* Poll the wrapper's rx until it has nothing due and nothing left to pull; ids of what came out go to ids[] (up to max).
 * Returns the count. */
static unsigned rx_drain(uint32_t *ids, unsigned max)
{
	struct rte_mbuf *m[32];
	unsigned total = 0;
	uint16_t n;

	for (;;) {
		uint64_t seen = rx_stats().seen;

		n = dps_dev_rx(F.dev, m, 32);
		if (n == 0 && rx_stats().seen == seen)
			break; /* nothing due, and the inner device is empty */
		for (uint16_t i = 0; i < n; i++) {
			if (total < max)
				ids[total] = frame_id(m[i]);
			total++;
			rte_pktmbuf_free(m[i]);
		}
	}
	return total;
}

static void tx_send(uint32_t first, unsigned n, size_t data_len)
{
	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *m = frame_alloc(first + i, data_len);

		CHECK_EQ(dps_dev_tx(F.dev, &m, 1), 1);
	}
}

/* Take what reached the inner device's wire; ids as for rx_drain. */
static unsigned tx_collect(uint32_t *ids, unsigned max)
{
	struct rte_mbuf *m[32];
	unsigned total = 0, n;

	while ((n = dps_dev_mem_collect(F.mem, m, 32)) > 0)
		for (unsigned i = 0; i < n; i++) {
			if (total < max)
				ids[total] = frame_id(m[i]);
			total++;
			rte_pktmbuf_free(m[i]);
		}
	return total;
}

static void test_passthrough(void)
{
	struct rte_mbuf *in[100], *out[100];
	uint8_t copy[100][FRAME_MAX];
	struct dps_dev_stats ds;
	unsigned n = 0;

	setup("", 1);
	CHECK(rte_is_same_ether_addr(&F.dev->mac, &stack_mac));
	CHECK_EQ(F.dev->port_id, -1);
	CHECK_STR(F.dev->name, "impair:imp");
	CHECK(dps_dev_is_impair(F.dev));
	CHECK(!dps_dev_is_impair(F.mem));
	for (uint32_t i = 0; i < 100; i++) {
		in[i] = frame_alloc(i, i);
		memcpy(copy[i], rte_pktmbuf_mtod(in[i], void *), rte_pktmbuf_pkt_len(in[i]));
	}
	CHECK_EQ(dps_dev_mem_inject(F.mem, in, 100), 100);
	while (n < 100) {
		uint16_t got = dps_dev_rx(F.dev, out + n, 32);

		CHECK(got > 0);
		n += got;
	}
	CHECK_EQ(dps_dev_rx(F.dev, out, 32), 0);
	for (unsigned i = 0; i < 100; i++) {
		CHECK(out[i] == in[i]); /* the same buffer, untouched, in order */
		CHECK_EQ(rte_pktmbuf_pkt_len(out[i]), 42 + i);
		CHECK(memcmp(rte_pktmbuf_mtod(out[i], void *), copy[i], 42 + i) == 0);
	}
	CHECK_EQ(dps_dev_tx(F.dev, out, 100), 100);
	CHECK_EQ(dps_dev_mem_collect(F.mem, in, 100), 100);
	for (unsigned i = 0; i < 100; i++) {
		CHECK(in[i] == out[i]);
		CHECK(memcmp(rte_pktmbuf_mtod(in[i], void *), copy[i], 42 + i) == 0);
		rte_pktmbuf_free(in[i]);
	}
	CHECK_EQ(rx_stats().seen, 100);
	CHECK_EQ(rx_stats().out, 100);
	CHECK_EQ(rx_stats().delayed, 0);
	CHECK_EQ(tx_stats().out, 100);
	CHECK_EQ(tx_stats().out_bytes, 100 * 42 + 99 * 50);
	CHECK_EQ(F.dev->ops->stats(F.dev, &ds), 0);
	CHECK_EQ(ds.rx_frames, 100);
	CHECK_EQ(ds.tx_frames, 100);
	CHECK_EQ(ds.rx_missed + ds.tx_errors, 0);
	teardown();
}

static void test_loss_all(void)
{
	struct dps_dev_stats ds;
	uint32_t ids[64];

	setup("loss=100%", 1);
	rx_inject(0, 50, 8);
	CHECK_EQ(rx_drain(ids, 64), 0);
	tx_send(0, 50, 8);
	CHECK_EQ(tx_collect(ids, 64), 0);
	CHECK_EQ(rx_stats().lost, 50);
	CHECK_EQ(tx_stats().lost, 50);
	CHECK_EQ(F.dev->ops->stats(F.dev, &ds), 0);
	CHECK_EQ(ds.rx_frames, 0);
	CHECK_EQ(ds.rx_missed, 50);
	CHECK_EQ(ds.tx_errors, 50);
	teardown();
}

/* 100,000 frames through rx with 2 % loss: returns the number lost and a hash of what survived. */
static uint64_t loss_run(const char *conf, uint64_t seed, uint64_t *hash)
{
	uint32_t ids[32];
	uint64_t lost, h = 1469598103934665603ull, got = 0;

	setup(conf, seed);
	for (uint32_t id = 0; id < 100000; id += 32) {
		unsigned n;

		rx_inject(id, 32, 0);
		n = rx_drain(ids, 32);
		for (unsigned i = 0; i < n; i++)
			h = (h ^ ids[i]) * 1099511628211ull; /* FNV-1a over the ids */
		got += n;
	}
	lost = rx_stats().lost;
	CHECK_EQ(got + lost, 100000);
	CHECK_EQ(rx_stats().seen, 100000);
	CHECK_EQ(tx_stats().seen, 0);
	teardown();
	*hash = h;
	return lost;
}

static void test_loss_two_percent(void)
{
	uint64_t h1, h2, h3, lost = loss_run("loss=2%", 42, &h1);

	/* Binomial(100000, 0.02): mean 2000, standard deviation 44; the band is 4.5 of them. */
	CHECK(lost >= 1800 && lost <= 2200);
	CHECK_EQ(loss_run("loss=2%", 42, &h2), lost); /* same seed: the very same frames */
	CHECK_EQ(h1, h2);
	CHECK_EQ(loss_run("loss=2%,seed=42", 7, &h3), lost); /* seed= in the string wins */
	CHECK_EQ(h3, h1);
	lost = loss_run("loss=2%", 43, &h2);
	CHECK(lost >= 1800 && lost <= 2200);
	CHECK(h2 != h1);
	CHECK_EQ(loss_run("tx:loss=2%", 42, &h2), 0); /* the other direction only */
}

static void test_dup(void)
{
	struct rte_mbuf *m[64];
	uint32_t ids[2000];
	unsigned n, twice = 0;

	setup("dup=100%", 1);
	rx_inject(0, 20, 100);
	n = dps_dev_rx(F.dev, m, 64);
	CHECK_EQ(n, 40);
	for (unsigned i = 0; i < 40; i += 2) {
		CHECK_EQ(frame_id(m[i]), i / 2);
		CHECK_EQ(frame_id(m[i + 1]), i / 2);
		CHECK(m[i] != m[i + 1]);
		CHECK_EQ(rte_pktmbuf_pkt_len(m[i + 1]), rte_pktmbuf_pkt_len(m[i]));
		CHECK(memcmp(rte_pktmbuf_mtod(m[i], void *), rte_pktmbuf_mtod(m[i + 1], void *),
			     142) == 0);
		/* A real copy: its own direct buffer from the same pool, deaf to changes of the
		 * original. */
		CHECK(RTE_MBUF_DIRECT(m[i + 1]));
		CHECK_EQ(rte_mbuf_refcnt_read(m[i]), 1);
		CHECK_EQ(rte_mbuf_refcnt_read(m[i + 1]), 1);
		CHECK(m[i + 1]->pool == mp);
		rte_pktmbuf_mtod(m[i], uint8_t *)[100] ^= 0xff;
		CHECK(rte_pktmbuf_mtod(m[i + 1], uint8_t *)[100] !=
		      rte_pktmbuf_mtod(m[i], uint8_t *)[100]);
	}
	rte_pktmbuf_free_bulk(m, 40);
	CHECK_EQ(rx_stats().duplicated, 20);
	teardown();

	/* 30 %: every frame comes once or twice, in order, copies right behind their original. */
	setup("tx:dup=30%", 5);
	tx_send(0, 1000, 8);
	n = tx_collect(ids, 2000);
	CHECK_EQ(n, 1000 + tx_stats().duplicated);
	for (unsigned i = 0, want = 0; i < n; i++) {
		if (i > 0 && ids[i] == ids[i - 1]) {
			twice++;
			CHECK(i < 2 || ids[i - 2] != ids[i]); /* never three times */
			continue;
		}
		CHECK_EQ(ids[i], want++);
	}
	CHECK_EQ(twice, tx_stats().duplicated);
	CHECK(twice >= 240 && twice <= 360); /* mean 300, sd 14.5 */
	teardown();
}

static void test_delay(void)
{
	uint32_t ids[256];
	uint64_t sent_at[200], left_at[200], due;
	unsigned got = 0, distinct = 0;

	setup("delay=1ms", 1);
	CHECK_EQ(dps_dev_impair_next_due(F.dev, &due), 0);
	CHECK(due == UINT64_MAX);
	rx_inject(0, 10, 8);
	CHECK_EQ(rx_drain(ids, 256), 0);
	CHECK_EQ(rx_stats().held, 10);
	CHECK_EQ(dps_dev_impair_next_due(F.dev, &due), 0);
	CHECK_EQ(due, T0 + NSEC_MS);
	CHECK_EQ(dps_dev_impair_next_due(F.mem, &due), -EINVAL);
	now_ns = T0 + NSEC_MS - 1;
	CHECK_EQ(rx_drain(ids, 256), 0);
	now_ns = T0 + NSEC_MS;
	CHECK_EQ(rx_drain(ids, 256), 10);
	for (uint32_t i = 0; i < 10; i++)
		CHECK_EQ(ids[i], i);
	CHECK_EQ(rx_stats().delayed, 10);
	CHECK_EQ(rx_stats().held, 0);
	teardown();

	/* Jitter: each frame leaves between 1 and 1.5 ms after it came, and never overtakes. */
	setup("delay=1ms,jitter=500us", 3);
	for (uint32_t step = 0; got < 200; step++) {
		unsigned n;

		now_ns = T0 + step * 10000ull; /* every 10 us */
		if (step < 200) {
			sent_at[step] = now_ns;
			rx_inject(step, 1, 8);
		}
		n = rx_drain(ids, 256);
		for (unsigned i = 0; i < n; i++) {
			CHECK_EQ(ids[i], got); /* in order */
			left_at[got++] = now_ns;
		}
		CHECK(step < 400);
	}
	for (unsigned i = 0; i < 200; i++) {
		uint64_t d = left_at[i] - sent_at[i];

		CHECK(d >= NSEC_MS && d <= NSEC_MS + 500000 + 10000); /* + one poll step */
		distinct += i > 0 && d != left_at[i - 1] - sent_at[i - 1];
	}
	CHECK(distinct > 50); /* the jitter does vary */
	teardown();

	/* tx: held frames leave at the next poll, tx burst (even empty) or rx burst after their time. */
	setup("tx:delay=1ms", 1);
	tx_send(0, 5, 8);
	CHECK_EQ(tx_collect(ids, 256), 0);
	now_ns += NSEC_MS;
	CHECK_EQ(tx_collect(ids, 256), 0); /* nobody called the wrapper yet */
	CHECK_EQ(dps_dev_impair_poll(F.dev), 5);
	CHECK_EQ(tx_collect(ids, 256), 5);
	CHECK_EQ(ids[4], 4);
	tx_send(5, 1, 8);
	now_ns += NSEC_MS;
	CHECK_EQ(dps_dev_tx(F.dev, NULL, 0), 0);
	CHECK_EQ(tx_collect(ids, 256), 1);
	tx_send(6, 1, 8);
	now_ns += NSEC_MS;
	CHECK_EQ(rx_drain(ids, 256), 0);
	CHECK_EQ(tx_collect(ids, 256), 1);
	CHECK_EQ(ids[0], 6);
	CHECK_EQ(rx_stats().seen, 0);
	teardown();
}

/*
 * Reordering with a frozen clock: a held-back frame leaves right after exactly reorder_gap later
 * frames, the others keep their order, and nothing is lost or invented; what is still held at the
 * end leaves when its hold time passes.
 */
static void test_reorder(void)
{
	enum { N = 10000, GAP = 3 };
	static uint32_t ids[N + 64];
	static uint8_t count[N];
	unsigned got = 0, late = 0, flushed;
	uint32_t max_before = 0;
	uint64_t due;

	setup("reorder=5%,reorder_gap=3,reorder_hold=2ms", 9);
	for (uint32_t id = 0; id < N; id += 16) {
		rx_inject(id, 16, 0);
		got += rx_drain(ids + got, N + 64 - got);
	}
	now_ns = T0 + 2 * NSEC_MS - 1;
	CHECK_EQ(rx_drain(ids, 0), 0);
	CHECK_EQ(dps_dev_impair_next_due(F.dev, &due), 0);
	CHECK(rx_stats().held == 0 || due == T0 + 2 * NSEC_MS);
	now_ns = T0 + 2 * NSEC_MS;
	flushed = rx_drain(ids + got, N + 64 - got);
	CHECK(flushed <= 16);
	CHECK_EQ(got + flushed, N);
	for (unsigned i = 0; i < N; i++) {
		CHECK(ids[i] < N);
		CHECK_EQ(count[ids[i]]++, 0); /* each frame exactly once */
	}
	for (unsigned i = 0; i < got; i++) {
		unsigned later = 0;

		if (i > 0 && ids[i - 1] > max_before)
			max_before = ids[i - 1];
		if (i == 0 || max_before < ids[i])
			continue; /* in order */
		late++;
		/* later frames that left before it, not counting other late ones */
		for (unsigned j = i >= 200 ? i - 200 : 0; j < i; j++) {
			uint32_t mx = 0;

			if (ids[j] < ids[i])
				continue;
			for (unsigned k = j >= 200 ? j - 200 : 0; k < j; k++)
				mx = ids[k] > mx ? ids[k] : mx;
			later += j == 0 || mx < ids[j];
		}
		CHECK_EQ(later, GAP);
	}
	CHECK(late > 0);
	CHECK_EQ(rx_stats().reordered, late + flushed);
	CHECK(late + flushed >= 400 && late + flushed <= 600); /* mean 500, sd 22 */
	teardown();

	/* The hold time alone releases a frame when no later frame comes. */
	setup("reorder=100%,reorder_hold=1ms", 1);
	rx_inject(0, 1, 0);
	CHECK_EQ(rx_drain(ids, 1), 0);
	CHECK_EQ(dps_dev_impair_next_due(F.dev, &due), 0);
	CHECK_EQ(due, T0 + NSEC_MS);
	now_ns += NSEC_MS;
	CHECK_EQ(rx_drain(ids, 1), 1);
	teardown();
}

/*
 * The TCP issue's mix on tx, with time moving: every frame that leaves was sent, none comes more
 * than twice, and the counts add up.
 */
static void test_mix(void)
{
	enum { N = 20000 };
	static uint8_t count[N];
	static uint32_t ids[N];
	uint64_t once = 0, twice = 0, none = 0;
	unsigned n;

	setup("tx:loss=2%,tx:reorder=5%,tx:dup=1%,tx:delay=1ms,tx:jitter=500us", 11);
	for (uint32_t id = 0; id < N; id += 8) {
		now_ns += 20000;
		tx_send(id, 8, 16);
		n = tx_collect(ids, N);
		CHECK(n <= 64);
		for (unsigned i = 0; i < n; i++) {
			CHECK(ids[i] < N);
			count[ids[i]]++;
		}
	}
	now_ns += 10 * NSEC_MS;
	CHECK(dps_dev_impair_poll(F.dev) > 0);
	n = tx_collect(ids, N);
	CHECK(n > 0 && n < 1000);
	for (unsigned i = 0; i < n; i++)
		count[ids[i]]++;
	for (unsigned i = 0; i < N; i++) {
		CHECK(count[i] <= 2);
		none += count[i] == 0;
		once += count[i] == 1;
		twice += count[i] == 2;
	}
	CHECK_EQ(tx_stats().held, 0);
	CHECK_EQ(once + 2 * twice, tx_stats().out);
	CHECK_EQ(none, tx_stats().lost); /* loss comes before duplication: copies are never lost */
	CHECK_EQ(twice, tx_stats().duplicated);
	CHECK(tx_stats().lost > 300 && tx_stats().duplicated > 100 && tx_stats().reordered > 800);
	CHECK(tx_stats().delayed > N / 2);
	teardown();
}

/* Bit offset of the only differing bit of a and b (length len), or -1 when not exactly one. */
static long one_bit_diff(const uint8_t *a, const uint8_t *b, size_t len)
{
	long at = -1;

	for (size_t i = 0; i < len; i++) {
		uint8_t x = a[i] ^ b[i];

		if (x == 0)
			continue;
		if (at >= 0 || (x & (x - 1)) != 0)
			return -1;
		at = (long)i * 8 + __builtin_ctz(x);
	}
	return at;
}

static void test_corrupt(void)
{
	uint8_t f[FRAME_MAX], out[FRAME_MAX];
	struct rte_mbuf *m, *got, *clone;
	unsigned in_ip_hdr = 0, in_icmp = 0;

	setup("corrupt=100%", 17);
	for (uint32_t i = 0; i < 1000; i++) {
		size_t n = frame_make(f, i, i % 64), len = n < 60 ? 60 : n;
		long bit;

		memset(f + n, 0xee, len - n); /* Ethernet padding: no checksum covers it */
		CHECK_EQ(dps_wire_frame_parse(f, len), DPS_DROP_NONE);
		m = mbuf_of(f, len);
		CHECK_EQ(dps_dev_mem_inject(F.mem, &m, 1), 1);
		CHECK_EQ(dps_dev_rx(F.dev, &got, 1), 1);
		CHECK(got == m); /* written in place: the buffer was ours alone */
		CHECK_EQ(rte_pktmbuf_pkt_len(got), len);
		memcpy(out, rte_pktmbuf_mtod(got, void *), len);
		rte_pktmbuf_free(got);
		bit = one_bit_diff(f, out, len);
		CHECK(bit >= 14 * 8 && bit < (long)n * 8); /* not Ethernet, not padding */
		in_ip_hdr += bit < 34 * 8;
		in_icmp += bit >= 34 * 8;
		CHECK(dps_wire_frame_parse(out, len) != DPS_DROP_NONE); /* a checksum catches it */
	}
	CHECK(in_ip_hdr > 10 && in_icmp > 10);
	CHECK_EQ(rx_stats().corrupted, 1000);
	/* An Ethernet header alone has nothing to corrupt. */
	frame_eth(f, &stack_mac, &peer_mac, RTE_ETHER_TYPE_IPV4);
	m = mbuf_of(f, 14);
	CHECK_EQ(dps_dev_mem_inject(F.mem, &m, 1), 1);
	CHECK_EQ(dps_dev_rx(F.dev, &got, 1), 1);
	CHECK(memcmp(rte_pktmbuf_mtod(got, void *), f, 14) == 0);
	rte_pktmbuf_free(got);
	CHECK_EQ(rx_stats().corrupted, 1000);

	/* tx of a buffer someone else still holds (a retransmission queue): the wire gets a
	 * corrupted copy, the holder keeps the original bytes. */
	frame_make(f, 7, 200);
	m = mbuf_of(f, 242);
	rte_mbuf_refcnt_update(m, 1);
	CHECK_EQ(dps_dev_tx(F.dev, &m, 1), 1);
	CHECK(memcmp(rte_pktmbuf_mtod(m, void *), f, 242) == 0);
	CHECK_EQ(rte_mbuf_refcnt_read(m), 1); /* the wrapper let go of its reference */
	CHECK_EQ(dps_dev_mem_collect(F.mem, &got, 1), 1);
	CHECK(got != m);
	CHECK(one_bit_diff(f, rte_pktmbuf_mtod(got, uint8_t *), 242) >= 14 * 8);
	rte_pktmbuf_free(got);
	rte_pktmbuf_free(m);
	/* Same for a clone (an indirect mbuf sharing the original's data). */
	m = mbuf_of(f, 242);
	clone = rte_pktmbuf_clone(m, mp);
	CHECK(clone != NULL);
	CHECK_EQ(dps_dev_tx(F.dev, &clone, 1), 1);
	CHECK(memcmp(rte_pktmbuf_mtod(m, void *), f, 242) == 0);
	CHECK_EQ(dps_dev_mem_collect(F.mem, &got, 1), 1);
	CHECK(one_bit_diff(f, rte_pktmbuf_mtod(got, uint8_t *), 242) >= 14 * 8);
	rte_pktmbuf_free(got);
	rte_pktmbuf_free(m);
	CHECK_EQ(tx_stats().corrupted, 2);
	teardown();
}

/* A VLAN tag is part of the Ethernet header; a chained frame is corrupted in the right segment. */
static void test_corrupt_layouts(void)
{
	uint8_t f[FRAME_MAX], g[FRAME_MAX], out[FRAME_MAX];
	static const uint8_t tag[4] = { 0x81, 0x00, 0x00, 0x05 };
	struct rte_mbuf *m, *tail, *got;
	unsigned in_tail = 0;

	setup("corrupt=100%", 23);
	for (uint32_t i = 0; i < 200; i++) {
		size_t n = frame_make(f, i, i % 32);
		long bit;

		memcpy(g, f, 12);
		memcpy(g + 12, tag, 4);
		memcpy(g + 16, f + 12, n - 12);
		m = mbuf_of(g, n + 4);
		CHECK_EQ(dps_dev_mem_inject(F.mem, &m, 1), 1);
		CHECK_EQ(dps_dev_rx(F.dev, &got, 1), 1);
		bit = one_bit_diff(g, rte_pktmbuf_mtod(got, uint8_t *), n + 4);
		CHECK(bit >= 18 * 8 && bit < (long)(n + 4) * 8);
		rte_pktmbuf_free(got);

		/* the same frame in two segments, split at byte 30 */
		m = mbuf_of(f, 30);
		tail = mbuf_of(f + 30, n - 30);
		CHECK_EQ(rte_pktmbuf_chain(m, tail), 0);
		CHECK_EQ(dps_dev_mem_inject(F.mem, &m, 1), 1);
		CHECK_EQ(dps_dev_rx(F.dev, &got, 1), 1);
		CHECK_EQ(got->nb_segs, 2);
		CHECK_EQ(rte_pktmbuf_pkt_len(got), n);
		bit = one_bit_diff(f, rte_pktmbuf_read(got, 0, (uint32_t)n, out), n);
		CHECK(bit >= 14 * 8 && bit < (long)n * 8);
		in_tail += bit >= 30 * 8;
		rte_pktmbuf_free(got);
	}
	CHECK(in_tail > 20 && in_tail < 180);
	teardown();
}

/* Send n 1000-byte frames at T0, then poll every 100 us; left[i] = when frame i reached the wire
 * (relative to T0), or UINT64_MAX. */
static void rate_run(const char *conf, unsigned n, uint64_t *left)
{
	uint32_t ids[16];

	setup(conf, 1);
	for (unsigned i = 0; i < n; i++)
		left[i] = UINT64_MAX;
	tx_send(0, n, 1000 - 42);
	for (uint64_t t = 0; t <= 20 * NSEC_MS; t += 100000) {
		unsigned got;

		now_ns = T0 + t;
		CHECK(dps_dev_impair_poll(F.dev) >= 0);
		got = tx_collect(ids, 16);
		for (unsigned i = 0; i < got; i++)
			left[ids[i]] = t;
	}
}

static void test_rate(void)
{
	uint64_t left[10];

	/* 8 mbit/s = 1 byte/us: a 1000-byte frame every millisecond. */
	rate_run("tx:rate=8mbit", 10, left);
	for (unsigned i = 0; i < 10; i++)
		CHECK_EQ(left[i], i * NSEC_MS);
	CHECK_EQ(tx_stats().delayed, 9);
	teardown();
	/* A 3000-byte bucket lets three go at once. */
	rate_run("tx:rate=8mbit,tx:rate_burst=3000b", 10, left);
	for (unsigned i = 0; i < 10; i++)
		CHECK_EQ(left[i], i < 3 ? 0 : (i - 2) * NSEC_MS);
	teardown();
	/* A 5000-byte queue: frames that would wait more than 5 ms are dropped. */
	rate_run("tx:rate=8mbit,tx:rate_queue=5000b", 10, left);
	for (unsigned i = 0; i < 10; i++)
		CHECK_EQ(left[i], i <= 5 ? i * NSEC_MS : UINT64_MAX);
	CHECK_EQ(tx_stats().rate_dropped, 4);
	teardown();
	/* With delay on top: rate first, then the delay. */
	rate_run("tx:rate=8mbit,tx:delay=2ms", 3, left);
	for (unsigned i = 0; i < 3; i++)
		CHECK_EQ(left[i], (2 + i) * NSEC_MS);
	teardown();
}

static void test_overflow(void)
{
	uint32_t ids[64];

	setup("delay=1ms,limit=16", 1);
	rx_inject(0, 40, 8);
	CHECK_EQ(rx_drain(ids, 64), 0);
	CHECK_EQ(rx_stats().overflow, 24);
	CHECK_EQ(rx_stats().held, 16);
	tx_send(0, 40, 8);
	CHECK_EQ(tx_stats().overflow, 24);
	now_ns += NSEC_MS;
	CHECK_EQ(rx_drain(ids, 64), 16);
	CHECK_EQ(ids[15], 15);
	CHECK_EQ(tx_collect(ids, 64), 16);
	teardown();
}

/* An inner device that takes only what fits: the rest waits in the wrapper, nothing is lost. */
static void test_inner_refuses(void)
{
	uint32_t ids[64];
	uint64_t due;

	setup_ring("", 1, 8); /* 7 frames fit */
	tx_send(0, 20, 8);
	CHECK_EQ(tx_stats().held, 13);
	CHECK_EQ(dps_dev_impair_next_due(F.dev, &due), 0);
	CHECK_EQ(due, 0); /* retry at once */
	CHECK_EQ(tx_collect(ids, 64), 7);
	CHECK_EQ(dps_dev_impair_poll(F.dev), 7);
	CHECK_EQ(tx_collect(ids, 64), 7);
	CHECK_EQ(ids[0], 7);
	CHECK_EQ(dps_dev_impair_poll(F.dev), 6);
	CHECK_EQ(tx_collect(ids, 64), 6);
	CHECK_EQ(ids[5], 19);
	CHECK_EQ(tx_stats().out, 20);
	teardown();
}

static void test_close_with_held(void)
{
	struct dps_impair_stats rx, tx;
	uint32_t ids[256];

	setup("delay=10s,reorder=50%", 1);
	rx_inject(0, 200, 64);
	CHECK_EQ(rx_drain(ids, 256), 0);
	rx_inject(200, 50, 64); /* left in the inner device */
	tx_send(0, 200, 64);
	CHECK_EQ(dps_dev_impair_stats(F.dev, &rx, &tx), 0);
	CHECK_EQ(rx.held, 200);
	CHECK(rx.reordered > 0);
	CHECK_EQ(tx.held, 200);
	CHECK_EQ(rte_mempool_avail_count(mp), POOL_N - 450);
	teardown();
}

static void test_create_errors(void)
{
	struct dps_impair_conf c;
	struct dps_dev *mem, *dev;

	CHECK_EQ(dps_dev_mem_create("imp", &stack_mac, 64, &mem), 0);
	CHECK_EQ(dps_dev_impair_create(NULL, NULL, NULL, 1, NULL, NULL, &dev), -EINVAL);
	CHECK_EQ(dps_dev_impair_create(mem, NULL, NULL, 1, NULL, NULL, NULL), -EINVAL);
	dps_impair_conf_init(&c);
	CHECK(!dps_impair_conf_is_active(&c));
	c.loss_ppm = DPS_IMPAIR_PPM + 1;
	CHECK_EQ(dps_dev_impair_create(mem, &c, NULL, 1, NULL, NULL, &dev), -EINVAL);
	dps_impair_conf_init(&c);
	c.limit = 0;
	CHECK_EQ(dps_dev_impair_create(mem, NULL, &c, 1, NULL, NULL, &dev), -EINVAL);
	dps_impair_conf_init(&c);
	c.reorder_gap = 0;
	CHECK_EQ(dps_dev_impair_create(mem, &c, NULL, 1, NULL, NULL, &dev), -EINVAL);
	dps_impair_conf_init(&c);
	c.delay_ns = DPS_IMPAIR_TIME_MAX + 1;
	CHECK_EQ(dps_dev_impair_create(mem, &c, NULL, 1, NULL, NULL, &dev), -EINVAL);
	CHECK_EQ(dps_dev_impair_stats(mem, NULL, NULL), -EINVAL);
	CHECK_EQ(dps_dev_impair_poll(mem), -EINVAL);
	/* mem is still ours after the failures; the real clock works too. */
	c.delay_ns = 0;
	c.dup_ppm = 1;
	CHECK(dps_impair_conf_is_active(&c));
	CHECK_EQ(dps_dev_impair_create(mem, &c, &c, 1, NULL, NULL, &dev), 0);
	CHECK_EQ(dps_dev_impair_poll(dev), 0);
	dps_dev_close(dev);
	CHECK_EQ(rte_mempool_avail_count(mp), POOL_N);
}

/* The engine drives the wrapper: its gratuitous ARP, delayed on tx, leaves on a later poll. */
static void test_engine_over_wrapper(void)
{
	struct dps_conf c;
	struct dps_engine *e;
	uint32_t ids[4];

	setup("tx:delay=1ms", 1);
	CHECK_EQ(dps_conf_init(&c, err, sizeof(err)), 0);
	CHECK_EQ(dps_conf_set(&c, "ip", "198.18.0.2/24", DPS_SRC_ARG, "test", err, sizeof(err)), 0);
	CHECK_EQ(dps_engine_create(&c, F.dev, mp, now_ns, &e, err, sizeof(err)), 0);
	CHECK_EQ(tx_collect(ids, 4), 0);
	dps_engine_poll(e, now_ns);
	CHECK_EQ(tx_collect(ids, 4), 0);
	now_ns += NSEC_MS;
	dps_engine_poll(e, now_ns);
	CHECK_EQ(tx_collect(ids, 4), 1);
	dps_engine_destroy(e); /* closes the wrapper, and with it the inner device */
	dps_conf_free(&c);
	CHECK_EQ(rte_mempool_avail_count(mp), POOL_N);
}

static void parse_ok(const char *s, struct dps_impair_conf *rx, struct dps_impair_conf *tx,
		     uint64_t *seed)
{
	err[0] = '\0';
	if (dps_impair_parse(s, NULL, rx, tx, seed, err, sizeof(err)) != 0)
		fprintf(stderr, "parse '%s': %s\n", s, err);
	CHECK_STR(err, "");
}

static void parse_bad(const char *s, const char *msg)
{
	struct dps_impair_conf rx, tx, before;
	uint64_t seed = 5;

	memset(&rx, 0xab, sizeof(rx));
	before = rx;
	CHECK_EQ(dps_impair_parse(s, NULL, &rx, &tx, &seed, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, msg);
	CHECK(memcmp(&rx, &before, sizeof(rx)) == 0); /* untouched on error */
	CHECK_EQ(seed, 5);
}

static void test_parse(void)
{
	static const char prob[] = "expected a probability from 0 to 100%: 2%, 0.05%, 1500ppm or 0";
	static const char time[] = "expected a time from 0 to 60s: 1ms, 500us, 1.5s, 100ns or 0";
	static const char rate[] = "expected a rate in bits/s (k = 1000) that is a whole number of "
				   "bytes/s, up to 1000gbit: 100mbit, 1.5gbit, 64kbit, or 0 for "
				   "no limit";
	struct dps_impair_conf rx, tx, def;
	uint64_t seed = 99;
	char msg[512];

	dps_impair_conf_init(&def);
	parse_ok("", &rx, &tx, &seed);
	CHECK(memcmp(&rx, &def, sizeof(def)) == 0);
	CHECK(memcmp(&tx, &def, sizeof(def)) == 0);
	CHECK_EQ(seed, 99); /* no seed= leaves the caller's */
	CHECK_EQ(def.reorder_gap, 3);
	CHECK_EQ(def.reorder_hold_ns, NSEC_MS);
	CHECK_EQ(def.limit, 4096);
	CHECK_EQ(def.rate_queue, 131072);

	parse_ok("loss=2%,reorder=5%,dup=1%,delay=1ms,jitter=500us,corrupt=0.1%,rate=100mbit,"
		 "seed=42",
		 &rx, &tx, &seed);
	CHECK(memcmp(&rx, &tx, sizeof(rx)) == 0);
	CHECK_EQ(rx.loss_ppm, 20000);
	CHECK_EQ(rx.reorder_ppm, 50000);
	CHECK_EQ(rx.dup_ppm, 10000);
	CHECK_EQ(rx.delay_ns, 1000000);
	CHECK_EQ(rx.jitter_ns, 500000);
	CHECK_EQ(rx.corrupt_ppm, 1000);
	CHECK_EQ(rx.rate_bytes_s, 12500000);
	CHECK_EQ(seed, 42);

	parse_ok(" rx:loss=1500ppm , tx:delay=1.5s,rate=1.5Gbit,rate_burst=64kb,rate_queue=1mb,"
		 "limit=100,tx:reorder_gap=5,reorder_hold=250us,loss=0.0001%,tx:loss=100%,"
		 "seed=18446744073709551615,jitter=100ns,tx:jitter=0,dup=0",
		 &rx, &tx, &seed);
	CHECK_EQ(rx.loss_ppm, 1); /* later items win */
	CHECK_EQ(tx.loss_ppm, 1000000);
	CHECK_EQ(rx.delay_ns, 0);
	CHECK_EQ(tx.delay_ns, 1500000000);
	CHECK_EQ(rx.rate_bytes_s, 187500000);
	CHECK_EQ(tx.rate_burst, 65536);
	CHECK_EQ(rx.rate_queue, 1048576);
	CHECK_EQ(tx.limit, 100);
	CHECK_EQ(rx.reorder_gap, 3);
	CHECK_EQ(tx.reorder_gap, 5);
	CHECK_EQ(tx.reorder_hold_ns, 250000);
	CHECK_EQ(rx.jitter_ns, 100);
	CHECK_EQ(tx.jitter_ns, 0);
	CHECK(seed == UINT64_MAX);
	parse_ok("rate=0,delay=60s,rate=64kbit,corrupt=100.0000%", &rx, NULL, NULL);
	CHECK_EQ(rx.rate_bytes_s, 8000);
	CHECK_EQ(rx.delay_ns, 60000000000ull);
	CHECK_EQ(rx.corrupt_ppm, 1000000);

	snprintf(msg, sizeof(msg), "impair: '2' is not valid for loss: %s", prob);
	parse_bad("loss=2", msg);
	snprintf(msg, sizeof(msg), "impair: '101%%' is not valid for loss: %s", prob);
	parse_bad("loss=101%", msg);
	snprintf(msg, sizeof(msg), "impair: '0.00001%%' is not valid for rx:dup: %s", prob);
	parse_bad("rx:dup=0.00001%", msg);
	snprintf(msg, sizeof(msg), "impair: '' is not valid for corrupt: %s", prob);
	parse_bad("corrupt=", msg);
	snprintf(msg, sizeof(msg), "impair: '-1%%' is not valid for reorder: %s", prob);
	parse_bad("reorder=-1%", msg);
	snprintf(msg, sizeof(msg), "impair: '1.5xs' is not valid for tx:delay: %s", time);
	parse_bad("loss=1%,tx:delay=1.5xs", msg);
	snprintf(msg, sizeof(msg), "impair: '61s' is not valid for jitter: %s", time);
	parse_bad("jitter=61s", msg);
	snprintf(msg, sizeof(msg), "impair: '0.5ns' is not valid for delay: %s", time);
	parse_bad("delay=0.5ns", msg);
	snprintf(msg, sizeof(msg), "impair: '1.ms' is not valid for delay: %s", time);
	parse_bad("delay=1.ms", msg);
	snprintf(msg, sizeof(msg), "impair: '1001bit' is not valid for rate: %s", rate);
	parse_bad("rate=1001bit", msg);
	snprintf(msg, sizeof(msg), "impair: '100' is not valid for rate: %s", rate);
	parse_bad("rate=100", msg);
	parse_bad("rate_queue=2gb", "impair: '2gb' is not valid for rate_queue: expected a size "
				    "from 0 to 1gb (k = 1024): 1500b, 64kb or 1mb");
	parse_bad("limit=0", "impair: '0' is not valid for limit: expected an integer from 1 to "
			     "65536");
	parse_bad("tx:reorder_gap=1001", "impair: '1001' is not valid for tx:reorder_gap: expected "
					 "an integer from 1 to 1000");
	parse_bad("seed=18446744073709551616", "impair: '18446744073709551616' is not valid for "
					       "seed: expected an integer from 0 to "
					       "18446744073709551615");
	parse_bad(
	    "lose=2%",
	    "impair: unknown key 'lose' (known: loss, dup, reorder, reorder_gap, "
	    "reorder_hold, corrupt, delay, jitter, rate, rate_burst, rate_queue, limit, seed; "
	    "rx: or tx: before a key limits it to one direction)");
	parse_bad(
	    "up:loss=2%",
	    "impair: unknown key 'up:loss' (known: loss, dup, reorder, reorder_gap, "
	    "reorder_hold, corrupt, delay, jitter, rate, rate_burst, rate_queue, limit, seed; "
	    "rx: or tx: before a key limits it to one direction)");
	parse_bad("loss", "impair: expected key=value, got 'loss'");
	parse_bad("loss=1%,,dup=1%",
		  "impair: empty item in 'loss=1%,,dup=1%' (items are key=value, "
		  "separated by single commas)");
	parse_bad("loss=1%,", "impair: empty item in 'loss=1%,' (items are key=value, separated by "
			      "single commas)");
	parse_bad("rx:seed=4", "impair: seed applies to both directions: write 'seed=4', not "
			       "'rx:seed=4'");
	CHECK_EQ(dps_impair_parse("loss=x", "DPSOCK_IMPAIR", &rx, &tx, NULL, err, sizeof(err)),
		 -EINVAL);
	snprintf(msg, sizeof(msg), "DPSOCK_IMPAIR: 'x' is not valid for loss: %s", prob);
	CHECK_STR(err, msg);
}

int main(void)
{
	CHECK(test_eal_start("test_impair", "128") >= 0);
	mp = rte_pktmbuf_pool_create("test_pool", POOL_N, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				     SOCKET_ID_ANY);
	CHECK(mp != NULL);
	RUN(test_parse);
	RUN(test_passthrough);
	RUN(test_loss_all);
	RUN(test_loss_two_percent);
	RUN(test_dup);
	RUN(test_delay);
	RUN(test_reorder);
	RUN(test_mix);
	RUN(test_corrupt);
	RUN(test_corrupt_layouts);
	RUN(test_rate);
	RUN(test_overflow);
	RUN(test_inner_refuses);
	RUN(test_close_with_held);
	RUN(test_create_errors);
	RUN(test_engine_over_wrapper);
	rte_mempool_free(mp);
	test_eal_stop();
	DONE();
}
