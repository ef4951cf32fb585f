/* Training a NeRF on a scene's views (see ag_nerf.h): one planned graph
 * renders a step's rays and takes the squared error against their pixels;
 * the number of rays adapts so the samples marched fill the graph's
 * sample capacity; the occupancy grid follows the field every few steps.
 * A run can stop and resume from its checkpoint: the rays of a step are a
 * function of (seed, step), and the ray count the adaptation reached is
 * saved with Adam's state. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/common/ag_philox.h"
#include "nerf_internal.h"
#include "runtime/core/ag_info.h"
#include "runtime/dist/ag_dp.h"
#include "runtime/train/ag_progress.h"

ag_nerf_train_opts ag_nerf_default_train_opts(int gpu) {
  return (ag_nerf_train_opts){.steps = gpu ? 5000 : 2000,
                              .target_samples = gpu ? 1 << 18 : 1 << 14,
                              .max_rays = gpu ? 1 << 16 : 1 << 12,
                              .lr = 1e-2f,
                              .warmup = 100,
                              .occ_interval = 16,
                              .occ_warmup = 256,
                              .seed = 1,
                              .progress = 1,
                              .val_every = 500};
}

void ag_nerf_model_free(ag_nerf_model *m) {
  ag_nerf_occupancy_free(&m->occ);
  ag_params_free(m->p);
  memset(m, 0, sizeof *m);
}

/* The val view's PSNR, rendered by a renderer planned once. */
typedef struct val_view {
  const ag_nerf_scene *scene; /* NULL: none */
  ag_nerf_renderer *r;
  float *rgb, *ref;
} val_view;

typedef struct trainer {
  const ag_nerf_config *c;
  const ag_nerf_train_opts *o;
  const ag_nerf_scene *scene;
  ag_nerf_model *m;
  val_view val;
  ag_comm *comm;
  ag_graph *g;
  ag_sched *s;
  ag_dp *dp;
  nerf_batch b;
  ag_tensor *target, *loss;
  float *origins, *dirs, *bg, *pixels; /* host copies of the inputs, [max_rays * 3] */
  int64_t rays;                        /* live rays this step */
} trainer;

static void trainer_close(trainer *t) {
  ag_nerf_renderer_free(t->val.r);
  free(t->val.rgb), free(t->val.ref);
  ag_dp_free(t->dp);
  ag_sched_free(t->s);
  ag_graph_free(t->g);
  if (t->comm) ag_comm_close(t->comm);
  free(t->origins), free(t->dirs), free(t->bg), free(t->pixels);
}

/* The capacity a step aims its samples at: 90% of it, so a step rarely
 * overflows (a ray past the capacity is cut; later ones get no samples). */
static int64_t aimed_samples(const ag_nerf_train_opts *o) { return o->target_samples * 9 / 10; }

static ag_status build(trainer *t) {
  const int64_t n = t->o->max_rays, shape[2] = {n, 3};
  const size_t bytes = sizeof(float) * 3 * (size_t)n;
  t->origins = malloc(bytes), t->dirs = malloc(bytes), t->bg = malloc(bytes);
  t->pixels = malloc(bytes);
  if (!t->origins || !t->dirs || !t->bg || !t->pixels ||
      !(t->g = ag_graph_new(ag_params_backend(t->m->p))))
    return ag_set_error(AG_ERR_OOM, "nerf train: out of host memory");
  AG_TRY(nerf_batch_build(t->g, t->m->p, t->c, t->m->occ.bitfield, n, t->o->target_samples, &t->b));
  t->target = ag_graph_input(t->g, "target", AG_F32, 2, shape);
  t->loss = ag_graph_output(t->g, ag_mse_loss(t->g, t->b.color, t->target));
  if (ag_graph_status(t->g) == AG_OK) ag_backward(t->g, t->loss);
  if (ag_graph_status(t->g) != AG_OK)
    return ag_set_error(ag_graph_status(t->g), "nerf train: %s", ag_graph_error(t->g));
  return ag_sched_new(t->g, NULL, &t->s);
}

static ag_status open_optimizer(trainer *t) {
  ag_optim_opts oo = ag_optim_defaults(AG_OPTIM_ADAMW);
  oo.lr = t->o->lr;
  oo.weight_decay = 0.0f;
  oo.beta2 = 0.99f;
  oo.eps = 1e-15f; /* Instant-NGP's: rarely touched hash entries still move */
  const ag_comm_opts co = {AG_COMM_SINGLE, 0};
  AG_TRY(ag_comm_open(ag_params_backend(t->m->p), &co, &t->comm));
  const ag_dp_opts d = {0};
  return ag_dp_new(t->comm, &oo, &d, t->m->p, t->g, t->s, &t->dp);
}

