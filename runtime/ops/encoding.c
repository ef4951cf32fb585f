/* Encoding ops: arguments, shape inference, the hash grid's geometry, the
 * eager calls and the graph builders. */
#include <math.h>

#include "ops_internal.h"
#include "runtime/graph/ag_graph.h"

/* Slots: i[0] levels, i[1] features, i[2] log2_table, i[3] deterministic,
 * f[0] base_res, f[1] per_level_scale. */
void ag_hash_grid_args_encode(ag_op_call *c, const ag_hash_grid_args *a) {
  c->i[0] = a->levels;
  c->i[1] = a->features;
  c->i[2] = a->log2_table;
  c->i[3] = a->deterministic != 0;
  c->f[0] = a->base_res;
  c->f[1] = a->per_level_scale;
}

ag_hash_grid_args ag_hash_grid_args_decode(const ag_op_call *c) {
  return (ag_hash_grid_args){c->i[0], c->i[1], c->i[2], c->f[0], c->f[1], (int)c->i[3]};
}

float ag_hash_grid_per_level_scale(float base_res, float max_res, int64_t levels) {
  if (levels <= 1) return 1.0f;
  return (float)exp((log((double)max_res) - log((double)base_res)) / (double)(levels - 1));
}

/* floor(base b^l) in double; callers have checked it is in range. */
static double level_res(const ag_hash_grid_args *a, int64_t l) {
  return floor((double)a->base_res * pow((double)a->per_level_scale, (double)l));
}

ag_hash_grid_geom ag_hash_grid_geom_of(const ag_hash_grid_args *a) {
  ag_hash_grid_geom g = {(int32_t)a->levels, (int32_t)a->features,
                         (uint32_t)1u << a->log2_table, {0}};
  for (int64_t l = 0; l < a->levels; l++) g.res[l] = (int32_t)level_res(a, l);
  return g;
}

static ag_status check_hash_grid_args(const char *op, const ag_hash_grid_args *a) {
  if (a->levels < 1 || a->levels > AG_HASH_GRID_MAX_LEVELS)
    return ag_set_error(AG_ERR_INVALID, "%s: levels %lld must be in [1, %d]", op,
                        (long long)a->levels, AG_HASH_GRID_MAX_LEVELS);
  if (a->features != 1 && a->features != 2 && a->features != 4 && a->features != 8)
    return ag_set_error(AG_ERR_INVALID, "%s: features %lld must be 1, 2, 4 or 8", op,
                        (long long)a->features);
  if (a->log2_table < 1 || a->log2_table > AG_HASH_GRID_MAX_LOG2_TABLE)
    return ag_set_error(AG_ERR_INVALID, "%s: log2_table %lld must be in [1, %d]", op,
                        (long long)a->log2_table, AG_HASH_GRID_MAX_LOG2_TABLE);
  if (!(a->base_res >= 1.0f) || !(a->per_level_scale >= 1.0f))
    return ag_set_error(AG_ERR_INVALID, "%s: base_res %g and per_level_scale %g must be >= 1", op,
                        (double)a->base_res, (double)a->per_level_scale);
  const double top = level_res(a, a->levels - 1);
  if (!(top <= AG_HASH_GRID_MAX_RES))
    return ag_set_error(AG_ERR_INVALID, "%s: the finest resolution %g is above %d", op, top,
                        AG_HASH_GRID_MAX_RES);
  return AG_OK;
}

ag_status ag_infer_hash_grid(const ag_op_call *c, ag_shape *out) {
  const char *op = "hash_grid";
  const ag_tensor *pos = c->in[0], *table = c->in[1];
  const ag_hash_grid_args a = ag_hash_grid_args_decode(c);
  char d[64];
  if (pos->dtype != AG_F32 || pos->ndim != 2 || pos->shape[1] != 3)
    return ag_set_error(AG_ERR_INVALID, "%s: positions %s must be f32 [N, 3]", op,
                        ag_tensor_describe(pos, d, sizeof d));
  AG_TRY(check_hash_grid_args(op, &a));
  AG_TRY(ag_op_require_float(op, "table", table));
  if (table->ndim != 3 || table->shape[0] != a.levels ||
      table->shape[1] != (int64_t)1 << a.log2_table || table->shape[2] != a.features)
    return ag_set_error(AG_ERR_INVALID, "%s: table %s must be [levels %lld, 2^%lld, features %lld]",
                        op, ag_tensor_describe(table, d, sizeof d), (long long)a.levels,
                        (long long)a.log2_table, (long long)a.features);
  out[0] = ag_shape_of(pos);
  out[0].dtype = table->dtype;
  out[0].dims[1] = a.levels * a.features;
  return AG_OK;
}

ag_status ag_infer_sh_encode(const ag_op_call *c, ag_shape *out) {
  const ag_tensor *dirs = c->in[0];
  char d[64];
  AG_TRY(ag_op_require_float("sh_encode", "directions", dirs));
  if (dirs->ndim != 2 || dirs->shape[1] != 3)
    return ag_set_error(AG_ERR_INVALID, "sh_encode: directions %s must be [N, 3]",
                        ag_tensor_describe(dirs, d, sizeof d));
  out[0] = ag_shape_of(dirs);
  out[0].dims[1] = 16;
  return AG_OK;
}

ag_status ag_eager_hash_grid(const ag_tensor *pos, const ag_tensor *table, ag_tensor *y,
                             const ag_hash_grid_args *a) {
  ag_op_call c = {.in = {pos, table}, .out = {y}};
  ag_hash_grid_args_encode(&c, a);
  return ag_op_eager(AG_OP_HASH_GRID, &c);
}

ag_status ag_eager_sh_encode(const ag_tensor *dirs, ag_tensor *y) {
  return ag_op_eager(AG_OP_SH_ENCODE, &(ag_op_call){.in = {dirs}, .out = {y}});
}

ag_tensor *ag_hash_grid(ag_graph *g, ag_tensor *pos, ag_tensor *table,
                        const ag_hash_grid_args *a) {
  ag_op_call c = {.in = {pos, table}};
  ag_hash_grid_args_encode(&c, a);
  return ag_graph_op(g, AG_OP_HASH_GRID, &c, NULL);
}

ag_tensor *ag_sh_encode(ag_graph *g, ag_tensor *dirs) {
  return ag_graph_op(g, AG_OP_SH_ENCODE, &(ag_op_call){.in = {dirs}}, NULL);
}
