/* Build facts and the device peak table. */
#include "ag_info.h"

#include <omp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Dense (no sparsity) bf16 tensor-core TFLOP/s and memory GB/s from vendor
 * spec sheets. More specific names come first: lookup takes the first entry
 * whose key is a substring of the device name. */
static const struct {
  const char *key;
  double bf16_tflops, mem_gbps;
} ag_peaks[] = {
    {"GH200", 989.0, 4000.0},
    {"H200", 989.0, 4800.0},
    {"H100 NVL", 835.0, 3900.0},
    {"H100 PCIe", 756.0, 2000.0},
    {"H100", 989.0, 3350.0},
    {"H800", 989.0, 3350.0},
    {"B200", 2250.0, 8000.0},
    {"A100-SXM4-80GB", 312.0, 2039.0},
    {"A100 80GB PCIe", 312.0, 1935.0},
    {"A100", 312.0, 1555.0},
    {"A800", 312.0, 2039.0},
    {"L40S", 362.0, 864.0},
    {"L40", 181.0, 864.0},
    {"L4", 121.0, 300.0},
    {"A10G", 70.0, 600.0},
    {"A10", 125.0, 600.0},
    {"RTX 4090", 165.0, 1008.0},
    {"RTX 3090", 71.0, 936.0},
};

int ag_peak_lookup(const char *device_name, double *bf16_tflops, double *mem_gbps) {
  for (size_t i = 0; i < sizeof ag_peaks / sizeof ag_peaks[0]; i++) {
    if (strstr(device_name, ag_peaks[i].key)) {
      *bf16_tflops = ag_peaks[i].bf16_tflops;
      *mem_gbps = ag_peaks[i].mem_gbps;
      return 1;
    }
  }
  return 0;
}

#ifndef AG_BUILD_TYPE
#define AG_BUILD_TYPE "unknown"
#endif
#ifndef AG_CUDA_ARCHS
#define AG_CUDA_ARCHS "none"
#endif

const char *ag_build_summary(void) {
  return "aigc " AG_VERSION ", " AG_BUILD_TYPE " build, C compiler " __VERSION__
         ", CUDA architectures " AG_CUDA_ARCHS;
}

int ag_cpu_threads(void) { return omp_get_max_threads(); }

double ag_now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void ag_library_versions(ag_versions *v) {
  memset(v, 0, sizeof *v);
  ag_cpu_library_versions(v);
  ag_cuda_library_versions(v);
}
