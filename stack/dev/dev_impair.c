/*
 * dev_impair: a device that wraps another and impairs its frames (DESIGN.md §11; the model and the
 * config string are in docs/fault-injection.md).
 *
 * Call order for each frame of a direction (impair_frame):
 *   seen -> delay queue full? overflow -> lost? -> duplicate? (a full copy follows the original
 *   through the rest) -> corrupt? (one bit, copying first when the buffer is shared) -> rate limit
 *   (token bucket: a departure time, or rate_dropped) -> + delay + jitter = due time -> reorder?
 *   (held back) or the delay queue (a ring sorted by due time: due times never decrease).
 * Release (dir_release) at `now`: held-back frames that are ready first (gap later frames left, or
 * their hold time passed), then the ring's head while it is due.
 * rx_burst: release due tx frames -> pull a burst from inner -> impair it -> release due rx frames.
 * tx_burst: impair the frames (all taken) -> release due tx frames to inner; what inner refuses
 * waits in a small staging array and goes first next time. dps_dev_impair_poll() only releases;
 * dps_dev_impair_next_due() tells an idle loop when the next release is due.
 * Time is read once per call from the clock callback; randomness comes from a xoshiro256** PRNG
 * per direction, seeded with splitmix64, so a run with the same seed and clock repeats exactly.
 * The config string (DPSOCK_IMPAIR) is parsed apart, in impair_parse.c.
 */
#include "dev_impair.h"

#include "dev.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_ip.h>
#include <rte_mbuf.h>

#define NSEC_S 1000000000ull
#define TX_STAGE 64

struct queued {
	struct rte_mbuf *m;
	uint64_t due;
	uint64_t seq;
};

struct held {
	struct rte_mbuf *m;
	uint64_t seq;
	uint64_t deadline; /* released at this time at the latest */
	uint32_t left; /* later frames still to leave before it */
};

struct impair_dir {
	struct dps_impair_conf c;
	uint64_t rng[4];
	struct queued *q; /* ring of c.limit entries, sorted by due */
	uint32_t head, count;
	struct held held[DPS_IMPAIR_HELD_MAX]; /* sorted by seq */
	uint32_t n_held;
	uint64_t seq, last_due;
	uint64_t tat, tat_rem, max_wait_ns; /* token bucket: time it is full again (GCRA) */
	struct dps_impair_stats st;
};

struct dev_impair {
	struct dps_dev dev; /* first: a dps_dev * is a dev_impair * */
	struct dps_dev *inner;
	uint64_t (*clock_ns)(void *arg);
	void *clock_arg;
	struct impair_dir rx, tx;
	struct rte_mbuf *stage[TX_STAGE]; /* released tx frames the inner device has not taken */
	uint16_t n_stage;
};

/* PRNG: xoshiro256** (Blackman and Vigna), seeded by splitmix64. */
static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(uint64_t *s)
{
	uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return r;
}

/* A number in [0, n), n > 0. The modulo bias is below n / 2^64: nothing a test can see. */
static uint64_t rng_below(struct impair_dir *d, uint64_t n)
{
	return rng_next(d->rng) % n;
}

/* True with probability ppm / 10^6. Draws nothing for 0 or 100 %, so an unused impairment does not
 * move the others' random streams. */
static int chance(struct impair_dir *d, uint32_t ppm)
{
	if (ppm == 0)
		return 0;
	if (ppm >= DPS_IMPAIR_PPM)
		return 1;
	return rng_below(d, DPS_IMPAIR_PPM) < ppm;
}

/* Can m's bytes be changed without another owner seeing it? Clones (indirect mbufs), external
 * buffers and buffers with another reference (the stack's retransmission queue) cannot. */
static int frame_is_writable(const struct rte_mbuf *m)
{
	for (; m != NULL; m = m->next)
		if (!RTE_MBUF_DIRECT(m) || rte_mbuf_refcnt_read(m) != 1)
			return 0;
	return 1;
}

/* The bytes corruption may touch: past the Ethernet header (and VLAN tags), and for IPv4 within
 * the IP total length, so that a checksum covers the flipped bit (not the Ethernet padding). */
