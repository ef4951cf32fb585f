/* ag_nerf.h - an Instant-NGP-style NeRF: a multiresolution hash grid and two
 * small MLPs, trained on packed ray samples from an occupancy grid.
 *
 * The field at a world point x in the scene box [-bound, bound]^3 and a
 * view direction d:
 *   h     = hash_grid((x / bound + 1) / 2)        "grid.table" [L, T, F]
 *   g     = W2 relu(W1 h)                         "density.fc1/fc2", no biases
 *   sigma = trunc_exp(g[0])                       density
 *   rgb   = sigmoid(V3 relu(V2 relu(V1 [g, sh(d)])))   "color.fc1/2/3"
 * with sh the degree-4 spherical harmonics (16 values) and g its 16
 * geometry features, as Instant-NGP's NeRF network.
 *
 * Rendering a batch of rays is one graph: ray marching through the
 * occupancy bitfield into at most `capacity` packed samples (a ray's
 * samples are the dt-segments whose midpoints lie in occupied cells), the
 * field on every sample row, and front-to-back compositing over a
 * background colour (early termination at transmittance 1e-4). The graph
 * has fixed shapes; a step's rays vary in number by giving the unused
 * ones an origin that misses the box (no samples, the background).
 *
 * The occupancy grid holds a density per cell of a G^3 grid over the box,
 * updated every 16 steps as max(decay * old, fresh density at a jittered
 * point of the cell) and thresholded into the bitfield the march reads. */
#ifndef AG_NERF_H
#define AG_NERF_H

#include "models/ag_layers.h"
#include "models/nerf/ag_nerf_scene.h"
#include "runtime/ops/encoding.h"
#include "runtime/ops/volume.h"
#include "runtime/sched/ag_sched.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AG_NERF_KIND "nerf"

typedef struct ag_nerf_config {
  float bound;             /* the box is [-bound, bound]^3 */
  ag_hash_grid_args grid;  /* levels, features, table, resolutions */
  int64_t hidden;          /* width of both MLPs */
  int64_t geo_features;    /* density MLP outputs: the density logit first */
  int64_t occ_res;         /* G: occupancy cells per axis */
  int64_t diagonal_steps;  /* dt = the box diagonal / diagonal_steps */
  int64_t max_ray_samples; /* samples per ray at most */
} ag_nerf_config;

/* Instant-NGP's network for a box of half-size `bound`: 16 levels of 2
 * features from resolution 16 to 2048 * bound, 64 wide MLPs, 16 geometry
 * features, 1024 steps along the diagonal, 128^3 occupancy; a table of 2^19
 * rows per level on a GPU and 2^16 on the CPU (`gpu` 0), which also halves
 * the steps and the occupancy resolution there. */
ag_nerf_config ag_nerf_default_config(float bound, int gpu);
/* AG_OK, or AG_ERR_INVALID naming the first field out of range. */
ag_status ag_nerf_check_config(const ag_nerf_config *c);
/* The march's step length. */
float ag_nerf_dt(const ag_nerf_config *c);

/* ---- the field (graph builders) ----------------------------------------- */

/* sigma [S] (f32) at world points pos f32 [S, 3]; *geo (may be NULL) gets
 * the geometry features [S, geo_features] the colour MLP reads. */
ag_tensor *ag_nerf_density(ag_graph *g, ag_params *p, const ag_nerf_config *c, ag_tensor *pos,
                           ag_tensor **geo);
/* sigma [S] and rgb [S, 3] (f32, in [0, 1]) at points pos [S, 3] seen
 * along unit directions dirs [S, 3]. */
ag_status ag_nerf_field(ag_graph *g, ag_params *p, const ag_nerf_config *c, ag_tensor *pos,
                        ag_tensor *dirs, ag_tensor **sigma, ag_tensor **rgb);
/* Creates every parameter (initialised from p's seed) without a graph. */
ag_status ag_nerf_init(ag_params *p, const ag_nerf_config *c);

/* ---- the occupancy grid ------------------------------------------------- */

