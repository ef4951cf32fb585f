/* Embedding ops: shape inference and eager API. */
#include "ops_internal.h"

ag_status ag_infer_embedding(const ag_op_call *c, ag_shape *out) {
  const ag_tensor *table = c->in[0], *ids = c->in[1];
  char dt[64], di[64];
  AG_TRY(ag_op_require_float("embedding", "table", table));
  if (table->ndim != 2)
    return ag_set_error(AG_ERR_INVALID, "embedding: table %s must be [vocab, dim]",
                        ag_tensor_describe(table, dt, sizeof dt));
  if (ids->dtype != AG_I32 || ids->ndim < 1 || ids->ndim > 3)
    return ag_set_error(AG_ERR_INVALID, "embedding: ids %s must be i32 with 1 to 3 dims",
                        ag_tensor_describe(ids, di, sizeof di));
  out[0] = ag_shape_of(ids);
  out[0].dtype = table->dtype;
  out[0].dims[ids->ndim] = table->shape[1];
  out[0].ndim = ids->ndim + 1;
  return AG_OK;
}

ag_status ag_infer_timestep_embedding(const ag_op_call *c, ag_shape *out) {
  const ag_tensor *t = c->in[0];
  char d[64];
  AG_TRY(ag_op_require_float("timestep_embedding", "timesteps", t));
  if (t->ndim != 1)
    return ag_set_error(AG_ERR_INVALID, "timestep_embedding: timesteps %s must be a vector",
                        ag_tensor_describe(t, d, sizeof d));
  if (c->i[0] < 1)
    return ag_set_error(AG_ERR_INVALID, "timestep_embedding: dim %lld must be positive",
                        (long long)c->i[0]);
  if (c->f[0] < 0)
    return ag_set_error(AG_ERR_INVALID, "timestep_embedding: max_period %g must be positive",
                        (double)c->f[0]);
  /* The frequency exponent divides by dim/2 - shift. */
  if (c->i[0] >= 2 && (float)(c->i[0] / 2) == c->f[1])
    return ag_set_error(AG_ERR_INVALID,
                        "timestep_embedding: downscale_freq_shift %g equals dim/2 for dim %lld",
                        (double)c->f[1], (long long)c->i[0]);
  out[0] = ag_shape_of(t);
  out[0].ndim = 2;
  out[0].dims[1] = c->i[0];
  return AG_OK;
}

ag_status ag_eager_embedding(ag_tensor *y, const ag_tensor *table, const ag_tensor *ids) {
  return ag_op_eager(AG_OP_EMBEDDING, &(ag_op_call){.in = {table, ids}, .out = {y}});
}

ag_status ag_eager_timestep_embedding(ag_tensor *y, const ag_tensor *t, int flip_sin_to_cos,
                                      float max_period, float downscale_freq_shift) {
  int64_t dim = y && y->ndim == 2 ? y->shape[1] : 0;
  return ag_op_eager(AG_OP_TIMESTEP_EMBEDDING,
                     &(ag_op_call){.in = {t},
                                   .out = {y},
                                   .i = {dim, flip_sin_to_cos != 0},
                                   .f = {max_period, downscale_freq_shift}});
}
