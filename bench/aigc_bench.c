/* aigc-bench: throughput of aigc's kernels and training steps on a chosen
 * device.
 *   aigc-bench kernels [--device D] [--filter NAME] [--reps R] [--json FILE]
 *   aigc-bench smoke   [--device D] [--n ELEMENTS] [--reps R] [--json FILE]
 *   aigc-bench graph   [--device D] [--reps R] [--json FILE]
 *   aigc-bench pipelines [--device D] [--filter NAME] [--steps N] [--small] [--full]
 *                      [--torch PYTHON|none] [--baseline FILE] [--json FILE]
 * kernels and smoke write {"device", "copy_gbps", "results": [row...]} with
 * one object per ag_bench_row. graph writes {"device", "command": "graph",
 * "reps", "graphs": [...]}, one object per ag_bench_graph: name, item,
 * shape, batch, seq, channels, heads, layers, classes, items (per step),
 * ms and items_per_s (default plan, plain launches), arena_mb,
 * no_reuse_mb, resident_mb, nodes, kernels, inplace, streams, waits (of that
 * plan), no_plan_ms and plan_ratio (reuse = 0, inplace = 0; no_plan_ms / ms),
 * and replay_ms, replay_ratio (ms / replay_ms, > 1: replay faster) and
 * captured, which are 0 where the backend cannot capture CUDA graphs.
 *
 * pipelines times the real models' full training steps (forward, backward,
 * AdamW through ag_dp; bench_pipelines.c says which rows, shapes and
 * conventions), the generators' sampling calls (DDIM-50 with guidance of
 * the diffusion UNet, the GAN generator, 256 images a call on CUDA;
 * bench_generators.c) and the NeRF's hash grid, training steps and rendered
 * views (bench_nerf.c), and runs the same steps in PyTorch in the same
 * invocation (bench/torch_peer_pipelines.py, bench/torch_peer_generators.py,
 * bench/torch_peer_nerf.py with PYTHON: by default /usr/bin/python3 on the
 * CPU, python3 on CUDA; "none": no peer). --filter picks rows by name or
 * group ("transformer": gpt-mini, gpt2-small, clip; "diffusion": the DDIM
 * row; "gan"; "nerf": hashgrid, nerf-train, nerf-render; none: every row),
 * --steps the timed steps or calls (default 3 on the CPU, 10 on CUDA),
 * --small the quick rows only, --full the GPT-2-small row and the sampling
 * rows' CUDA shapes on the CPU too (by default the CPU samples fewer images,
 * and the DDIM row fewer steps, named ddim<steps>). It writes {"device",
 * "command": "pipelines", "world", "peak_bf16_tflops", "peak_f32_tflops",
 * "peak_source" (zeros and "" without a training row), "pipelines": [...]},
 * one object per ag_bench_pipeline (a skipped row has "skipped": why), with
 * "torch" the peer's object (its "params" the peer model's count, 0 if not
 * reported), "torch_compile" the sampling peer's torch.compile run on CUDA
 * (else "note" says why not; empty for training rows) with
 * "ratio_compile", "denoise_steps" a sampling call's sampler steps, "rays"
 * and "rays_per_s" a NeRF step's or frame's rays and their rate (0 for the
 * other rows), and "dp_efficiency" as below.
 * Data parallel: `mpirun -np W aigc-bench pipelines ...` runs every row on W
 * ranks, each with the row's batch, and reports the global throughput. The
 * scaling efficiency needs the one-rank throughput, which one invocation
 * cannot measure honestly on the same resources, so it takes a command pair:
 *   aigc-bench pipelines --json one.json
 *   mpirun -np W aigc-bench pipelines --baseline one.json
 * dp_efficiency = W-rank items/s / (W x one-rank items/s) for every row both
 * ran; null without --baseline. On one CPU host set OMP_NUM_THREADS to the
 * cores per rank. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ag_bench.h"
#include "runtime/backends/ag_smoke.h"
#include "runtime/core/ag_info.h"

#define AG_MAX_ROWS 256
#define AG_MAX_PIPELINES 8

static int usage(void) {
  fprintf(stderr,
          "usage: aigc-bench kernels [--device D] [--filter NAME] [--reps R] [--json FILE]\n"
          "       aigc-bench smoke [--device D] [--n ELEMENTS] [--reps R] [--json FILE]\n"
          "       aigc-bench graph [--device D] [--reps R] [--json FILE]\n"
          "       aigc-bench pipelines [--device D] [--filter NAME] [--steps N] [--small] "
          "[--full]\n"
          "                            [--torch PYTHON|none] [--baseline FILE] [--json FILE]\n");
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
  int op_width = 16; /* as wide as the longest row name, e.g. attention.d128.s16k.causal.bwd */
  for (int i = 0; i < n; i++)
    if ((int)strlen(rows[i].op) > op_width) op_width = (int)strlen(rows[i].op);
  printf("%-*s %-5s %-40s %9s %9s %7s  %-14s %7s\n", op_width, "op", "dtype", "shape", "ms", "perf",
         "%peak", "baseline", "ratio");
  for (int i = 0; i < n; i++) {
    const ag_bench_row *r = &rows[i];
    char perf[32], peak[16] = "-", ratio[16] = "-";
    if (r->tflops > 0) snprintf(perf, sizeof perf, "%.2f TF/s", r->tflops);
    else snprintf(perf, sizeof perf, "%.1f GB/s", r->gbps);
    if (r->pct_peak > 0) snprintf(peak, sizeof peak, "%.1f", r->pct_peak);
    if (r->ratio > 0) snprintf(ratio, sizeof ratio, "%.2fx", r->ratio);
    printf("%-*s %-5s %-40s %9.3f %9s %7s  %-14s %7s\n", op_width, r->op, r->dtype, r->shape,
           r->ms, perf, peak, r->baseline[0] ? r->baseline : "-", ratio);
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

/* ---- pipelines ------------------------------------------------------------ */

static cJSON *peer_json(const ag_bench_peer *p) {
  cJSON *j = cJSON_CreateObject();
  cJSON_AddBoolToObject(j, "available", p->available);
  if (!p->available) {
    cJSON_AddStringToObject(j, "note", p->note);
    return j;
  }
  cJSON_AddStringToObject(j, "version", p->version);
  cJSON_AddStringToObject(j, "mode", p->mode);
  cJSON_AddNumberToObject(j, "threads", p->threads);
  cJSON_AddNumberToObject(j, "ms", p->ms);
  cJSON_AddNumberToObject(j, "items_per_s", p->items_per_s);
  cJSON_AddNumberToObject(j, "peak_mb", p->peak_mb);
  cJSON_AddNumberToObject(j, "params", (double)p->params);
  return j;
}

/* efficiency < 0: unknown (null). */
static cJSON *pipeline_json(const ag_bench_pipeline *r, double efficiency) {
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "name", r->name);
  cJSON_AddStringToObject(j, "group", r->group);
  cJSON_AddStringToObject(j, "item", r->item);
  cJSON_AddStringToObject(j, "shape", r->shape);
  if (r->skipped[0]) {
    cJSON_AddStringToObject(j, "skipped", r->skipped);
    return j;
  }
  const struct {
    const char *key;
    double v;
  } f[] = {{"batch", (double)r->batch},
           {"seq", (double)r->seq},
           {"layers", (double)r->layers},
           {"width", (double)r->width},
           {"heads", (double)r->heads},
           {"vocab", (double)r->vocab},
           {"denoise_steps", (double)r->denoise_steps},
           {"rays", (double)r->rays},
           {"world", r->world},
           {"items", (double)r->items},
           {"params", (double)r->params},
           {"flop_params", (double)r->flop_params},
           {"warmup", r->warmup},
           {"steps", r->steps},
           {"ms", r->ms},
           {"items_per_s", r->items_per_s},
           {"rays_per_s", r->rays_per_s},
           {"flops_per_item", r->flops_per_item},
           {"tflops", r->tflops},
           {"mfu_bf16", r->mfu_bf16},
           {"mfu_f32", r->mfu_f32},
           {"peak_mb", r->peak_mb},
           {"ratio", r->ratio},
           {"ratio_compile", r->ratio_compile}};
  for (size_t k = 0; k < sizeof f / sizeof f[0]; k++) cJSON_AddNumberToObject(j, f[k].key, f[k].v);
  cJSON_AddBoolToObject(j, "peak_exact", r->peak_exact);
  cJSON_AddStringToObject(j, "memory", r->memory);
  cJSON_AddItemToObject(j, "torch", peer_json(&r->torch));
  cJSON_AddItemToObject(j, "torch_compile", peer_json(&r->torch_compile));
  if (efficiency >= 0)
    cJSON_AddNumberToObject(j, "dp_efficiency", efficiency);
  else
    cJSON_AddNullToObject(j, "dp_efficiency");
  return j;
}

