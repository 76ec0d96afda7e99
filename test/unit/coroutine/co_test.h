/*
 * co_test.h: the few helpers the coroutine unit tests share. A failed CHECK prints file:line and
 * what was expected, and exits 1; meson counts exit 77 as skipped.
 */
#ifndef DPS_TEST_CO_TEST_H
#define DPS_TEST_CO_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dpsock_coroutine.h"

#define CHECK(cond)                                                                              \
	do {                                                                                     \
		if (!(cond)) {                                                                   \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
			exit(1);                                                                 \
		}                                                                                \
	} while (0)

#define CHECK_EQ(a, b)                                                                    \
	do {                                                                              \
		long long a_ = (long long)(a), b_ = (long long)(b);                       \
		if (a_ != b_) {                                                           \
			fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%lld != %lld)\n", \
				__FILE__, __LINE__, #a, #b, a_, b_);                      \
			exit(1);                                                          \
		}                                                                         \
	} while (0)

#define CHECK_STR(a, b)                                                                            \
	do {                                                                                       \
		const char *a_ = (a), *b_ = (b);                                                   \
		if (strcmp(a_, b_) != 0) {                                                         \
			fprintf(stderr,                                                            \
				"%s:%d: CHECK failed: %s\n  got      \"%s\"\n  expected \"%s\"\n", \
				__FILE__, __LINE__, #a, a_, b_);                                   \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#ifndef TEST_ASAN
#define TEST_ASAN 0
#endif

#define MS (UINT64_C(1000000))

/* An event log: tests append short tags and compare the whole sequence at once. */
struct trace {
	char buf[4096];
	size_t len;
};

static inline void trace_add(struct trace *t, const char *tag)
{
	size_t n = strlen(tag);

	if (t->len != 0 && t->len + 1 < sizeof(t->buf))
		t->buf[t->len++] = ' ';
	if (t->len + n < sizeof(t->buf)) {
		memcpy(t->buf + t->len, tag, n);
		t->len += n;
	}
	t->buf[t->len] = '\0';
}

static inline void trace_reset(struct trace *t)
{
	t->len = 0;
	t->buf[0] = '\0';
}

#endif /* DPS_TEST_CO_TEST_H */