static int corrupt_span(const struct rte_mbuf *m, uint32_t *lo, uint32_t *hi)
{
	uint32_t len = rte_pktmbuf_pkt_len(m), l2 = RTE_ETHER_HDR_LEN, tl;
	uint8_t buf[26];
	const uint8_t *p;
	uint16_t type;

	if (len <= l2)
		return 0;
	p = rte_pktmbuf_read(m, 0, len < sizeof(buf) ? len : sizeof(buf), buf);
	type = (uint16_t)(p[12] << 8 | p[13]);
	while ((type == RTE_ETHER_TYPE_VLAN || type == RTE_ETHER_TYPE_QINQ) && l2 + 4 <= len &&
	       l2 < 22) {
		type = (uint16_t)(p[l2 + 2] << 8 | p[l2 + 3]);
		l2 += 4;
	}
	*lo = l2;
	*hi = len;
	if (type == RTE_ETHER_TYPE_IPV4 && l2 + 4 <= len) {
		tl = (uint32_t)(p[l2 + 2] << 8 | p[l2 + 3]);
		if (tl >= sizeof(struct rte_ipv4_hdr) && l2 + tl <= len)
			*hi = l2 + tl;
	}
	return *hi > *lo;
}

/* Flip one random bit of m in its corrupt_span. Returns the frame to go on with: m, or a private
 * copy of it when m's buffer is shared (then m is freed). */
static struct rte_mbuf *corrupt(struct impair_dir *d, struct rte_mbuf *m)
{
	struct rte_mbuf *seg;
	uint32_t lo, hi, off;
	uint64_t bit;

	if (!corrupt_span(m, &lo, &hi))
		return m;
	if (!frame_is_writable(m)) {
		struct rte_mbuf *c = rte_pktmbuf_copy(m, m->pool, 0, UINT32_MAX);

		if (c == NULL) {
			d->st.nombuf++;
			return m;
		}
		rte_pktmbuf_free(m);
		m = c;
	}
	bit = (uint64_t)lo * 8 + rng_below(d, (uint64_t)(hi - lo) * 8);
	off = (uint32_t)(bit / 8);
	for (seg = m; off >= seg->data_len; seg = seg->next)
		off -= seg->data_len;
	*rte_pktmbuf_mtod_offset(seg, uint8_t *, off) ^= (uint8_t)(1u << (bit % 8));
	/* A device's verdict on the checksums no longer holds (rx side; harmless on tx). */
	m->ol_flags &= ~(RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK);
	d->st.corrupted++;
	return m;
}

/*
 * Token bucket of rate r bytes/s and depth B, in GCRA form: tat is the time at which the bucket is
 * full again. A frame of len bytes arriving at now leaves at max(now, tat - (B - len) / r), then
 * tat grows by len / r (the remainder of the division is carried, so there is no drift). Returns
 * 0 and the departure time, or -1 when the frame would wait longer than rate_queue bytes take.
 */
static int rate_admit(struct impair_dir *d, uint32_t len, uint64_t now, uint64_t *depart)
{
	uint64_t r = d->c.rate_bytes_s, slack = 0, num, t;

	if (d->tat < now) {
		d->tat = now;
		d->tat_rem = 0;
	}
	if (d->c.rate_burst > len)
		slack = (d->c.rate_burst - len) * NSEC_S / r;
	t = d->tat - now > slack ? d->tat - slack : now;
	if (t - now > d->max_wait_ns)
		return -1;
	num = (uint64_t)len * NSEC_S + d->tat_rem;
	d->tat += num / r;
	d->tat_rem = num % r;
	*depart = t;
	return 0;
}

/* The rest of the pipeline for one frame (an original or its copy): corrupt, rate, delay, then
 * held back for reordering or queued by due time. */
