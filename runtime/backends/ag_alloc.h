/* ag_alloc.h - a caching allocator per device. Freed blocks are kept and
 * reused for requests of the same size class, because cudaMalloc/cudaFree
 * synchronise the device and are far too slow for a training loop. */
#ifndef AG_ALLOC_H
#define AG_ALLOC_H

#include "base/ag_base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ag_alloc_stats {
  size_t in_use;    /* bytes handed out and not yet freed (rounded sizes) */
  size_t peak;      /* high-water mark of in_use */
  size_t cached;    /* bytes held in the cache, ready for reuse */
  size_t n_device_allocs; /* calls that reached the device allocator */
  size_t n_cache_hits;    /* requests served from the cache */
} ag_alloc_stats;

/* The device's own allocator, wrapped by the cache. `free_bytes` may be NULL;
 * it reports what the device has left, for out-of-memory messages. */
typedef struct ag_raw_allocator {
  void *ctx;
  ag_status (*alloc)(void *ctx, size_t bytes, void **ptr);
  void (*free)(void *ctx, void *ptr);
  size_t (*free_bytes)(void *ctx);
} ag_raw_allocator;

typedef struct ag_allocator ag_allocator;

/* `limit` caps in_use + cached (0: no cap); `device` names it in messages. */
ag_allocator *ag_allocator_create(const char *device, ag_raw_allocator raw, size_t limit);
void ag_allocator_destroy(ag_allocator *a);

ag_status ag_allocator_alloc(ag_allocator *a, size_t bytes, void **ptr);
void ag_allocator_free(ag_allocator *a, void *ptr);
/* Returns every cached block to the device. */
void ag_allocator_release_cached(ag_allocator *a);
ag_alloc_stats ag_allocator_stats(ag_allocator *a);

/* Size class a request is rounded to: 512-byte multiples up to 1 MiB, then
 * eight classes per power of two (at most 12.5% waste). */
size_t ag_alloc_round(size_t bytes);

/* "1.50 MiB" style formatting into buf; returns buf. */
const char *ag_format_bytes(size_t bytes, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif
