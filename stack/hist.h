/*
 * hist: a log-linear latency histogram (HdrHistogram's bucket scheme, fixed size, no
 * allocation): values 0-15 are exact; above, each power of two is split into 8 sub-buckets, so
 * a reported quantile is within 12.5 % of the true value. 8-byte counts; 4 KiB per histogram.
 * Used for the per-class queueing delay of the priority rules (DESIGN.md §8).
 */
#ifndef DPS_HIST_H
#define DPS_HIST_H

#include <stdint.h>

#define DPS_HIST_SUB 3 /* 2^3 sub-buckets per power of two */
#define DPS_HIST_BUCKETS ((64 - DPS_HIST_SUB) * (1u << DPS_HIST_SUB) + (1u << (DPS_HIST_SUB + 1)))

struct dps_hist {
	uint64_t n, max;
	uint64_t b[DPS_HIST_BUCKETS];
};

static inline unsigned dps_hist_bucket(uint64_t v)
{
	unsigned top;

	if (v < (1u << (DPS_HIST_SUB + 1)))
		return (unsigned)v;
	top = 63u - (unsigned)__builtin_clzll(v); /* >= DPS_HIST_SUB + 1 */
	return ((top - DPS_HIST_SUB) << DPS_HIST_SUB) +
	       (unsigned)(v >> (top - DPS_HIST_SUB)); /* the 4 top bits: 8-15 */
}

/* The largest value a bucket holds. */
static inline uint64_t dps_hist_bucket_max(unsigned i)
{
	unsigned shift;

	if (i < (1u << (DPS_HIST_SUB + 1)))
		return i;
	shift = (i >> DPS_HIST_SUB) - 1;
	return (((uint64_t)((i & ((1u << DPS_HIST_SUB) - 1)) | (1u << DPS_HIST_SUB)) + 1)
		<< shift) -
	       1;
}

static inline void dps_hist_add(struct dps_hist *h, uint64_t v)
{
	h->b[dps_hist_bucket(v)]++;
	h->n++;
	if (v > h->max)
		h->max = v;
}

/* The value at quantile q (0..1): the upper bound of the bucket holding it, capped by the
 * largest value seen. 0 when empty. */
static inline uint64_t dps_hist_quantile(const struct dps_hist *h, double q)
{
	uint64_t want, seen = 0;

	if (h->n == 0)
		return 0;
	want = (uint64_t)(q * (double)h->n + 0.5);
	if (want < 1)
		want = 1;
	for (unsigned i = 0; i < DPS_HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= want) {
			uint64_t v = dps_hist_bucket_max(i);

			return v < h->max ? v : h->max;
		}
	}
	return h->max;
}

#endif
