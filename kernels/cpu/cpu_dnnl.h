/* cpu_dnnl.h - oneDNN for the CPU kernels: the library PyTorch uses for its
 * CPU convolutions and bf16 products, and the CPU counterpart of cuDNN and
 * cuBLASLt in the CUDA backend.
 *
 * A host backend opens one ag_dnnl (engine, stream, primitive cache) when it
 * is created and keeps it in its ag_kernel_ctx (`onednn`). Kernels describe a
 * problem as a key, build its plan once on a miss and execute the cached
 * plan on every later call: the graph runtime replays the same shapes every
 * step, so primitive creation (tens of microseconds to milliseconds of JIT)
 * happens once per shape. oneDNN picks its code from the processor's
 * features at run time (AVX2, AVX-512, AVX-512 BF16, AMX), never from the
 * model number.
 *
 * A plan is a primitive plus, for each argument whose layout the primitive
 * chose (blocked formats such as nChw16c), a reorder between the caller's
 * plain layout and that one. Reorders are added only where the primitive
 * asked for a different layout; plain strided layouts are used as they are.
 *
 * Plans execute on the backend's one stream: the CPU kernels of one backend
 * run from one host thread at a time (each op parallelises inside, through
 * OpenMP, which this oneDNN build shares). */
#ifndef AG_CPU_DNNL_H
#define AG_CPU_DNNL_H

#include <oneapi/dnnl/dnnl.h>

#include "base/ag_base.h"
#include "kernels/common/ag_kernel_ctx.h"

#define AG_DNNL_MAX_ARGS 6

typedef struct ag_dnnl ag_dnnl;

/* One argument of a plan: the caller's layout, and the primitive's when it
 * differs (then `reorder` converts between them through `scratch`). */
typedef struct ag_dnnl_arg {
  int arg;    /* DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, ... */
  int output; /* written by the primitive */
  dnnl_memory_desc_t user;
  dnnl_memory_desc_t want;
  dnnl_primitive_t reorder; /* NULL: the primitive takes `user` as it is */
  void *scratch;            /* the argument in the `want` layout */
} ag_dnnl_arg;

typedef struct ag_dnnl_plan {
  dnnl_primitive_t prim;
  ag_dnnl_arg args[AG_DNNL_MAX_ARGS];
  int n_args;
} ag_dnnl_plan;

/* Opens the oneDNN state of a host backend into ctx->onednn. It lives as
 * long as the backend, i.e. the process: backends are never torn down. */
ag_status ag_cpu_dnnl_open(ag_kernel_ctx *ctx);

/* The state opened in ctx, or an error naming `kernel` when there is none. */
ag_status ag_cpu_dnnl_of(ag_kernel_ctx *ctx, const char *kernel, ag_dnnl **d);
dnnl_engine_t ag_dnnl_engine(const ag_dnnl *d);

/* The cached plan for `key` (compared byte for byte: zero the key's padding),
 * or NULL on a miss. */
ag_dnnl_plan *ag_dnnl_find(ag_dnnl *d, const void *key, size_t key_len);

/* Builds a plan around the primitive of `pd` for `n` arguments given in the
 * caller's layout, adds it to the cache under `key` and returns it. Takes
 * ownership of nothing: `pd` stays the caller's. */
ag_status ag_dnnl_add(ag_dnnl *d, const void *key, size_t key_len, const_dnnl_primitive_desc_t pd,
                      const ag_dnnl_arg *user_args, int n, ag_dnnl_plan **plan);

/* Runs a plan: `ptrs[i]` is the caller's buffer for plan argument i. */
ag_status ag_dnnl_execute(ag_dnnl *d, const ag_dnnl_plan *plan, void *const *ptrs);

/* A plain row-major memory descriptor of `ndim` dims with the given element
 * strides; a stride of 0 marks a dim of size 1 broadcast by the primitive. */
dnnl_memory_desc_t ag_dnnl_md(ag_dtype dt, int ndim, const int64_t *dims, const int64_t *strides);
/* A dense memory descriptor in one of oneDNN's named layouts (abcd, ...). */
dnnl_memory_desc_t ag_dnnl_md_tag(ag_dtype dt, int ndim, const int64_t *dims,
                                  dnnl_format_tag_t tag);
/* oneDNN's type for an aigc dtype; dnnl_data_type_undef for the others. */
dnnl_data_type_t ag_dnnl_dtype(ag_dtype dt);

/* A failed oneDNN call as an aigc error naming the kernel and the call. */
ag_status ag_dnnl_error(dnnl_status_t s, const char *kernel, const char *what);

/* C [m, n] = alpha * op(A) [m, k] @ op(B) [k, n] + beta * C, row-major with
 * leading dimensions lda, ldb, ldc: oneDNN's sgemm, which needs no plan.
 * Called outside a parallel region it uses every OpenMP thread; from inside
 * one (attention's per-block products) it runs on the calling thread only.
 * It can fail only on inconsistent dimensions, which callers rule out. */
void ag_cpu_sgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                  const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                  int64_t ldc);

/* The ISA oneDNN dispatches to on this processor ("avx512_core_bf16", ...). */
const char *ag_dnnl_isa_name(void);
/* "2.6.3" */
void ag_dnnl_version(char *buf, size_t len);

#endif
