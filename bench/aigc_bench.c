/* aigc-bench: throughput of aigc's kernels on a chosen device.
 *   aigc-bench kernels [--device D] [--filter NAME] [--reps R] [--json FILE]
 *   aigc-bench smoke   [--device D] [--n ELEMENTS] [--reps R] [--json FILE] */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ag_bench.h"
#include "runtime/ag_info.h"

#define AG_MAX_ROWS 256

static int usage(void) {
  fprintf(stderr,
          "usage: aigc-bench kernels [--device D] [--filter NAME] [--reps R] [--json FILE]\n"
          "       aigc-bench smoke [--device D] [--n ELEMENTS] [--reps R] [--json FILE]\n");
  return 2;
}

static cJSON *row_json(const ag_bench_row *r) {
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "op", r->op);
  cJSON_AddStringToObject(j, "kernel", r->kernel);
  cJSON_AddBoolToObject(j, "backward", r->backward);
  cJSON *f = cJSON_AddArrayToObject(j, "f"), *i = cJSON_AddArrayToObject(j, "i");
  for (int k = 0; k < 4; k++) cJSON_AddItemToArray(f, cJSON_CreateNumber(r->f[k]));
  for (int k = 0; k < 8; k++) cJSON_AddItemToArray(i, cJSON_CreateNumber((double)r->i[k]));
  cJSON_AddStringToObject(j, "dtype", r->dtype);
  cJSON_AddStringToObject(j, "shape", r->shape);
  cJSON_AddNumberToObject(j, "ms", r->ms);
  cJSON_AddNumberToObject(j, "gbps", r->gbps);
  cJSON_AddNumberToObject(j, "tflops", r->tflops);
  cJSON_AddNumberToObject(j, "pct_peak", r->pct_peak);
  cJSON_AddStringToObject(j, "baseline", r->baseline);
  cJSON_AddNumberToObject(j, "ratio", r->ratio);
  return j;
}

/* Writes the rows as JSON to a temporary name, then renames it into place,
 * so an interrupted run never leaves a half-written file. */
static ag_status write_json(const char *path, const char *device, double copy_gbps,
                            const ag_bench_row *rows, int n) {
  cJSON *root = cJSON_CreateObject();
  cJSON_AddStringToObject(root, "device", device);
  cJSON_AddNumberToObject(root, "copy_gbps", copy_gbps);
  cJSON *list = cJSON_AddArrayToObject(root, "results");
  for (int i = 0; i < n; i++) cJSON_AddItemToArray(list, row_json(&rows[i]));
  char *text = cJSON_Print(root);
  cJSON_Delete(root);
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  int ok = f && text && fputs(text, f) >= 0;
  if (f && fclose(f) != 0) ok = 0;
  free(text);
  if (!ok || rename(tmp, path) != 0) {
    remove(tmp);
    return ag_set_error(AG_ERR_IO, "cannot write %s", path);
  }
  return AG_OK;
}

static void print_table(const ag_bench_row *rows, int n) {
  printf("%-16s %-5s %-40s %9s %9s %7s  %-14s %7s\n", "op", "dtype", "shape", "ms", "perf",
         "%peak", "baseline", "ratio");
  for (int i = 0; i < n; i++) {
    const ag_bench_row *r = &rows[i];
    char perf[32], peak[16] = "-", ratio[16] = "-";
    if (r->tflops > 0) snprintf(perf, sizeof perf, "%.2f TF/s", r->tflops);
    else snprintf(perf, sizeof perf, "%.1f GB/s", r->gbps);
    if (r->pct_peak > 0) snprintf(peak, sizeof peak, "%.1f", r->pct_peak);
    if (r->ratio > 0) snprintf(ratio, sizeof ratio, "%.2fx", r->ratio);
    printf("%-16s %-5s %-40s %9.3f %9s %7s  %-14s %7s\n", r->op, r->dtype, r->shape, r->ms,
           perf, peak, r->baseline[0] ? r->baseline : "-", ratio);
  }
}

int main(int argc, char **argv) {
  const char *device = NULL, *json = NULL, *filter = NULL;
  long long n = 1 << 22;
  int reps = 10;
  if (argc < 2) return usage();
  int kernels = strcmp(argv[1], "kernels") == 0;
  if (!kernels && strcmp(argv[1], "smoke") != 0) return usage();
  for (int i = 2; i < argc; i++) {
    if (i + 1 >= argc) return usage();
    if (strcmp(argv[i], "--device") == 0) device = argv[++i];
    else if (strcmp(argv[i], "--json") == 0) json = argv[++i];
    else if (strcmp(argv[i], "--filter") == 0) filter = argv[++i];
    else if (strcmp(argv[i], "--n") == 0) n = atoll(argv[++i]);
    else if (strcmp(argv[i], "--reps") == 0) reps = atoi(argv[++i]);
    else return usage();
  }
  if (n < 1024 || reps < 1) return usage();
  ag_backend *be = NULL;
  char note[512];
  if (ag_backend_select(device, &be, note, sizeof note) != AG_OK) {
    fprintf(stderr, "aigc-bench: %s\n", ag_last_error());
    return 1;
  }
  printf("device: %s%s%s%s\n", be->name, note[0] ? " (" : "", note, note[0] ? ")" : "");
  static ag_bench_row rows[AG_MAX_ROWS];
  int count = 0;
  double copy_gbps = 0;
  ag_status st = kernels ? ag_bench_kernels(be, filter, reps, rows, AG_MAX_ROWS, &count, &copy_gbps)
                         : ag_bench_smoke(be, n, reps, rows, AG_MAX_ROWS, &count);
  if (st != AG_OK) {
    fprintf(stderr, "aigc-bench: %s\n", ag_last_error());
    return 1;
  }
  if (kernels) printf("roofline: device copy bandwidth %.1f GB/s (measured)\n", copy_gbps);
  print_table(rows, count);
  if (json && write_json(json, be->name, copy_gbps, rows, count) != AG_OK) {
    fprintf(stderr, "aigc-bench: %s\n", ag_last_error());
    return 1;
  }
  return 0;
}