static cJSON *pipelines_json(const char *device, const ag_bench_pipeline_peaks *pk,
                             const ag_bench_pipeline *rows, const double *eff, int n, int world) {
  cJSON *root = cJSON_CreateObject();
  cJSON_AddStringToObject(root, "device", device);
  cJSON_AddStringToObject(root, "command", "pipelines");
  cJSON_AddNumberToObject(root, "world", world);
  cJSON_AddNumberToObject(root, "peak_bf16_tflops", pk->bf16_tflops);
  cJSON_AddNumberToObject(root, "peak_f32_tflops", pk->f32_tflops);
  cJSON_AddStringToObject(root, "peak_source", pk->source);
  cJSON *list = cJSON_AddArrayToObject(root, "pipelines");
  for (int i = 0; i < n; i++) cJSON_AddItemToArray(list, pipeline_json(&rows[i], eff[i]));
  return root;
}

/* "12.3%", or "-" when unknown. */
static const char *pct_text(double v, char *buf, size_t len) {
  if (v > 0)
    snprintf(buf, len, "%.1f%%", v);
  else
    snprintf(buf, len, "-");
  return buf;
}

static void print_pipeline(const ag_bench_pipeline *r, double eff) {
  if (r->skipped[0]) {
    printf("%-10s %-40s not run: %s\n", r->name, r->shape, r->skipped);
    return;
  }
  char ours[32], theirs[32] = "-", rat[16] = "-", tf[16] = "-", b16[16], f32[16], mem[24],
                 tmem[16] = "-", e[16] = "";
  snprintf(ours, sizeof ours, "%.0f %s/s", r->items_per_s, r->item);
  if (r->torch.available) {
    snprintf(theirs, sizeof theirs, "%.0f %s/s", r->torch.items_per_s, r->item);
    snprintf(rat, sizeof rat, "%.2fx", r->ratio);
    snprintf(tmem, sizeof tmem, "%.0f", r->torch.peak_mb);
  }
  if (r->tflops > 0) snprintf(tf, sizeof tf, "%.3f", r->tflops);
  snprintf(mem, sizeof mem, "%s%.0f", r->peak_exact ? "" : ">=", r->peak_mb);
  if (eff >= 0) snprintf(e, sizeof e, " dp %.0f%%", 100.0 * eff);
  printf("%-10s %-40s %10.1f %14s %14s %7s %8s %8s %8s %9s %9s%s\n", r->name, r->shape, r->ms, ours,
         theirs, rat, tf, pct_text(r->mfu_bf16, b16, sizeof b16),
         pct_text(r->mfu_f32, f32, sizeof f32), mem, tmem, e);
}

