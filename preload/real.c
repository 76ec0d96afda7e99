/* real: resolve libc's functions once (see real.h). */
#include "real.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DPS_REAL_DEFINE(ret, name, params) ret(*real_##name) params;
DPS_REAL_FUNCS(DPS_REAL_DEFINE)
#undef DPS_REAL_DEFINE

static pthread_once_t once = PTHREAD_ONCE_INIT;
_Bool dps_real_ready;

/* close_range and closefrom are newer than some libcs: missing ones stay NULL and the shim
 * answers ENOSYS / does the loop itself. */
static int optional(const char *name)
{
	return strcmp(name, "close_range") == 0 || strcmp(name, "closefrom") == 0 ||
	       strcmp(name, "epoll_pwait2") == 0 || strcmp(name, "capset") == 0;
}

static void resolve(void)
{
#define DPS_REAL_RESOLVE(ret, name, params)                                   \
	do {                                                                  \
		void *p = dlsym(RTLD_NEXT, #name);                            \
		if (p == NULL && !optional(#name)) {                          \
			static const char msg[] =                             \
			    "libdpsock: libc has no " #name ", cannot run\n"; \
			(void)!syscall(1, 2, msg, sizeof(msg) - 1);           \
			abort();                                              \
		}                                                             \
		memcpy(&real_##name, &p, sizeof(p));                          \
	} while (0);
	DPS_REAL_FUNCS(DPS_REAL_RESOLVE)
#undef DPS_REAL_RESOLVE
	__atomic_store_n(&dps_real_ready, 1, __ATOMIC_RELEASE);
}

__attribute__((constructor(101))) void dps_real_init(void)
{
	pthread_once(&once, resolve);
}
