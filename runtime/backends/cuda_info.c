/* Device properties and CUDA library versions (CUDA builds only). */
#include <stdio.h>
#include <string.h>

#include "ag_cuda_check.h"
#include "runtime/core/ag_info.h"

int ag_build_has_cuda(void) { return 1; }

static void format_cuda_version(int v, char *buf, size_t len) {
  snprintf(buf, len, "%d.%d", v / 1000, v % 1000 / 10);
}

ag_status ag_cuda_device_info(int ordinal, ag_device_info *out) {
  struct cudaDeviceProp p;
  memset(out, 0, sizeof *out);
  AG_CUDA_CHECK(cudaGetDeviceProperties(&p, ordinal));
  snprintf(out->name, sizeof out->name, "%s", p.name);
  out->ordinal = ordinal;
  out->sms = p.multiProcessorCount;
  out->memory_bytes = p.totalGlobalMem;
  out->cc_major = p.major;
  out->cc_minor = p.minor;
  out->l2_bytes = (size_t)p.l2CacheSize;
  if (ag_peak_lookup(p.name, &out->peak_bf16_tflops, &out->peak_mem_gbps)) {
    out->peak_source = "spec sheet";
    return AG_OK;
  }
  /* Unknown part: derive bandwidth from the memory clock and bus width
   * (double data rate); leave the tensor peak unknown rather than guess. */
  int clock_khz = 0, bus_bits = 0;
  AG_CUDA_CHECK(cudaDeviceGetAttribute(&clock_khz, cudaDevAttrMemoryClockRate, ordinal));
  AG_CUDA_CHECK(cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, ordinal));
  out->peak_mem_gbps = 2.0 * clock_khz * 1e3 * (bus_bits / 8.0) / 1e9;
  out->peak_source = "memory clock x bus width; no bf16 entry";
  return AG_OK;
}

void ag_cuda_library_versions(ag_versions *v) {
  int rt = 0, drv = 0;
  cudaRuntimeGetVersion(&rt);
  format_cuda_version(rt, v->cudart, sizeof v->cudart);
  if (cudaDriverGetVersion(&drv) == cudaSuccess && drv > 0)
    format_cuda_version(drv, v->driver, sizeof v->driver);
  else snprintf(v->driver, sizeof v->driver, "none");
  int maj = 0, min = 0, pat = 0;
  cublasGetProperty(MAJOR_VERSION, &maj);
  cublasGetProperty(MINOR_VERSION, &min);
  cublasGetProperty(PATCH_LEVEL, &pat);
  snprintf(v->cublas, sizeof v->cublas, "%d.%d.%d", maj, min, pat);
  size_t dnn = cudnnGetVersion();
  snprintf(v->cudnn, sizeof v->cudnn, "%zu.%zu.%zu", dnn / 10000, dnn % 10000 / 100, dnn % 100);
  int nccl = 0;
  ncclGetVersion(&nccl);
  snprintf(v->nccl, sizeof v->nccl, "%d.%d.%d", nccl / 10000, nccl % 10000 / 100, nccl % 100);
}
