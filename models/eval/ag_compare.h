/* ag_compare.h - the diffusion-vs-GAN comparison, as `aigc compare` and
 * `aigc demo` run it: both generators sampled (classes balanced), measured
 * against the real test set on the features of aigc's Fashion-MNIST
 * classifier (ag_metrics.h), the diffusion model swept over samplers and step
 * counts, both timed at several batch sizes, and the whole written up by
 * ag_report_write. Every input is loaded and checked before the first image
 * is sampled. */
#ifndef AG_COMPARE_H
#define AG_COMPARE_H

#include <stdio.h>

#include "ag_report.h"
#include "runtime/backends/ag_backend.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AG_COMPARE_MAX_LIST 8

typedef struct ag_compare_opts {
  const char *diffusion, *gan; /* checkpoints (aigc train ddpm / gan) */
  const char *classifier;      /* whose features are measured (aigc train classifier) */
  const char *data;            /* the directory of the Fashion-MNIST IDX files */
  int64_t n;                   /* images per source in the main table */
  int64_t sweep_n;             /* images per sampler x steps point, <= n */
  int64_t memo_ref;            /* training images the memorisation check searches */
  uint64_t seed;               /* sampling, and every resampling of the metrics */
  float guidance;              /* classifier-free guidance; 0: conditional only */
  /* Samplers swept (the first in the main table), step counts (the largest
   * in the main table, the smallest timed) and batch sizes timed (the
   * largest samples the tables). */
  char samplers[AG_COMPARE_MAX_LIST][32];
  int64_t steps[AG_COMPARE_MAX_LIST], batches[AG_COMPARE_MAX_LIST];
  int n_samplers, n_steps, n_batches;
  FILE *log; /* a line per measurement as it finishes; NULL: none */
} ag_compare_opts;

/* n 256, sweep_n 64, memo_ref 10000, seed 1, guidance 3, samplers ddpm
 * (ancestral: the main table's), ddim and dpmpp_2m, steps 10 and 25,
 * batches 16, 64 and 128; the paths unset. */
ag_compare_opts ag_compare_default_opts(void);

/* The main table, for a caller that shows it (grid_images cleared). */
typedef struct ag_compare_summary {
  ag_report_row rows[3]; /* real training images (the anchor), diffusion, GAN */
  int n_rows;
  double seconds;
} ag_compare_summary;

/* Runs the comparison on `be` and writes the report into `out_dir`
 * (ag_report_write: staged, moved into place at the end). `summary` may be
 * NULL. */
ag_status ag_compare_run(ag_backend *be, const ag_compare_opts *o, const char *out_dir,
                         ag_compare_summary *summary);

/* The main table as fixed-width text, one row per source. */
void ag_compare_print_table(FILE *f, const ag_report_row *rows, int n_rows);

#ifdef __cplusplus
}
#endif

#endif
