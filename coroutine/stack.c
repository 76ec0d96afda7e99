/*
 * stack.c: coroutine stacks.
 *
 * A stack is one private anonymous mapping, reserved without committing memory
 * (MAP_NORESERVE: pages are only allocated where the coroutine touches them):
 *
 *   map                 map + page                                         map + map_size
 *   | guard page (4 KiB) | usable stack, grows down  <-  initial frame | struct dps_co |
 *
 * The guard page turns an overflow into a clean SIGSEGV at the guard. It is installed with
 * madvise(MADV_GUARD_INSTALL) (Linux 6.13+), which marks the page table entries and leaves the
 * mapping whole: consecutive stacks then merge into few VMAs and vm.max_map_count (65530 by
 * default) does not bound the number of coroutines. On older kernels we fall back to
 * mprotect(PROT_NONE), which splits the mapping: two VMAs per stack, so more than ~32,000
 * coroutines need a larger vm.max_map_count (dps_go then fails with -ENOMEM).
 *
 * Freed stacks go to a per-thread pool (at most STACK_POOL_MAX) and are reused as they are
 * (same size only); a pooled stack keeps the pages it touched. The rest are unmapped, in batches
 * when they are adjacent (up to STACK_UNMAP_BATCH stacks held back): cutting one stack out of a
 * large merged mapping costs ~10 times more than cutting 64 neighbours at once.
 *
 * Tooling: stacks are registered with valgrind; under ASan the shadow of a stack is cleared
 * when it is released, since frames left behind by a finished coroutine stay poisoned.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "coroutine/co_internal.h"

#if DPS_CO_ASAN
#include <sanitizer/asan_interface.h>
#endif

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define DPS_CO_VALGRIND 1
#endif
#endif

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102 /* include/uapi/asm-generic/mman-common.h, Linux 6.13 */
#endif

/* 0: try MADV_GUARD_INSTALL; 1: use mprotect (unsupported kernel, or forced by a test). */
static atomic_int guard_use_mprotect;

size_t dps_co_page_size(void)
{
	static atomic_size_t page;
	size_t p = atomic_load_explicit(&page, memory_order_relaxed);

	if (p == 0) {
		long v = sysconf(_SC_PAGESIZE);

		p = v > 0 ? (size_t)v : 4096;
		atomic_store_explicit(&page, p, memory_order_relaxed);
	}
	return p;
}

void dps_co_stack_force_mprotect(bool on)
{
	atomic_store(&guard_use_mprotect, on ? 1 : 0);
}

/* Make the first page of map inaccessible. Returns 0 or -errno. */
static int guard_install(void *map, size_t page)
{
	if (atomic_load_explicit(&guard_use_mprotect, memory_order_relaxed) == 0) {
		if (madvise(map, page, MADV_GUARD_INSTALL) == 0)
			return 0;
		if (errno != EINVAL)
			return -errno;
		/* The kernel does not know MADV_GUARD_INSTALL: remember, fall back. */
		atomic_store_explicit(&guard_use_mprotect, 1, memory_order_relaxed);
	}
	return mprotect(map, page, PROT_NONE) == 0 ? 0 : -errno;
}

/* A fresh mapping for a stack of size bytes (page multiple), its struct at the top. */
static struct dps_co *stack_map(size_t size)
{
	size_t page = dps_co_page_size(), map_size = size + page;
	size_t hdr = (sizeof(struct dps_co) + 63) & ~(size_t)63;
	struct dps_co *co;
	void *map;

	map = mmap(NULL, map_size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (map == MAP_FAILED)
		return NULL;
	if (guard_install(map, page) < 0) {
		munmap(map, map_size);
		return NULL;
	}
	co = (struct dps_co *)(void *)((char *)map + map_size - hdr);
	co->map = map;
	co->map_size = map_size;
	co->stack_lo = (char *)map + page;
	co->stack_size = size;
#ifdef DPS_CO_VALGRIND
	co->valgrind_id = VALGRIND_STACK_REGISTER(co->stack_lo, (char *)co->stack_lo + size);
#endif
	return co;
}

/*
 * A stack of size bytes (page multiple, >= DPS_CO_STACK_MIN) with its struct dps_co, whose
 * stack fields are set and whose other fields are zero. NULL if out of memory. errno is
 * preserved.
 */
struct dps_co *dps_co_stack_get(struct sched *s, size_t size)
{
	size_t map_size = size + dps_co_page_size();
	struct dps_co_link *n;
	struct dps_co *co = NULL;
	int saved_errno = errno;

	for (n = s->pool.next; n != NULL && n != &s->pool; n = n->next) {
		struct dps_co *c = dps_container_of(n, struct dps_co, link);

		if (c->map_size == map_size) {
			co_list_del(n);
			s->pool_len--;
			co = c;
			break;
		}
	}
	if (co == NULL)
		co = stack_map(size);
	errno = saved_errno;
	if (co == NULL)
		return NULL;
	/* Clear everything but the stack description. */
	{
		void *map = co->map, *lo = co->stack_lo;
		size_t msize = co->map_size, ssize = co->stack_size;
		unsigned vid = co->valgrind_id;

		memset(co, 0, sizeof(*co));
		co->map = map;
		co->map_size = msize;
		co->stack_lo = lo;
		co->stack_size = ssize;
		co->valgrind_id = vid;
	}
	return co;
}

/* Unmap co's stack (co itself lives there: do not touch it afterwards). */
void dps_co_stack_unmap(struct dps_co *co)
{
	void *map = co->map;
	size_t map_size = co->map_size;
	int saved_errno = errno;

#ifdef DPS_CO_VALGRIND
	VALGRIND_STACK_DEREGISTER(co->valgrind_id);
#endif
	munmap(map, map_size);
	errno = saved_errno;
}

/* Unmap the pending range of freed stacks. */
void dps_co_stack_flush(struct sched *s)
{
	int saved_errno = errno;

	if (s->unmap_n != 0)
		munmap(s->unmap_lo, (size_t)(s->unmap_hi - s->unmap_lo));
	s->unmap_lo = NULL;
	s->unmap_hi = NULL;
	s->unmap_n = 0;
	errno = saved_errno;
}

/* Unmap co's stack soon: freed stacks that touch each other are unmapped in one call. */
static void stack_unmap_later(struct sched *s, struct dps_co *co)
{
	char *lo = co->map, *hi = lo + co->map_size;

#ifdef DPS_CO_VALGRIND
	VALGRIND_STACK_DEREGISTER(co->valgrind_id);
#endif
	if (s->unmap_n != 0 && hi == s->unmap_lo) {
		s->unmap_lo = lo;
	} else if (s->unmap_n != 0 && lo == s->unmap_hi) {
		s->unmap_hi = hi;
	} else {
		dps_co_stack_flush(s);
		s->unmap_lo = lo;
		s->unmap_hi = hi;
	}
	if (++s->unmap_n >= STACK_UNMAP_BATCH)
		dps_co_stack_flush(s);
}

/* Give a stack back: to the pool, or to the kernel when the pool is full. */
void dps_co_stack_put(struct sched *s, struct dps_co *co)
{
#if DPS_CO_ASAN
	/* Frames of a coroutine that never returned are still poisoned; the next user (or the
	 * next mapping at this address) must start clean. */
	ASAN_UNPOISON_MEMORY_REGION(co->stack_lo, co->stack_size);
#endif
	if (s->pool_len < STACK_POOL_MAX) {
		co_list_add_tail(&s->pool, &co->link);
		s->pool_len++;
		return;
	}
	stack_unmap_later(s, co);
}
