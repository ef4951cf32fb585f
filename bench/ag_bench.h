/* ag_bench.h - timing ops on a backend. Times are medians of repeated runs
 * after a warm-up. */
#ifndef AG_BENCH_H
#define AG_BENCH_H

#include "runtime/backends/ag_backend.h"
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

#ifdef __cplusplus
}
#endif

#endif