static void impair_enqueue(struct impair_dir *d, struct rte_mbuf *m, uint64_t now)
{
	const struct dps_impair_conf *c = &d->c;
	uint64_t due = now;
	struct queued *e;

	if (chance(d, c->corrupt_ppm))
		m = corrupt(d, m);
	if (c->rate_bytes_s != 0 && rate_admit(d, rte_pktmbuf_pkt_len(m), now, &due) < 0) {
		d->st.rate_dropped++;
		rte_pktmbuf_free(m);
		return;
	}
	due += c->delay_ns;
	if (c->jitter_ns != 0)
		due += rng_below(d, c->jitter_ns + 1);
	if (chance(d, c->reorder_ppm) && d->n_held < DPS_IMPAIR_HELD_MAX) {
		d->held[d->n_held++] = (struct held){ .m = m,
						      .seq = d->seq++,
						      .deadline = due + c->reorder_hold_ns,
						      .left = c->reorder_gap };
		d->st.reordered++;
		if (due > now)
			d->st.delayed++;
		return;
	}
	if (due < d->last_due) /* jitter never reorders: only `reorder` does */
		due = d->last_due;
	d->last_due = due;
	if (due > now)
		d->st.delayed++;
	e = &d->q[(d->head + d->count) % c->limit];
	*e = (struct queued){ .m = m, .due = due, .seq = d->seq++ };
	d->count++;
}

static void impair_frame(struct impair_dir *d, struct rte_mbuf *m, uint64_t now)
{
	struct rte_mbuf *copy = NULL;

	d->st.seen++;
	if (d->count >= d->c.limit) {
		d->st.overflow++;
		rte_pktmbuf_free(m);
		return;
	}
	if (chance(d, d->c.loss_ppm)) {
		d->st.lost++;
		rte_pktmbuf_free(m);
		return;
	}
	/* A full copy from the frame's own pool, not a clone: the stack may later write into the
	 * original's buffer (a retransmission), and a clone would change with it. */
	if (chance(d, d->c.dup_ppm)) {
		copy = rte_pktmbuf_copy(m, m->pool, 0, UINT32_MAX);
		if (copy == NULL)
			d->st.nombuf++;
		else
			d->st.duplicated++;
	}
	impair_enqueue(d, m, now);
	if (copy == NULL)
		return;
	if (d->count >= d->c.limit) {
		d->st.overflow++;
		rte_pktmbuf_free(copy);
		return;
	}
	impair_enqueue(d, copy, now);
}

/* The first held-back frame (lowest seq) that may leave now, or -1. */
static int held_ready(const struct impair_dir *d, uint64_t now)
{
	for (uint32_t i = 0; i < d->n_held; i++)
		if (d->held[i].left == 0 || d->held[i].deadline <= now)
			return (int)i;
	return -1;
}

/* Move up to cap frames that may leave at now into out. Returns the count. */
static unsigned dir_release(struct impair_dir *d, uint64_t now, struct rte_mbuf **out, unsigned cap)
{
	unsigned n = 0;

	while (n < cap) {
		int h = held_ready(d, now);
		struct queued *e;

		if (h >= 0) {
			out[n++] = d->held[h].m;
			d->n_held--;
			memmove(&d->held[h], &d->held[h + 1],
				(d->n_held - (uint32_t)h) * sizeof(d->held[0]));
			continue;
		}
		if (d->count == 0 || d->q[d->head].due > now)
			break;
		e = &d->q[d->head];
		out[n++] = e->m;
		for (uint32_t i = 0; i < d->n_held; i++)
			if (d->held[i].seq < e->seq && d->held[i].left > 0)
				d->held[i].left--;
		d->head = (d->head + 1) % d->c.limit;
		d->count--;
	}
	return n;
}

static void dir_free(struct impair_dir *d)
{
	for (uint32_t i = 0; i < d->count; i++)
		rte_pktmbuf_free(d->q[(d->head + i) % d->c.limit].m);
	for (uint32_t i = 0; i < d->n_held; i++)
		rte_pktmbuf_free(d->held[i].m);
	free(d->q);
}

static uint64_t impair_now(struct dev_impair *w)
{
	struct timespec ts;

	if (w->clock_ns != NULL)
		return w->clock_ns(w->clock_arg);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_S + (uint64_t)ts.tv_nsec;
}

/* Send what is staged and what is due to the inner device until it refuses or nothing is due.
 * Returns how many frames it took. */
static unsigned tx_flush(struct dev_impair *w, uint64_t now)
{
	unsigned total = 0;

	for (;;) {
		uint32_t len[TX_STAGE];
		uint16_t n, sent;

		w->n_stage += (uint16_t)dir_release(&w->tx, now, w->stage + w->n_stage,
						    TX_STAGE - w->n_stage);
		n = w->n_stage;
		if (n == 0)
			break;
		for (uint16_t i = 0; i < n; i++) /* read before inner owns them */
			len[i] = rte_pktmbuf_pkt_len(w->stage[i]);
		sent = dps_dev_tx(w->inner, w->stage, n);
		for (uint16_t i = 0; i < sent; i++)
			w->tx.st.out_bytes += len[i];
		w->tx.st.out += sent;
		total += sent;
		w->n_stage = (uint16_t)(n - sent);
		memmove(w->stage, w->stage + sent, w->n_stage * sizeof(w->stage[0]));
		if (sent < n)
			break;
	}
	return total;
}