typedef struct ag_nerf_occupancy {
  ag_tensor *density;  /* f32 [G, G, G], cell x + G (y + G z) */
  ag_tensor *bitfield; /* u8 [G^3 / 8], what the march reads */
  ag_tensor *points;   /* f32 [M, 3]: the cells' sample points of one update */
  ag_tensor *cells;    /* i32 [M] */
  ag_graph *g;         /* density at `points` */
  ag_sched *s;
  ag_tensor *sigma;
  float *host_points;
  int32_t *host_cells;
  int64_t batch; /* M */
} ag_nerf_occupancy;

/* A grid of c->occ_res^3 cells, every one occupied, with a density graph
 * over p for `batch` cells at a time. */
ag_status ag_nerf_occupancy_new(ag_params *p, const ag_nerf_config *c, int64_t batch,
                                ag_nerf_occupancy *o);
void ag_nerf_occupancy_free(ag_nerf_occupancy *o);
/* One update (Instant-NGP's): every density decays by `decay`, then each
 * of `count` cells (all when `all`, in batches; else drawn at random) takes
 * the max of it and the field's density at a jittered point of the cell;
 * the bitfield is rebuilt with the threshold min(mean, 0.01 / dt). Cell
 * draws and jitter are Philox streams of (seed, update). */
ag_status ag_nerf_occupancy_update(ag_nerf_occupancy *o, const ag_nerf_config *c, int all,
                                   uint64_t seed, int64_t update, float decay);
/* The fraction of occupied cells. */
ag_status ag_nerf_occupancy_fraction(const ag_nerf_occupancy *o, double *fraction);

/* ---- rendering ------------------------------------------------------------ */

/* A planned graph rendering `rays` rays at a time. */
typedef struct ag_nerf_renderer ag_nerf_renderer;
ag_status ag_nerf_renderer_new(ag_params *p, const ag_nerf_config *c, ag_tensor *bitfield,
                               int64_t rays, ag_nerf_renderer **out);
void ag_nerf_renderer_free(ag_nerf_renderer *r);
/* aa x aa rays a pixel, one through the centre of each of its aa x aa
 * sub-pixels, averaged (anti-aliasing, as the scenes' references are
 * made); 1, the default, is one ray through the pixel's centre. */
void ag_nerf_renderer_set_aa(ag_nerf_renderer *r, int aa);
/* The camera's image over background bg: rgb [h * w * 3] in [0, 1] and
 * opacity [h * w] (either may be NULL); depth likewise (may be NULL).
 * Every ray gets all its samples: a batch that fills the capacity is cut
 * after its last complete ray and the rest go into the next. *samples (may
 * be NULL) gets the samples marched. */
ag_status ag_nerf_render_view(ag_nerf_renderer *r, const ag_nerf_camera *cam, const float bg[3],
                              float *rgb, float *opacity, float *depth, int64_t *samples);

/* n cameras of w x h pixels (NeRF-synthetic's field of view, 0.6911 rad)
 * evenly around the z axis at `radius` from the origin and `elevation`
 * radians above the xy plane, looking at the origin, z up. */
void ag_nerf_orbit(int n, int w, int h, float radius, float elevation, ag_nerf_camera *cams);
/* An RGBA frame [h * w * 4] from a render over a black background: alpha
 * the opacity, colour un-premultiplied (straight alpha, as the scenes). */
void ag_nerf_to_rgba(const float *rgb, const float *opacity, int64_t n, uint8_t *rgba);

/* PSNR (dB) and SSIM (11x11 Gaussian window, sigma 1.5, on each channel,
 * averaged) of rgb [h * w * 3] against a reference, both in [0, 1]. */
double ag_nerf_psnr(const float *a, const float *b, int64_t n);
double ag_nerf_ssim(const float *a, const float *b, int w, int h);
/* The reference of a view: the scene's RGBA over bg, in [0, 1]. */
void ag_nerf_reference(const ag_image *img, const float bg[3], float *rgb);

/* ---- training ------------------------------------------------------------- */

