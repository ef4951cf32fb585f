/* The NeRF pipeline's commands, one section each with its options next to
 * its handler (aigc.c's table lists them):
 *   aigc make-scene NAME --out DIR   a procedural scene in the NeRF-synthetic
 *                                    layout (models/nerf/ag_nerf_make_scene.h)
 *   aigc train nerf --scene DIR      an Instant-NGP-style NeRF (ag_nerf.h)
 *   aigc eval nerf --checkpoint M    PSNR and SSIM on a scene's test views
 *   aigc render --checkpoint M       frames of a camera file or an orbit (or
 *                                    a job file of several), resumable, split
 *                                    over mpirun's ranks
 *   aigc export-mesh --checkpoint M  the iso-density surface as a coloured
 *                                    PLY (models/nerf/ag_nerf_mesh.h) */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aigc_cli.h"
#include "nerf_args.h"
#include "models/nerf/ag_nerf.h"
#include "models/nerf/ag_nerf_make_scene.h"
#include "models/nerf/ag_nerf_mesh.h"
#include "runtime/core/ag_info.h"
#include "runtime/dist/ag_comm.h"
#include "runtime/train/ag_progress.h"

/* ---- make-scene --------------------------------------------------------------- */

const char ag_cmd_make_scene_options[] =
    "  NAME                       the scene to make (--list shows the catalogue)\n"
    "  --out DIR                  the scene directory (created; its parent must exist)\n"
    "  --res N                    image side in pixels (128)\n"
    "  --views TRAIN,VAL,TEST     views of each split (100,10,20)\n"
    "  --aa N                     N x N jittered rays per pixel (4)\n"
    "  --seed N                   seed of the cameras and the jitter (1)\n"
    "  --list                     the scenes, one a line; nothing is made\n";

typedef struct make_scene_args {
  const char *name, *out, *views;
  int list;
  ag_nerf_make_opts opts;
} make_scene_args;

static int parse_make_scene(const ag_cli *cli, int argc, char **argv, make_scene_args *m) {
  long long res = m->opts.res, aa = m->opts.aa, seed = (long long)m->opts.seed;
  ag_cli_args a = ag_cli_args_of(cli, argc, argv);
  while (ag_cli_next(&a)) {
    if (!m->name && argv[a.i][0] != '-') { /* the one positional word: taken here */
      m->name = argv[a.i];
      a.taken = 1;
    }
    ag_cli_text(&a, "--out", &m->out);
    ag_cli_text(&a, "--views", &m->views);
    ag_cli_int(&a, "--res", 4096, &res);
    ag_cli_int(&a, "--aa", 16, &aa);
    ag_cli_int(&a, "--seed", LLONG_MAX, &seed);
    ag_cli_flag(&a, "--list", &m->list);
  }
  if (a.rc || m->list) return a.rc;
  if (m->views && !ag_nerf_parse_views(m->views, m->opts.views))
    return ag_cli_usage_error(cli, "--views '%s': three counts TRAIN,VAL,TEST expected", m->views);
  if (!m->name || ag_nerf_scene_kind_check(m->name) != AG_OK) {
    char why[512];
    snprintf(why, sizeof why, "%s", m->name ? ag_last_error() : "a scene NAME is needed");
    return ag_cli_usage_error(cli, "%s", why);
  }
  if (!m->out) return ag_cli_usage_error(cli, "--out DIR is needed");
  m->opts.res = (int)res;
  m->opts.aa = (int)aa;
  m->opts.seed = (uint64_t)seed;
  return AG_EXIT_OK;
}

static void print_catalogue(void) {
  int n = 0;
  const ag_nerf_scene_kind *k = ag_nerf_scene_kinds(&n);
  for (int i = 0; i < n; i++) printf("%-10s %s\n", k[i].name, k[i].description);
}

