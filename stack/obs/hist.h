/*
 * hist: a log-linear histogram of non-negative values (HdrHistogram's bucket scheme, constant
 * time to record, no allocation after creation). Values below 2^(sub+1) are exact; above, each
 * power of two is split into 2^sub sub-buckets, so a reported quantile is within 2^-sub of the
 * true value (sub 3: 12.5 %, 4 KiB; sub 6: 1.6 %, 30 KiB). Used for the engine's per-class
 * queueing delay (DESIGN.md §8) and by the load generator (test/bench/loadgen).
 *
 *   struct dps_hist *h = calloc(1, dps_hist_size(3)); h->sub = 3;   (or dps_hist_init on memory
 *   of that size) ... dps_hist_add(h, ns) ... dps_hist_quantile(h, 0.99)
 */
#ifndef DPS_HIST_H
#define DPS_HIST_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct dps_hist {
	unsigned sub; /* log2 of the sub-buckets per power of two, 1-8 */
	uint64_t n, sum, max;
	uint64_t b[]; /* dps_hist_buckets(sub) counts */
};

static inline unsigned dps_hist_buckets(unsigned sub)
{
	return (64 - sub) * (1u << sub) + (1u << (sub + 1));
}

static inline size_t dps_hist_size(unsigned sub)
{
	return sizeof(struct dps_hist) + dps_hist_buckets(sub) * sizeof(uint64_t);
}

/* Make the dps_hist_size(sub) bytes at h an empty histogram. */
static inline void dps_hist_init(struct dps_hist *h, unsigned sub)
{
	memset(h, 0, dps_hist_size(sub));
	h->sub = sub;
}

static inline unsigned dps_hist_bucket(const struct dps_hist *h, uint64_t v)
{
	unsigned top;

	if (v < (1u << (h->sub + 1)))
		return (unsigned)v;
	top = 63u - (unsigned)__builtin_clzll(v); /* >= sub + 1 */
	/* the sub + 1 top bits of v: 2^sub .. 2^(sub+1) - 1 */
	return ((top - h->sub) << h->sub) + (unsigned)(v >> (top - h->sub));
}

/* The largest value bucket i holds. */
static inline uint64_t dps_hist_bucket_max(const struct dps_hist *h, unsigned i)
{
	unsigned shift;

	if (i < (1u << (h->sub + 1)))
		return i;
	shift = (i >> h->sub) - 1;
	return (((uint64_t)((i & ((1u << h->sub) - 1)) | (1u << h->sub)) + 1) << shift) - 1;
}

static inline void dps_hist_add(struct dps_hist *h, uint64_t v)
{
	h->b[dps_hist_bucket(h, v)]++;
	h->n++;
	h->sum += v;
	if (v > h->max)
		h->max = v;
}

/* The value at quantile q (0..1): the upper bound of the bucket holding it, capped by the
 * largest value seen (never below the true value). 0 when empty. */
static inline uint64_t dps_hist_quantile(const struct dps_hist *h, double q)
{
	uint64_t want, seen = 0;
	unsigned n = dps_hist_buckets(h->sub);

	if (h->n == 0)
		return 0;
	want = (uint64_t)(q * (double)h->n + 0.5);
	if (want < 1)
		want = 1;
	for (unsigned i = 0; i < n; i++) {
		seen += h->b[i];
		if (seen >= want) {
			uint64_t v = dps_hist_bucket_max(h, i);

			return v < h->max ? v : h->max;
		}
	}
	return h->max;
}

#endif
