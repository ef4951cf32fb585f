/* The CUDA backend: one instance per device, created on selection. Every
 * entry point sets the device first, so several backends can share a
 * process (one per GPU). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ag_backend.h"
#include "ag_cuda_check.h"
#include "kernels/common/ag_kernels.h"

typedef struct ag_cuda_ctx {
  int ordinal;
} ag_cuda_ctx;

ag_status ag_cuda_probe(int *count) {
  *count = 0;
  int driver = 0;
  if (cudaDriverGetVersion(&driver) != cudaSuccess || driver == 0)
    return ag_set_error(AG_ERR_DEVICE, "no CUDA driver found (libcuda is not installed or not "
                                       "loadable on this machine)");
  cudaError_t e = cudaGetDeviceCount(count);
  if (e == cudaErrorInsufficientDriver || e == cudaErrorNoDevice) {
    *count = 0;
    return ag_set_error(AG_ERR_DEVICE, "no CUDA device available: %s", cudaGetErrorString(e));
  }
  AG_CUDA_CHECK(e);
  if (*count == 0) return ag_set_error(AG_ERR_DEVICE, "no CUDA device available: 0 devices found");
  return AG_OK;
}

static int ordinal_of(ag_backend *be) { return ((ag_cuda_ctx *)be->ctx)->ordinal; }

static ag_status raw_alloc(void *ctx, size_t bytes, void **ptr) {
  AG_CUDA_CHECK(cudaSetDevice(((ag_cuda_ctx *)ctx)->ordinal));
  AG_CUDA_CHECK(cudaMalloc(ptr, bytes));
  return AG_OK;
}

static void raw_free(void *ctx, void *ptr) {
  cudaSetDevice(((ag_cuda_ctx *)ctx)->ordinal);
  cudaFree(ptr);
}

static size_t raw_free_bytes(void *ctx) {
  size_t free_b = 0, total = 0;
  if (cudaSetDevice(((ag_cuda_ctx *)ctx)->ordinal) != cudaSuccess) return 0;
  if (cudaMemGetInfo(&free_b, &total) != cudaSuccess) return 0;
  return free_b;
}

static ag_status cuda_copy(ag_backend *be, void *dst, const void *src, size_t bytes,
                           ag_copy_kind kind, void *stream) {
  static const enum cudaMemcpyKind kinds[] = {cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost,
                                              cudaMemcpyDeviceToDevice};
  AG_CUDA_CHECK(cudaSetDevice(ordinal_of(be)));
  if (!stream) AG_CUDA_CHECK(cudaMemcpy(dst, src, bytes, kinds[kind]));
  else AG_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, kinds[kind], (cudaStream_t)stream));
  return AG_OK;
}

static ag_status cuda_memset(ag_backend *be, void *dst, int value, size_t bytes, void *stream) {
  AG_CUDA_CHECK(cudaSetDevice(ordinal_of(be)));
  AG_CUDA_CHECK(cudaMemsetAsync(dst, value, bytes, (cudaStream_t)stream));
  if (!stream) AG_CUDA_CHECK(cudaStreamSynchronize(NULL));
  return AG_OK;
}

static ag_status cuda_stream_create(ag_backend *be, void **stream) {
  AG_CUDA_CHECK(cudaSetDevice(ordinal_of(be)));
  AG_CUDA_CHECK(cudaStreamCreateWithFlags((cudaStream_t *)stream, cudaStreamNonBlocking));
  return AG_OK;
}

static void cuda_stream_destroy(ag_backend *be, void *stream) {
  cudaSetDevice(ordinal_of(be));
  cudaStreamDestroy((cudaStream_t)stream);
}

static ag_status cuda_event_create(ag_backend *be, void **event, int timing) {
  AG_CUDA_CHECK(cudaSetDevice(ordinal_of(be)));
  AG_CUDA_CHECK(cudaEventCreateWithFlags((cudaEvent_t *)event,
                                         timing ? cudaEventDefault : cudaEventDisableTiming));
  return AG_OK;
}

static ag_status cuda_event_elapsed(ag_backend *be, void *start, void *end, float *ms) {
  AG_CUDA_CHECK(cudaSetDevice(ordinal_of(be)));
  AG_CUDA_CHECK(cudaEventSynchronize((cudaEvent_t)end));
  AG_CUDA_CHECK(cudaEventElapsedTime(ms, (cudaEvent_t)start, (cudaEvent_t)end));
  return AG_OK;
}

static void cuda_event_destroy(ag_backend *be, void *event) {
  cudaSetDevice(ordinal_of(be));
  cudaEventDestroy((cudaEvent_t)event);
}

static ag_status cuda_event_record(ag_backend *be, void *event, void *stream) {
  AG_CUDA_CHECK(cudaSetDevice(ordinal_of(be)));
  AG_CUDA_CHECK(cudaEventRecord((cudaEvent_t)event, (cudaStream_t)stream));
  return AG_OK;
}

static ag_status cuda_stream_wait(ag_backend *be, void *stream, void *event) {
  AG_CUDA_CHECK(cudaSetDevice(ordinal_of(be)));
  AG_CUDA_CHECK(cudaStreamWaitEvent((cudaStream_t)stream, (cudaEvent_t)event, 0));
  return AG_OK;
}

static ag_status cuda_synchronize(ag_backend *be, void *stream) {
  AG_CUDA_CHECK(cudaSetDevice(ordinal_of(be)));
  if (stream) AG_CUDA_CHECK(cudaStreamSynchronize((cudaStream_t)stream));
  else AG_CUDA_CHECK(cudaDeviceSynchronize());
  return AG_OK;
}

/* Relaxed mode: a kernel's first use may still allocate (a cuDNN
 * workspace) without invalidating the capture; the scheduler runs a graph
 * once uncaptured first, so such allocations have happened by then. */
