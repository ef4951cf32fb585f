/* Embedding ops: arguments, shape inference and graph builders. */
#include "ops_internal.h"
#include "kernels/common/ag_k_embedding.h"
#include "runtime/graph/ag_graph.h"

/* Slots: i[0] dim, i[1] flip_sin_to_cos, f[0] max_period, f[1]
 * downscale_freq_shift. */
void ag_timestep_embedding_args_encode(ag_op_call *c, const ag_timestep_embedding_args *a) {
  c->i[0] = a->dim;
  c->i[1] = a->flip_sin_to_cos != 0;
  c->f[0] = a->max_period;
  c->f[1] = a->downscale_freq_shift;
}

ag_timestep_embedding_args ag_timestep_embedding_args_decode(const ag_op_call *c) {
  return (ag_timestep_embedding_args){c->i[0], (int)c->i[1],
                                      c->f[0] == 0 ? AG_TIMESTEP_MAX_PERIOD : c->f[0], c->f[1]};
}

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
  const ag_timestep_embedding_args a = ag_timestep_embedding_args_decode(c);
  char d[64];
  AG_TRY(ag_op_require_float("timestep_embedding", "timesteps", t));
  if (t->ndim != 1)
    return ag_set_error(AG_ERR_INVALID, "timestep_embedding: timesteps %s must be a vector",
                        ag_tensor_describe(t, d, sizeof d));
  if (a.dim < 1)
    return ag_set_error(AG_ERR_INVALID, "timestep_embedding: dim %lld must be positive",
                        (long long)a.dim);
  if (a.max_period < 0)
    return ag_set_error(AG_ERR_INVALID, "timestep_embedding: max_period %g must be positive",
                        (double)a.max_period);
  /* The frequency exponent divides by dim/2 - shift. */
  if (a.dim >= 2 && (float)(a.dim / 2) == a.downscale_freq_shift)
    return ag_set_error(AG_ERR_INVALID,
                        "timestep_embedding: downscale_freq_shift %g equals dim/2 for dim %lld",
                        (double)a.downscale_freq_shift, (long long)a.dim);
  out[0] = ag_shape_of(t);
  out[0].ndim = 2;
  out[0].dims[1] = a.dim;
  return AG_OK;
}

ag_tensor *ag_embedding(ag_graph *g, ag_tensor *table, ag_tensor *ids) {
  return ag_graph_op(g, AG_OP_EMBEDDING, &(ag_op_call){.in = {table, ids}}, NULL);
}

ag_tensor *ag_timestep_embedding(ag_graph *g, ag_tensor *t, ag_timestep_embedding_args args) {
  ag_op_call c = {.in = {t}};
  ag_timestep_embedding_args_encode(&c, &args);
  return ag_graph_op(g, AG_OP_TIMESTEP_EMBEDDING, &c, NULL);
}
