/* early_ctor: see early_ctor.c. */
#ifndef DPS_TEST_EARLY_CTOR_H
#define DPS_TEST_EARLY_CTOR_H
extern int early_failures, early_calls;
extern char early_first_failure[128];
#endif
