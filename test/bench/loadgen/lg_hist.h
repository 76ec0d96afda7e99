/*
 * lg_hist: an HDR-style histogram of nanosecond values for the load generator. Log-linear buckets:
 * values below 64 exactly, then 64 linear sub-buckets per power of two (relative error below
 * 1/64 = 1.6 %), up to 2^42 ns (73 minutes). 2,368 counters, 19 KB, constant-time record.
 */
#ifndef LG_HIST_H
#define LG_HIST_H

#include <stdint.h>
#include <string.h>

#define LG_SUB_BITS 6
#define LG_SUB (1u << LG_SUB_BITS)
#define LG_MAX_EXP 42
#define LG_BUCKETS ((LG_MAX_EXP - LG_SUB_BITS + 1) * LG_SUB + LG_SUB)

struct lg_hist {
	uint64_t n, sum, min, max;
	uint64_t c[LG_BUCKETS];
};

static inline void lg_hist_init(struct lg_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

static inline unsigned lg_hist_index(uint64_t v)
{
	unsigned k;

	if (v < LG_SUB)
		return (unsigned)v;
	k = 63u - (unsigned)__builtin_clzll(v); /* v in [2^k, 2^(k+1)), k >= LG_SUB_BITS */
	if (k > LG_MAX_EXP)
		return LG_BUCKETS - 1;
	return (k - LG_SUB_BITS + 1) * LG_SUB + (unsigned)((v >> (k - LG_SUB_BITS)) & (LG_SUB - 1));
}

/* The lowest value of bucket i (what quantiles report: never above the true value). */
static inline uint64_t lg_hist_value(unsigned i)
{
	unsigned k;

	if (i < LG_SUB)
		return i;
	k = i / LG_SUB - 1 + LG_SUB_BITS;
	return (1ull << k) + ((uint64_t)(i % LG_SUB) << (k - LG_SUB_BITS));
}

static inline void lg_hist_add(struct lg_hist *h, uint64_t v)
{
	h->c[lg_hist_index(v)]++;
	h->n++;
	h->sum += v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

/* The value at quantile q (0..1): the smallest bucket with at least q*n values at or below. */
static inline uint64_t lg_hist_quantile(const struct lg_hist *h, double q)
{
	uint64_t want, seen = 0;

	if (h->n == 0)
		return 0;
	want = (uint64_t)(q * (double)h->n + 0.5);
	if (want < 1)
		want = 1;
	for (unsigned i = 0; i < LG_BUCKETS; i++) {
		seen += h->c[i];
		if (seen >= want)
			return i == lg_hist_index(h->max) ? h->max : lg_hist_value(i);
	}
	return h->max;
}

#endif
