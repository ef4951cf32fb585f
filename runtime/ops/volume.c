/* Volume rendering ops: typed arguments, shape inference, the graph
 * builders and the eager calls. Shape inference checks everything the
 * kernels assume except the contents of device tensors (cell indices, ray
 * ranges), which the kernels clamp or skip. */
#include <math.h>

#include "ops_internal.h"
#include "runtime/graph/ag_graph.h"

/* A ray may cross at most this many dt-segments of the box, so that segment
 * indices stay exact in f32 (below 2^24 with room for the midpoint's half). */
#define AG_VOLUME_MAX_STEPS (1 << 22)
/* G^3 cells must index comfortably in int32 (cell indices are i32). */
#define AG_VOLUME_MAX_RES 1024

void ag_occ_update_args_encode(ag_op_call *c, const ag_occ_update_args *a) { c->f[0] = a->decay; }
ag_occ_update_args ag_occ_update_args_decode(const ag_op_call *c) {
  return (ag_occ_update_args){c->f[0]};
}

void ag_occ_bitfield_args_encode(ag_op_call *c, const ag_occ_bitfield_args *a) {
  c->f[0] = a->threshold;
}
ag_occ_bitfield_args ag_occ_bitfield_args_decode(const ag_op_call *c) {
  return (ag_occ_bitfield_args){c->f[0]};
}

void ag_ray_march_args_encode(ag_op_call *c, const ag_ray_march_args *a) {
  c->f[0] = a->aabb_min, c->f[1] = a->aabb_max, c->f[2] = a->dt, c->f[3] = a->near;
  c->i[0] = a->grid_res, c->i[1] = a->max_samples, c->i[2] = a->capacity;
}
ag_ray_march_args ag_ray_march_args_decode(const ag_op_call *c) {
  return (ag_ray_march_args){c->f[0], c->f[1], c->f[2], c->f[3], c->i[0], c->i[1], c->i[2]};
}

/* t is f32 with `ndim` dims: [rows] or [rows, width]. */
static ag_status require_f32(const char *op, const char *what, const ag_tensor *t, int64_t rows,
                             int64_t width) {
  char d[64];
  const int ndim = width ? 2 : 1;
  if (t->dtype == AG_F32 && t->ndim == ndim && t->shape[0] == rows &&
      (!width || t->shape[1] == width))
    return AG_OK;
  if (width)
    return ag_set_error(AG_ERR_INVALID, "%s: %s %s must be f32 [%lld, %lld]", op, what,
                        ag_tensor_describe(t, d, sizeof d), (long long)rows, (long long)width);
  return ag_set_error(AG_ERR_INVALID, "%s: %s %s must be f32 [%lld]", op, what,
                      ag_tensor_describe(t, d, sizeof d), (long long)rows);
}

/* A density grid: f32 [G, G, G], 1 <= G <= AG_VOLUME_MAX_RES. */
static ag_status require_grid(const char *op, const ag_tensor *g) {
  char d[64];
  if (g->dtype != AG_F32 || g->ndim != 3 || g->shape[0] != g->shape[1] ||
      g->shape[1] != g->shape[2] || g->shape[0] < 1 || g->shape[0] > AG_VOLUME_MAX_RES)
    return ag_set_error(AG_ERR_INVALID, "%s: grid %s must be f32 [G, G, G], 1 <= G <= %d", op,
                        ag_tensor_describe(g, d, sizeof d), AG_VOLUME_MAX_RES);
  return AG_OK;
}

static int64_t bitfield_bytes(int64_t res) { return (res * res * res + 7) / 8; }

ag_status ag_infer_occ_update(const ag_op_call *c, ag_shape *out) {
  const char *op = "occ_update";
  const ag_tensor *grid = c->in[0], *idx = c->in[1], *density = c->in[2];
  char d[64];
  AG_TRY(require_grid(op, grid));
  if (idx->dtype != AG_I32 || idx->ndim != 1)
    return ag_set_error(AG_ERR_INVALID, "%s: cell indices %s must be i32 [M]", op,
                        ag_tensor_describe(idx, d, sizeof d));
  AG_TRY(require_f32(op, "densities", density, idx->shape[0], 0));
  const ag_occ_update_args a = ag_occ_update_args_decode(c);
  if (!(a.decay >= 0.0f && a.decay <= 1.0f))
    return ag_set_error(AG_ERR_INVALID, "%s: decay %g must be in [0, 1]", op, (double)a.decay);
  out[0] = ag_shape_of(grid);
  return AG_OK;
}

