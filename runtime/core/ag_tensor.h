/* ag_tensor.h - the main header of runtime/core/, which owns tensors, shapes
 * and the build facts (ag_info.h); it sits on the backends and below
 * everything else. n-d arrays (up to 4 dims) living in a backend's memory.
 * Storage is a reference-counted buffer; views (slice, reshape, permute)
 * share it and only change shape, strides and offset. */
#ifndef AG_TENSOR_H
#define AG_TENSOR_H

#include "runtime/backends/ag_backend.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AG_MAX_DIMS 4

typedef struct ag_buffer {
  ag_backend *backend;
  void *data;
  size_t bytes;
  int refs;
} ag_buffer;

typedef struct ag_tensor {
  ag_dtype dtype;
  int ndim;
  int64_t shape[AG_MAX_DIMS];
  int64_t stride[AG_MAX_DIMS]; /* in elements */
  int64_t offset;              /* in elements, from buf->data */
  ag_buffer *buf;
  char name[64];
  struct ag_tensor *grad;
} ag_tensor;

/* A new contiguous tensor (uninitialised); NULL on error (see ag_last_error). */
ag_tensor *ag_tensor_new(ag_backend *be, ag_dtype dt, int ndim, const int64_t *shape);
/* Frees the tensor and drops its reference to the buffer. NULL is a no-op. */
void ag_tensor_free(ag_tensor *t);

int64_t ag_tensor_numel(const ag_tensor *t);
size_t ag_tensor_nbytes(const ag_tensor *t);
int ag_tensor_is_contiguous(const ag_tensor *t);
int ag_tensor_same_shape(const ag_tensor *a, const ag_tensor *b);
ag_backend *ag_tensor_backend(const ag_tensor *t);
/* Address of element 0 in backend memory. */
void *ag_tensor_data(const ag_tensor *t);
/* "f32[2,3,4]" */
const char *ag_tensor_describe(const ag_tensor *t, char *buf, size_t len);

/* A shape and dtype without memory: what an op gives an output. */
typedef struct ag_shape {
  ag_dtype dtype;
  int ndim;
  int64_t dims[AG_MAX_DIMS];
} ag_shape;

/* The shape of an existing tensor. */
ag_shape ag_shape_of(const ag_tensor *t);
/* "f32[2,3]" into buf; returns buf. */
const char *ag_shape_describe(const ag_shape *s, char *buf, size_t len);

int ag_shape_equal(const ag_shape *a, const ag_shape *b);

/* Views: no data is copied. slice takes [start, stop) along `dim`. reshape
 * needs a contiguous source; permute reorders dims (perm[i] = source dim). */
ag_tensor *ag_tensor_slice(const ag_tensor *t, int dim, int64_t start, int64_t stop);
ag_tensor *ag_tensor_reshape(const ag_tensor *t, int ndim, const int64_t *shape);
ag_tensor *ag_tensor_permute(const ag_tensor *t, const int *perm);

/* Copies src's elements into dst (any backends): same dtype and element
 * count, both contiguous. Synchronous. */
ag_status ag_tensor_copy(ag_tensor *dst, const ag_tensor *src);

/* Copy between host memory and a contiguous tensor; `bytes` must equal
 * ag_tensor_nbytes. Synchronous. */
ag_status ag_tensor_write(ag_tensor *t, const void *host, size_t bytes);
ag_status ag_tensor_read(const ag_tensor *t, void *host, size_t bytes);

#ifdef __cplusplus
}
#endif

#endif
