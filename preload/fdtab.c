/*
 * fdtab: fd number -> shim object (DESIGN.md §3). One array of pointers indexed by fd, reserved
 * once for the largest fd number the kernel can hand out (fs.nr_open, so a later setrlimit
 * cannot outgrow it) with MAP_NORESERVE: only the pages of numbers in use cost memory. Lookups
 * are a bounds check and one atomic load, safe against a concurrent close (which the kernel
 * allows too); updates happen under the engine lock.
 */
#include "shim.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

static void *_Atomic *table;
static size_t table_len;
static atomic_int table_max = -1;
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_create(void)
{
	size_t n = 1048576;
	FILE *f = fopen("/proc/sys/fs/nr_open", "re");
	void *p;

	if (f != NULL) {
		unsigned long v;

		if (fscanf(f, "%lu", &v) == 1 && v > 0)
			n = v;
		fclose(f);
	}
	p = mmap(NULL, n * sizeof(*table), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return;
	table = p;
	table_len = n;
}

void *fdtab_get(int fd)
{
	if (table == NULL || fd < 0 || (size_t)fd >= table_len)
		return NULL;
	return atomic_load_explicit(&table[fd], memory_order_acquire);
}

int fdtab_set(int fd, void *obj)
{
	pthread_once(&table_once, table_create);
	if (fd < 0 || (size_t)fd >= table_len)
		return -EMFILE;
	atomic_store_explicit(&table[fd], obj, memory_order_release);
	if (fd > atomic_load(&table_max))
		atomic_store(&table_max, fd);
	return 0;
}

int shim_fdtab_max(void)
{
	return atomic_load(&table_max);
}

void *fdtab_take(int fd)
{
	if (table == NULL || fd < 0 || (size_t)fd >= table_len)
		return NULL;
	return atomic_exchange_explicit(&table[fd], NULL, memory_order_acq_rel);
}

static void psock_destroy(struct psock *ps)
{
	if (ps->epitems != NULL)
		epoll_forget_sock(ps);
	if (ps->h >= 0 && atomic_load(&shim.state) == ENGINE_RUNNING)
		(void)dps_close(
		    ps->h); /* never in a forked child: the connection is the parent's */
	if (ps->kfd >= 0)
		real_close(ps->kfd);
	/* No waiter is left: a blocked call holds a reference (shim_hold), as the kernel's fdget. */
	free(ps->opts);
	free(ps);
}

void shim_obj_put(void *obj)
{
	enum shim_kind *k = obj;

	if (obj == NULL)
		return;
	if (*k == SHIM_PSOCK) {
		struct psock *ps = obj;

		if (--ps->refs == 0)
			psock_destroy(ps);
	} else {
		struct pepoll *ep = obj;

		if (--ep->refs == 0)
			epoll_destroy(ep);
	}
}