int ag_cmd_make_scene(const ag_cli *cli, int argc, char **argv) {
  make_scene_args m = {.opts = ag_nerf_make_default_opts()};
  const int rc = parse_make_scene(cli, argc, argv, &m);
  if (rc != AG_EXIT_OK) return rc;
  if (m.list) {
    print_catalogue();
    return AG_EXIT_OK;
  }
  const ag_nerf_make_opts *o = &m.opts;
  printf("scene:             %s, %d train / %d val / %d test views at %dx%d, %d rays per pixel\n",
         m.name, o->views[0], o->views[1], o->views[2], o->res, o->res, o->aa * o->aa);
  fflush(stdout);
  const double t0 = ag_now_seconds();
  if (ag_nerf_make_scene(m.name, m.out, o) != AG_OK) return AG_EXIT_RUNTIME;
  printf("made:              %s in %.1f s\n", m.out, ag_now_seconds() - t0);
  return AG_EXIT_OK;
}

/* ---- train nerf ---------------------------------------------------------------- */

#define DEFAULT_CHECKPOINT "nerf.safetensors"

const char ag_cmd_train_nerf_options[] =
    "  --scene DIR                a scene in the NeRF-synthetic layout (required)\n"
    "  --steps N                  training steps in all, a resumed run's included (2000 on the\n"
    "                             CPU, 5000 on a GPU)\n"
    "  --samples N                samples per step the rays adapt to (2^14 CPU, 2^18 GPU)\n"
    "  --rays N                   rays per step at most (2^12 CPU, 2^16 GPU)\n"
    "  --table N                  log2 of the hash table rows per level (16 CPU, 19 GPU)\n"
    "  --max-res N                the finest grid level's resolution over the box (2048 x bound)\n"
    "  --lr X                     Adam learning rate (0.01)\n"
    "  --seed N                   seed of the weights and the rays (1)\n"
    "  --jitter                   rays through random points of their pixels (their centres)\n"
    "  --out FILE                 the checkpoint to write (" DEFAULT_CHECKPOINT
    ")\n"
    "  --save-every N             also write it every N steps, to resume from (at the end only)\n"
    "  --resume FILE              continue a checkpoint of this command with the same model\n"
    "  --val-every N              steps between val-view PSNRs on the progress line (500)\n"
    "  --deterministic            the same result every run on a GPU too (the hash grid's\n"
    "                             backward adds in fixed point; the CPU always is)\n"
    "  --quiet                    no progress line\n";

typedef struct train_args {
  const char *scene, *out, *resume;
  long long table, max_res; /* 0: the defaults */
  int deterministic;
  ag_nerf_train_opts opts;
} train_args;

static int parse_train(const ag_cli *cli, int argc, char **argv, train_args *t) {
  long long steps = 0, samples = 0, rays = 0, seed = (long long)t->opts.seed;
  long long val_every = t->opts.val_every, save_every = 0;
  int quiet = 0;
  ag_cli_args a = ag_cli_args_of(cli, argc, argv);
  while (ag_cli_next(&a)) {
    ag_cli_text(&a, "--scene", &t->scene);
    ag_cli_text(&a, "--out", &t->out);
    ag_cli_text(&a, "--resume", &t->resume);
    ag_cli_int(&a, "--steps", INT_MAX, &steps);
    ag_cli_int(&a, "--samples", INT_MAX, &samples);
    ag_cli_int(&a, "--rays", INT_MAX, &rays);
    ag_cli_int(&a, "--table", AG_HASH_GRID_MAX_LOG2_TABLE, &t->table);
    ag_cli_int(&a, "--max-res", 1 << 20, &t->max_res);
    ag_cli_int(&a, "--seed", LLONG_MAX, &seed);
    ag_cli_int(&a, "--val-every", INT_MAX, &val_every);
    ag_cli_int(&a, "--save-every", INT_MAX, &save_every);
    ag_cli_float(&a, "--lr", &t->opts.lr);
    ag_cli_flag(&a, "--deterministic", &t->deterministic);
    ag_cli_flag(&a, "--jitter", &t->opts.jitter);
    ag_cli_flag(&a, "--quiet", &quiet);
  }
  if (a.rc) return a.rc;
  if (!t->scene) return ag_cli_usage_error(cli, "--scene DIR is required");
  if (t->max_res && t->max_res <= 16)
    return ag_cli_usage_error(cli, "--max-res %lld: above the coarsest level's 16 expected",
                              t->max_res);
  if (steps) t->opts.steps = steps;
  if (samples) t->opts.target_samples = samples;
  if (rays) t->opts.max_rays = rays;
  t->opts.seed = (uint64_t)seed;
  t->opts.progress = !quiet;
  t->opts.val_every = val_every;
  t->opts.save_every = save_every;
  t->opts.out = t->out;
  t->opts.resume = t->resume;
  return AG_EXIT_OK;
}

