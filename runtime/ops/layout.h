/* layout.h - ops that move data between layouts. Axes may be negative
 * (counted from the end). */
#ifndef AG_OPS_LAYOUT_H
#define AG_OPS_LAYOUT_H

#include "runtime/core/ag_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A new contiguous copy of any view, on the same backend: the eager form
 * of CONTIGUOUS. (The tensor layer copies only contiguous data; copying a
 * strided view takes a kernel, so it lives here, above it.) */
ag_tensor *ag_tensor_contiguous(const ag_tensor *t);
/* A new contiguous copy of any view on another backend. */
ag_tensor *ag_tensor_to(const ag_tensor *t, ag_backend *be);

/* y = cat([a, b], axis). */
ag_status ag_eager_concat(ag_tensor *y, const ag_tensor *a, const ag_tensor *b, int axis);
/* y0 = x[..., :first, ...], y1 = x[..., first:, ...] along `axis`. */
ag_status ag_eager_split(ag_tensor *y0, ag_tensor *y1, const ag_tensor *x, int axis, int64_t first);
/* y = x.index_select(axis, idx), idx an i32 vector. */
ag_status ag_eager_gather(ag_tensor *y, const ag_tensor *x, const ag_tensor *idx, int axis);

#ifdef __cplusplus
}
#endif

#endif
