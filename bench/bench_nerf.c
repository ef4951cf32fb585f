/* `aigc-bench pipelines`, NeRF rows (group "nerf"): the hash-grid encoding
 * alone, whole training steps of the real trainer and a whole rendered view,
 * in the table of the training rows (bench_pipelines.c), against PyTorch
 * where it does comparable work (bench/torch_peer_nerf.py). The model is
 * ag_nerf_default_config(1.5, full) over the [-1.5, 1.5]^3 box of the
 * procedural scenes: 16 levels of 2 features, 2^19 rows a level on CUDA and
 * with --full, 2^16 on the CPU by default, MLPs 64 wide. Rows:
 *   hashgrid     one ag_eager_hash_grid of uniformly random points in
 *                [0, 1]^3, 2^18 of them on CUDA and with --full, 2^16 on the
 *                CPU by default; the table f16 on CUDA, f32 on the CPU. An
 *                item (and batch) is a point; params the table's entries.
 *   nerf-train   ag_nerf_train on the scene "solid" made into a temporary
 *                directory (16 train views of 64^2 pixels on CUDA and with
 *                --full, 32^2 on the CPU, one ray a pixel) with
 *                ag_nerf_default_train_opts(full): batch is a step's sample
 *                capacity, an item a sample marched. ag_nerf_train reports
 *                only its whole run, setup included, so the row trains from
 *                the same seed for the warm-up steps alone and for the
 *                warm-up and --steps more, each 3 times, interleaved, and
 *                keeps the fastest of each (load only adds time; the
 *                process's first run also pays one-off costs). Both runs'
 *                first steps are the same (the learning rate depends on the
 *                run's length only after 100 steps), so the differences of
 *                their seconds, rays and samples are those of the --steps
 *                steps after the warm-up: ms is their mean (not a median),
 *                items the mean samples a step, rays the mean rays. A step
 *                is all that ag_nerf_train does in one: the rays drawn on
 *                the host, the march, the field, compositing, the loss,
 *                backward, Adam, and, every 16th step, the occupancy update
 *                (step 0 is in both runs; step 16 falls in the timed ones
 *                once warm-up + steps exceeds 16).
 *   nerf-render  ag_nerf_render_view (rgb and opacity to the host) of one
 *                orbit camera placed as `aigc render --orbit` places it
 *                (radius 4, 30 degrees up), 800x800 pixels on CUDA and with
 *                --full, 64x64 on the CPU by default, 2^16 rays a batch
 *                (2^12, the CLI's, on the CPU by default). On CUDA and with
 *                --full the model is trained for BN_RENDER_TRAIN_STEPS steps
 *                first (untimed), so its occupancy grid has pruned the empty
 *                space as a trained scene's has. On the CPU's quick default
 *                it is the nerf-train row's last run (trained here the same
 *                way when that row is filtered out), which has had one
 *                occupancy update, at step 0, from a near-constant field:
 *                nearly every cell is occupied and the frame marches about
 *                the most samples a frame can, which is why that frame is
 *                small. The shape gives the occupied fraction and the
 *                samples a ray. An item (and batch) is a ray, a pixel;
 *                memory is the renderer's alone.
 * rays and rays_per_s are the rays a step or frame and their rate; steps
 * or frames per second are 1000 / ms.
 *
 * Timing otherwise as the sampling rows (bench_generators.c): the median of
 * --steps calls after 1 warm-up call on the CPU, 2 on CUDA, no cache flush
 * (a training step rereads the same table). The peer warms up and times the
 * same counts; on the hashgrid row it computes the same encoding, on
 * nerf-train the field, compositing, loss, backward and Adam on the row's
 * mean samples and rays (no ray march, host rays or occupancy update: less
 * work, its mode says so), with the same parameter count, checked.
 * nerf-render has no peer. Memory as the training rows (ag_bench_memory_*).
 * Under mpirun every rank runs its own rows (and makes its own scene); the
 * peer runs only on a single rank. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ag_bench.h"
#include "models/nerf/ag_nerf.h"
#include "models/nerf/ag_nerf_make_scene.h"
#include "runtime/core/ag_info.h"
#include "runtime/ops/random.h"

#define BN_GROUP "nerf"
#define BN_SEED 1
#define BN_SCENE "solid"
#define BN_BOUND 1.5f /* the procedural scenes' box, aabb_scale 1 */
/* Steps of the model nerf-render draws on CUDA and with --full. */
#define BN_RENDER_TRAIN_STEPS 1000