/* The box of a scene: NeRF-synthetic's [-1.5, 1.5]^3 times its aabb_scale. */
static ag_nerf_config config_for(const ag_nerf_scene *s, const ag_backend *be,
                                 const train_args *t) {
  ag_nerf_config c =
      ag_nerf_default_config(1.5f * s->cameras.aabb_scale, be->kind == AG_DEVICE_CUDA);
  if (t->table) c.grid.log2_table = t->table;
  if (t->max_res)
    c.grid.per_level_scale =
        ag_hash_grid_per_level_scale(c.grid.base_res, (float)t->max_res, c.grid.levels);
  c.grid.deterministic = t->deterministic;
  return c;
}

static void print_plan(const train_args *t, const ag_nerf_config *c, const ag_nerf_scene *s) {
  printf("scene:             %s (%d training views of %dx%d)\n", t->scene, s->cameras.n,
         s->cameras.cams[0].w, s->cameras.cams[0].h);
  printf(
      "model:             hash grid %lld levels x %lld features, 2^%lld rows, MLPs %lld wide; "
      "occupancy %lld^3, box [-%g, %g]^3\n",
      (long long)c->grid.levels, (long long)c->grid.features, (long long)c->grid.log2_table,
      (long long)c->hidden, (long long)c->occ_res, c->bound, c->bound);
  printf("training:          %lld steps of %lld samples (at most %lld rays), Adam lr %g%s\n",
         (long long)t->opts.steps, (long long)t->opts.target_samples, (long long)t->opts.max_rays,
         t->opts.lr, t->deterministic ? ", deterministic" : "");
  fflush(stdout);
}

static int train_scene(const train_args *t, ag_backend *be) {
  ag_nerf_scene train = {0}, val = {0};
  ag_nerf_model m = {0};
  ag_nerf_train_result r;
  int rc = ag_nerf_scene_load(t->scene, "train", &train) == AG_OK ? AG_EXIT_OK : AG_EXIT_RUNTIME;
  if (rc == AG_EXIT_OK && ag_nerf_scene_load(t->scene, "val", &val) != AG_OK) rc = AG_EXIT_RUNTIME;
  const ag_nerf_config c = rc == AG_EXIT_OK ? config_for(&train, be, t) : (ag_nerf_config){0};
  if (rc == AG_EXIT_OK) print_plan(t, &c, &train);
  if (rc == AG_EXIT_OK && ag_nerf_train(be, &c, &t->opts, &train, &val, &m, &r) != AG_OK)
    rc = AG_EXIT_RUNTIME;
  if (rc == AG_EXIT_OK) {
    if (r.resumed_at) printf("resumed:           at step %lld\n", (long long)r.resumed_at);
    printf(
        "trained:           %lld steps in %.1f s (%.0f rays/s, %.0f samples/s), last loss %.5f\n",
        (long long)(r.steps - r.resumed_at), r.seconds, (double)r.rays / r.seconds,
        (double)r.samples / r.seconds, r.last_loss);
    printf("occupancy:         %.1f%% of the cells\n", 100 * r.occupied);
    printf("val PSNR:          %.2f dB (view 0, white background)\n", r.val_psnr);
    printf("saved:             %s (step %lld)\n", t->out, (long long)r.steps);
  }
  ag_nerf_model_free(&m);
  ag_nerf_scene_free(&train);
  ag_nerf_scene_free(&val);
  return rc;
}