/* Four words of draw i of step s from stream k. */
static ag_philox4 draw(uint64_t seed, int64_t step, int64_t i, uint32_t k) {
  const ag_philox4 ctr = {{(uint32_t)i, (uint32_t)((uint64_t)i >> 32), (uint32_t)step, k}};
  return ag_philox4x32_10(ctr, (uint32_t)seed, (uint32_t)(seed >> 32));
}

/* Ray i of step s: a random pixel of a random view, over a random
 * background (so alpha is learnt, not baked in). The ray goes through the
 * pixel's centre, where the renderer casts it, unless o->jitter: a pixel's
 * value is its area's mean (the scenes average 4x4 rays), and a ray through
 * a random point of it is a noisy sample of that mean, which on a 64x64
 * textured scene costs 1.3 dB of test PSNR. */
static void live_ray(trainer *t, int64_t step, int64_t i) {
  const ag_philox4 r = draw(t->o->seed, step, i, 0), q = draw(t->o->seed, step, i, 1);
  const ag_nerf_scene *sc = t->scene;
  const int64_t view = r.v[0] % (uint32_t)sc->cameras.n;
  const ag_nerf_camera *cam = &sc->cameras.cams[view];
  const uint32_t px = r.v[1] % (uint32_t)cam->w, py = r.v[2] % (uint32_t)cam->h;
  const float jx = t->o->jitter ? ag_philox_u01(r.v[3]) : 0.5f;
  const float jy = t->o->jitter ? ag_philox_u01(q.v[3]) : 0.5f;
  ag_nerf_camera_ray(cam, (float)px + jx, (float)py + jy, t->origins + 3 * i, t->dirs + 3 * i);
  float *bg = t->bg + 3 * i;
  for (int k = 0; k < 3; k++) bg[k] = ag_philox_u01(q.v[k]);
  const ag_image *img = &sc->images[view];
  ag_nerf_composite(img->pixels + 4 * ((size_t)py * (size_t)img->w + px), bg, t->pixels + 3 * i);
}

static ag_status write_batch(trainer *t, int64_t step) {
  for (int64_t i = 0; i < t->o->max_rays; i++) {
    if (i < t->rays) {
      live_ray(t, step, i);
      continue;
    }
    nerf_dead_ray(t->c, t->origins + 3 * i, t->dirs + 3 * i);
    memset(t->bg + 3 * i, 0, 3 * sizeof(float));
    memset(t->pixels + 3 * i, 0, 3 * sizeof(float));
  }
  const size_t bytes = sizeof(float) * 3 * (size_t)t->o->max_rays;
  AG_TRY(ag_tensor_write(t->b.origins, t->origins, bytes));
  AG_TRY(ag_tensor_write(t->b.dirs, t->dirs, bytes));
  AG_TRY(ag_tensor_write(t->b.bg, t->bg, bytes));
  return ag_tensor_write(t->target, t->pixels, bytes);
}

/* A linear warm-up from 1%, then x0.33 at 1/2, 3/4 and 9/10 of the run
 * (nerfacc's Instant-NGP recipe). */
static float learning_rate(const ag_nerf_train_opts *o, int64_t step) {
  if (step < o->warmup) return o->lr * (0.01f + 0.99f * (float)step / (float)o->warmup);
  float lr = o->lr;
  if (2 * step >= o->steps) lr *= 0.33f;
  if (4 * step >= 3 * o->steps) lr *= 0.33f;
  if (10 * step >= 9 * o->steps) lr *= 0.33f;
  return lr;
}

/* The next step's rays: as many as this step's samples per ray say fill
 * the aim, within [64, max_rays]. */
static int64_t next_rays(const trainer *t, int64_t samples) {
  const double per_ray = samples > 0 ? (double)samples / (double)t->rays : 1.0;
  int64_t n = (int64_t)((double)aimed_samples(t->o) / (per_ray > 0.5 ? per_ray : 0.5));
  if (n < 64) n = 64;
  return n < t->o->max_rays ? n : t->o->max_rays;
}

static ag_status update_occupancy(trainer *t, int64_t step) {
  if (step % t->o->occ_interval) return AG_OK;
  const int all = step < t->o->occ_warmup;
  return ag_nerf_occupancy_update(&t->m->occ, t->c, all, t->o->seed, step / t->o->occ_interval,
                                  0.95f);
}

/* One step: its mean squared error over the live rays and the samples it
 * marched. */
