/* Caching allocator. Live blocks are kept in an open-addressing hash table
 * keyed by pointer (free() must find their size); cached blocks sit in a
 * flat array searched for an exact size-class match. Both are small: a
 * program holds thousands of tensors, not millions. */
#include "ag_alloc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ag_block {
  void *ptr;
  size_t size;
} ag_block;

struct ag_allocator {
  char device[32];
  ag_raw_allocator raw;
  size_t limit;
  pthread_mutex_t lock;
  ag_block *live; /* hash table, ptr == NULL is empty, (void*)1 is a tombstone */
  size_t live_cap, live_count, live_used;
  ag_block *cache;
  size_t cache_count, cache_cap;
  ag_alloc_stats stats;
};

#define AG_TOMBSTONE ((void *)1)

size_t ag_alloc_round(size_t bytes) {
  if (bytes == 0) bytes = 1;
  if (bytes <= ((size_t)1 << 20)) return (bytes + 511) & ~(size_t)511;
  size_t pow2 = (size_t)1 << 20;
  while (pow2 < bytes / 2 + 1 && pow2 < ((size_t)1 << 62)) pow2 <<= 1;
  size_t step = pow2 / 8;
  return (bytes + step - 1) / step * step;
}

const char *ag_format_bytes(size_t bytes, char *buf, size_t len) {
  static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = (double)bytes;
  int u = 0;
  while (v >= 1024.0 && u < 4) {
    v /= 1024.0;
    u++;
  }
  snprintf(buf, len, u ? "%.2f %s" : "%.0f %s", v, units[u]);
  return buf;
}

static size_t hash_ptr(const void *p, size_t cap) {
  uint64_t x = (uint64_t)(uintptr_t)p;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return (size_t)x & (cap - 1);
}

static int live_grow(ag_allocator *a) {
  size_t cap = a->live_cap ? a->live_cap * 2 : 256;
  ag_block *t = calloc(cap, sizeof *t);
  if (!t) return 0;
  for (size_t i = 0; i < a->live_cap; i++) {
    ag_block b = a->live[i];
    if (!b.ptr || b.ptr == AG_TOMBSTONE) continue;
    size_t h = hash_ptr(b.ptr, cap);
    while (t[h].ptr) h = (h + 1) & (cap - 1);
    t[h] = b;
  }
  free(a->live);
  a->live = t;
  a->live_cap = cap;
  a->live_used = a->live_count;
  return 1;
}

static int live_insert(ag_allocator *a, ag_block b) {
  if ((a->live_used + 1) * 4 > a->live_cap * 3 && !live_grow(a)) return 0;
  size_t h = hash_ptr(b.ptr, a->live_cap);
  while (a->live[h].ptr && a->live[h].ptr != AG_TOMBSTONE) h = (h + 1) & (a->live_cap - 1);
  if (!a->live[h].ptr) a->live_used++;
  a->live[h] = b;
  a->live_count++;
  return 1;
}

/* Removes ptr from the live table; returns its size, or 0 if not found. */
static size_t live_remove(ag_allocator *a, void *ptr) {
  if (!a->live_cap) return 0;
  size_t h = hash_ptr(ptr, a->live_cap);
  while (a->live[h].ptr) {
    if (a->live[h].ptr == ptr) {
      size_t size = a->live[h].size;
      a->live[h].ptr = AG_TOMBSTONE;
      a->live_count--;
      return size;
    }
    h = (h + 1) & (a->live_cap - 1);
  }
  return 0;
}

ag_allocator *ag_allocator_create(const char *device, ag_raw_allocator raw, size_t limit) {
  ag_allocator *a = calloc(1, sizeof *a);
  if (!a) return NULL;
  snprintf(a->device, sizeof a->device, "%s", device);
  a->raw = raw;
  a->limit = limit;
  pthread_mutex_init(&a->lock, NULL);
  return a;
}

static void release_cached_locked(ag_allocator *a) {
  for (size_t i = 0; i < a->cache_count; i++) a->raw.free(a->raw.ctx, a->cache[i].ptr);
  a->cache_count = 0;
  a->stats.cached = 0;
}

void ag_allocator_destroy(ag_allocator *a) {
  if (!a) return;
  release_cached_locked(a);
  for (size_t i = 0; i < a->live_cap; i++)
    if (a->live[i].ptr && a->live[i].ptr != AG_TOMBSTONE) a->raw.free(a->raw.ctx, a->live[i].ptr);
  free(a->live);
  free(a->cache);
  pthread_mutex_destroy(&a->lock);
  free(a);
}

