/* aigc: the command-line front end.
 *   aigc [--device auto|cpu|cuda|cuda:N] <command>
 * Commands: info (build and devices), demo (info + a kernel smoke run). */
#include <stdio.h>
#include <string.h>

#include "bench/ag_bench.h"
#include "runtime/ag_backend.h"
#include "runtime/ag_info.h"

static int fail(void) {
  fprintf(stderr, "aigc: error: %s\n", ag_last_error());
  return 1;
}

static void print_cuda_devices(void) {
  int count = 0;
  if (ag_cuda_probe(&count) != AG_OK) {
    printf("cuda devices:      none (%s)\n", ag_last_error());
    return;
  }
  printf("cuda devices:      %d\n", count);
  for (int i = 0; i < count; i++) {
    ag_device_info d;
    if (ag_cuda_device_info(i, &d) != AG_OK) {
      printf("  cuda:%d  %s\n", i, ag_last_error());
      continue;
    }
    char peak[32] = "unknown";
    if (d.peak_bf16_tflops > 0) snprintf(peak, sizeof peak, "%.0f", d.peak_bf16_tflops);
    printf("  cuda:%d  %s, %d SMs, %.1f GiB, compute %d.%d, peak bf16 %s TFLOP/s, "
           "memory %.0f GB/s (%s)\n",
           i, d.name, d.sms, d.memory_bytes / 1073741824.0, d.cc_major, d.cc_minor, peak,
           d.peak_mem_gbps, d.peak_source);
  }
}

static void print_info(const ag_backend *be, const char *note) {
  ag_versions v;
  ag_library_versions(&v);
  printf("build:             %s\n", ag_build_summary());
  printf("backends built:    cpu%s\n", ag_build_has_cuda() ? " cuda" : "");
  printf("device:            %s%s%s%s\n", be->name, note[0] ? " (" : "", note, note[0] ? ")" : "");
  print_cuda_devices();
  printf("cuda libraries:    cudart %s, driver %s, cuBLAS %s, cuDNN %s, NCCL %s\n", v.cudart,
         v.driver, v.cublas, v.cudnn, v.nccl);
  printf("openblas:          %s\n", v.openblas);
  printf("cpu threads:       %d\n", ag_cpu_threads());
}

static int run_demo(ag_backend *be) {
  ag_bench_row rows[16];
  int count = 0;
  int64_t n = be->kind == AG_DEVICE_CUDA ? (int64_t)1 << 26 : (int64_t)1 << 22;
  printf("\nkernel smoke run on %s (f32, %lld elements, median of 10):\n", be->name,
         (long long)n);
  if (ag_bench_smoke(be, n, 10, rows, 16, &count) != AG_OK) return fail();
  printf("  %-12s %-18s %10s %10s\n", "op", "shape", "ms", "GB/s");
  for (int i = 0; i < count; i++)
    printf("  %-12s %-18s %10.3f %10.1f\n", rows[i].op, rows[i].shape, rows[i].ms, rows[i].gbps);
  return 0;
}

static int usage(void) {
  fprintf(stderr, "usage: aigc [--device auto|cpu|cuda|cuda:N] <info|demo>\n"
                  "  the device may also be set with AG_DEVICE\n");
  return 2;
}

int main(int argc, char **argv) {
  const char *device = NULL, *command = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--device") == 0 && i + 1 < argc) device = argv[++i];
    else if (strncmp(argv[i], "--device=", 9) == 0) device = argv[i] + 9;
    else if (!command && argv[i][0] != '-') command = argv[i];
    else return usage();
  }
  if (!command) return usage();
  if (strcmp(command, "info") != 0 && strcmp(command, "demo") != 0) return usage();

  ag_backend *be = NULL;
  char note[512];
  if (ag_backend_select(device, &be, note, sizeof note) != AG_OK) return fail();
  print_info(be, note);
  return strcmp(command, "demo") == 0 ? run_demo(be) : 0;
}