static ag_status cuda_capture_begin(ag_backend *be, void *stream) {
  AG_CUDA_CHECK(cudaSetDevice(ordinal_of(be)));
  AG_CUDA_CHECK(cudaStreamBeginCapture((cudaStream_t)stream, cudaStreamCaptureModeRelaxed));
  return AG_OK;
}

static ag_status cuda_capture_end(ag_backend *be, void *stream, void **out) {
  cudaGraph_t graph = NULL;
  cudaGraphExec_t exec = NULL;
  AG_CUDA_CHECK(cudaSetDevice(ordinal_of(be)));
  AG_CUDA_CHECK(cudaStreamEndCapture((cudaStream_t)stream, &graph));
  if (!out) {
    cudaGraphDestroy(graph);
    return AG_OK;
  }
  cudaError_t e = cudaGraphInstantiate(&exec, graph, 0);
  cudaGraphDestroy(graph);
  AG_CUDA_CHECK(e);
  *out = exec;
  return AG_OK;
}

static ag_status cuda_graph_launch(ag_backend *be, void *graph, void *stream) {
  AG_CUDA_CHECK(cudaSetDevice(ordinal_of(be)));
  AG_CUDA_CHECK(cudaGraphLaunch((cudaGraphExec_t)graph, (cudaStream_t)stream));
  return AG_OK;
}

static void cuda_graph_destroy(ag_backend *be, void *graph) {
  cudaSetDevice(ordinal_of(be));
  cudaGraphExecDestroy((cudaGraphExec_t)graph);
}

/* What every device's backend shares; ag_cuda_backend_open copies it and
 * adds the ordinal, the kernel table and an allocator of its own. */
static const ag_backend ag_cuda_backend_template = {
    .kind = AG_DEVICE_CUDA,
    .copy = cuda_copy,
    .memset = cuda_memset,
    .stream_create = cuda_stream_create,
    .stream_destroy = cuda_stream_destroy,
    .event_create = cuda_event_create,
    .event_destroy = cuda_event_destroy,
    .event_record = cuda_event_record,
    .event_elapsed_ms = cuda_event_elapsed,
    .stream_wait_event = cuda_stream_wait,
    .synchronize = cuda_synchronize,
    .capture_begin = cuda_capture_begin,
    .capture_end = cuda_capture_end,
    .graph_launch = cuda_graph_launch,
    .graph_destroy = cuda_graph_destroy,
};

ag_status ag_cuda_backend_open(int ordinal, ag_backend **out) {
  *out = NULL;
  AG_CUDA_CHECK(cudaSetDevice(ordinal));
  ag_backend *be = calloc(1, sizeof *be);
  ag_cuda_ctx *ctx = calloc(1, sizeof *ctx);
  if (be && ctx) {
    *be = ag_cuda_backend_template;
    ctx->ordinal = ordinal;
    snprintf(be->name, sizeof be->name, "cuda:%d", ordinal);
    be->device = ordinal;
    be->libs.device = ordinal;
    be->ctx = ctx;
    be->kernels = &ag_cuda_kernel_table;
    be->alloc = ag_allocator_create(be->name, (ag_raw_allocator){ctx, raw_alloc, raw_free,
                                                                 raw_free_bytes}, 0);
  }
  /* be->alloc is still NULL (calloc) unless every allocation succeeded. */
  if (!be || !be->alloc) {
    free(be);
    free(ctx);
    return ag_set_error(AG_ERR_OOM, "cuda backend: out of host memory");
  }
  *out = be;
  return AG_OK;
}