/* The peer's line of row r: how it ran, or why not. */
static void print_peer(const ag_bench_pipeline *r, const ag_bench_peer *p, double ratio,
                       const char *label) {
  if (!p->available) {
    printf("%s %-10s not available: %s\n", label, r->name, p->note);
    return;
  }
  printf("%s %-10s %s, %s, %d threads, %d warm-up + median of %d steps: %.1f %s/s, %.2fx", label,
         r->name, p->version, p->mode, p->threads, r->warmup, r->steps, p->items_per_s, r->item,
         ratio);
  if (p->params) printf(", %lld parameters, as aigc's model", (long long)p->params);
  printf("\n");
}

/* A NeRF row's rates beside its items/s: steps (frames, for a row whose
 * item is a ray) per second and rays per second. */
static void print_rays(const ag_bench_pipeline *r) {
  const char *step = strcmp(r->item, "ray") == 0 ? "frame" : "step";
  printf("rates %-10s %.2f %ss/s, %.0f rays/s (%lld a %s), %.0f %s/s\n", r->name, 1e3 / r->ms, step,
         r->rays_per_s, (long long)r->rays, step, r->items_per_s, r->item);
}

static void print_pipelines(const ag_backend *be, const ag_bench_pipeline_peaks *pk,
                            const ag_bench_pipeline *rows, const double *eff, int n, int world) {
  printf(
      "pipelines: training steps (forward, backward, AdamW via ag_dp) and sampling calls on "
      "%s, %d rank%s, %d threads\n",
      be->name, world, world > 1 ? "s" : "", ag_cpu_threads());
  char f32[32] = "unknown";
  if (pk->f32_tflops > 0) snprintf(f32, sizeof f32, "%.2f TFLOP/s", pk->f32_tflops);
  if (pk->source[0])
    printf("MFU against %s: bf16 %.2f TFLOP/s, f32 %s\n", pk->source, pk->bf16_tflops, f32);
  printf("%-10s %-40s %10s %14s %14s %7s %8s %8s %8s %9s %9s\n", "row", "shape", "ms/step", "aigc",
         "torch", "ratio", "TFLOP/s", "MFU bf16", "MFU f32", "aigc MB", "torch MB");
  for (int i = 0; i < n; i++) print_pipeline(&rows[i], eff[i]);
  for (int i = 0; i < n; i++) {
    const ag_bench_pipeline *r = &rows[i];
    if (r->skipped[0]) continue;
    print_peer(r, &r->torch, r->ratio, "torch");
    const ag_bench_peer *c = &r->torch_compile;
    if (c->available || c->note[0]) print_peer(r, c, r->ratio_compile, "torch.compile");
    if (r->rays_per_s > 0) print_rays(r);
  }
  printf(
      "ratio = torch ms / aigc ms (>1: aigc faster); a sampling row's step is one sampling call "
      "(every denoising step), its ratio that of images/s; a NeRF row's is a training step or a "
      "rendered frame. GPT FLOPs/token = 6N + 6LCT (llm.c), N = parameters without the wte/wpe "
      "tables; MB = rank 0's peak %s growth over the row "
      "(>=: a lower bound)\n",
      be->kind == AG_DEVICE_CUDA ? "allocator" : "RSS");
}