typedef enum bn_kind { BN_HASHGRID, BN_TRAIN, BN_RENDER } bn_kind;

typedef struct bn_case {
  bn_kind kind;
  const char *name;
  /* on CUDA and with --full, and the CPU's default: points, the scene's
   * image side, the frame's side */
  int64_t size, cpu_size;
} bn_case;

static const bn_case bn_cases[] = {
    {BN_HASHGRID, "hashgrid", 1 << 18, 1 << 16},
    {BN_TRAIN, "nerf-train", 64, 32},
    {BN_RENDER, "nerf-render", 800, 64},
};
#define BN_CASES (sizeof bn_cases / sizeof bn_cases[0])
#define BN_TRAIN_VIEWS 16

/* The hashgrid row's table: f16 on CUDA, f32 on the CPU. */
static ag_dtype bn_grid_dtype(const ag_backend *be) {
  return be->kind == AG_DEVICE_CUDA ? AG_F16 : AG_F32;
}

/* Rays a batch of the renderer: the CLI's on the CPU, more on a GPU. */
static int64_t bn_render_batch(int full) { return full ? 1 << 16 : 1 << 12; }

static int bn_matches(const bn_case *bc, const char *filter) {
  return ag_bench_row_matches(bc->name, BN_GROUP, filter);
}

int ag_bench_nerf_matching(const ag_bench_pipeline_opts *o, char *names, size_t len) {
  int matched = 0;
  size_t used = 0;
  for (size_t k = 0; k < BN_CASES; k++) {
    used = ag_bench_name_append(names, len, used, bn_cases[k].name);
    matched += bn_matches(&bn_cases[k], o->filter);
  }
  return matched;
}

/* ---- what the rows share --------------------------------------------------- */

typedef struct bn_env {
  ag_backend *be;
  ag_comm *comm;
  const ag_bench_pipeline_opts *o;
  int rank, world, cuda, full;
  int warmup, steps;
  ag_nerf_config c;
  ag_nerf_scene scene; /* the train split; loaded by the first row that trains */
  int have_scene;
  ag_nerf_model model; /* the last long training run's, for nerf-render */
  int have_model;
} bn_env;

static void bn_env_free(bn_env *env) {
  if (env->have_model) ag_nerf_model_free(&env->model);
  if (env->have_scene) ag_nerf_scene_free(&env->scene);
}

/* The temporary scene directory: a short path, so every file name under it
 * fits bn_scene_remove's buffer. */
#define BN_DIR_LEN 512

/* Removes what ag_nerf_make_scene wrote into dir, then dir. */
static void bn_scene_remove(const char *dir, const ag_nerf_make_opts *mo) {
  static const char *const splits[3] = {"train", "val", "test"};
  char path[BN_DIR_LEN + 64];
  for (int s = 0; s < 3; s++) {
    for (int i = 0; i < mo->views[s]; i++) {
      snprintf(path, sizeof path, "%s/%s/r_%d.png", dir, splits[s], i);
      remove(path);
    }
    snprintf(path, sizeof path, "%s/%s", dir, splits[s]);
    rmdir(path);
    snprintf(path, sizeof path, "%s/transforms_%s.json", dir, splits[s]);
    remove(path);
  }
  rmdir(dir);
}

/* The train split of a small procedural scene, made into a temporary
 * directory that is gone again once its images are in memory. */