static uint16_t impair_rx(struct dps_dev *dev, struct rte_mbuf **pkts, uint16_t n)
{
	struct dev_impair *w = (struct dev_impair *)dev;
	uint64_t now = impair_now(w);
	uint16_t got, out;

	tx_flush(w, now);
	got = dps_dev_rx(w->inner, pkts, n);
	for (uint16_t i = 0; i < got; i++)
		impair_frame(&w->rx, pkts[i], now);
	out = (uint16_t)dir_release(&w->rx, now, pkts, n);
	w->rx.st.out += out;
	for (uint16_t i = 0; i < out; i++)
		w->rx.st.out_bytes += rte_pktmbuf_pkt_len(pkts[i]);
	return out;
}

static uint16_t impair_tx(struct dps_dev *dev, struct rte_mbuf **pkts, uint16_t n)
{
	struct dev_impair *w = (struct dev_impair *)dev;
	uint64_t now = impair_now(w);

	for (uint16_t i = 0; i < n; i++)
		impair_frame(&w->tx, pkts[i], now);
	tx_flush(w, now);
	return n;
}

/* The inner device's counters, with rx_frames/rx_bytes as delivered after impairment, and the
 * impairment's drops added to rx_missed (receive side) and tx_errors (send side). */
static int impair_stats(struct dps_dev *dev, struct dps_dev_stats *st)
{
	struct dev_impair *w = (struct dev_impair *)dev;
	const struct dps_impair_stats *rx = &w->rx.st, *tx = &w->tx.st;
	int rc = w->inner->ops->stats(w->inner, st);

	if (rc < 0)
		return rc;
	st->rx_frames = rx->out;
	st->rx_bytes = rx->out_bytes;
	st->rx_missed += rx->lost + rx->rate_dropped + rx->overflow;
	st->tx_errors += tx->lost + tx->rate_dropped + tx->overflow;
	return 0;
}

static void impair_close(struct dps_dev *dev)
{
	struct dev_impair *w = (struct dev_impair *)dev;

	dir_free(&w->rx);
	dir_free(&w->tx);
	for (uint16_t i = 0; i < w->n_stage; i++)
		rte_pktmbuf_free(w->stage[i]);
	dps_dev_close(w->inner);
	free(w);
}

/* Frames the inner driver holds are pushed out by the inner's own kick. */
static void impair_kick(struct dps_dev *dev)
{
	dps_dev_kick(((struct dev_impair *)dev)->inner);
}

/* The inner device's wait fds: the frames it receives are the ones impairment takes in. */
static int impair_wait_fds(struct dps_dev *dev, int *fds, int max)
{
	return dps_dev_wait_fds(((struct dev_impair *)dev)->inner, fds, max);
}

static const struct dps_dev_ops impair_ops = {
	.rx_burst = impair_rx,
	.tx_burst = impair_tx,
	.stats = impair_stats,
	.kick = impair_kick,
	.close = impair_close,
	.wait_fds = impair_wait_fds,
};

static int conf_check(const struct dps_impair_conf *c)
{
	if (c->loss_ppm > DPS_IMPAIR_PPM || c->dup_ppm > DPS_IMPAIR_PPM ||
	    c->reorder_ppm > DPS_IMPAIR_PPM || c->corrupt_ppm > DPS_IMPAIR_PPM)
		return -EINVAL;
	if (c->limit == 0 || c->limit > DPS_IMPAIR_LIMIT_MAX || c->reorder_gap == 0 ||
	    c->reorder_gap > DPS_IMPAIR_GAP_MAX)
		return -EINVAL;
	if (c->delay_ns > DPS_IMPAIR_TIME_MAX || c->jitter_ns > DPS_IMPAIR_TIME_MAX ||
	    c->reorder_hold_ns > DPS_IMPAIR_TIME_MAX)
		return -EINVAL;
	if (c->rate_burst > DPS_IMPAIR_SIZE_MAX || c->rate_queue > DPS_IMPAIR_SIZE_MAX)
		return -EINVAL;
	return 0;
}