/* dp_efficiency of every row from a one-rank run's JSON (see the header);
 * -1 for rows the baseline lacks or did not run. */
static ag_status read_baseline(const char *path, const ag_bench_pipeline *rows, int n, int world,
                               double *eff) {
  for (int i = 0; i < n; i++) eff[i] = -1;
  if (!path) return AG_OK;
  FILE *f = fopen(path, "rb");
  if (!f) return ag_set_error(AG_ERR_IO, "cannot open baseline %s", path);
  static char text[1 << 20];
  size_t len = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[len] = '\0';
  cJSON *root = cJSON_Parse(text);
  const cJSON *w = cJSON_GetObjectItemCaseSensitive(root, "world");
  const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "pipelines");
  ag_status st = AG_OK;
  if (!cJSON_IsArray(list) || !cJSON_IsNumber(w))
    st = ag_set_error(AG_ERR_IO, "baseline %s is not an `aigc-bench pipelines` report", path);
  else if (w->valueint != 1)
    st = ag_set_error(AG_ERR_INVALID, "baseline %s is a %d-rank run; it must be one rank", path,
                      w->valueint);
  const cJSON *b;
  if (st == AG_OK) {
    cJSON_ArrayForEach(b, list) {
      const cJSON *name = cJSON_GetObjectItemCaseSensitive(b, "name");
      const cJSON *rate = cJSON_GetObjectItemCaseSensitive(b, "items_per_s");
      for (int i = 0; i < n && cJSON_IsString(name) && cJSON_IsNumber(rate); i++)
        if (!rows[i].skipped[0] && strcmp(rows[i].name, name->valuestring) == 0 &&
            rate->valuedouble > 0)
          eff[i] = rows[i].items_per_s / (world * rate->valuedouble);
    }
  }
  cJSON_Delete(root);
  return st;
}

