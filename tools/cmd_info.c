/* aigc info / aigc demo: what was built and found, and a kernel smoke run
 * (runtime/backends/ag_smoke.h) on the chosen device. Neither takes options. */
#include <stdio.h>

#include "aigc_cli.h"
#include "runtime/backends/ag_smoke.h"
#include "runtime/core/ag_info.h"

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
    printf(
        "  cuda:%d  %s, %d SMs, %.1f GiB, compute %d.%d, peak bf16 %s TFLOP/s, "
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
  ag_cli_print_device(be, note);
  print_cuda_devices();
  printf("cuda libraries:    cudart %s, driver %s, cuBLAS %s, cuDNN %s, NCCL %s\n", v.cudart,
         v.driver, v.cublas, v.cudnn, v.nccl);
  printf("cpu:               %s, %d threads\n", v.cpu_model, ag_cpu_threads());
  printf("cpu kernels:       oneDNN %s dispatching to %s; own loops %s\n", v.dnnl, v.dnnl_isa,
         v.simd_isa);
  if (v.warning[0]) printf("warning:           %s\n", v.warning);
}

/* Both commands start alike: no options, the device, the info block. */
static int open_and_print_info(const ag_cli *cli, int argc, char **argv, ag_backend **be) {
  char note[512];
  int rc = ag_cli_no_options(cli, argc, argv);
  if (rc == AG_EXIT_OK) rc = ag_cli_open_device(cli, be, note, sizeof note);
  if (rc == AG_EXIT_OK) print_info(*be, note);
  return rc;
}

int ag_cmd_info(const ag_cli *cli, int argc, char **argv) {
  ag_backend *be = NULL;
  return open_and_print_info(cli, argc, argv, &be);
}

int ag_cmd_demo(const ag_cli *cli, int argc, char **argv) {
  ag_backend *be = NULL;
  const int rc = open_and_print_info(cli, argc, argv, &be);
  if (rc != AG_EXIT_OK) return rc;
  /* Large enough to reach a GPU's bandwidth, small enough for a CPU. */
  const int64_t n = be->kind == AG_DEVICE_CUDA ? (int64_t)1 << 26 : (int64_t)1 << 22;
  ag_smoke_row rows[AG_SMOKE_ROWS];
  printf("\nkernel smoke run on %s (f32, %lld elements, median of 10):\n", be->name, (long long)n);
  if (ag_smoke_run(be, n, 10, rows) != AG_OK) return AG_EXIT_RUNTIME;
  printf("  %-12s %-18s %10s %10s\n", "op", "shape", "ms", "GB/s");
  for (int i = 0; i < AG_SMOKE_ROWS; i++)
    printf("  %-12s %-18s %10.3f %10.1f\n", rows[i].op, rows[i].shape, rows[i].ms, rows[i].gbps);
  return AG_EXIT_OK;
}
