/* Random fills: typed arguments, shape inference, graph builders and eager
 * API. A fill has no inputs, so its output gives the shape. */
#include "ops_internal.h"
#include "runtime/graph/ag_graph.h"

void ag_uniform_args_encode(ag_op_call *c, const ag_uniform_args *a) {
  c->u[0] = a->seed, c->u[1] = a->offset;
  c->f[0] = a->lo, c->f[1] = a->hi;
}
ag_uniform_args ag_uniform_args_decode(const ag_op_call *c) {
  return (ag_uniform_args){c->u[0], c->u[1], c->f[0], c->f[1]};
}

void ag_normal_args_encode(ag_op_call *c, const ag_normal_args *a) {
  c->u[0] = a->seed, c->u[1] = a->offset;
  c->f[0] = a->mean, c->f[1] = a->std;
}
ag_normal_args ag_normal_args_decode(const ag_op_call *c) {
  return (ag_normal_args){c->u[0], c->u[1], c->f[0], c->f[1]};
}

static ag_status infer_fill(const char *op, const ag_op_call *c, ag_shape *out) {
  if (!c->out[0]) return ag_set_error(AG_ERR_INVALID, "%s: output 0 is missing", op);
  AG_TRY(ag_op_require_float(op, "output 0", c->out[0]));
  out[0] = ag_shape_of(c->out[0]);
  return AG_OK;
}

ag_status ag_infer_fill_uniform(const ag_op_call *c, ag_shape *out) {
  return infer_fill("fill_uniform", c, out);
}

ag_status ag_infer_fill_normal(const ag_op_call *c, ag_shape *out) {
  return infer_fill("fill_normal", c, out);
}

ag_tensor *ag_rand(ag_graph *g, ag_dtype dt, int ndim, const int64_t *shape, uint64_t seed,
                   uint64_t offset) {
  ag_op_call c = {0};
  ag_uniform_args_encode(&c, &(ag_uniform_args){seed, offset, 0.0f, 1.0f});
  return ag_graph_source(g, AG_OP_FILL_UNIFORM, &c, dt, ndim, shape);
}

ag_tensor *ag_randn(ag_graph *g, ag_dtype dt, int ndim, const int64_t *shape, uint64_t seed,
                    uint64_t offset) {
  ag_op_call c = {0};
  ag_normal_args_encode(&c, &(ag_normal_args){seed, offset, 0.0f, 1.0f});
  return ag_graph_source(g, AG_OP_FILL_NORMAL, &c, dt, ndim, shape);
}

ag_status ag_eager_fill_uniform(ag_tensor *y, uint64_t seed, uint64_t offset, float lo, float hi) {
  ag_op_call c = {.out = {y}};
  ag_uniform_args_encode(&c, &(ag_uniform_args){seed, offset, lo, hi});
  return ag_op_eager(AG_OP_FILL_UNIFORM, &c);
}

ag_status ag_eager_fill_normal(ag_tensor *y, uint64_t seed, uint64_t offset, float mean,
                               float std) {
  ag_op_call c = {.out = {y}};
  ag_normal_args_encode(&c, &(ag_normal_args){seed, offset, mean, std});
  return ag_op_eager(AG_OP_FILL_NORMAL, &c);
}
