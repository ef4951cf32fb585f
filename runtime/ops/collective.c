/* Collective ops: typed arguments, shape inference, graph builders. */
#include "ops_internal.h"
#include "runtime/graph/ag_graph.h"

void ag_all_gather_args_encode(ag_op_call *c, const ag_all_gather_args *a) {
  c->i[0] = a->world;
}
ag_all_gather_args ag_all_gather_args_decode(const ag_op_call *c) {
  return (ag_all_gather_args){(int)c->i[0]};
}

ag_status ag_infer_all_gather(const ag_op_call *c, ag_shape *out) {
  const ag_tensor *x = c->in[0];
  const ag_all_gather_args a = ag_all_gather_args_decode(c);
  char d[64];
  AG_TRY(ag_op_require_float("all_gather", "input 0", x));
  if (x->ndim == 0) return ag_set_error(AG_ERR_INVALID, "all_gather: input has no dims");
  if (a.world < 1)
    return ag_set_error(AG_ERR_INVALID, "all_gather: world %d is not a rank count", a.world);
  if (x->shape[0] > INT64_MAX / a.world)
    return ag_set_error(AG_ERR_INVALID, "all_gather: %d copies of %s overflow", a.world,
                        ag_tensor_describe(x, d, sizeof d));
  out[0] = ag_shape_of(x);
  out[0].dims[0] *= a.world;
  return AG_OK;
}

ag_tensor *ag_all_gather(ag_graph *g, ag_tensor *x, int world) {
  ag_op_call c = {.in = {x}};
  ag_all_gather_args_encode(&c, &(ag_all_gather_args){world});
  return ag_graph_op(g, AG_OP_ALL_GATHER, &c, NULL);
}
