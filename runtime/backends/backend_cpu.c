/* The CPU backend: host memory, synchronous everything. Streams and events
 * exist only so that code written for CUDA runs unchanged: work is done by
 * the time a call returns, so they have nothing to order. The same host
 * plumbing serves the CUDA emulator's backend, with a different op table. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ag_backend.h"
#include "kernels/common/ag_kernels.h"
#include "kernels/cpu/cpu_dnnl.h"
#include "runtime/core/ag_info.h"

/* Any non-NULL value works as a stream handle; nothing is ever waited on. */
static char ag_host_stream;

/* A CPU event remembers when it was recorded, so timing works as on CUDA. */
typedef struct ag_host_event {
  double ms;
} ag_host_event;

static ag_status host_raw_alloc(void *ctx, size_t bytes, void **ptr) {
  (void)ctx;
  /* 64-byte alignment suits AVX-512 loads and keeps buffers off shared lines. */
  *ptr = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
  return *ptr ? AG_OK : AG_ERR_OOM;
}

static void host_raw_free(void *ctx, void *ptr) {
  (void)ctx;
  free(ptr);
}

static ag_status host_copy(ag_backend *be, void *dst, const void *src, size_t bytes,
                           ag_copy_kind kind, void *stream) {
  (void)be, (void)kind, (void)stream;
  if (bytes) memmove(dst, src, bytes);
  return AG_OK;
}

static ag_status host_memset(ag_backend *be, void *dst, int value, size_t bytes, void *stream) {
  (void)be, (void)stream;
  memset(dst, value, bytes);
  return AG_OK;
}

static ag_status host_stream_create(ag_backend *be, void **stream) {
  (void)be;
  *stream = &ag_host_stream;
  return AG_OK;
}

static void host_stream_destroy(ag_backend *be, void *stream) { (void)be, (void)stream; }

static ag_status host_event_create(ag_backend *be, void **event, int timing) {
  (void)be, (void)timing;
  *event = calloc(1, sizeof(ag_host_event));
  return *event ? AG_OK : ag_set_error(AG_ERR_OOM, "event: out of host memory");
}

static void host_event_destroy(ag_backend *be, void *event) {
  (void)be;
  free(event);
}

static ag_status host_event_record(ag_backend *be, void *event, void *stream) {
  (void)be, (void)stream;
  ((ag_host_event *)event)->ms = ag_now_seconds() * 1e3;
  return AG_OK;
}

static ag_status host_event_elapsed(ag_backend *be, void *start, void *end, float *ms) {
  (void)be;
  *ms = (float)(((ag_host_event *)end)->ms - ((ag_host_event *)start)->ms);
  return AG_OK;
}

static ag_status host_stream_wait(ag_backend *be, void *stream, void *event) {
  (void)be, (void)stream, (void)event;
  return AG_OK;
}

static ag_status host_synchronize(ag_backend *be, void *stream) {
  (void)be, (void)stream;
  return AG_OK;
}

/* What every host-memory backend shares; ag_backend_init_host copies it and
 * adds the identity, the kernel table and an allocator of its own. */
static const ag_backend ag_host_backend_template = {
    .host_visible = 1,
    .copy = host_copy,
    .memset = host_memset,
    .stream_create = host_stream_create,
    .stream_destroy = host_stream_destroy,
    .event_create = host_event_create,
    .event_destroy = host_event_destroy,
    .event_record = host_event_record,
    .event_elapsed_ms = host_event_elapsed,
    .stream_wait_event = host_stream_wait,
    .synchronize = host_synchronize,
};

ag_status ag_backend_init_host(ag_backend *be, const char *name, ag_device_kind kind,
                               const ag_kernel_table *kernels) {
  *be = ag_host_backend_template;
  strncpy(be->name, name, sizeof be->name - 1);
  be->kind = kind;
  be->kernels = kernels;
  be->alloc = ag_allocator_create(name, (ag_raw_allocator){NULL, host_raw_alloc, host_raw_free,
                                                           NULL}, 0);
  if (!be->alloc) return ag_set_error(AG_ERR_OOM, "backend %s: no memory for allocator", name);
  /* Any host backend may run the CPU kernels (tests build backends from
   * the CPU table), and their products and convolutions need oneDNN's
   * engine and plan cache, kept for the life of the backend. */
  return ag_cpu_dnnl_open(&be->libs);
}

static pthread_once_t ag_cpu_once = PTHREAD_ONCE_INIT;
static ag_backend ag_cpu_backend;

static void cpu_backend_create(void) {
  if (ag_backend_init_host(&ag_cpu_backend, "cpu", AG_DEVICE_CPU, &ag_cpu_kernel_table) == AG_OK)
    ag_backend_register(&ag_cpu_backend);
}

ag_backend *ag_backend_cpu(void) {
  pthread_once(&ag_cpu_once, cpu_backend_create);
  return &ag_cpu_backend;
}
