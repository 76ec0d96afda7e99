/*
 * slab: fixed-size objects carved from mmap'ed chunks, recycled through an intrusive free list.
 *
 * alloc pops the free list; when it is empty and the limit allows, one more chunk is mapped and its
 * objects are pushed. free pushes. A chunk starts with a small header linking all chunks so that
 * destroy can unmap them. Chunks are MAP_NORESERVE: pages are committed by the kernel on first touch.
 */
#include "dps_mempool.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

struct chunk {
	struct chunk *next;
	size_t bytes;
};

struct free_obj {
	struct free_obj *next;
};

struct dps_slab {
	size_t obj_size, per_chunk, chunk_bytes, first_off;
	size_t in_use, capacity, max_objs, bytes_mapped;
	struct free_obj *free_list;
	struct chunk *chunks;
};

static size_t align_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

int dps_slab_create(size_t obj_size, size_t align, size_t chunk_bytes, size_t max_objs,
		    struct dps_slab **out)
{
	struct dps_slab *s;

	if (obj_size == 0 || obj_size > (1u << 20) || align < 8 || (align & (align - 1)) != 0 ||
	    align > 4096)
		return -EINVAL;
	if (chunk_bytes == 0)
		chunk_bytes = 2u << 20;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	s->obj_size = align_up(
	    obj_size < sizeof(struct free_obj) ? sizeof(struct free_obj) : obj_size, align);
	s->first_off = align_up(sizeof(struct chunk), align);
	if (chunk_bytes < s->first_off + s->obj_size)
		chunk_bytes = s->first_off + s->obj_size;
	s->chunk_bytes = align_up(chunk_bytes, 4096);
	s->per_chunk = (s->chunk_bytes - s->first_off) / s->obj_size;
	s->max_objs = max_objs;
	*out = s;
	return 0;
}

void dps_slab_destroy(struct dps_slab *s)
{
	if (s == NULL)
		return;
	for (struct chunk *c = s->chunks, *next; c != NULL; c = next) {
		next = c->next;
		munmap(c, c->bytes);
	}
	free(s);
}

static int slab_grow(struct dps_slab *s)
{
	size_t n = s->per_chunk;
	struct chunk *c;
	char *base;

	if (s->max_objs != 0) {
		if (s->capacity >= s->max_objs)
			return -ENOMEM;
		if (n > s->max_objs - s->capacity)
			n = s->max_objs - s->capacity;
	}
	c = mmap(NULL, s->chunk_bytes, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (c == MAP_FAILED)
		return -ENOMEM;
	c->bytes = s->chunk_bytes;
	c->next = s->chunks;
	s->chunks = c;
	base = (char *)c + s->first_off;
	/* Push in reverse so that objects come out in address order (kinder to the prefetcher). */
	for (size_t i = n; i-- > 0;) {
		struct free_obj *o = (struct free_obj *)(base + i * s->obj_size);
		o->next = s->free_list;
		s->free_list = o;
	}
	s->capacity += n;
	s->bytes_mapped += s->chunk_bytes;
	return 0;
}

void *dps_slab_alloc(struct dps_slab *s)
{
	struct free_obj *o;

	if (s->free_list == NULL && slab_grow(s) < 0)
		return NULL;
	o = s->free_list;
	s->free_list = o->next;
	s->in_use++;
	return o;
}

void dps_slab_free(struct dps_slab *s, void *obj)
{
	struct free_obj *o = obj;

	if (o == NULL)
		return;
	o->next = s->free_list;
	s->free_list = o;
	s->in_use--;
}

void dps_slab_stats(const struct dps_slab *s, struct dps_slab_stats *st)
{
	st->obj_size = s->obj_size;
	st->in_use = s->in_use;
	st->capacity = s->capacity;
	st->max_objs = s->max_objs;
	st->bytes_mapped = s->bytes_mapped;
}
