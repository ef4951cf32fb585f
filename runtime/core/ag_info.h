/* ag_info.h - what this build contains and what hardware it finds: the data
 * behind `aigc info` and the peaks that bench figures are compared with. */
#ifndef AG_INFO_H
#define AG_INFO_H

#include "base/ag_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Seconds on the monotonic clock: for measuring time, never for dates. */
double ag_now_seconds(void);

typedef struct ag_device_info {
  char name[256];
  int ordinal;
  int sms;
  size_t memory_bytes;
  int cc_major, cc_minor;
  size_t l2_bytes;
  double peak_bf16_tflops; /* dense tensor-core bf16, 0 when unknown */
  double peak_mem_gbps;    /* 0 when unknown */
  const char *peak_source; /* where the peaks come from */
} ag_device_info;

typedef struct ag_versions {
  char cudart[32], driver[32], cublas[32], cudnn[32], nccl[32];
  char cpu_model[96]; /* the processor, from /proc/cpuinfo ("unknown" elsewhere) */
  char dnnl[32];      /* oneDNN's version */
  const char *dnnl_isa; /* the instruction set oneDNN dispatches to */
  const char *simd_isa; /* the one the CPU kernels' own loops dispatch to */
  char warning[160];    /* non-empty when a library runs below the processor's ISA */
} ag_versions;

/* Spec-sheet peaks for a device name; returns 0 when the table has no entry. */
int ag_peak_lookup(const char *device_name, double *bf16_tflops, double *mem_gbps);

ag_status ag_cuda_device_info(int ordinal, ag_device_info *out);
/* Library versions compiled in; "not built" for CUDA libraries without CUDA. */
void ag_library_versions(ag_versions *v);
/* The CUDA part of ag_library_versions (cuda_info.c or cuda_absent.c). */
void ag_cuda_library_versions(ag_versions *v);
/* The CPU part: the processor, oneDNN and the vector ISA (cpu_info.c). */
void ag_cpu_library_versions(ag_versions *v);

/* Build configuration: version, build type, compiler, CUDA architectures. */
const char *ag_build_summary(void);
int ag_build_has_cuda(void);
int ag_cpu_threads(void);

#ifdef __cplusplus
}
#endif

#endif
