/* ag_bench.h - timing ops on a backend. Times are medians of repeated runs
 * after a warm-up. */
#ifndef AG_BENCH_H
#define AG_BENCH_H

#include "runtime/backends/ag_backend.h"
#include "runtime/dist/ag_comm.h"
#include "runtime/sched/ag_sched.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Median milliseconds of `reps` runs of run(ctx), each timed between two
 * events on the default stream, after `warmup` untimed runs, and the
 * fastest run (`best`, NULL: not wanted), which peaks are measured by.
 * `flush` (NULL: none) is overwritten before each timed run, untimed, to
 * evict a GPU's L2 cache. Outputs are left alone on failure. */
ag_status ag_bench_median_ms(ag_backend *be, ag_status (*run)(void *ctx), void *ctx, int warmup,
                             int reps, ag_tensor *flush, double *ms, double *best);

typedef struct ag_bench_row {
  char op[32];      /* row name, e.g. "gelu.bwd" */
  char kernel[32];  /* the aigc op it times */
  int backward;
  float f[4];       /* the op call's parameters, for peers that rerun it */
  int64_t i[8];
  char dtype[8];
  char shape[160];
  double ms;       /* median time per run */
  double bytes;    /* bytes each run moves at minimum (inputs + outputs once) */
  double gbps;     /* bytes / time, for memory-bound rows */
  double tflops;   /* for compute-bound rows */
  double pct_peak; /* of the device's peak (see ag_bench_peaks); 0 when unknown */
  char baseline[32];
  double ratio;    /* baseline time / our time (or our GB/s / roofline GB/s) */
} ag_bench_row;

/* What rows are measured against. On a GPU, %peak is of the spec sheet; on
 * the CPU, which has none the bench can trust, of peaks measured at start:
 * the copy bandwidth for memory-bound rows and, for products, the best GEMM
 * on the machine (the matmul op, i.e. oneDNN, on a large square product of
 * the row's dtype). */
typedef struct ag_bench_peaks {
  double copy_gbps;        /* device copy, read + write */
  double gemm_bf16_tflops; /* CPU only: measured */
  double gemm_f32_tflops;
  int64_t gemm_size;       /* the square product's side */
} ag_bench_peaks;

/* Every op with a bench case (optionally only names containing `filter`)
 * timed against its baseline, and the peaks they were measured against. */
ag_status ag_bench_kernels(ag_backend *be, const char *filter, int reps, ag_bench_row *rows,
                           int max, int *count, ag_bench_peaks *peaks);

/* One training step graph (forward + backward) timed under several
 * scheduler plans; see bench_graph.c. Times are 0 for plans not run. */
typedef struct ag_bench_graph {
  char name[32];  /* "classifier" or "transformer" */
  char item[8];   /* what a step processes: "img" or "tok" */
  char shape[96]; /* the dimensions, as text */
  /* seq is 0 for images, channels their channel count */
  int64_t batch, seq, channels, heads, layers, classes;
  int64_t items; /* images or tokens per step */
  double ms;          /* default plan, plain launches */
  double items_per_s; /* at ms */
  double no_plan_ms;  /* reuse = 0, inplace = 0 */
  double replay_ms;   /* default plan replaying a CUDA graph; 0 without capture */
  ag_sched_stats stats, no_plan_stats, replay_stats;
} ag_bench_graph;

/* The classifier and transformer training steps on `be`; writes up to
 * `max` results. */
ag_status ag_bench_graphs(ag_backend *be, int reps, ag_bench_graph *out, int max, int *count);

/* ---- pipelines: the real models' full training steps (bench_pipelines.c),
 * sampling calls (bench_generators.c) and NeRF rows (bench_nerf.c), in one
 * table ------------------------------------------------------------------ */

typedef struct ag_bench_pipeline_opts {
  const char *filter; /* rows whose name or group contains it; NULL: all */
  int steps;          /* timed steps or calls after the warm-up; 0: 3 on the CPU, 10 on CUDA */
  int small;          /* the quick rows only */
  int full;           /* the large rows and shapes on the CPU too (the default on CUDA) */
  const char *python; /* interpreter of the PyTorch peer; NULL: no peer */
} ag_bench_pipeline_opts;

/* The same step in PyTorch (bench/torch_peer_pipelines.py, for sampling
 * rows bench/torch_peer_generators.py, for NeRF rows
 * bench/torch_peer_nerf.py), run by the bench in the same invocation. */
typedef struct ag_bench_peer {
  int available;    /* it ran and reported a time */
  char note[160];   /* why not, when !available */
  char version[32]; /* torch.__version__ */
  char mode[64];    /* "eager, BLAS generic, AdamW", "torch.compile, fused AdamW" */
  int threads;
  double ms, items_per_s, peak_mb;
  int64_t params; /* the peer model's parameters; 0: not reported */
} ag_bench_peer;

