/* Op descriptions, call checking and dispatch. Kernels may assume what is
 * checked here: every tensor is on the backend running the op, shapes and
 * dtypes agree, and all but the CONTIGUOUS op's input are contiguous. */
#include "ag_ops.h"

#include <stdio.h>
#include <string.h>

/* How an op's output shape relates to its inputs. */
typedef enum ag_shape_rule {
  AG_RULE_SAME,       /* inputs and output share one shape */
  AG_RULE_REDUCE_LAST, /* output = input with the last dim set to 1 */
  AG_RULE_FILL        /* output only */
} ag_shape_rule;

typedef struct ag_op_desc {
  ag_op_info info;
  ag_shape_rule rule;
  int strided_input; /* input 0 may be any view */
} ag_op_desc;

static const ag_op_desc ag_op_descs[AG_OP_COUNT] = {
    [AG_OP_ADD] = {{"add", 2, 1}, AG_RULE_SAME, 0},
    [AG_OP_MUL] = {{"mul", 2, 1}, AG_RULE_SAME, 0},
    [AG_OP_SCALE] = {{"scale", 1, 1}, AG_RULE_SAME, 0},
    [AG_OP_GELU] = {{"gelu", 1, 1}, AG_RULE_SAME, 0},
    [AG_OP_SILU] = {{"silu", 1, 1}, AG_RULE_SAME, 0},
    [AG_OP_SUM] = {{"sum", 1, 1}, AG_RULE_REDUCE_LAST, 0},
    [AG_OP_CONTIGUOUS] = {{"contiguous", 1, 0}, AG_RULE_SAME, 1},
    [AG_OP_FILL_UNIFORM] = {{"fill_uniform", 0, 0}, AG_RULE_FILL, 0},
    [AG_OP_FILL_NORMAL] = {{"fill_normal", 0, 0}, AG_RULE_FILL, 0},
};

const ag_op_info *ag_op_get_info(ag_op op) {
  return (unsigned)op < AG_OP_COUNT ? &ag_op_descs[op].info : NULL;
}

ag_op ag_op_by_name(const char *name) {
  for (int i = 0; i < AG_OP_COUNT; i++)
    if (strcmp(ag_op_descs[i].info.name, name) == 0) return (ag_op)i;
  return AG_OP_COUNT;
}

static ag_status check_tensor(const char *op, const char *role, const ag_tensor *t,
                              const ag_backend *be, int need_contiguous) {
  char d[64];
  if (!t) return ag_set_error(AG_ERR_INVALID, "%s: %s is missing", op, role);
  if (ag_tensor_backend(t) != be)
    return ag_set_error(AG_ERR_INVALID, "%s: %s %s lives on %s, the op runs on %s", op, role,
                        ag_tensor_describe(t, d, sizeof d), ag_tensor_backend(t)->name, be->name);
  if (need_contiguous && !ag_tensor_is_contiguous(t))
    return ag_set_error(AG_ERR_INVALID, "%s: %s %s must be contiguous", op, role,
                        ag_tensor_describe(t, d, sizeof d));
  return AG_OK;
}

static ag_status shape_mismatch(const char *op, const char *what, const ag_tensor *a,
                                const ag_tensor *b) {
  char da[64], db[64];
  return ag_set_error(AG_ERR_INVALID, "%s: %s: %s vs %s", op, what,
                      ag_tensor_describe(a, da, sizeof da), ag_tensor_describe(b, db, sizeof db));
}

/* Does `y` have the shape the rule gives for input `x`? */
static int shape_follows(ag_shape_rule rule, const ag_tensor *x, const ag_tensor *y) {
  if (rule == AG_RULE_SAME) return ag_tensor_same_shape(x, y);
  if (x->ndim != y->ndim || x->ndim == 0 || y->shape[y->ndim - 1] != 1) return 0;
  for (int i = 0; i < x->ndim - 1; i++)
    if (x->shape[i] != y->shape[i]) return 0;
  return 1;
}

static ag_status check_inputs(const ag_op_desc *d, ag_backend *be, const ag_op_call *c,
                              const ag_tensor *y) {
  const char *op = d->info.name;
  for (int i = 0; i < d->info.n_in; i++) {
    const ag_tensor *x = c->in[i];
    AG_TRY(check_tensor(op, "input", x, be, !(d->strided_input && i == 0)));
    if (x->dtype != y->dtype) return shape_mismatch(op, "dtype of input and output differ", x, y);
    if (d->rule == AG_RULE_SAME && !ag_tensor_same_shape(x, c->in[0]))
      return shape_mismatch(op, "inputs must have the same shape", c->in[0], x);
    if (!shape_follows(d->rule, x, y))
      return shape_mismatch(op, "output shape does not match the input", x, y);
  }
  return AG_OK;
}