ag_status ag_infer_occ_bitfield(const ag_op_call *c, ag_shape *out) {
  const char *op = "occ_bitfield";
  const ag_tensor *grid = c->in[0];
  AG_TRY(require_grid(op, grid));
  const ag_occ_bitfield_args a = ag_occ_bitfield_args_decode(c);
  if (!isfinite(a.threshold))
    return ag_set_error(AG_ERR_INVALID, "%s: threshold %g must be finite", op, (double)a.threshold);
  out[0] = (ag_shape){AG_U8, 1, {bitfield_bytes(grid->shape[0])}};
  return AG_OK;
}

static ag_status check_march_args(const char *op, const ag_ray_march_args *a) {
  if (!(isfinite(a->aabb_min) && isfinite(a->aabb_max) && a->aabb_min < a->aabb_max))
    return ag_set_error(AG_ERR_INVALID, "%s: box [%g, %g] must be finite and non-empty", op,
                        (double)a->aabb_min, (double)a->aabb_max);
  if (!(a->dt > 0.0f) || !(a->near >= 0.0f) || !isfinite(a->near))
    return ag_set_error(AG_ERR_INVALID, "%s: dt %g must be > 0 and near %g finite and >= 0", op,
                        (double)a->dt, (double)a->near);
  if ((double)(a->aabb_max - a->aabb_min) * sqrt(3.0) / a->dt > AG_VOLUME_MAX_STEPS)
    return ag_set_error(AG_ERR_INVALID, "%s: dt %g is too small: over %d steps across the box", op,
                        (double)a->dt, AG_VOLUME_MAX_STEPS);
  if (a->grid_res < 1 || a->grid_res > AG_VOLUME_MAX_RES)
    return ag_set_error(AG_ERR_INVALID, "%s: grid_res %lld must be in [1, %d]", op,
                        (long long)a->grid_res, AG_VOLUME_MAX_RES);
  if (a->max_samples < 1 || a->capacity < 1 || a->capacity > INT32_MAX)
    return ag_set_error(AG_ERR_INVALID,
                        "%s: max_samples %lld and capacity %lld must be >= 1 (capacity < 2^31)", op,
                        (long long)a->max_samples, (long long)a->capacity);
  return AG_OK;
}

ag_status ag_infer_ray_march(const ag_op_call *c, ag_shape *out) {
  const char *op = "ray_march";
  const ag_tensor *o = c->in[0], *dirs = c->in[1], *bits = c->in[2];
  char d[64];
  const ag_ray_march_args a = ag_ray_march_args_decode(c);
  AG_TRY(check_march_args(op, &a));
  if (o->ndim != 2 || o->shape[0] > INT32_MAX)
    return ag_set_error(AG_ERR_INVALID, "%s: origins %s must be f32 [N, 3], N < 2^31", op,
                        ag_tensor_describe(o, d, sizeof d));
  AG_TRY(require_f32(op, "origins", o, o->shape[0], 3));
  AG_TRY(require_f32(op, "dirs", dirs, o->shape[0], 3));
  const int64_t bytes = bitfield_bytes(a.grid_res);
  if (bits->dtype != AG_U8 || bits->ndim != 1 || bits->shape[0] != bytes)
    return ag_set_error(AG_ERR_INVALID, "%s: bitfield %s must be u8 [%lld] for grid_res %lld", op,
                        ag_tensor_describe(bits, d, sizeof d), (long long)bytes,
                        (long long)a.grid_res);
  const int64_t s = a.capacity, n = o->shape[0];
  out[0] = out[1] = (ag_shape){AG_F32, 2, {s, 3}};
  out[2] = out[3] = (ag_shape){AG_F32, 1, {s}};
  out[4] = (ag_shape){AG_I32, 2, {n, 2}};
  out[5] = (ag_shape){AG_I32, 1, {1}};
  return AG_OK;
}

