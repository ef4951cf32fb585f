/* ag_backend.h - the main header of runtime/backends/, which owns the device
 * kinds (cpu, cuda, emu), their registry, the caching allocator and the
 * backend smoke check. One vtable per device kind: a backend owns memory
 * (through its caching allocator), copies, streams/events, synchronisation,
 * its kernel table and its library handles. Backends live in a registry, the only global mutable state of the
 * runtime: "cpu" is always present, "cuda:N" is added when selected and a
 * device answers, and tests may register more (the CUDA emulator, "emu"). */
#ifndef AG_BACKEND_H
#define AG_BACKEND_H

#include "ag_alloc.h"
#include "base/ag_base.h"
#include "kernels/common/ag_kernel_ctx.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ag_device_kind { AG_DEVICE_CPU, AG_DEVICE_CUDA, AG_DEVICE_EMU } ag_device_kind;
typedef enum ag_copy_kind { AG_COPY_H2D, AG_COPY_D2H, AG_COPY_D2D } ag_copy_kind;

struct ag_op_call;
struct ag_kernel_table;

typedef struct ag_backend ag_backend;
struct ag_backend {
  char name[16];        /* "cpu", "cuda:0", "emu" */
  ag_device_kind kind;
  int device;           /* device ordinal for cuda, else 0 */
  int host_visible;     /* memory is plain host memory (cpu, emu) */
  ag_allocator *alloc;
  /* Every op family's kernels (kernels/common/ag_kernels.h); a NULL family
   * means the backend has none of its kernels. */
  const struct ag_kernel_table *kernels;
  void *ctx;          /* the backend's own state */
  ag_kernel_ctx libs; /* library handles for kernels (kernels/common/ag_kernel_ctx.h) */

  /* Optional interposer on op launches: runs `fn` (an op's binding) on
   * `call`, or records it; NULL calls fn directly. Tracing and the
   * capture-emulating test backend use it. */
  ag_status (*launch_op)(ag_backend *be, int op, int backward,
                         ag_status (*fn)(const struct ag_op_call *call),
                         const struct ag_op_call *call);

  /* A NULL stream means the default stream; copies on it are synchronous. */
  ag_status (*copy)(ag_backend *be, void *dst, const void *src, size_t bytes, ag_copy_kind kind,
                    void *stream);
  ag_status (*memset)(ag_backend *be, void *dst, int value, size_t bytes, void *stream);
  ag_status (*stream_create)(ag_backend *be, void **stream);
  void (*stream_destroy)(ag_backend *be, void *stream);
  /* `timing`: the event will be used with event_elapsed_ms (costs more to
   * record on CUDA, so stream-joining events leave it off). */
  ag_status (*event_create)(ag_backend *be, void **event, int timing);
  void (*event_destroy)(ag_backend *be, void *event);
  ag_status (*event_record)(ag_backend *be, void *event, void *stream);
  /* Milliseconds between two recorded timing events; waits for `end`. */
  ag_status (*event_elapsed_ms)(ag_backend *be, void *start, void *end, float *ms);
  ag_status (*stream_wait_event)(ag_backend *be, void *stream, void *event);
  ag_status (*synchronize)(ag_backend *be, void *stream); /* NULL: the whole device */

  /* Graph capture (CUDA graphs); NULL where the backend has none. Launches
   * on `stream` between begin and end are recorded, not run; end returns
   * the instantiated graph through `graph` (NULL: discard the capture). */
  ag_status (*capture_begin)(ag_backend *be, void *stream);
  ag_status (*capture_end)(ag_backend *be, void *stream, void **graph);
  ag_status (*graph_launch)(ag_backend *be, void *graph, void *stream);
  void (*graph_destroy)(ag_backend *be, void *graph);
};

/* The CPU backend; always available. */
ag_backend *ag_backend_cpu(void);

/* Adds a backend under its name (the registry keeps the pointer). */
ag_status ag_backend_register(ag_backend *be);
ag_backend *ag_backend_find(const char *name);
int ag_backend_count(void);
ag_backend *ag_backend_at(int i);

/* Resolves a device spec: auto | cpu | cuda | cuda:N | any registered name.
 * NULL or "" reads AG_DEVICE, defaulting to auto. auto picks cuda:0 when a
 * device answers, else cpu, and writes the reason for its choice to `note`.
 * Asking for cuda where there is none is an error naming the cause. */
ag_status ag_backend_select(const char *spec, ag_backend **out, char *note, size_t note_len);

/* Fills a host-memory backend (cpu, emu) with the given name and kernels. */
ag_status ag_backend_init_host(ag_backend *be, const char *name, ag_device_kind kind,
                               const struct ag_kernel_table *kernels);

/* CUDA availability, answered without creating a backend: returns AG_OK and
 * the device count, or an error whose message says why there is none (no
 * driver, no device, or a build without CUDA). */
ag_status ag_cuda_probe(int *count);
/* Creates the backend for device `ordinal` (used by ag_backend_select). */
ag_status ag_cuda_backend_open(int ordinal, ag_backend **out);


#ifdef __cplusplus
}
#endif

#endif