int ag_cmd_train_nerf(const ag_cli *cli, int argc, char **argv) {
  train_args t = {.out = DEFAULT_CHECKPOINT};
  ag_backend *be = NULL;
  /* the device first: the defaults the options override are its own */
  int rc = ag_cli_use_device(cli, &be);
  if (rc != AG_EXIT_OK) return rc;
  t.opts = ag_nerf_default_train_opts(be->kind == AG_DEVICE_CUDA);
  rc = parse_train(cli, argc, argv, &t);
  if (rc == AG_EXIT_OK) rc = ag_cli_check_writable_dir(t.out);
  if (rc == AG_EXIT_OK) rc = train_scene(&t, be);
  return rc;
}

/* ---- eval nerf ----------------------------------------------------------------- */

const char ag_cmd_eval_nerf_options[] =
    "  --checkpoint FILE          the model (" DEFAULT_CHECKPOINT
    ")\n"
    "  --scene DIR                the scene whose test views are measured (required)\n"
    "  --split NAME               the views to measure (test)\n"
    "  --aa N                     N x N rays a pixel, averaged (1: the pixel's centre)\n";

static int evaluate(const ag_nerf_model *m, const ag_nerf_scene *s, const char *split, int aa) {
  ag_nerf_eval e;
  if (ag_nerf_evaluate(m, s, aa, &e) != AG_OK) return AG_EXIT_RUNTIME;
  printf("%s views:        %d, rendered in %.1f s (%.0f samples per view)\n", split, e.views,
         e.seconds, (double)e.samples / e.views);
  printf(
      "PSNR:              %.2f dB (mean over views; white background, sRGB, %dx%d rays a pixel)\n",
      e.psnr, aa, aa);
  printf("SSIM:              %.4f\n", e.ssim);
  return AG_EXIT_OK;
}

int ag_cmd_eval_nerf(const ag_cli *cli, int argc, char **argv) {
  const char *path = DEFAULT_CHECKPOINT, *dir = NULL, *split = "test";
  long long aa = 1;
  ag_cli_args a = ag_cli_args_of(cli, argc, argv);
  while (ag_cli_next(&a)) {
    ag_cli_text(&a, "--checkpoint", &path);
    ag_cli_text(&a, "--scene", &dir);
    ag_cli_text(&a, "--split", &split);
    ag_cli_int(&a, "--aa", 16, &aa);
  }
  if (a.rc) return a.rc;
  if (aa < 1) return ag_cli_usage_error(cli, "--aa %lld: 1..16 rays a pixel side expected", aa);
  if (!dir) return ag_cli_usage_error(cli, "--scene DIR is required");
  ag_backend *be = NULL;
  ag_nerf_model m = {0};
  ag_nerf_scene s = {0};
  int rc = ag_cli_use_device(cli, &be);
  if (rc == AG_EXIT_OK && ag_nerf_scene_load(dir, split, &s) != AG_OK) rc = AG_EXIT_RUNTIME;
  if (rc == AG_EXIT_OK && ag_nerf_load(path, be, &m) != AG_OK) rc = AG_EXIT_RUNTIME;
  if (rc == AG_EXIT_OK) rc = evaluate(&m, &s, split, (int)aa);
  ag_nerf_model_free(&m);
  ag_nerf_scene_free(&s);
  return rc;
}

/* ---- render -------------------------------------------------------------------- */

const char ag_cmd_render_options[] =
    "  --checkpoint FILE          the model (" DEFAULT_CHECKPOINT
    ")\n"
    "  --cameras FILE             the views: a transforms.json (w and h given)\n"
    "  --orbit N                  or N views around the z axis (radius 4, 30 degrees up)\n"
    "  --res WxH                  the orbit's frame size (128x128)\n"
    "  --frames A:B               only frames A .. B-1 (all)\n"
    "  --out DIR                  where frame_NNNN.png and manifest.json go (required)\n"
    "  --depth                    also depth_NNNN.png (grey: near to far over the box)\n"
    "  --aa N                     N x N rays a pixel, averaged (1: the pixel's centre)\n"
    "  --job FILE                 or several renders: a JSON {\"jobs\": [...]} of objects with\n"
    "                             the fields checkpoint, cameras | orbit, res, frames, out,\n"
    "                             depth, aa (as the options; paths relative to FILE's directory)\n"
    "  --quiet                    no progress line\n"
    "frames already in DIR are kept, so an interrupted job resumes;\n"
    "under `mpirun -np N` the frames are split over the ranks.\n";