static ag_status bn_scene(bn_env *env, int64_t side) {
  if (env->have_scene) return AG_OK;
  const char *tmp = getenv("TMPDIR");
  char dir[BN_DIR_LEN];
  const int n =
      snprintf(dir, sizeof dir, "%s/aigc-bench-nerf-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
  if (n < 0 || (size_t)n >= sizeof dir)
    return ag_set_error(AG_ERR_INVALID, "nerf bench: TMPDIR %s is too long a path", tmp);
  if (!mkdtemp(dir)) return ag_set_error(AG_ERR_IO, "nerf bench: cannot create %s", dir);
  ag_nerf_make_opts mo = ag_nerf_make_default_opts();
  mo.res = (int)side;
  mo.views[0] = BN_TRAIN_VIEWS, mo.views[1] = 1, mo.views[2] = 1;
  mo.aa = 1;
  ag_status st = ag_nerf_make_scene(BN_SCENE, dir, &mo);
  if (st == AG_OK) st = ag_nerf_scene_load(dir, "train", &env->scene);
  bn_scene_remove(dir, &mo);
  env->have_scene = st == AG_OK;
  return st;
}

static ag_nerf_train_opts bn_train_opts(const bn_env *env, int64_t steps) {
  ag_nerf_train_opts t = ag_nerf_default_train_opts(env->full);
  t.steps = steps;
  t.seed = BN_SEED;
  t.progress = 0;
  return t;
}

/* ---- hashgrid ------------------------------------------------------------- */

typedef struct bn_grid {
  ag_tensor *pos, *table, *y;
  ag_hash_grid_args a;
} bn_grid;

static ag_status bn_grid_run(void *ctx) {
  const bn_grid *g = ctx;
  return ag_eager_hash_grid(g->pos, g->table, g->y, &g->a);
}

static ag_status bn_grid_open(const bn_env *env, int64_t points, bn_grid *g) {
  const ag_dtype dt = bn_grid_dtype(env->be);
  g->a = env->c.grid;
  const int64_t ps[2] = {points, 3},
                ts[3] = {g->a.levels, (int64_t)1 << g->a.log2_table, g->a.features};
  const int64_t ys[2] = {points, g->a.levels * g->a.features};
  g->pos = ag_tensor_new(env->be, AG_F32, 2, ps);
  g->table = ag_tensor_new(env->be, dt, 3, ts);
  g->y = ag_tensor_new(env->be, dt, 2, ys);
  if (!g->pos || !g->table || !g->y) return ag_set_error(AG_ERR_OOM, "nerf bench: out of memory");
  AG_TRY(ag_eager_fill_uniform(g->pos, BN_SEED, 0, 0.0f, 1.0f));
  return ag_eager_fill_uniform(g->table, BN_SEED, 1, -1e-4f, 1e-4f); /* Instant-NGP's init */
}

static void bn_grid_free(bn_grid *g) {
  ag_tensor_free(g->pos);
  ag_tensor_free(g->table);
  ag_tensor_free(g->y);
}

/* The levels' resolutions as "16,22,..."; at most 32 levels of 6 digits. */
static void bn_res_list(const ag_hash_grid_args *a, char *buf, size_t len) {
  const ag_hash_grid_geom geom = ag_hash_grid_geom_of(a);
  size_t used = 0;
  buf[0] = '\0';
  for (int l = 0; l < geom.levels && used < len; l++)
    used += (size_t)snprintf(buf + used, len - used, "%s%d", l ? "," : "", (int)geom.res[l]);
}

static ag_status bn_hashgrid(bn_env *env, ag_bench_pipeline *r) {
  bn_grid g = {0};
  ag_bench_memory mem;
  ag_bench_memory_start(env->be, &mem);
  ag_status st = bn_grid_open(env, r->batch, &g);
  if (st == AG_OK)
    st = ag_bench_median_ms(env->be, bn_grid_run, &g, r->warmup, r->steps, NULL, &r->ms, NULL);
  if (st == AG_OK) ag_bench_memory_end(env->be, &mem, r);
  bn_grid_free(&g);
  AG_TRY(st);
  const ag_hash_grid_geom geom = ag_hash_grid_geom_of(&env->c.grid);
  r->params = (int64_t)geom.levels * geom.table_size * geom.features;
  snprintf(r->shape, sizeof r->shape, "N=%lld L=%d F=%d T=2^%lld res %d..%d %s",
           (long long)r->batch, (int)geom.levels, (int)geom.features,
           (long long)env->c.grid.log2_table, (int)geom.res[0], (int)geom.res[geom.levels - 1],
           ag_dtype_name(bn_grid_dtype(env->be)));
  return AG_OK;
}

/* ---- nerf-train --------------------------------------------------------- */

/* One whole ag_nerf_train run of `steps` steps; the model is kept in *m. */
static ag_status bn_train_run(bn_env *env, int64_t steps, ag_nerf_model *m,
                              ag_nerf_train_result *res) {
  const ag_nerf_train_opts t = bn_train_opts(env, steps);
  return ag_nerf_train(env->be, &env->c, &t, &env->scene, NULL, m, res);
}

/* Each run 3 times, interleaved, and the fastest of each kept: load only
 * adds time, and the first run in a process also pays one-off costs (oneDNN
 * generating its kernels, the allocator growing) that would otherwise land
 * in the difference. */
#define BN_TRAIN_TRIES 3

/* The warm-up run and the warm-up + steps run (see the header): their
 * fastest results; the last long run's model is kept for nerf-render. */
static ag_status bn_train_measure(bn_env *env, ag_bench_pipeline *r, ag_nerf_train_result *a,
                                  ag_nerf_train_result *b) {
  for (int k = 0; k < BN_TRAIN_TRIES; k++) {
    ag_nerf_model first;
    ag_nerf_train_result ra, rb;
    AG_TRY(bn_train_run(env, r->warmup, &first, &ra));
    ag_nerf_model_free(&first);
    if (env->have_model) ag_nerf_model_free(&env->model);
    env->have_model = 0;
    AG_TRY(bn_train_run(env, r->warmup + r->steps, &env->model, &rb));
    env->have_model = 1;
    if (k == 0 || ra.seconds < a->seconds) *a = ra;
    if (k == 0 || rb.seconds < b->seconds) *b = rb;
  }
  if (!(b->seconds > a->seconds) || b->samples <= a->samples)
    return ag_set_error(AG_ERR_INVALID,
                        "nerf-train: %d steps took no measurable time or samples over the "
                        "warm-up run (%.3f s vs %.3f s); try more --steps",
                        r->steps, b->seconds, a->seconds);
  return AG_OK;
}

static ag_status bn_train(bn_env *env, const bn_case *bc, ag_bench_pipeline *r) {
  ag_bench_memory mem;
  ag_nerf_train_result a, b;
  ag_bench_memory_start(env->be, &mem);
  AG_TRY(bn_scene(env, env->full ? bc->size : bc->cpu_size));
  AG_TRY(bn_train_measure(env, r, &a, &b));
  ag_bench_memory_end(env->be, &mem, r);
  r->params = ag_params_numel(env->model.p);
  r->ms = 1e3 * (b.seconds - a.seconds) / r->steps;
  r->items = llround((double)(b.samples - a.samples) / r->steps) * env->world;
  r->rays = llround((double)(b.rays - a.rays) / r->steps) * env->world;
  const ag_nerf_train_opts t = bn_train_opts(env, 1);
  snprintf(r->shape, sizeof r->shape, "%lld^2x%d S<=%lld R<=%lld T=2^%lld G=%lld",
           (long long)env->scene.cameras.cams[0].w, BN_TRAIN_VIEWS, (long long)t.target_samples,
           (long long)t.max_rays, (long long)env->c.grid.log2_table, (long long)env->c.occ_res);
  return AG_OK;
}

/* ---- nerf-render ----------------------------------------------------------- */

typedef struct bn_view {
  ag_nerf_renderer *r;
  ag_nerf_camera cam;
  float *rgb, *opacity;
  int64_t samples;
} bn_view;

static ag_status bn_view_run(void *ctx) {
  bn_view *v = ctx;
  static const float white[3] = {1, 1, 1};
  return ag_nerf_render_view(v->r, &v->cam, white, v->rgb, v->opacity, NULL, &v->samples);
}

static ag_status bn_view_open(bn_env *env, int64_t side, bn_view *v) {
  ag_nerf_orbit(1, (int)side, (int)side, 4.0f, 0.5235988f, &v->cam);
  v->rgb = malloc(sizeof(float) * 3 * (size_t)(side * side));
  v->opacity = malloc(sizeof(float) * (size_t)(side * side));
  if (!v->rgb || !v->opacity) return ag_set_error(AG_ERR_OOM, "nerf bench: out of host memory");
  const ag_nerf_model *m = &env->model;
  return ag_nerf_renderer_new(m->p, &m->c, m->occ.bitfield, bn_render_batch(env->full), &v->r);
}

static void bn_view_free(bn_view *v) {
  ag_nerf_renderer_free(v->r);
  free(v->rgb);
  free(v->opacity);
}

/* The model frames are rendered by. On CUDA and with --full, one trained
 * for BN_RENDER_TRAIN_STEPS steps, whose occupancy grid has pruned empty
 * space as a trained scene's has; on the CPU's quick default, nerf-train's
 * short run (trained here when that row did not run), nearly every cell
 * occupied. */
static ag_status bn_render_model(bn_env *env, const bn_case *train) {
  if (env->have_model && !env->full) return AG_OK;
  ag_nerf_train_result res;
  ag_nerf_model_free(&env->model);
  env->have_model = 0;
  AG_TRY(bn_scene(env, env->full ? train->size : train->cpu_size));
  AG_TRY(bn_train_run(env, env->full ? BN_RENDER_TRAIN_STEPS : env->warmup + env->steps,
                      &env->model, &res));
  env->have_model = 1;
  return AG_OK;
}

static ag_status bn_render(bn_env *env, const bn_case *bc, ag_bench_pipeline *r) {
  ag_bench_memory mem;
  bn_view v = {0};
  double occupied = 0;
  AG_TRY(bn_render_model(env, &bn_cases[BN_TRAIN]));
  ag_bench_memory_start(env->be, &mem);
  const int64_t side = env->full ? bc->size : bc->cpu_size;
  ag_status st = bn_view_open(env, side, &v);
  if (st == AG_OK)
    st = ag_bench_median_ms(env->be, bn_view_run, &v, r->warmup, r->steps, NULL, &r->ms, NULL);
  if (st == AG_OK) st = ag_nerf_occupancy_fraction(&env->model.occ, &occupied);
  if (st == AG_OK) ag_bench_memory_end(env->be, &mem, r);
  bn_view_free(&v);
  AG_TRY(st);
  r->params = ag_params_numel(env->model.p);
  r->rays = r->items;
  snprintf(r->shape, sizeof r->shape, "%lldx%lld %lld/batch occ %.0f%% %.0f smp/ray",
           (long long)side, (long long)side, (long long)bn_render_batch(env->full),
           100.0 * occupied, (double)v.samples / (double)(side * side));
  return AG_OK;
}

/* ---- rows ------------------------------------------------------------------- */

static void bn_row_init(const bn_env *env, const bn_case *bc, ag_bench_pipeline *r) {
  memset(r, 0, sizeof *r);
  snprintf(r->name, sizeof r->name, "%s", bc->name);
  snprintf(r->group, sizeof r->group, "%s", BN_GROUP);
  static const char *const items[] = {"pt", "sample", "ray"};
  snprintf(r->item, sizeof r->item, "%s", items[bc->kind]);
  r->world = env->world;
  r->warmup = env->warmup;
  r->steps = env->steps;
  const int64_t size = env->full ? bc->size : bc->cpu_size;
  /* per rank: points; the step's sample capacity; a frame's pixels */
  r->batch = bc->kind == BN_HASHGRID ? size
             : bc->kind == BN_TRAIN  ? bn_train_opts(env, 1).target_samples
                                     : size * size;
  r->items = bc->kind == BN_TRAIN ? 0 : r->batch * r->world;
}

/* The peer's arguments for row r: the grid, and for training the MLPs,
 * the step's samples and rays and the optimizer. */
static void bn_peer_args(const bn_env *env, const bn_case *bc, const ag_bench_pipeline *r,
                         char *buf, size_t len) {
  const ag_hash_grid_args *a = &env->c.grid;
  char res[256];
  bn_res_list(a, res, sizeof res);
  size_t n = (size_t)snprintf(
      buf, len,
      "%s --device %s --threads %d --warmup %d --steps %d --levels %lld --features %lld "
      "--log2-table %lld --res %s",
      bc->kind == BN_HASHGRID ? "hashgrid" : "train", env->cuda ? "cuda" : "cpu", ag_cpu_threads(),
      r->warmup, r->steps, (long long)a->levels, (long long)a->features, (long long)a->log2_table,
      res);
  if (n >= len) return;
  if (bc->kind == BN_HASHGRID) {
    snprintf(buf + n, len - n, " --points %lld --dtype %s", (long long)r->batch,
             env->cuda ? "f16" : "f32");
    return;
  }
  const ag_nerf_train_opts t = bn_train_opts(env, 1);
  snprintf(buf + n, len - n,
           " --samples %lld --rays %lld --hidden %lld --geo-features %lld --bound %g --dt %g "
           "--lr %g",
           (long long)(r->items / r->world), (long long)(r->rays / r->world),
           (long long)env->c.hidden, (long long)env->c.geo_features, (double)env->c.bound,
           (double)ag_nerf_dt(&env->c), (double)t.lr);
}

static ag_status bn_run_case(bn_env *env, const bn_case *bc, ag_bench_pipeline *r) {
  bn_row_init(env, bc, r);
  if (bc->kind == BN_HASHGRID) AG_TRY(bn_hashgrid(env, r));
  if (bc->kind == BN_TRAIN) AG_TRY(bn_train(env, bc, r));
  if (bc->kind == BN_RENDER) AG_TRY(bn_render(env, bc, r));
  AG_TRY(ag_comm_sum_host(env->comm, &r->ms));
  r->ms /= env->world;
  r->items_per_s = (double)r->items / (r->ms * 1e-3);
  r->rays_per_s = (double)r->rays / (r->ms * 1e-3);
  if (env->rank != 0) return AG_OK;
  if (bc->kind == BN_RENDER) {
    snprintf(r->torch.note, sizeof r->torch.note, "no PyTorch peer for this row");
    snprintf(r->torch_compile.note, sizeof r->torch_compile.note, "%s", r->torch.note);
    return AG_OK;
  }
  char args[768];
  bn_peer_args(env, bc, r, args, sizeof args);
  ag_bench_run_peer(env->be, env->o, env->world, "torch_peer_nerf.py", args, r);
  return AG_OK;
}

ag_status ag_bench_nerf(ag_backend *be, ag_comm *comm, const ag_bench_pipeline_opts *o,
                        ag_bench_pipeline *rows, int max, int *count) {
  const int cuda = be->kind == AG_DEVICE_CUDA, full = ag_bench_full_shapes(be, o);
  const int steps = o->steps > 0 ? o->steps : cuda ? 10 : 3;
  bn_env env = {.be = be,
                .comm = comm,
                .o = o,
                .rank = ag_comm_rank(comm),
                .world = ag_comm_world(comm),
                .cuda = cuda,
                .full = full,
                .warmup = cuda ? 2 : 1,
                .steps = steps,
                .c = ag_nerf_default_config(BN_BOUND, full)};
  ag_status st = AG_OK;
  for (size_t k = 0; k < BN_CASES && *count < max && st == AG_OK; k++) {
    if (!bn_matches(&bn_cases[k], o->filter)) continue;
    st = bn_run_case(&env, &bn_cases[k], &rows[*count]);
    if (st == AG_OK) (*count)++;
  }
  bn_env_free(&env);
  return st;
}