static int dir_init(struct impair_dir *d, const struct dps_impair_conf *c, uint64_t *seed)
{
	if (c != NULL)
		d->c = *c;
	else
		dps_impair_conf_init(&d->c);
	if (conf_check(&d->c) < 0)
		return -EINVAL;
	for (int i = 0; i < 4; i++)
		d->rng[i] = splitmix64(seed);
	if (d->c.rate_bytes_s != 0)
		d->max_wait_ns = d->c.rate_queue * NSEC_S / d->c.rate_bytes_s;
	d->q = calloc(d->c.limit, sizeof(d->q[0]));
	return d->q == NULL ? -ENOMEM : 0;
}

int dps_dev_impair_create(struct dps_dev *inner, const struct dps_impair_conf *rx,
			  const struct dps_impair_conf *tx, uint64_t seed,
			  uint64_t (*clock_ns)(void *arg), void *clock_arg, struct dps_dev **out)
{
	struct dev_impair *w;
	int rc;

	if (inner == NULL || out == NULL)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return -ENOMEM;
	rc = dir_init(&w->rx, rx, &seed);
	if (rc == 0)
		rc = dir_init(&w->tx, tx, &seed);
	if (rc < 0) {
		free(w->rx.q);
		free(w->tx.q);
		free(w);
		return rc;
	}
	w->inner = inner;
	w->clock_ns = clock_ns;
	w->clock_arg = clock_arg;
	w->dev.ops = &impair_ops;
	w->dev.mac = inner->mac;
	w->dev.port_id = inner->port_id;
	/* The inner device's checksum offloads, except transmit ones when tx frames get corrupted:
	 * the inner device would checksum the flipped bit and the peer never see it. (Received
	 * frames it corrupts lose their GOOD flags in corrupt(), so the stack checks them.) */
	w->dev.csum = inner->csum;
	if (w->tx.c.corrupt_ppm != 0)
		w->dev.csum &= ~(uint32_t)(DPS_DEV_TX_IP_CSUM | DPS_DEV_TX_TCP_CSUM);
	snprintf(w->dev.name, sizeof(w->dev.name), "impair:%.50s", inner->name);
	*out = &w->dev;
	return 0;
}

int dps_dev_is_impair(const struct dps_dev *dev)
{
	return dev != NULL && dev->ops == &impair_ops;
}

int dps_dev_impair_poll(struct dps_dev *dev)
{
	struct dev_impair *w = (struct dev_impair *)dev;

	if (!dps_dev_is_impair(dev))
		return -EINVAL;
	return (int)tx_flush(w, impair_now(w));
}

static uint64_t dir_next_due(const struct impair_dir *d)
{
	uint64_t due = d->count > 0 ? d->q[d->head].due : UINT64_MAX;

	for (uint32_t i = 0; i < d->n_held; i++) {
		uint64_t h = d->held[i].left == 0 ? 0 : d->held[i].deadline;

		due = h < due ? h : due;
	}
	return due;
}

int dps_dev_impair_next_due(struct dps_dev *dev, uint64_t *due)
{
	struct dev_impair *w = (struct dev_impair *)dev;
	uint64_t rx, tx;

	if (!dps_dev_is_impair(dev))
		return -EINVAL;
	rx = dir_next_due(&w->rx);
	tx = w->n_stage > 0 ? 0 : dir_next_due(&w->tx);
	*due = rx < tx ? rx : tx;
	return 0;
}

static void stats_of(const struct impair_dir *d, unsigned staged, struct dps_impair_stats *st)
{
	*st = d->st;
	st->held = d->count + d->n_held + staged;
}

int dps_dev_impair_stats(struct dps_dev *dev, struct dps_impair_stats *rx,
			 struct dps_impair_stats *tx)
{
	struct dev_impair *w = (struct dev_impair *)dev;

	if (!dps_dev_is_impair(dev))
		return -EINVAL;
	if (rx != NULL)
		stats_of(&w->rx, 0, rx);
	if (tx != NULL)
		stats_of(&w->tx, w->n_stage, tx);
	return 0;
}
