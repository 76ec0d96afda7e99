/*
 * test_hist: the log-linear histogram (stack/obs/hist.h): exact small values, bucket bounds that tile
 * the whole 64-bit range, quantiles never below the truth and within 2^-sub above it, for the two
 * precisions in use (3: the engine's queueing delay, 6: the load generator).
 */
#include "hist.h"
#include "test/unit/check.h"

#include <stdlib.h>

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static struct dps_hist *make(unsigned sub)
{
	struct dps_hist *h = malloc(dps_hist_size(sub));

	CHECK(h != NULL);
	dps_hist_init(h, sub);
	return h;
}

/* Every value lands in a bucket whose bounds hold it; consecutive buckets leave no gap. */
static void tiling(void)
{
	for (unsigned sub = 1; sub <= 8; sub++) {
		struct dps_hist *h = make(sub);
		unsigned last = dps_hist_bucket(h, UINT64_MAX);

		CHECK(last < dps_hist_buckets(sub));
		CHECK_EQ(dps_hist_bucket_max(h, last), UINT64_MAX);
		for (unsigned i = 0; i < last; i++) {
			uint64_t hi = dps_hist_bucket_max(h, i);

			CHECK_EQ(dps_hist_bucket(h, hi), i);
			CHECK_EQ(dps_hist_bucket(h, hi + 1), i + 1);
		}
		for (uint64_t v = 0; v < (2u << sub); v++)
			CHECK_EQ(dps_hist_bucket(h, v), (unsigned)v); /* exact */
		free(h);
	}
}

static void quantiles(unsigned sub)
{
	enum { N = 20000 };
	static uint64_t v[N];
	struct dps_hist *h = make(sub);
	static const double qs[] = { 0.001, 0.1, 0.5, 0.9, 0.99, 0.999, 1.0 };
	uint64_t x = 88172645463325252ull;

	CHECK_EQ(dps_hist_quantile(h, 0.5), 0); /* empty */
	for (int i = 0; i < N; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
		v[i] = (x >> (x & 31)) % 10000000000ull; /* spread over 10 decades */
		dps_hist_add(h, v[i]);
	}
	qsort(v, N, sizeof(v[0]), cmp_u64);
	CHECK_EQ(h->n, N);
	CHECK_EQ(h->max, v[N - 1]);
	for (unsigned k = 0; k < sizeof(qs) / sizeof(qs[0]); k++) {
		uint64_t want = v[(size_t)(qs[k] * N + 0.5) - 1], got = dps_hist_quantile(h, qs[k]);

		CHECK(got >= want);
		CHECK(got - want <= want >> sub);
	}
	free(h);
}

static void precision_3(void)
{
	quantiles(3);
}

static void precision_6(void)
{
	quantiles(6);
}

int main(void)
{
	RUN(tiling);
	RUN(precision_3);
	RUN(precision_6);
	DONE();
}
