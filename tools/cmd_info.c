/* aigc info: what was built and found (also the start of aigc demo). */
#include <stdio.h>

#include "aigc_cli.h"
#include "runtime/core/ag_info.h"

static void print_cuda_devices(FILE *f) {
  int count = 0;
  if (ag_cuda_probe(&count) != AG_OK) {
    fprintf(f, "cuda devices:      none (%s)\n", ag_last_error());
    return;
  }
  fprintf(f, "cuda devices:      %d\n", count);
  for (int i = 0; i < count; i++) {
    ag_device_info d;
    if (ag_cuda_device_info(i, &d) != AG_OK) {
      fprintf(f, "  cuda:%d  %s\n", i, ag_last_error());
      continue;
    }
    char peak[32] = "unknown";
    if (d.peak_bf16_tflops > 0) snprintf(peak, sizeof peak, "%.0f", d.peak_bf16_tflops);
    fprintf(f, 
        "  cuda:%d  %s, %d SMs, %.1f GiB, compute %d.%d, peak bf16 %s TFLOP/s, "
        "memory %.0f GB/s (%s)\n",
        i, d.name, d.sms, d.memory_bytes / 1073741824.0, d.cc_major, d.cc_minor, peak,
        d.peak_mem_gbps, d.peak_source);
  }
}

void ag_cli_print_info(FILE *f, const ag_backend *be, const char *note) {
  ag_versions v;
  ag_library_versions(&v);
  fprintf(f, "build:             %s\n", ag_build_summary());
  fprintf(f, "backends built:    cpu%s\n", ag_build_has_cuda() ? " cuda" : "");
  ag_cli_print_device(f, be, note);
  print_cuda_devices(f);
  fprintf(f, "cuda libraries:    cudart %s, driver %s, cuBLAS %s, cuDNN %s, NCCL %s\n", v.cudart,
         v.driver, v.cublas, v.cudnn, v.nccl);
  fprintf(f, "cpu:               %s, %d threads\n", v.cpu_model, ag_cpu_threads());
  fprintf(f, "cpu kernels:       oneDNN %s dispatching to %s; own loops %s\n", v.dnnl, v.dnnl_isa,
         v.simd_isa);
  if (v.warning[0]) fprintf(f, "warning:           %s\n", v.warning);
}

int ag_cmd_info(const ag_cli *cli, int argc, char **argv) {
  ag_backend *be = NULL;
  char note[512];
  int rc = ag_cli_no_options(cli, argc, argv);
  if (rc == AG_EXIT_OK) rc = ag_cli_open_device(cli, &be, note, sizeof note);
  if (rc == AG_EXIT_OK) ag_cli_print_info(stdout, be, note);
  return rc;
}
