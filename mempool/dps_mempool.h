/*
 * mempool: the engine's packet buffers and a fixed-size object allocator.
 *
 * Packet buffers are DPDK mempools with a per-lcore cache (DESIGN.md §7). The slab allocator hands out
 * fixed-size objects (connection blocks, ARP entries) in O(1) from large mmap'ed chunks: no malloc per
 * object, no memory returned to the system until the slab is destroyed. A slab belongs to one engine
 * and is touched by one thread at a time: it has no locks.
 */
#ifndef DPS_MEMPOOL_H
#define DPS_MEMPOOL_H

#include <stddef.h>
#include <stdint.h>

struct rte_mempool;

/*
 * Create a packet mbuf pool of n buffers with room for an MTU-sized frame (plus headroom), on NUMA
 * socket socket_id (SOCKET_ID_ANY allowed). The per-lcore cache is sized from n.
 * Returns the pool, or NULL with *rc = -errno (-ENOMEM: not enough DPDK memory, -EEXIST: name taken).
 */
struct rte_mempool *dps_pktpool_create(const char *name, unsigned n, unsigned mtu, int socket_id,
				       int *rc);

struct dps_slab;

struct dps_slab_stats {
	size_t obj_size; /* bytes per object, after alignment */
	size_t in_use; /* objects handed out */
	size_t capacity; /* objects in the chunks mapped so far */
	size_t max_objs; /* limit given at creation (0 = none) */
	size_t bytes_mapped; /* memory of all chunks */
};

/*
 * Create a slab of objects of obj_size bytes aligned to align (a power of two, at least 8), growing by
 * chunks of about chunk_bytes (0: 2 MiB) up to max_objs objects (0: no limit).
 * Returns 0 and *out, or -EINVAL (bad size/alignment), -ENOMEM.
 */
int dps_slab_create(size_t obj_size, size_t align, size_t chunk_bytes, size_t max_objs,
		    struct dps_slab **out);

/* Unmap every chunk; objects still in use become invalid. NULL is ignored. */
void dps_slab_destroy(struct dps_slab *s);

/* One object, uninitialised, or NULL when max_objs are in use or a new chunk cannot be mapped. O(1)
 * amortised (a new chunk is mapped once per chunk's worth of objects). */
void *dps_slab_alloc(struct dps_slab *s);

/* Return obj (from this slab) for reuse. O(1). NULL is ignored. */
void dps_slab_free(struct dps_slab *s, void *obj);

void dps_slab_stats(const struct dps_slab *s, struct dps_slab_stats *st);

#endif