static int parse_render(const ag_cli *cli, int argc, char **argv, ag_render_args *r,
                        const char **job) {
  ag_cli_args a = ag_cli_args_of(cli, argc, argv);
  while (ag_cli_next(&a)) {
    ag_cli_text(&a, "--checkpoint", &r->checkpoint);
    ag_cli_text(&a, "--cameras", &r->cameras);
    ag_cli_int(&a, "--orbit", 1000000, &r->orbit);
    ag_cli_int(&a, "--aa", 16, &r->aa);
    ag_cli_text(&a, "--res", &r->res);
    ag_cli_text(&a, "--frames", &r->frames);
    ag_cli_text(&a, "--out", &r->out);
    ag_cli_text(&a, "--job", job);
    ag_cli_flag(&a, "--depth", &r->depth);
    ag_cli_flag(&a, "--quiet", &r->quiet);
  }
  if (a.rc) return a.rc;
  if (*job && (r->cameras || r->orbit || r->res || r->frames || r->out || r->depth || r->aa))
    return ag_cli_usage_error(cli, "--job FILE holds the renders: only --quiet goes with it");
  char why[256];
  if (!*job && !ag_render_resolve(r, why, sizeof why)) return ag_cli_usage_error(cli, "%s", why);
  return AG_EXIT_OK;
}

static int load_views(const ag_render_args *r, ag_nerf_cameras *views) {
  if (r->cameras)
    return ag_nerf_cameras_load(r->cameras, views) == AG_OK ? AG_EXIT_OK : AG_EXIT_RUNTIME;
  views->n = (int)r->orbit;
  views->aabb_scale = 1;
  if (!(views->cams = calloc((size_t)views->n, sizeof *views->cams))) {
    ag_set_error(AG_ERR_OOM, "render: out of host memory");
    return AG_EXIT_RUNTIME;
  }
  ag_nerf_orbit(views->n, r->w ? r->w : 128, r->h ? r->h : 128, 4.0f, 0.5235988f, views->cams);
  return AG_EXIT_OK;
}

/* What a rank did with a frame; summed over the ranks (each frame has one
 * owner, the others add zeros). */
typedef struct frame_record {
  double seconds; /* -1: kept from an earlier run */
  double rays;
} frame_record;

