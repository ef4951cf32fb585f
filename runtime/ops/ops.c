/* Op descriptions, call checking and dispatch. Kernels may assume what is
 * checked here: every tensor is on the backend running the op, inputs and
 * outputs have the shapes and dtypes the op's inference function gives, and
 * all of them are contiguous except the inputs an op declares strided. */
#include "ag_ops.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "bind.h"

typedef ag_status (*ag_infer_fn)(const ag_op_call *c, ag_shape *out);

/* Each op's description, inference and binding; `family` is where its
 * family's kernels sit in a backend's ag_kernel_table (NULL there: the
 * backend has none of them). */
static const struct {
  ag_op_info info;
  ag_infer_fn infer;
  const ag_op_binding *bind;
  const char *family;
  size_t family_offset;
} ag_op_descs[AG_OP_COUNT] = {
#define AG_OP_STR_(x) #x
#define AG_OP_STR(x) AG_OP_STR_(x)
#define AG_OP(ID, name, n_in, n_out, grad, strided, inplace)                                      \
  [AG_OP_##ID] = {{#name, n_in, n_out, grad, strided, inplace}, ag_infer_##name, &ag_bind_##name, \
                  AG_OP_STR(AG_OP_FAMILY), offsetof(ag_kernel_table, AG_OP_FAMILY)},
#include "ag_family_lists.h"
#undef AG_OP
#undef AG_OP_STR
#undef AG_OP_STR_
};

const ag_op_info *ag_op_get_info(ag_op op) {
  return (unsigned)op < AG_OP_COUNT ? &ag_op_descs[op].info : NULL;
}

ag_op ag_op_by_name(const char *name) {
  for (int i = 0; i < AG_OP_COUNT; i++)
    if (strcmp(ag_op_descs[i].info.name, name) == 0) return (ag_op)i;
  return AG_OP_COUNT;
}

ag_status ag_op_error_shapes(const char *op, const char *what, const ag_tensor *a,
                             const ag_tensor *b) {
  char da[64], db[64];
  return ag_set_error(AG_ERR_INVALID, "%s: %s: %s vs %s", op, what,
                      ag_tensor_describe(a, da, sizeof da), ag_tensor_describe(b, db, sizeof db));
}

ag_status ag_op_require_float(const char *op, const char *role, const ag_tensor *t) {
  if (t->dtype == AG_F32 || t->dtype == AG_F16 || t->dtype == AG_BF16) return AG_OK;
  return ag_set_error(AG_ERR_UNSUPPORTED, "%s: %s has dtype %s; f32, f16 or bf16 expected", op,
                      role, ag_dtype_name(t->dtype));
}

ag_status ag_op_require_same(const char *op, const char *what, const ag_tensor *a,
                             const ag_tensor *b) {
  if (a->dtype == b->dtype && ag_tensor_same_shape(a, b)) return AG_OK;
  return ag_op_error_shapes(op, what, a, b);
}

static ag_status check_tensor(const char *op, const char *role, int index, const ag_tensor *t,
                              const ag_backend *be, int need_contiguous) {
  char d[64];
  if (!t) return ag_set_error(AG_ERR_INVALID, "%s: %s %d is missing", op, role, index);
  if (ag_tensor_backend(t) != be)
    return ag_set_error(AG_ERR_INVALID, "%s: %s %d %s lives on %s, the op runs on %s", op, role,
                        index, ag_tensor_describe(t, d, sizeof d), ag_tensor_backend(t)->name,
                        be->name);
  if (need_contiguous && !ag_tensor_is_contiguous(t))
    return ag_set_error(AG_ERR_INVALID, "%s: %s %d %s must be contiguous", op, role, index,
                        ag_tensor_describe(t, d, sizeof d));
  return AG_OK;
}

/* A tensor the op writes (or reads back) must match the expected shape. */
static ag_status check_shape(const char *op, const char *role, int index, const ag_tensor *t,
                             const ag_shape *want) {
  ag_shape got = ag_shape_of(t);
  if (ag_shape_equal(&got, want)) return AG_OK;
  char dg[64], dw[64];
  return ag_set_error(AG_ERR_INVALID, "%s: %s %d is %s, expected %s", op, role, index,
                      ag_shape_describe(&got, dg, sizeof dg), ag_shape_describe(want, dw, sizeof dw));
}

ag_status ag_op_infer(ag_op op, const ag_op_call *c, ag_shape *out) {
  if ((unsigned)op >= AG_OP_COUNT) return ag_set_error(AG_ERR_INVALID, "unknown op %d", (int)op);
  const ag_op_info *info = &ag_op_descs[op].info;
  for (int i = 0; i < info->n_in; i++)
    if (!c->in[i]) return ag_set_error(AG_ERR_INVALID, "%s: input %d is missing", info->name, i);
  return ag_op_descs[op].infer(c, out);
}

/* Inputs at in[0..n_in) and outputs at `outs` (forward: out[], backward:
 * in[n_in..]) against the backend and the inferred shapes. */