static ag_status check_forward(ag_backend *be, ag_op op, const ag_op_call *c) {
  if ((unsigned)op >= AG_OP_COUNT) return ag_set_error(AG_ERR_INVALID, "unknown op %d", (int)op);
  const ag_op_desc *d = &ag_op_descs[op];
  AG_TRY(check_tensor(d->info.name, "output", c->out[0], be, 1));
  return check_inputs(d, be, c, c->out[0]);
}

static ag_status check_backward(ag_backend *be, ag_op op, const ag_op_call *c) {
  const ag_op_desc *d = &ag_op_descs[op];
  const char *name = d->info.name;
  if (!d->info.differentiable) return ag_set_error(AG_ERR_INVALID, "%s has no gradient", name);
  const ag_tensor *y = c->in[d->info.n_in], *gy = c->in[d->info.n_in + 1];
  AG_TRY(check_tensor(name, "output", y, be, 1));
  AG_TRY(check_inputs(d, be, c, y));
  AG_TRY(check_tensor(name, "output gradient", gy, be, 1));
  if (!ag_tensor_same_shape(y, gy) || y->dtype != gy->dtype)
    return shape_mismatch(name, "output gradient does not match the output", y, gy);
  for (int i = 0; i < d->info.n_in; i++) {
    if (!c->out[i]) continue;
    AG_TRY(check_tensor(name, "input gradient", c->out[i], be, 1));
    if (!ag_tensor_same_shape(c->out[i], c->in[i]) || c->out[i]->dtype != c->in[i]->dtype)
      return shape_mismatch(name, "input gradient does not match the input", c->in[i], c->out[i]);
  }
  return AG_OK;
}

static ag_status no_kernel(ag_backend *be, ag_op op, const char *dir) {
  return ag_set_error(AG_ERR_UNSUPPORTED, "%s: no %s kernel on backend %s",
                      ag_op_descs[op].info.name, dir, be->name);
}

/* Kernels report errors with their own name; prefix the backend so the
 * message says where it failed. */
static ag_status run(ag_backend *be, ag_op_fn fn, const ag_op_call *c) {
  ag_status st = fn(c);
  if (st != AG_OK) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", ag_last_error());
    ag_set_error(st, "on %s: %s", be->name, msg);
  }
  return st;
}

ag_status ag_op_forward(ag_backend *be, ag_op op, const ag_op_call *call) {
  AG_TRY(check_forward(be, op, call));
  if (!be->ops[op].forward) return no_kernel(be, op, "forward");
  return run(be, be->ops[op].forward, call);
}

ag_status ag_op_backward(ag_backend *be, ag_op op, const ag_op_call *call) {
  if ((unsigned)op >= AG_OP_COUNT) return ag_set_error(AG_ERR_INVALID, "unknown op %d", (int)op);
  AG_TRY(check_backward(be, op, call));
  if (!be->ops[op].backward) return no_kernel(be, op, "backward");
  return run(be, be->ops[op].backward, call);
}

static ag_status eager(ag_op op, ag_tensor *y, const ag_op_call *call) {
  if (!y) return ag_set_error(AG_ERR_INVALID, "%s: output is missing", ag_op_descs[op].info.name);
  return ag_op_forward(ag_tensor_backend(y), op, call);
}

ag_status ag_add(ag_tensor *y, const ag_tensor *a, const ag_tensor *b) {
  return eager(AG_OP_ADD, y, &(ag_op_call){.in = {a, b}, .out = {y}});
}

ag_status ag_mul(ag_tensor *y, const ag_tensor *a, const ag_tensor *b) {
  return eager(AG_OP_MUL, y, &(ag_op_call){.in = {a, b}, .out = {y}});
}

ag_status ag_scale(ag_tensor *y, const ag_tensor *a, float s) {
  return eager(AG_OP_SCALE, y, &(ag_op_call){.in = {a}, .out = {y}, .f = {s}});
}

ag_status ag_gelu(ag_tensor *y, const ag_tensor *x) {
  return eager(AG_OP_GELU, y, &(ag_op_call){.in = {x}, .out = {y}});
}

ag_status ag_silu(ag_tensor *y, const ag_tensor *x) {
  return eager(AG_OP_SILU, y, &(ag_op_call){.in = {x}, .out = {y}});
}

ag_status ag_sum(ag_tensor *y, const ag_tensor *x) {
  return eager(AG_OP_SUM, y, &(ag_op_call){.in = {x}, .out = {y}});
}

ag_status ag_fill_uniform(ag_tensor *y, uint64_t seed, uint64_t offset, float lo, float hi) {
  return eager(AG_OP_FILL_UNIFORM, y,
               &(ag_op_call){.out = {y}, .f = {lo, hi}, .u = {seed, offset}});
}

ag_status ag_fill_normal(ag_tensor *y, uint64_t seed, uint64_t offset, float mean, float std) {
  return eager(AG_OP_FILL_NORMAL, y,
               &(ag_op_call){.out = {y}, .f = {mean, std}, .u = {seed, offset}});
}