static int exists(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* Depth as grey: 0 at the nearest point of the box from the camera, 255 at
 * the farthest (or no hit). */
static void depth_grey(const ag_nerf_model *m, const ag_nerf_camera *cam, const float *depth,
                       const float *opacity, int64_t n, uint8_t *grey) {
  const float *t = cam->c2w;
  const float dist = sqrtf(t[3] * t[3] + t[7] * t[7] + t[11] * t[11]);
  const float reach = m->c.bound * 1.7320508f, near = dist - reach, far = dist + reach;
  for (int64_t i = 0; i < n; i++) {
    const float d = opacity[i] > 1e-4f ? depth[i] / opacity[i] : far;
    const float v = (d - near) / (far - near);
    grey[i] = (uint8_t)(255.0f * (v < 0 ? 0 : v > 1 ? 1 : v) + 0.5f);
  }
}

typedef struct frame_buffers {
  float *rgb, *opacity, *depth;
  uint8_t *rgba, *grey;
} frame_buffers;

static ag_status render_frame(const ag_render_args *r, const ag_nerf_model *m, ag_nerf_renderer *rn,
                              const ag_nerf_camera *cam, int64_t f, frame_buffers *b,
                              frame_record *rec) {
  char path[4096];
  const int64_t n = (int64_t)cam->w * cam->h;
  const float black[3] = {0, 0, 0};
  const double t0 = ag_now_seconds();
  AG_TRY(ag_nerf_render_view(rn, cam, black, b->rgb, b->opacity, r->depth ? b->depth : NULL, NULL));
  ag_nerf_to_rgba(b->rgb, b->opacity, n, b->rgba);
  snprintf(path, sizeof path, "%s/frame_%04lld.png", r->out, (long long)f);
  if (r->depth) {
    char dpath[4096];
    snprintf(dpath, sizeof dpath, "%s/depth_%04lld.png", r->out, (long long)f);
    depth_grey(m, cam, b->depth, b->opacity, n, b->grey);
    AG_TRY(ag_png_write(dpath, b->grey, cam->w, cam->h, 1));
  }
  /* the colour frame last: its presence means the frame is complete */
  AG_TRY(ag_png_write(path, b->rgba, cam->w, cam->h, 4));
  rec->seconds = ag_now_seconds() - t0;
  rec->rays = (double)n;
  return AG_OK;
}

static ag_status alloc_buffers(const ag_nerf_cameras *v, frame_buffers *b) {
  int64_t most = 1;
  for (int i = 0; i < v->n; i++)
    if ((int64_t)v->cams[i].w * v->cams[i].h > most) most = (int64_t)v->cams[i].w * v->cams[i].h;
  const size_t n = (size_t)most;
  b->rgb = malloc(sizeof(float) * 3 * n), b->opacity = malloc(sizeof(float) * n);
  b->depth = malloc(sizeof(float) * n), b->rgba = malloc(4 * n), b->grey = malloc(n);
  if (b->rgb && b->opacity && b->depth && b->rgba && b->grey) return AG_OK;
  return ag_set_error(AG_ERR_OOM, "render: out of host memory for %lld-pixel frames",
                      (long long)most);
}

static void free_buffers(frame_buffers *b) {
  free(b->rgb), free(b->opacity), free(b->depth), free(b->rgba), free(b->grey);
}

/* This rank's frames: first + rank, first + rank + world, ... */
static ag_status render_frames(const ag_render_args *r, const ag_nerf_model *m,
                               const ag_nerf_cameras *v, ag_comm *comm, frame_record *recs) {
  const int rank = ag_comm_rank(comm), world = ag_comm_world(comm);
  frame_buffers b = {0};
  ag_nerf_renderer *rn = NULL;
  ag_progress prog = {0};
  const int64_t count = r->last - r->first, mine = (count - rank + world - 1) / world;
  const int show = !r->quiet && rank == 0;
  ag_status st = alloc_buffers(v, &b);
  if (st == AG_OK) st = ag_nerf_renderer_new(m->p, &m->c, m->occ.bitfield, 1 << 12, &rn);
  if (st == AG_OK) ag_nerf_renderer_set_aa(rn, r->aa ? (int)r->aa : 1);
  if (show) ag_progress_begin(&prog, "render", mine, "ray", stderr);
  int64_t done = 0;
  for (int64_t f = r->first + rank; st == AG_OK && f < r->last; f += world) {
    char path[4096];
    snprintf(path, sizeof path, "%s/frame_%04lld.png", r->out, (long long)f);
    if (exists(path))
      recs[f - r->first].seconds = -1;
    else
      st = render_frame(r, m, rn, &v->cams[f], f, &b, &recs[f - r->first]);
    if (show) ag_progress_update(&prog, ++done, (int64_t)recs[f - r->first].rays, NAN);
  }
  if (show) ag_progress_end(&prog);
  ag_nerf_renderer_free(rn);
  free_buffers(&b);
  return st;
}

/* Every rank's records on every rank. */
static ag_status gather(ag_comm *comm, frame_record *recs, int64_t count) {
  for (int64_t i = 0; i < count; i++) {
    AG_TRY(ag_comm_sum_host(comm, &recs[i].seconds));
    AG_TRY(ag_comm_sum_host(comm, &recs[i].rays));
  }
  return AG_OK;
}

/* manifest.json: each frame's file, seconds and rays/s (null when kept
 * from an earlier run), written to a temporary name and renamed. */
static ag_status write_manifest(const ag_render_args *r, const frame_record *recs, int world) {
  char path[4096], tmp[4200];
  snprintf(path, sizeof path, "%s/manifest.json", r->out);
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
  FILE *f = fopen(tmp, "w");
  if (!f) return ag_set_error(AG_ERR_IO, "render: cannot write %s (%s)", tmp, strerror(errno));
  fprintf(f, "{\"checkpoint\": \"%s\", \"ranks\": %d, \"frames\": [\n", r->checkpoint, world);
  for (int64_t i = 0; i < r->last - r->first; i++) {
    const frame_record *c = &recs[i];
    fprintf(f, "  {\"frame\": %lld, \"file\": \"frame_%04lld.png\", ", (long long)(r->first + i),
            (long long)(r->first + i));
    if (c->seconds < 0)
      fprintf(f, "\"kept\": true}");
    else
      fprintf(f, "\"seconds\": %.4f, \"rays_per_s\": %.0f}", c->seconds, c->rays / c->seconds);
    fprintf(f, "%s\n", i + 1 < r->last - r->first ? "," : "");
  }
  fprintf(f, "]}\n");
  if (fclose(f) != 0 || rename(tmp, path) != 0) {
    remove(tmp);
    return ag_set_error(AG_ERR_IO, "render: cannot write %s", path);
  }
  return AG_OK;
}

static int render_job(ag_render_args *r, ag_backend *be, ag_comm *comm) {
  ag_nerf_cameras views = {0};
  ag_nerf_model m = {0};
  frame_record *recs = NULL;
  int rc = load_views(r, &views);
  if (rc == AG_EXIT_OK && r->last > views.n) {
    ag_set_error(AG_ERR_INVALID, "render: --frames %s is beyond the %d views", r->frames, views.n);
    rc = AG_EXIT_USAGE;
  }
  if (rc == AG_EXIT_OK && !r->last) r->last = views.n;
  if (rc == AG_EXIT_OK && ag_nerf_load(r->checkpoint, be, &m) != AG_OK) rc = AG_EXIT_RUNTIME;
  const int64_t count = r->last - r->first;
  if (rc == AG_EXIT_OK && !(recs = calloc((size_t)count, sizeof *recs))) rc = AG_EXIT_RUNTIME;
  const double t0 = ag_now_seconds();
  if (rc == AG_EXIT_OK &&
      (render_frames(r, &m, &views, comm, recs) != AG_OK || gather(comm, recs, count) != AG_OK))
    rc = AG_EXIT_RUNTIME;
  if (rc == AG_EXIT_OK && ag_comm_rank(comm) == 0) {
    int64_t kept = 0;
    for (int64_t i = 0; i < count; i++) kept += recs[i].seconds < 0;
    rc = write_manifest(r, recs, ag_comm_world(comm)) == AG_OK ? AG_EXIT_OK : AG_EXIT_RUNTIME;
    if (rc == AG_EXIT_OK)
      printf("rendered:          %lld frames (%lld kept from before) in %.1f s on %d rank%s: %s\n",
             (long long)(count - kept), (long long)kept, ag_now_seconds() - t0, ag_comm_world(comm),
             ag_comm_world(comm) > 1 ? "s" : "", r->out);
  }
  free(recs);
  ag_nerf_model_free(&m);
  ag_nerf_cameras_free(&views);
  return rc;
}

/* The renders one after the other, each split over the ranks. */
static int render_all(ag_render_args *jobs, int n, ag_backend *be) {
  ag_comm *comm = NULL;
  if (ag_comm_open(be, &(ag_comm_opts){AG_COMM_AUTO, 0}, &comm) != AG_OK) return AG_EXIT_RUNTIME;
  int rc = AG_EXIT_OK;
  for (int i = 0; rc == AG_EXIT_OK && i < n; i++) rc = render_job(&jobs[i], be, comm);
  ag_comm_close(comm);
  return rc;
}

int ag_cmd_render(const ag_cli *cli, int argc, char **argv) {
  ag_render_args r = {.checkpoint = DEFAULT_CHECKPOINT};
  const char *job = NULL;
  ag_render_jobs jobs = {0};
  int rc = parse_render(cli, argc, argv, &r, &job);
  if (rc == AG_EXIT_OK && job && ag_render_jobs_read(job, r.quiet, &jobs) != AG_OK)
    rc = AG_EXIT_RUNTIME;
  ag_backend *be = NULL;
  if (rc == AG_EXIT_OK) rc = ag_cli_use_device(cli, &be);
  if (rc == AG_EXIT_OK) rc = job ? render_all(jobs.jobs, jobs.n, be) : render_all(&r, 1, be);
  ag_render_jobs_free(&jobs);
  return rc;
}

/* ---- export-mesh -------------------------------------------------------------- */

const char ag_cmd_export_mesh_options[] =
    "  --checkpoint FILE          the model (" DEFAULT_CHECKPOINT
    ")\n"
    "  --out FILE                 the binary PLY to write (required)\n"
    "  --res N                    density samples per axis over the box, 2..1024 (128)\n"
    "  --threshold X              the iso-density of the surface (10)\n"
    "  --all-cells                sample every cell, also those the occupancy grid skips\n";

typedef struct export_mesh_args {
  const char *checkpoint, *out;
  ag_nerf_mesh_opts opts;
} export_mesh_args;

static int parse_export_mesh(const ag_cli *cli, int argc, char **argv, export_mesh_args *e) {
  long long res = e->opts.res;
  ag_cli_args a = ag_cli_args_of(cli, argc, argv);
  while (ag_cli_next(&a)) {
    ag_cli_text(&a, "--checkpoint", &e->checkpoint);
    ag_cli_text(&a, "--out", &e->out);
    ag_cli_int(&a, "--res", 1024, &res);
    ag_cli_float(&a, "--threshold", &e->opts.threshold);
    ag_cli_flag(&a, "--all-cells", &e->opts.all_cells);
  }
  if (a.rc) return a.rc;
  if (res < 2) return ag_cli_usage_error(cli, "--res '%lld': at least 2 samples per axis", res);
  if (!e->out) return ag_cli_usage_error(cli, "--out FILE is required");
  e->opts.res = res;
  return AG_EXIT_OK;
}

/* The mesh's bounding box, to compare with the scene's object. */
static void print_bounds(const ag_mesh *m) {
  float lo[3] = {0, 0, 0}, hi[3] = {0, 0, 0};
  for (int64_t i = 0; i < m->vertices; i++)
    for (int a = 0; a < 3; a++) {
      const float v = m->pos[3 * i + a];
      if (i == 0 || v < lo[a]) lo[a] = v;
      if (i == 0 || v > hi[a]) hi[a] = v;
    }
  printf("bounds:            x [%.3f, %.3f], y [%.3f, %.3f], z [%.3f, %.3f]\n", lo[0], hi[0], lo[1],
         hi[1], lo[2], hi[2]);
}

static int export_mesh(const export_mesh_args *e, ag_backend *be) {
  ag_nerf_model m = {0};
  ag_mesh mesh = {0};
  const double t0 = ag_now_seconds();
  int rc = ag_nerf_load(e->checkpoint, be, &m) == AG_OK ? AG_EXIT_OK : AG_EXIT_RUNTIME;
  if (rc == AG_EXIT_OK && ag_nerf_mesh(&m, &e->opts, &mesh) != AG_OK) rc = AG_EXIT_RUNTIME;
  if (rc == AG_EXIT_OK && ag_mesh_write_ply(&mesh, e->out) != AG_OK) rc = AG_EXIT_RUNTIME;
  if (rc == AG_EXIT_OK) {
    print_bounds(&mesh);
    printf(
        "mesh:              %lld vertices, %lld triangles (density %g on a %lld^3 lattice) "
        "in %.1f s: %s\n",
        (long long)mesh.vertices, (long long)mesh.triangles, e->opts.threshold,
        (long long)e->opts.res, ag_now_seconds() - t0, e->out);
  }
  ag_mesh_free(&mesh);
  ag_nerf_model_free(&m);
  return rc;
}

int ag_cmd_export_mesh(const ag_cli *cli, int argc, char **argv) {
  export_mesh_args e = {.checkpoint = DEFAULT_CHECKPOINT, .opts = ag_nerf_mesh_default_opts()};
  int rc = parse_export_mesh(cli, argc, argv, &e);
  ag_backend *be = NULL;
  if (rc == AG_EXIT_OK) rc = ag_cli_check_writable_dir(e.out);
  if (rc == AG_EXIT_OK) rc = ag_cli_use_device(cli, &be);
  if (rc == AG_EXIT_OK) rc = export_mesh(&e, be);
  return rc;
}