static ag_status train_step(trainer *t, int64_t step, double *loss, int64_t *samples) {
  AG_TRY(update_occupancy(t, step));
  AG_TRY(write_batch(t, step));
  AG_TRY(ag_sched_run(t->s));
  AG_TRY(ag_dp_step(t->dp, learning_rate(t->o, step)));
  float l = 0;
  int32_t total = 0;
  AG_TRY(ag_tensor_read(t->loss, &l, sizeof l));
  AG_TRY(ag_tensor_read(t->b.samples.total, &total, sizeof total));
  *loss = (double)l * (double)t->o->max_rays / (double)t->rays; /* dead rays add 0 */
  *samples = total;
  return AG_OK;
}

/* The val view's PSNR over a white background. */
static ag_status val_psnr(trainer *t, double *psnr) {
  val_view *v = &t->val;
  const ag_nerf_camera *cam = &v->scene->cameras.cams[0];
  const int64_t n = (int64_t)cam->w * cam->h;
  const float white[3] = {1, 1, 1};
  if (!v->r) {
    v->rgb = malloc(sizeof(float) * 3 * (size_t)n), v->ref = malloc(sizeof(float) * 3 * (size_t)n);
    if (!v->rgb || !v->ref) return ag_set_error(AG_ERR_OOM, "nerf: out of host memory");
    ag_nerf_reference(&v->scene->images[0], white, v->ref);
    AG_TRY(ag_nerf_renderer_new(t->m->p, t->c, t->m->occ.bitfield, 4096, &v->r));
  }
  AG_TRY(ag_nerf_render_view(v->r, cam, white, v->rgb, NULL, NULL, NULL));
  *psnr = ag_nerf_psnr(v->rgb, v->ref, 3 * n);
  return AG_OK;
}

static int due(int64_t done, int64_t every, int64_t end) {
  return done == end || (every > 0 && done % every == 0);
}

/* After `done` steps: the checkpoint and the val PSNR when they are due. */
static ag_status after_step(trainer *t, int64_t done, int64_t end, ag_progress *prog) {
  if (t->o->out && due(done, t->o->save_every, end))
    AG_TRY(nerf_save_training(t->dp, t->m, t->rays, t->o->out));
  /* val_every 0 turns the val PSNR off, also at the end. */
  const int val_due = t->o->val_every > 0 && due(done, t->o->val_every, end);
  if (!val_due || !t->val.scene || !t->o->progress) return AG_OK;
  double psnr = 0;
  AG_TRY(val_psnr(t, &psnr));
  ag_progress_note(prog, "val %.2f dB", psnr);
  return AG_OK;
}

/* The step a run stops after: o->until when it comes first. */
static int64_t last_step(const ag_nerf_train_opts *o) {
  return o->until > 0 && o->until < o->steps ? o->until : o->steps;
}

static ag_status train_loop(trainer *t, ag_nerf_train_result *res) {
  ag_progress prog = {0};
  const int64_t end = last_step(t->o);
  if (t->o->progress) ag_progress_begin(&prog, "train nerf", t->o->steps, "ray", stderr);
  prog.step = res->resumed_at; /* the rate counts this run's steps */
  for (int64_t step = res->resumed_at; step < end; step++) {
    int64_t samples = 0;
    AG_TRY(train_step(t, step, &res->last_loss, &samples));
    if (!isfinite(res->last_loss))
      return ag_set_error(AG_ERR_INVALID, "nerf train: the loss diverged at step %lld",
                          (long long)step);
    if (step == res->resumed_at) res->first_loss = res->last_loss;
    res->steps = step + 1;
    res->rays += t->rays;
    res->samples += samples;
    const int64_t rays = t->rays;
    t->rays = next_rays(t, samples);
    AG_TRY(after_step(t, step + 1, end, &prog));
    if (t->o->progress) ag_progress_update(&prog, step + 1, rays, (float)res->last_loss);
  }
  if (t->o->progress) ag_progress_end(&prog);
  return ag_nerf_occupancy_fraction(&t->m->occ, &res->occupied);
}

static ag_status check_request(const ag_nerf_config *c, const ag_nerf_train_opts *o,
                               const ag_nerf_scene *train) {
  AG_TRY(ag_nerf_check_config(c));
  if (o->steps < 1 || o->max_rays < 1 || o->target_samples < c->max_ray_samples || !(o->lr > 0) ||
      o->occ_interval < 1 || o->warmup < 0 || o->until < 0 || o->val_every < 0 || o->save_every < 0)
    return ag_set_error(AG_ERR_INVALID,
                        "nerf train: steps %lld, rays %lld, samples %lld (>= %lld per ray), lr %g, "
                        "occupancy every %lld steps: positive values expected",
                        (long long)o->steps, (long long)o->max_rays, (long long)o->target_samples,
                        (long long)c->max_ray_samples, o->lr, (long long)o->occ_interval);
  if (train->cameras.n < 1) return ag_set_error(AG_ERR_INVALID, "nerf train: no training views");
  return AG_OK;
}

