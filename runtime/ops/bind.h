/* bind.h - what the bindings (bind_<family>.c) share. A binding receives a
 * call that runtime/ops/ops.c has checked (backend, contiguity, shapes) and
 * calls kernels through the backend's kernel table, so the same binding
 * serves the CPU, CUDA and emulator backends. */
#ifndef AG_BIND_H
#define AG_BIND_H

#include "kernels/common/ag_kernels.h"
#include "ops_internal.h"

/* Data of input / output i (raw backend addresses). */
static inline const void *ag_in_data(const ag_op_call *c, int i) {
  return ag_tensor_data(c->in[i]);
}
static inline void *ag_out_data(const ag_op_call *c, int i) { return ag_tensor_data(c->out[i]); }

/* The dtype a call computes in: its first input's, or for ops without
 * inputs (fills) its first output's. */
static inline ag_dtype ag_call_dtype(const ag_op_call *c) {
  return c->in[0] ? c->in[0]->dtype : c->out[0]->dtype;
}

/* The library handles of the backend running the call (cuBLASLt, cuDNN). */
static inline ag_kernel_ctx *ag_call_libs(const ag_op_call *c) { return &c->be->libs; }

#endif
