/*
 * test_early: every interposed call works before libdpsock.so's constructors ran (issue 13,
 * item 1). Run with LD_PRELOAD=libdpsock.so (meson does); early_ctor.so's constructor has made
 * the calls by the time main runs. Also run without the shim, to check the test itself.
 */
#include <stdio.h>

#include "early_ctor.h"

int main(void)
{
	/* 62: the calls in early_ctor.c; libdpsock.map's interposed names are all among them. */
	if (early_calls != 62) {
		printf("early: %d calls made, expected 62\n", early_calls);
		return 1;
	}
	if (early_failures > 0) {
		printf("early: %d of %d calls wrong, first: %s\n", early_failures, early_calls,
		       early_first_failure);
		return 1;
	}
	printf("early: %d calls before the shim's constructor, all as libc\n", early_calls);
	return 0;
}