typedef struct pipelines_cli {
  const char *device, *json, *baseline;
  ag_bench_pipeline_opts o;
} pipelines_cli;

/* 0, or usage()'s status for arguments it does not take. */
static int parse_pipelines(int argc, char **argv, pipelines_cli *c) {
  memset(c, 0, sizeof *c);
  const char *python = NULL;
  for (int i = 2; i < argc; i++) {
    if (strcmp(argv[i], "--small") == 0)
      c->o.small = 1;
    else if (strcmp(argv[i], "--full") == 0)
      c->o.full = 1;
    else if (i + 1 >= argc)
      return usage();
    else if (strcmp(argv[i], "--device") == 0)
      c->device = argv[++i];
    else if (strcmp(argv[i], "--json") == 0)
      c->json = argv[++i];
    else if (strcmp(argv[i], "--filter") == 0)
      c->o.filter = argv[++i];
    else if (strcmp(argv[i], "--baseline") == 0)
      c->baseline = argv[++i];
    else if (strcmp(argv[i], "--torch") == 0)
      python = argv[++i];
    else if (strcmp(argv[i], "--steps") == 0) {
      char *end;
      long v = strtol(argv[++i], &end, 10);
      if (*end || v < 1 || v > 100000) {
        fprintf(stderr, "aigc-bench: --steps %s: expected a whole number of steps >= 1\n", argv[i]);
        return 2;
      }
      c->o.steps = (int)v;
    } else
      return usage();
  }
  c->o.python = python && strcmp(python, "none") == 0 ? NULL : python ? python : "";
  return 0;
}

/* Rank 0 prints and writes the JSON; every rank runs the rows. */
static int run_pipelines(int argc, char **argv) {
  pipelines_cli c;
  int bad = parse_pipelines(argc, argv, &c);
  if (bad) return bad;
  ag_backend *be = NULL;
  char note[512];
  if (ag_backend_select(c.device, &be, note, sizeof note) != AG_OK) return fail();
  if (c.o.python && !c.o.python[0])
    c.o.python = be->kind == AG_DEVICE_CUDA ? "python3" : "/usr/bin/python3";
  ag_comm *comm = NULL;
  const ag_comm_opts co = {AG_COMM_AUTO, 0};
  if (ag_comm_open(be, &co, &comm) != AG_OK) return fail();
  const int rank = ag_comm_rank(comm), world = ag_comm_world(comm);
  if (rank == 0)
    printf("device: %s%s%s%s\n", be->name, note[0] ? " (" : "", note, note[0] ? ")" : "");
  static ag_bench_pipeline rows[AG_MAX_PIPELINES];
  double eff[AG_MAX_PIPELINES];
  ag_bench_pipeline_peaks peaks;
  int count = 0;
  ag_status st = ag_bench_pipelines(be, comm, &c.o, rows, AG_MAX_PIPELINES, &count, &peaks);
  if (st == AG_OK) st = read_baseline(c.baseline, rows, count, world, eff);
  if (st == AG_OK && rank == 0) {
    print_pipelines(be, &peaks, rows, eff, count, world);
    if (c.json) st = write_json(c.json, pipelines_json(be->name, &peaks, rows, eff, count, world));
  }
  int rc = st == AG_OK ? 0 : fail();
  ag_comm_close(comm);
  return rc;
}
int main(int argc, char **argv) {
  const char *device = NULL, *json = NULL, *filter = NULL;
  long long n = 1 << 22;
  int reps = 10;
  if (argc < 2) return usage();
  if (strcmp(argv[1], "pipelines") == 0) return run_pipelines(argc, argv);
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