typedef struct ag_nerf_train_opts {
  int64_t steps;          /* in all, those of a resumed run included */
  int64_t until;          /* > 0: stop after this many steps (saving), to resume later */
  int64_t target_samples; /* samples per step the ray count adapts to */
  int64_t max_rays;       /* rays per step at most (the graph's rays) */
  float lr;               /* Adam, betas (0.9, 0.99), eps 1e-15 */
  int64_t warmup;         /* LR warm-up steps; then x0.33 at 1/2, 3/4 and 9/10 */
  int64_t occ_interval;   /* steps between occupancy updates */
  int64_t occ_warmup;     /* steps during which every cell is updated */
  uint64_t seed;
  int jitter; /* rays through random points of their pixels, not the centres */
  int progress;
  int64_t val_every;  /* steps between val-view PSNRs on the progress line (0: none) */
  int64_t save_every; /* steps between checkpoints to `out` (0: at the end only) */
  const char *out;    /* NULL, or the checkpoint written: the model and Adam's state */
  const char *resume; /* NULL, or such a checkpoint of the same config to continue */
} ag_nerf_train_opts;

/* Settings for `gpu` or the CPU (2^18 or 2^14 samples per step), a val
 * PSNR every 500 steps, no checkpoint. */
ag_nerf_train_opts ag_nerf_default_train_opts(int gpu);

typedef struct ag_nerf_train_result {
  int64_t resumed_at;           /* the step a resumed run began at (0: a fresh one) */
  int64_t steps, rays, samples; /* steps done in all; rays and samples of this run */
  double seconds, first_loss, last_loss, val_psnr;
  double occupied; /* fraction of occupied cells at the end */
} ag_nerf_train_result;

/* A trained model: its config, weights and occupancy grid. */
typedef struct ag_nerf_model {
  ag_nerf_config c;
  ag_params *p;
  ag_nerf_occupancy occ;
} ag_nerf_model;

void ag_nerf_model_free(ag_nerf_model *m);

/* What ag_nerf_evaluate measured: PSNR and SSIM as means over the views. */
typedef struct ag_nerf_eval {
  int views;
  double psnr, ssim;
  double seconds;  /* rendering and measuring */
  int64_t samples; /* marched, over every view */
} ag_nerf_eval;

/* Every view of scene s rendered over white (aa x aa rays a pixel, see
 * ag_nerf_renderer_set_aa) and measured against its image (the
 * NeRF-synthetic protocol: white background, sRGB values as stored). */
ag_status ag_nerf_evaluate(const ag_nerf_model *m, const ag_nerf_scene *s, int aa,
                           ag_nerf_eval *out);

/* Trains a model on the scene's train split (val: the view for the PSNRs,
 * may be NULL) on backend be: a new one, or o->resume's, continued where it
 * stopped. Every step's rays are a function of (seed, step) and the rays
 * per step are saved, so a run stopped and resumed gives the same weights
 * as one run. Deterministic on the CPU; on CUDA when c->grid.deterministic
 * (the hash grid's backward adds in fixed point, the only step of a
 * training step whose order of additions varies). */
ag_status ag_nerf_train(ag_backend *be, const ag_nerf_config *c, const ag_nerf_train_opts *o,
                        const ag_nerf_scene *train, const ag_nerf_scene *val, ag_nerf_model *out,
                        ag_nerf_train_result *res);

/* ---- checkpoints ---------------------------------------------------------- */

/* A checkpoint holds the parameters, the occupancy densities as
 * "optim/occupancy/density" (state, not a parameter), and metadata "aigc.model" "nerf",
 * "aigc.config" (the config as JSON); a trainer's also Adam's state
 * ("optim/m/...", "optim/v/...", "optim.steps") and "nerf.rays", the next
 * step's ray count. ag_nerf_save writes the model alone. */

ag_status ag_nerf_save(const ag_nerf_model *m, const char *path);
ag_status ag_nerf_load(const char *path, ag_backend *be, ag_nerf_model *out);
/* The config of an open checkpoint (path names it in the errors), checked
 * field by field before anything is built from it. */
ag_status ag_nerf_read_config(const char *path, const ag_safetensors *st, ag_nerf_config *c);

#ifdef __cplusplus
}
#endif

#endif
