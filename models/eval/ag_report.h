/* ag_report.h - the diffusion-vs-GAN comparison as files: compare.json (every
 * number), one sample-grid PNG per image source, and index.html, one
 * self-contained page (tables, inline SVG charts, the grids inlined) that a
 * researcher opens in a browser. Everything is written into a staging
 * directory beside the target and moved into place at the end, so a failed
 * run leaves nothing half-written. */
#ifndef AG_REPORT_H
#define AG_REPORT_H

#include "ag_metrics.h"
#include "models/ag_generator.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One image source measured against the real test set. */
typedef struct ag_report_row {
  char name[64];     /* "real train (anchor)", "diffusion ddim 25", "gan" */
  char kind[16];     /* "real", "ddpm", "gan" */
  int64_t n;         /* images measured */
  ag_estimate fid, kid;
  ag_prdc prdc;
  ag_class_coverage classes;
  int has_memo; /* memorisation is meaningless for the training images */
  ag_memorisation memo;
  double images_per_s; /* of the sampling that made them; 0 for real images */
  /* The sample grid: images n x h x w in [0, 1] (borrowed; NULL: none). */
  const float *grid_images;
  int64_t grid_n, grid_h, grid_w;
} ag_report_row;

/* A diffusion sampler at a step count: FID on a smaller sample, and speed. */
typedef struct ag_report_sweep {
  char sampler[32];
  int64_t steps, n, batch;
  ag_estimate fid;
  double images_per_s;
} ag_report_sweep;

/* Sampling throughput of one generator at one batch size. */
typedef struct ag_report_speed {
  char generator[16]; /* "ddpm" or "gan" */
  char sampler[32];   /* diffusion only */
  int64_t steps;      /* diffusion only */
  int64_t batch, images;
  double seconds, images_per_s;
} ag_report_speed;

typedef struct ag_report_generator {
  char path[512];
  ag_generator_info info;
} ag_report_generator;

typedef struct ag_report {
  char title[128];
  char classifier[512];
  double classifier_accuracy; /* < 0 unknown */
  int64_t feature_dim;
  char data[512];
  int64_t n_reference; /* real test images the FID and KID compare with */
  int64_t n;           /* images per source */
  uint64_t seed;
  char device[64];
  double seconds; /* the whole comparison */
  ag_kid_opts kid;
  ag_prdc_opts prdc;
  ag_fid_opts fid;
  ag_memo_opts memo;
  int64_t memo_reference; /* training images the memorisation check searches */
  ag_report_generator generators[2];
  int n_generators;
  ag_report_row rows[8];
  int n_rows;
  const ag_report_sweep *sweep;
  int n_sweep;
  /* The other sources' FID at the sweep's sample size (FID grows as the
   * sample shrinks), the sweep chart's reference lines. */
  struct {
    char name[64];
    ag_estimate fid;
    double images_per_s; /* 0: not a generator */
  } sweep_refs[4];
  int n_sweep_refs;
  const ag_report_speed *speed;
  int n_speed;
} ag_report;

/* Writes <dir>/compare.json, <dir>/grid_<row>.png per row with images and
 * <dir>/index.html. `dir` is created if missing (its parent must exist);
 * files already there under other names are left alone. */
ag_status ag_report_write(const ag_report *r, const char *dir);

/* The file name of row i's grid: "diffusion ddim 25" as row 1 is
 * "grid_1_diffusion_ddim_25.png". */
void ag_report_grid_name(int i, const char *row, char *out, size_t len);

#ifdef __cplusplus
}
#endif

#endif
