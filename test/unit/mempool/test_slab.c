/* slab: O(1) alloc/free, reuse, limits, alignment, and the memory figures it reports. */
#include "dps_mempool.h"
#include "test/unit/check.h"

#include <errno.h>
#include <stdint.h>

static void test_bad_args(void)
{
	struct dps_slab *s;

	CHECK_EQ(dps_slab_create(0, 8, 0, 0, &s), -EINVAL);
	CHECK_EQ(dps_slab_create(64, 4, 0, 0, &s), -EINVAL);
	CHECK_EQ(dps_slab_create(64, 24, 0, 0, &s), -EINVAL);
	CHECK_EQ(dps_slab_create(2u << 20, 8, 0, 0, &s), -EINVAL);
}

static void test_limit_and_reuse(void)
{
	struct dps_slab *s;
	struct dps_slab_stats st;
	void *objs[100];

	CHECK_EQ(dps_slab_create(100, 64, 4096, 100, &s), 0);
	dps_slab_stats(s, &st);
	CHECK_EQ(st.obj_size, 128);
	CHECK_EQ(st.capacity, 0); /* nothing mapped before the first alloc */
	for (int i = 0; i < 100; i++) {
		objs[i] = dps_slab_alloc(s);
		CHECK(objs[i] != NULL);
		CHECK_EQ((uintptr_t)objs[i] % 64, 0);
		memset(objs[i], 0xa5, 100);
		for (int j = 0; j < i; j++)
			CHECK(objs[j] != objs[i]);
	}
	CHECK(dps_slab_alloc(s) == NULL); /* the limit */
	dps_slab_stats(s, &st);
	CHECK_EQ(st.in_use, 100);
	CHECK_EQ(st.capacity, 100);
	dps_slab_free(s, objs[42]);
	CHECK(dps_slab_alloc(s) == objs[42]); /* LIFO reuse: the hot object comes back */
	for (int i = 0; i < 100; i++)
		dps_slab_free(s, objs[i]);
	dps_slab_stats(s, &st);
	CHECK_EQ(st.in_use, 0);
	dps_slab_free(s, NULL);
	dps_slab_destroy(s);
}

static void test_million(void)
{
	enum { N = 1000000 };
	struct dps_slab *s;
	struct dps_slab_stats st;
	void **objs = calloc(N, sizeof(void *));

	CHECK(objs != NULL);
	CHECK_EQ(dps_slab_create(448, 64, 0, 0, &s), 0);
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < N; i++) {
			objs[i] = dps_slab_alloc(s);
			CHECK(objs[i] != NULL);
			*(int *)objs[i] = i;
		}
		for (int i = 0; i < N; i++)
			CHECK_EQ(*(int *)objs[i], i);
		for (int i = N; i-- > 0;)
			dps_slab_free(s, objs[i]);
	}
	dps_slab_stats(s, &st);
	CHECK_EQ(st.in_use, 0);
	CHECK(st.capacity >= N && st.capacity < N + N / 100); /* the second round mapped nothing */
	printf("1M objects of 448 B: %.1f MiB mapped, %.1f B per object\n",
	       st.bytes_mapped / 1048576.0, (double)st.bytes_mapped / N);
	dps_slab_destroy(s);
	free(objs);
}

int main(void)
{
	RUN(test_bad_args);
	RUN(test_limit_and_reuse);
	RUN(test_million);
	DONE();
}
