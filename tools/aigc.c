/* aigc: the command-line front end.
 *   aigc [--device auto|cpu|cuda|cuda:N] <command> [options]
 * Commands: info (build and devices), demo (info + a kernel smoke run),
 * train classifier, eval classifier. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aigc_cli.h"
#include "bench/ag_bench.h"
#include "runtime/core/ag_info.h"

int ag_cli_fail(void) {
  fprintf(stderr, "aigc: error: %s\n", ag_last_error());
  return 1;
}

const char *ag_cli_option(int argc, char **argv, int *i, const char *name, int *bad) {
  const size_t n = strlen(name);
  if (strncmp(argv[*i], name, n) != 0) return NULL;
  if (argv[*i][n] == '=') return argv[*i] + n + 1;
  if (argv[*i][n] != '\0') return NULL;
  if (*i + 1 < argc) return argv[++*i];
  fprintf(stderr, "aigc: error: %s needs a value\n", name);
  *bad = 1;
  return NULL;
}

int ag_cli_int(const char *opt, const char *text, long long *out) {
  char *end;
  *out = strtoll(text, &end, 10);
  if (*text && !*end && *out > 0) return 0;
  fprintf(stderr, "aigc: error: %s '%s': a positive integer expected\n", opt, text);
  return 1;
}

int ag_cli_float(const char *opt, const char *text, float *out) {
  char *end;
  *out = strtof(text, &end);
  if (*text && !*end && *out > 0) return 0;
  fprintf(stderr, "aigc: error: %s '%s': a positive number expected\n", opt, text);
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
    printf(
        "  cuda:%d  %s, %d SMs, %.1f GiB, compute %d.%d, peak bf16 %s TFLOP/s, "
        "memory %.0f GB/s (%s)\n",
        i, d.name, d.sms, d.memory_bytes / 1073741824.0, d.cc_major, d.cc_minor, peak,
        d.peak_mem_gbps, d.peak_source);
  }
}

static void print_device(const ag_backend *be, const char *note) {
  printf("device:            %s%s%s%s\n", be->name, note[0] ? " (" : "", note, note[0] ? ")" : "");
}

static void print_info(const ag_backend *be, const char *note) {
  ag_versions v;
  ag_library_versions(&v);
  printf("build:             %s\n", ag_build_summary());
  printf("backends built:    cpu%s\n", ag_build_has_cuda() ? " cuda" : "");
  print_device(be, note);
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
  printf("\nkernel smoke run on %s (f32, %lld elements, median of 10):\n", be->name, (long long)n);
  if (ag_bench_smoke(be, n, 10, rows, 16, &count) != AG_OK) return ag_cli_fail();
  printf("  %-12s %-18s %10s %10s\n", "op", "shape", "ms", "GB/s");
  for (int i = 0; i < count; i++)
    printf("  %-12s %-18s %10.3f %10.1f\n", rows[i].op, rows[i].shape, rows[i].ms, rows[i].gbps);
  return 0;
}

static int usage(void) {
  fprintf(stderr,
          "usage: aigc [--device auto|cpu|cuda|cuda:N] <command> [options]\n"
          "  info                      build, devices and libraries\n"
          "  demo                      info and a kernel smoke run\n"
          "  train classifier          train the Fashion-MNIST classifier\n"
          "      [--data fashion-mnist|DIR] [--epochs N] [--batch N] [--lr X] [--seed N]\n"
          "      [--out FILE (classifier.safetensors)] [--quiet]\n"
          "  eval classifier           test accuracy of a saved classifier\n"
          "      [--data fashion-mnist|DIR] [--checkpoint FILE (classifier.safetensors)]\n"
          "the device may also be set with AG_DEVICE\n");
  return 2;
}

/* Commands that take a model name: "train classifier", "eval classifier". */
static int run_model_command(const char *command, ag_backend *be, int argc, char **argv) {
  if (argc < 1 || strcmp(argv[0], "classifier") != 0) {
    fprintf(stderr, "aigc: error: %s: unknown model '%s' (known: classifier)\n", command,
            argc ? argv[0] : "");
    return 2;
  }
  return strcmp(command, "train") == 0 ? ag_cmd_train_classifier(be, argc - 1, argv + 1)
                                       : ag_cmd_eval_classifier(be, argc - 1, argv + 1);
}

int main(int argc, char **argv) {
  const char *device = NULL;
  int i = 1, bad = 0;
  for (; i < argc && argv[i][0] == '-'; i++) {
    const char *d = ag_cli_option(argc, argv, &i, "--device", &bad);
    if (!d) return usage();
    device = d;
  }
  if (i == argc) return usage();
  const char *command = argv[i++];
  const int model = strcmp(command, "train") == 0 || strcmp(command, "eval") == 0;
  if (!model && (strcmp(command, "info") != 0 && strcmp(command, "demo") != 0)) return usage();
  if (!model && i < argc) return usage();

  ag_backend *be = NULL;
  char note[512];
  if (ag_backend_select(device, &be, note, sizeof note) != AG_OK) return ag_cli_fail();
  if (model) {
    print_device(be, note);
    return run_model_command(command, be, argc - i, argv + i);
  }
  print_info(be, note);
  return strcmp(command, "demo") == 0 ? run_demo(be) : 0;
}