ag_status ag_infer_composite(const ag_op_call *c, ag_shape *out) {
  const char *op = "composite";
  const ag_tensor *sigma = c->in[0], *rays = c->in[4];
  char d[64];
  if (sigma->ndim != 1)
    return ag_set_error(AG_ERR_INVALID, "%s: sigma %s must be f32 [S]", op,
                        ag_tensor_describe(sigma, d, sizeof d));
  const int64_t s = sigma->shape[0];
  AG_TRY(require_f32(op, "sigma", sigma, s, 0));
  AG_TRY(require_f32(op, "rgb", c->in[1], s, 3));
  AG_TRY(require_f32(op, "dt", c->in[2], s, 0));
  AG_TRY(require_f32(op, "t", c->in[3], s, 0));
  if (rays->dtype != AG_I32 || rays->ndim != 2 || rays->shape[1] != 2)
    return ag_set_error(AG_ERR_INVALID, "%s: rays %s must be i32 [N, 2] (offset, count)", op,
                        ag_tensor_describe(rays, d, sizeof d));
  const int64_t n = rays->shape[0];
  AG_TRY(require_f32(op, "background", c->in[5], n, 3));
  out[0] = (ag_shape){AG_F32, 2, {n, 3}};
  out[1] = out[2] = (ag_shape){AG_F32, 1, {n}};
  return AG_OK;
}

ag_status ag_eager_occ_update(const ag_tensor *grid, const ag_tensor *idx, const ag_tensor *density,
                              ag_tensor *out, float decay) {
  ag_op_call c = {.in = {grid, idx, density}, .out = {out}};
  ag_occ_update_args_encode(&c, &(ag_occ_update_args){decay});
  return ag_op_eager(AG_OP_OCC_UPDATE, &c);
}

ag_status ag_eager_occ_bitfield(const ag_tensor *grid, ag_tensor *bitfield, float threshold) {
  ag_op_call c = {.in = {grid}, .out = {bitfield}};
  ag_occ_bitfield_args_encode(&c, &(ag_occ_bitfield_args){threshold});
  return ag_op_eager(AG_OP_OCC_BITFIELD, &c);
}

ag_status ag_eager_ray_march(const ag_tensor *origins, const ag_tensor *dirs,
                             const ag_tensor *bitfield, const ag_ray_march_args *a,
                             const ag_ray_samples *out) {
  ag_op_call c = {.in = {origins, dirs, bitfield},
                  .out = {out->positions, out->dirs, out->t, out->dt, out->rays, out->total}};
  ag_ray_march_args_encode(&c, a);
  return ag_op_eager(AG_OP_RAY_MARCH, &c);
}

ag_status ag_eager_composite(const ag_tensor *sigma, const ag_tensor *rgb, const ag_tensor *dt,
                             const ag_tensor *t, const ag_tensor *rays, const ag_tensor *bg,
                             ag_tensor *color, ag_tensor *depth, ag_tensor *opacity) {
  ag_op_call c = {.in = {sigma, rgb, dt, t, rays, bg}, .out = {color, depth, opacity}};
  return ag_op_eager(AG_OP_COMPOSITE, &c);
}

ag_tensor *ag_occ_update(ag_graph *g, ag_tensor *grid, ag_tensor *idx, ag_tensor *density,
                         float decay) {
  ag_op_call c = {.in = {grid, idx, density}};
  ag_occ_update_args_encode(&c, &(ag_occ_update_args){decay});
  return ag_graph_op(g, AG_OP_OCC_UPDATE, &c, NULL);
}

ag_tensor *ag_occ_bitfield(ag_graph *g, ag_tensor *grid, float threshold) {
  ag_op_call c = {.in = {grid}};
  ag_occ_bitfield_args_encode(&c, &(ag_occ_bitfield_args){threshold});
  return ag_graph_op(g, AG_OP_OCC_BITFIELD, &c, NULL);
}

ag_tensor *ag_ray_march(ag_graph *g, ag_tensor *origins, ag_tensor *dirs, ag_tensor *bitfield,
                        const ag_ray_march_args *a, ag_ray_samples *out) {
  ag_op_call c = {.in = {origins, dirs, bitfield}};
  ag_ray_march_args_encode(&c, a);
  ag_tensor *outs[6] = {0};
  ag_tensor *pos = ag_graph_op(g, AG_OP_RAY_MARCH, &c, outs);
  *out = (ag_ray_samples){outs[0], outs[1], outs[2], outs[3], outs[4], outs[5]};
  return pos;
}

ag_tensor *ag_composite(ag_graph *g, ag_tensor *sigma, ag_tensor *rgb, ag_tensor *dt, ag_tensor *t,
                        ag_tensor *rays, ag_tensor *bg, ag_tensor **depth, ag_tensor **opacity) {
  ag_op_call c = {.in = {sigma, rgb, dt, t, rays, bg}};
  ag_tensor *outs[3] = {0};
  ag_tensor *color = ag_graph_op(g, AG_OP_COMPOSITE, &c, outs);
  if (depth) *depth = outs[1];
  if (opacity) *opacity = outs[2];
  return color;
}
