/* A minimal assertion kit for dpsock's unit tests: a failed CHECK prints file:line and exits 1. */
#ifndef DPS_TEST_CHECK_H
#define DPS_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned check_count;

#define CHECK(cond)                                                                              \
	do {                                                                                     \
		check_count++;                                                                   \
		if (!(cond)) {                                                                   \
			fflush(stdout);                                                          \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
			exit(1);                                                                 \
		}                                                                                \
	} while (0)

#define CHECK_EQ(a, b)                                                                       \
	do {                                                                                 \
		long long va_ = (long long)(a), vb_ = (long long)(b);                        \
		check_count++;                                                               \
		if (va_ != vb_) {                                                            \
			fflush(stdout);                                                      \
			fprintf(stderr,                                                      \
				"%s:%d: CHECK_EQ failed: %s == %lld, expected %s == %lld\n", \
				__FILE__, __LINE__, #a, va_, #b, vb_);                       \
			exit(1);                                                             \
		}                                                                            \
	} while (0)

#define CHECK_STR(a, b)                                                                       \
	do {                                                                                  \
		const char *sa_ = (a), *sb_ = (b);                                            \
		check_count++;                                                                \
		if (strcmp(sa_, sb_) != 0) {                                                  \
			fflush(stdout);                                                       \
			fprintf(stderr,                                                       \
				"%s:%d: CHECK_STR failed:\n  got:      %s\n  expected: %s\n", \
				__FILE__, __LINE__, sa_, sb_);                                \
			exit(1);                                                              \
		}                                                                             \
	} while (0)

#define RUN(test)                         \
	do {                              \
		test();                   \
		printf("ok %s\n", #test); \
	} while (0)

#define DONE()                                                   \
	do {                                                     \
		printf("all passed (%u checks)\n", check_count); \
		return 0;                                        \
	} while (0)

#endif