/* ---- a fresh model or a resumed one ---------------------------------------- */

static ag_status new_model(trainer *t, ag_backend *be, const ag_nerf_config *c) {
  t->m->c = *c;
  if (!(t->m->p = ag_params_new(be, t->o->seed)))
    return ag_set_error(AG_ERR_OOM, "nerf: out of host memory");
  AG_TRY(ag_nerf_init(t->m->p, c));
  AG_TRY(ag_nerf_occupancy_new(t->m->p, c, t->o->target_samples, &t->m->occ));
  t->rays = t->o->max_rays < 1024 ? t->o->max_rays : 1024;
  return AG_OK;
}

static ag_status check_same_config(const char *path, const ag_nerf_config *saved,
                                   const ag_nerf_config *c) {
  char *a = nerf_config_json(saved), *b = nerf_config_json(c);
  ag_status st = a && b ? AG_OK : ag_set_error(AG_ERR_OOM, "nerf: out of host memory");
  if (st == AG_OK && strcmp(a, b) != 0)
    st = ag_set_error(
        AG_ERR_INVALID,
        "resume: %s holds a nerf model of another config (checkpoint %s, this run %s)", path, a, b);
  free(a), free(b);
  return st;
}

/* The checkpoint's weights, occupancy grid and ray count; its optimizer
 * state follows once the optimizer exists (resume_optimizer). */
static ag_status resumed_model(trainer *t, ag_backend *be, const ag_nerf_config *c,
                               const ag_safetensors *st) {
  const char *path = t->o->resume;
  AG_TRY(nerf_load_model(path, st, be, t->o->target_samples, t->m));
  AG_TRY(check_same_config(path, &t->m->c, c));
  t->m->c = *c; /* what the file does not hold: the hash grid's deterministic flag */
  AG_TRY(nerf_read_rays(path, st, &t->rays));
  if (t->rays > t->o->max_rays) t->rays = t->o->max_rays;
  return AG_OK;
}

static ag_status resume_optimizer(trainer *t, const ag_safetensors *st, int64_t *done) {
  const char *path = t->o->resume;
  if (ag_dp_load(t->dp, st) != AG_OK) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", ag_last_error());
    return ag_set_error(AG_ERR_INVALID, "resume: %s: %s", path, msg);
  }
  *done = ag_dp_steps(t->dp);
  if (*done >= last_step(t->o))
    return ag_set_error(AG_ERR_INVALID, "resume: %s has done %lld steps already, --steps is %lld",
                        path, (long long)*done, (long long)last_step(t->o));
  return AG_OK;
}

static ag_status run(trainer *t, ag_backend *be, const ag_nerf_config *c,
                     ag_nerf_train_result *res) {
  ag_safetensors *st = NULL;
  if (t->o->resume && !(st = ag_st_open(t->o->resume))) return AG_ERR_IO;
  ag_status s = st ? resumed_model(t, be, c, st) : new_model(t, be, c);
  if (s == AG_OK) s = build(t);
  if (s == AG_OK) s = open_optimizer(t);
  if (s == AG_OK && st) s = resume_optimizer(t, st, &res->resumed_at);
  ag_st_close(st);
  if (s == AG_OK) s = train_loop(t, res);
  if (s == AG_OK && t->val.scene) s = val_psnr(t, &res->val_psnr);
  return s;
}

ag_status ag_nerf_train(ag_backend *be, const ag_nerf_config *c, const ag_nerf_train_opts *o,
                        const ag_nerf_scene *train, const ag_nerf_scene *val, ag_nerf_model *out,
                        ag_nerf_train_result *res) {
  memset(out, 0, sizeof *out);
  memset(res, 0, sizeof *res);
  res->val_psnr = NAN;
  AG_TRY(check_request(c, o, train));
  trainer t = {.c = &out->c, .o = o, .scene = train, .m = out};
  if (val && val->cameras.n > 0) t.val.scene = val;
  const double t0 = ag_now_seconds();
  const ag_status st = run(&t, be, c, res);
  trainer_close(&t);
  res->seconds = ag_now_seconds() - t0;
  if (st != AG_OK) ag_nerf_model_free(out);
  return st;
}
