/* aigc-bench: throughput of aigc's kernels and training steps on a chosen
 * device.
 *   aigc-bench kernels [--device D] [--filter NAME] [--reps R] [--json FILE]
 *   aigc-bench smoke   [--device D] [--n ELEMENTS] [--reps R] [--json FILE]
 *   aigc-bench graph   [--device D] [--reps R] [--json FILE]
 * kernels and smoke write {"device", "copy_gbps", "results": [row...]} with
 * one object per ag_bench_row. graph writes {"device", "command": "graph",
 * "reps", "graphs": [...]}, one object per ag_bench_graph: name, item,
 * shape, batch, seq, channels, heads, layers, classes, items (per step),
 * ms and items_per_s (default plan, plain launches), arena_mb,
 * no_reuse_mb, resident_mb, nodes, kernels, inplace, streams, waits (of that
 * plan), no_plan_ms and plan_ratio (reuse = 0, inplace = 0; no_plan_ms / ms),
 * and replay_ms, replay_ratio (ms / replay_ms, > 1: replay faster) and
 * captured, which are 0 where the backend cannot capture CUDA graphs. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ag_bench.h"
#include "runtime/backends/ag_smoke.h"
#include "runtime/core/ag_info.h"

#define AG_MAX_ROWS 256

static int usage(void) {
  fprintf(stderr,
          "usage: aigc-bench kernels [--device D] [--filter NAME] [--reps R] [--json FILE]\n"
          "       aigc-bench smoke [--device D] [--n ELEMENTS] [--reps R] [--json FILE]\n"
          "       aigc-bench graph [--device D] [--reps R] [--json FILE]\n");
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

static double ratio(double num, double den) { return den > 0 ? num / den : 0; }

static cJSON *graph_json(const ag_bench_graph *r) {
  const double mb = 1.0 / (1 << 20);
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "name", r->name);
  cJSON_AddStringToObject(j, "item", r->item);
  cJSON_AddStringToObject(j, "shape", r->shape);
  cJSON_AddNumberToObject(j, "batch", (double)r->batch);
  cJSON_AddNumberToObject(j, "seq", (double)r->seq);
  cJSON_AddNumberToObject(j, "channels", (double)r->channels);
  cJSON_AddNumberToObject(j, "heads", (double)r->heads);
  cJSON_AddNumberToObject(j, "layers", (double)r->layers);
  cJSON_AddNumberToObject(j, "classes", (double)r->classes);
  cJSON_AddNumberToObject(j, "items", (double)r->items);
  cJSON_AddNumberToObject(j, "ms", r->ms);
  cJSON_AddNumberToObject(j, "items_per_s", r->items_per_s);
  cJSON_AddNumberToObject(j, "arena_mb", (double)r->stats.arena_bytes * mb);
  cJSON_AddNumberToObject(j, "no_reuse_mb", (double)r->stats.no_reuse_bytes * mb);
  cJSON_AddNumberToObject(j, "resident_mb", (double)r->stats.resident_bytes * mb);
  cJSON_AddNumberToObject(j, "nodes", r->stats.nodes);
  cJSON_AddNumberToObject(j, "kernels", r->stats.kernels);
  cJSON_AddNumberToObject(j, "inplace", r->stats.inplace);
  cJSON_AddNumberToObject(j, "streams", r->stats.streams);
  cJSON_AddNumberToObject(j, "waits", r->stats.waits);
  cJSON_AddNumberToObject(j, "no_plan_ms", r->no_plan_ms);
  cJSON_AddNumberToObject(j, "plan_ratio", ratio(r->no_plan_ms, r->ms));
  cJSON_AddNumberToObject(j, "replay_ms", r->replay_ms);
  cJSON_AddNumberToObject(j, "replay_ratio", ratio(r->ms, r->replay_ms));
  cJSON_AddBoolToObject(j, "captured", r->replay_stats.captured);
  return j;
}

/* Writes `root` (freed here) as JSON to a temporary name, then renames it
 * into place, so an interrupted run never leaves a half-written file. */