typedef struct ag_bench_pipeline {
  char name[24], group[16];
  char item[8];                             /* what a step processes: "tok" or "img" */
  char shape[128];                          /* the dimensions, as text */
  char skipped[96];                         /* non-empty: not run, and why */
  int64_t batch;                            /* sequences or images per rank and step */
  int64_t seq, layers, width, heads, vocab; /* GPT rows; 0 for the others */
  int64_t denoise_steps;                    /* sampling rows: the sampler's steps per call */
  int64_t rays;                             /* NeRF rows: rays a step or frame over all ranks */
  int world;                                /* ranks */
  int64_t items;                            /* tokens or images per step over all ranks */
  int64_t params;                           /* every parameter */
  /* N of llm.c's FLOP count: the parameters without the token and position
   * embedding tables (lookups, no FLOPs); the untied head counts. 0: no
   * FLOP count for this row. */
  int64_t flop_params;
  int warmup, steps;
  double ms;                /* median step time (mean of the ranks' medians) */
  double items_per_s;       /* over all ranks */
  double rays_per_s;        /* NeRF rows; 0 for the others */
  double flops_per_item;    /* 6 N + 6 L C T per token; 0 without a count */
  double tflops;            /* achieved, over all ranks */
  double mfu_bf16, mfu_f32; /* % of the bf16 / f32 peak (ag_bench_pipeline_peaks); 0: unknown */
  /* Memory of this rank: on the CPU the growth of the process's peak RSS
   * over the row, on CUDA the allocator's; exact when the high-water mark
   * could be measured for the row alone (see bench_pipelines.c). */
  double peak_mb;
  int peak_exact;
  char memory[16]; /* "rss" or "allocator" */
  ag_bench_peer torch;
  double ratio; /* torch ms / aigc ms (> 1: aigc faster); 0 without the peer */
  /* Sampling rows: the same peer with its model under torch.compile (on
   * CUDA; torch is then eager), or a note saying why not. Training rows:
   * empty (their peer runs one mode, torch.mode says which). */
  ag_bench_peer torch_compile;
  double ratio_compile;
} ag_bench_pipeline;

/* What MFU is measured against, summed over the ranks: on CUDA the device's
 * dense bf16 spec (f32 unknown, 0); on the CPU the bench's measured GEMM
 * peaks (ag_bench_peaks), taken by every rank at the same time. */
typedef struct ag_bench_pipeline_peaks {
  double bf16_tflops, f32_tflops;
  char source[96];
} ag_bench_pipeline_peaks;

/* Times the pipeline rows that match o on `be`, data-parallel over `comm`
 * (each rank runs the row's batch: global = world x batch); writes up to
 * `max` rows, skipped ones included with their reason. An error when no row
 * matches the filter. The peaks are measured only for the training rows
 * (zeros, source "", when none runs). Collective. */
ag_status ag_bench_pipelines(ag_backend *be, ag_comm *comm, const ag_bench_pipeline_opts *o,
                             ag_bench_pipeline *rows, int max, int *count,
                             ag_bench_pipeline_peaks *peaks);

/* What the row families of `aigc-bench pipelines` share: whether the full
 * shapes run (on CUDA, and on the CPU with --full); whether a row passes
 * --filter (a substring of its name or its group; every row without one);
 * and appending a row's name to a comma-separated list of `used`
 * characters in names[len] (returns the new length). */
int ag_bench_full_shapes(const ag_backend *be, const ag_bench_pipeline_opts *o);
int ag_bench_row_matches(const char *name, const char *group, const char *filter);
size_t ag_bench_name_append(char *names, size_t len, size_t used, const char *name);

/* How many sampling rows (bench_generators.c) match o->filter on `be`
 * (their names depend on the device and --full); `names` gets every
 * sampling row's name, comma-separated. */
int ag_bench_generators_matching(const ag_backend *be, const ag_bench_pipeline_opts *o,
                                 char *names, size_t len);
/* Times them, as ag_bench_pipelines does the training rows, appending to
 * rows[*count..max). Collective. */
ag_status ag_bench_generators(ag_backend *be, ag_comm *comm, const ag_bench_pipeline_opts *o,
                              ag_bench_pipeline *rows, int max, int *count);

/* The NeRF rows (bench_nerf.c), as the sampling rows: how many match
 * o->filter, with every NeRF row's name in `names`, comma-separated... */
int ag_bench_nerf_matching(const ag_bench_pipeline_opts *o, char *names, size_t len);
/* ...and timing them, appending to rows[*count..max). Collective. */
ag_status ag_bench_nerf(ag_backend *be, ag_comm *comm, const ag_bench_pipeline_opts *o,
                        ag_bench_pipeline *rows, int max, int *count);

/* What every kind of row shares (bench_pipelines.c). Memory of a row: see
 * bench_pipelines.c's header. */
typedef struct ag_bench_memory {
  int cpu;
  double base_mb, mark_mb; /* in use, and the high-water mark, at the start */
  int reset;               /* the mark was reset to `base` */
} ag_bench_memory;
void ag_bench_memory_start(ag_backend *be, ag_bench_memory *m);
/* r's peak_mb, peak_exact and memory. */
void ag_bench_memory_end(ag_backend *be, const ag_bench_memory *m, ag_bench_pipeline *r);
/* Runs `script` (a peer in bench/) with `args` for row r, whose ms and
 * items are set, and fills r->torch, r->torch_compile and their ratios. A
 * peer that cannot run, or whose model has another parameter count than
 * r->params (not the same architecture), is a note on the row, never an
 * error. Rank 0 only. */
void ag_bench_run_peer(ag_backend *be, const ag_bench_pipeline_opts *o, int world,
                       const char *script, const char *args, ag_bench_pipeline *r);

#ifdef __cplusplus
}
#endif

#endif