static int take_cached(ag_allocator *a, size_t size, void **ptr) {
  for (size_t i = 0; i < a->cache_count; i++) {
    if (a->cache[i].size != size) continue;
    *ptr = a->cache[i].ptr;
    a->cache[i] = a->cache[--a->cache_count];
    a->stats.cached -= size;
    a->stats.n_cache_hits++;
    return 1;
  }
  return 0;
}

static ag_status oom_error(ag_allocator *a, size_t bytes, const char *why) {
  char req[32], used[32], cached[32], dev_free[32], lim[32];
  ag_format_bytes(bytes, req, sizeof req);
  ag_format_bytes(a->stats.in_use, used, sizeof used);
  ag_format_bytes(a->stats.cached, cached, sizeof cached);
  if (a->raw.free_bytes) ag_format_bytes(a->raw.free_bytes(a->raw.ctx), dev_free, sizeof dev_free);
  else snprintf(dev_free, sizeof dev_free, "unknown");
  if (a->limit) ag_format_bytes(a->limit, lim, sizeof lim);
  else snprintf(lim, sizeof lim, "none");
  return ag_set_error(AG_ERR_OOM,
                      "out of memory on %s: cannot allocate %s (%s); in use %s, cached %s, "
                      "device free %s, limit %s",
                      a->device, req, why, used, cached, dev_free, lim);
}

/* Asks the device for a fresh block, emptying the cache once if it refuses. */
static ag_status device_alloc(ag_allocator *a, size_t size, void **ptr) {
  if (a->limit && a->stats.in_use + size > a->limit) return oom_error(a, size, "over the limit");
  if (a->limit && a->stats.in_use + a->stats.cached + size > a->limit) release_cached_locked(a);
  if (a->raw.alloc(a->raw.ctx, size, ptr) == AG_OK) return AG_OK;
  release_cached_locked(a);
  if (a->raw.alloc(a->raw.ctx, size, ptr) == AG_OK) return AG_OK;
  return oom_error(a, size, "device allocation failed");
}

ag_status ag_allocator_alloc(ag_allocator *a, size_t bytes, void **ptr) {
  size_t size = ag_alloc_round(bytes);
  *ptr = NULL;
  pthread_mutex_lock(&a->lock);
  ag_status st = AG_OK;
  if (!take_cached(a, size, ptr)) {
    st = device_alloc(a, size, ptr);
    if (st == AG_OK) a->stats.n_device_allocs++;
  }
  if (st == AG_OK && !live_insert(a, (ag_block){*ptr, size})) {
    a->raw.free(a->raw.ctx, *ptr);
    *ptr = NULL;
    st = ag_set_error(AG_ERR_OOM, "out of host memory for the allocator's bookkeeping");
  }
  if (st == AG_OK) {
    a->stats.in_use += size;
    if (a->stats.in_use > a->stats.peak) a->stats.peak = a->stats.in_use;
  }
  pthread_mutex_unlock(&a->lock);
  return st;
}

void ag_allocator_free(ag_allocator *a, void *ptr) {
  if (!ptr) return;
  pthread_mutex_lock(&a->lock);
  size_t size = live_remove(a, ptr);
  if (size) {
    a->stats.in_use -= size;
    if (a->cache_count == a->cache_cap) {
      size_t cap = a->cache_cap ? a->cache_cap * 2 : 64;
      ag_block *c = realloc(a->cache, cap * sizeof *c);
      if (c) {
        a->cache = c;
        a->cache_cap = cap;
      }
    }
    if (a->cache_count < a->cache_cap) {
      a->cache[a->cache_count++] = (ag_block){ptr, size};
      a->stats.cached += size;
    } else {
      a->raw.free(a->raw.ctx, ptr);
    }
  }
  pthread_mutex_unlock(&a->lock);
}

void ag_allocator_release_cached(ag_allocator *a) {
  pthread_mutex_lock(&a->lock);
  release_cached_locked(a);
  pthread_mutex_unlock(&a->lock);
}

ag_alloc_stats ag_allocator_stats(ag_allocator *a) {
  pthread_mutex_lock(&a->lock);
  ag_alloc_stats s = a->stats;
  pthread_mutex_unlock(&a->lock);
  return s;
}