static ag_status write_json(const char *path, cJSON *root) {
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

static cJSON *rows_json(const char *device, const ag_bench_peaks *peaks, const ag_bench_row *rows,
                        int n) {
  cJSON *root = cJSON_CreateObject();
  cJSON_AddStringToObject(root, "device", device);
  cJSON_AddNumberToObject(root, "copy_gbps", peaks->copy_gbps);
  cJSON_AddNumberToObject(root, "gemm_bf16_tflops", peaks->gemm_bf16_tflops);
  cJSON_AddNumberToObject(root, "gemm_f32_tflops", peaks->gemm_f32_tflops);
  cJSON *list = cJSON_AddArrayToObject(root, "results");
  for (int i = 0; i < n; i++) cJSON_AddItemToArray(list, row_json(&rows[i]));
  return root;
}

static cJSON *graphs_json(const char *device, int reps, const ag_bench_graph *gs, int n) {
  cJSON *root = cJSON_CreateObject();
  cJSON_AddStringToObject(root, "device", device);
  cJSON_AddStringToObject(root, "command", "graph");
  cJSON_AddNumberToObject(root, "reps", reps);
  cJSON *list = cJSON_AddArrayToObject(root, "graphs");
  for (int i = 0; i < n; i++) cJSON_AddItemToArray(list, graph_json(&gs[i]));
  return root;
}

static void print_peaks(const ag_backend *be, const ag_bench_peaks *p) {
  printf("roofline: device copy bandwidth %.1f GB/s (measured, fastest run)\n", p->copy_gbps);
  if (be->kind != AG_DEVICE_CPU) return;
  ag_versions v;
  ag_library_versions(&v);
  printf("cpu: %s; %%peak of the copy bandwidth (memory-bound rows) and of oneDNN %s's matmul "
         "%lld^2 (products, fastest run): bf16 %.2f TFLOP/s, f32 %.2f TFLOP/s\n",
         v.cpu_model, v.dnnl, (long long)p->gemm_size, p->gemm_bf16_tflops, p->gemm_f32_tflops);
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

static void print_graphs(const ag_backend *be, const ag_bench_graph *gs, int n) {
  const double mb = 1.0 / (1 << 20);
  printf("%-12s %-32s %9s %11s %9s %9s %7s %7s %10s %6s\n", "graph", "shape", "ms/step", "items/s",
         "arena MB", "no-reuse", "kernels", "streams", "no-plan ms", "ratio");
  for (int i = 0; i < n; i++) {
    const ag_bench_graph *r = &gs[i];
    char rate[32];
    snprintf(rate, sizeof rate, "%.0f %s", r->items_per_s, r->item);
    printf("%-12s %-32s %9.3f %11s %9.2f %9.2f %7d %7d %10.3f %5.2fx\n", r->name, r->shape, r->ms,
           rate, (double)r->stats.arena_bytes * mb, (double)r->stats.no_reuse_bytes * mb,
           r->stats.kernels, r->stats.streams, r->no_plan_ms, ratio(r->no_plan_ms, r->ms));
  }
  printf("memory planning: ratio = reuse=0/inplace=0 step time / default step time "
         "(about 1: planning costs no time)\n");
  if (!be->capture_begin) {
    printf("cuda graphs: n/a on %s\n", be->kind == AG_DEVICE_CUDA ? "this backend" : "cpu");
    return;
  }
  for (int i = 0; i < n; i++) {
    const ag_bench_graph *r = &gs[i];
    printf("cuda graphs: %-12s plain %.3f ms, replay %.3f ms%s: replay/plain %.2fx "
           "(>1: replay faster)\n",
           r->name, r->ms, r->replay_ms, r->replay_stats.captured ? "" : " (not captured)",
           ratio(r->ms, r->replay_ms));
  }
}

static int fail(void) {
  fprintf(stderr, "aigc-bench: %s\n", ag_last_error());
  return 1;
}

/* The smoke run (runtime/backends/ag_smoke.h) as bench rows, so it prints
 * and serialises like the kernel rows. */
static ag_status run_smoke(ag_backend *be, int64_t n, int reps, ag_bench_row *rows, int *count) {
  ag_smoke_row smoke[AG_SMOKE_ROWS];
  _Static_assert(sizeof rows->op >= sizeof smoke->op && sizeof rows->dtype >= sizeof smoke->dtype &&
                     sizeof rows->shape >= sizeof smoke->shape,
                 "a smoke row's names fit a bench row");
  AG_TRY(ag_smoke_run(be, n, reps, smoke));
  for (int i = 0; i < AG_SMOKE_ROWS; i++) {
    ag_bench_row *r = &rows[i];
    memset(r, 0, sizeof *r);
    memcpy(r->op, smoke[i].op, sizeof smoke[i].op);
    memcpy(r->dtype, smoke[i].dtype, sizeof smoke[i].dtype);
    memcpy(r->shape, smoke[i].shape, sizeof smoke[i].shape);
    r->ms = smoke[i].ms;
    r->bytes = smoke[i].bytes;
    r->gbps = smoke[i].gbps;
  }
  *count = AG_SMOKE_ROWS;
  return AG_OK;
}

static int run_graphs(ag_backend *be, int reps, const char *json) {
  static ag_bench_graph gs[8];
  int count = 0;
  if (ag_bench_graphs(be, reps, gs, 8, &count) != AG_OK) return fail();
  print_graphs(be, gs, count);
  if (json && write_json(json, graphs_json(be->name, reps, gs, count)) != AG_OK) return fail();
  return 0;
}

int main(int argc, char **argv) {
  const char *device = NULL, *json = NULL, *filter = NULL;
  long long n = 1 << 22;
  int reps = 10;
  if (argc < 2) return usage();
  int kernels = strcmp(argv[1], "kernels") == 0, graph = strcmp(argv[1], "graph") == 0;
  if (!kernels && !graph && strcmp(argv[1], "smoke") != 0) return usage();
  for (int i = 2; i < argc; i++) {
    if (i + 1 >= argc) return usage();
    if (strcmp(argv[i], "--device") == 0) device = argv[++i];
    else if (strcmp(argv[i], "--json") == 0) json = argv[++i];
    else if (strcmp(argv[i], "--filter") == 0 && !graph) filter = argv[++i];
    else if (strcmp(argv[i], "--n") == 0 && !graph) n = atoll(argv[++i]);
    else if (strcmp(argv[i], "--reps") == 0) reps = atoi(argv[++i]);
    else return usage();
  }
  if (n < 1024 || reps < 1) return usage();
  ag_backend *be = NULL;
  char note[512];
  if (ag_backend_select(device, &be, note, sizeof note) != AG_OK) return fail();
  printf("device: %s%s%s%s\n", be->name, note[0] ? " (" : "", note, note[0] ? ")" : "");
  if (graph) return run_graphs(be, reps, json);
  static ag_bench_row rows[AG_MAX_ROWS];
  int count = 0;
  ag_bench_peaks peaks = {0};
  ag_status st = kernels ? ag_bench_kernels(be, filter, reps, rows, AG_MAX_ROWS, &count, &peaks)
                         : run_smoke(be, n, reps, rows, &count);
  if (st != AG_OK) return fail();
  if (kernels) print_peaks(be, &peaks);
  print_table(rows, count);
  if (json && write_json(json, rows_json(be->name, &peaks, rows, count)) != AG_OK)
    return fail();
  return 0;
}