static ag_status check_call(ag_backend *be, ag_op op, const ag_op_call *c,
                            const ag_tensor *const *outs, ag_shape *shapes) {
  const ag_op_info *info = &ag_op_descs[op].info;
  for (int i = 0; i < info->n_in; i++)
    AG_TRY(check_tensor(info->name, "input", i, c->in[i], be,
                        !(info->strided_inputs & (1u << i))));
  AG_TRY(ag_op_infer(op, c, shapes));
  for (int k = 0; k < info->n_out; k++) {
    AG_TRY(check_tensor(info->name, "output", k, outs[k], be, 1));
    AG_TRY(check_shape(info->name, "output", k, outs[k], &shapes[k]));
  }
  return AG_OK;
}

static ag_status check_backward(ag_backend *be, ag_op op, const ag_op_call *c) {
  const ag_op_info *info = &ag_op_descs[op].info;
  ag_shape shapes[AG_OP_MAX_ARGS];
  if (!info->differentiable)
    return ag_set_error(AG_ERR_INVALID, "%s has no gradient", info->name);
  AG_TRY(check_call(be, op, c, c->in + info->n_in, shapes));
  for (int k = 0; k < info->n_out; k++) {
    const ag_tensor *g = c->in[info->n_in + info->n_out + k];
    if (!g && k == 0)
      return ag_set_error(AG_ERR_INVALID, "%s: the gradient of output 0 is missing", info->name);
    if (!g) continue;
    AG_TRY(check_tensor(info->name, "output gradient", k, g, be, 1));
    AG_TRY(check_shape(info->name, "output gradient", k, g, &shapes[k]));
  }
  for (int i = 0; i < info->n_in; i++) {
    if (!c->out[i]) continue;
    ag_shape want = ag_shape_of(c->in[i]);
    AG_TRY(check_tensor(info->name, "input gradient", i, c->out[i], be, 1));
    AG_TRY(check_shape(info->name, "input gradient", i, c->out[i], &want));
  }
  return AG_OK;
}

static const void *family_kernels(const ag_backend *be, ag_op op) {
  if (!be->kernels) return NULL;
  return *(const void *const *)((const char *)be->kernels + ag_op_descs[op].family_offset);
}

ag_status ag_op_has_kernel(const ag_backend *be, ag_op op, int backward) {
  if ((unsigned)op >= AG_OP_COUNT) return ag_set_error(AG_ERR_INVALID, "unknown op %d", (int)op);
  const char *name = ag_op_descs[op].info.name, *dir = backward ? "backward" : "forward";
  const ag_op_binding *b = ag_op_descs[op].bind;
  if (!(backward ? b->backward : b->forward))
    return ag_set_error(AG_ERR_UNSUPPORTED, "%s: has no %s", name, dir);
  if (!family_kernels(be, op))
    return ag_set_error(AG_ERR_UNSUPPORTED, "%s: no %s kernel on backend %s (it has no %s kernels)",
                        name, dir, be->name, ag_op_descs[op].family);
  return AG_OK;
}

ag_status ag_op_supported(ag_backend *be, ag_op op, const ag_op_call *call, int backward) {
  AG_TRY(ag_op_has_kernel(be, op, backward));
  const ag_op_binding *b = ag_op_descs[op].bind;
  const char *name = ag_op_descs[op].info.name, *dir = backward ? "backward" : "forward";
  if (!b->supports) return AG_OK;
  ag_op_call c = *call;
  c.be = be;
  ag_status st = b->supports(&c, backward);
  if (st != AG_OK) {
    char why[768];
    snprintf(why, sizeof why, "%s", ag_last_error());
    ag_set_error(st, "%s: no %s kernel on backend %s for this call: %s", name, dir, be->name, why);
  }
  return st;
}

/* Kernels report errors with their own name; prefix the backend so the
 * message says where it failed. A backend may interpose on launches
 * (launch_op), e.g. to record them instead. */
static ag_status run(ag_backend *be, ag_op op, int backward, const ag_op_call *call) {
  AG_TRY(ag_op_supported(be, op, call, backward));
  const ag_op_binding *b = ag_op_descs[op].bind;
  ag_op_fn fn = backward ? b->backward : b->forward;
  ag_op_call c = *call;
  c.be = be;
  ag_status st = be->launch_op ? be->launch_op(be, op, backward, fn, &c) : fn(&c);
  if (st != AG_OK) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", ag_last_error());
    ag_set_error(st, "on %s: %s", be->name, msg);
  }
  return st;
}

ag_status ag_op_forward(ag_backend *be, ag_op op, const ag_op_call *call) {
  ag_shape shapes[AG_OP_MAX_ARGS];
  if ((unsigned)op >= AG_OP_COUNT) return ag_set_error(AG_ERR_INVALID, "unknown op %d", (int)op);
  AG_TRY(check_call(be, op, call, (const ag_tensor *const *)call->out, shapes));
  return run(be, op, 0, call);
}

ag_status ag_op_backward(ag_backend *be, ag_op op, const ag_op_call *call) {
  if ((unsigned)op >= AG_OP_COUNT) return ag_set_error(AG_ERR_INVALID, "unknown op %d", (int)op);
  AG_TRY(check_backward(be, op, call));
  return run(be, op, 1, call);
}

ag_status ag_op_eager(ag_op op, const ag_op_call *call) {
  const ag_op_info *info = ag_op_get_info(op);
  if (!info) return ag_set_error(AG_ERR_INVALID, "unknown op %d", (int)op);
  if (!call->out[0]) return ag_set_error(AG_ERR_INVALID, "%s: output 0 is missing", info->name);
  return ag_op_forward(ag_tensor_backend(call->out[0]), op, call);
}
