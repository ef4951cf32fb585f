/* Tensors and views. */
#include "ag_tensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static ag_status check_shape(int ndim, const int64_t *shape, size_t esize) {
  if (ndim < 0 || ndim > AG_MAX_DIMS)
    return ag_set_error(AG_ERR_INVALID, "tensor: %d dims (1..%d supported)", ndim, AG_MAX_DIMS);
  for (int i = 0; i < ndim; i++)
    if (shape[i] < 0) return ag_set_error(AG_ERR_INVALID, "tensor: dim %d is negative", i);
  /* Strides multiply every non-zero dim, so a zero dim must not hide a
   * product that overflows them; the byte size must fit too. */
  if (!ag_shape_size(shape, ndim, esize, INT64_MAX, NULL, NULL))
    return ag_set_error(AG_ERR_INVALID, "tensor: shape's byte size overflows 64 bits");
  return AG_OK;
}

static void set_contiguous_strides(ag_tensor *t) {
  int64_t s = 1;
  for (int i = t->ndim - 1; i >= 0; i--) {
    t->stride[i] = s;
    s *= t->shape[i];
  }
}

ag_tensor *ag_tensor_new(ag_backend *be, ag_dtype dt, int ndim, const int64_t *shape) {
  if ((unsigned)dt >= AG_DTYPE_COUNT) {
    ag_set_error(AG_ERR_INVALID, "tensor: invalid dtype %d", (int)dt);
    return NULL;
  }
  if (check_shape(ndim, shape, ag_dtype_size(dt)) != AG_OK) return NULL;
  ag_tensor *t = calloc(1, sizeof *t);
  ag_buffer *b = calloc(1, sizeof *b);
  if (!t || !b) {
    free(t);
    free(b);
    ag_set_error(AG_ERR_OOM, "tensor: out of host memory");
    return NULL;
  }
  t->dtype = dt;
  t->ndim = ndim;
  memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
  set_contiguous_strides(t);
  b->backend = be;
  b->bytes = ag_tensor_nbytes(t);
  b->refs = 1;
  t->buf = b;
  if (ag_allocator_alloc(be->alloc, b->bytes, &b->data) != AG_OK) {
    free(b);
    free(t);
    return NULL;
  }
  return t;
}

static void buffer_release(ag_buffer *b) {
  if (--b->refs > 0) return;
  ag_allocator_free(b->backend->alloc, b->data);
  free(b);
}

void ag_tensor_free(ag_tensor *t) {
  if (!t) return;
  buffer_release(t->buf);
  free(t);
}

int64_t ag_tensor_numel(const ag_tensor *t) {
  int64_t n = 1;
  for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
  return n;
}

size_t ag_tensor_nbytes(const ag_tensor *t) {
  return (size_t)ag_tensor_numel(t) * ag_dtype_size(t->dtype);
}

int ag_tensor_is_contiguous(const ag_tensor *t) {
  int64_t s = 1;
  for (int i = t->ndim - 1; i >= 0; i--) {
    if (t->shape[i] != 1 && t->stride[i] != s) return 0;
    s *= t->shape[i];
  }
  return 1;
}

int ag_tensor_same_shape(const ag_tensor *a, const ag_tensor *b) {
  if (a->ndim != b->ndim) return 0;
  for (int i = 0; i < a->ndim; i++)
    if (a->shape[i] != b->shape[i]) return 0;
  return 1;
}

ag_backend *ag_tensor_backend(const ag_tensor *t) { return t->buf->backend; }

void *ag_tensor_data(const ag_tensor *t) {
  return (char *)t->buf->data + t->offset * (int64_t)ag_dtype_size(t->dtype);
}

const char *ag_tensor_describe(const ag_tensor *t, char *buf, size_t len) {
  ag_shape s = ag_shape_of(t);
  return ag_shape_describe(&s, buf, len);
}

static ag_tensor *new_view(const ag_tensor *t) {
  ag_tensor *v = malloc(sizeof *v);
  if (!v) {
    ag_set_error(AG_ERR_OOM, "tensor view: out of host memory");
    return NULL;
  }
  *v = *t;
  v->grad = NULL;
  v->buf->refs++;
  return v;
}

ag_tensor *ag_tensor_slice(const ag_tensor *t, int dim, int64_t start, int64_t stop) {
  if (dim < 0 || dim >= t->ndim || start < 0 || stop < start || stop > t->shape[dim]) {
    char d[64];
    ag_set_error(AG_ERR_INVALID, "slice: dim %d [%lld, %lld) is out of range for %s", dim,
                 (long long)start, (long long)stop, ag_tensor_describe(t, d, sizeof d));
    return NULL;
  }
  ag_tensor *v = new_view(t);
  if (!v) return NULL;
  v->offset += start * t->stride[dim];
  v->shape[dim] = stop - start;
  return v;
}

ag_tensor *ag_tensor_reshape(const ag_tensor *t, int ndim, const int64_t *shape) {
  char d[64];
  if (check_shape(ndim, shape, 1) != AG_OK) return NULL;
  int64_t n = 1;
  for (int i = 0; i < ndim; i++) n *= shape[i];
  if (n != ag_tensor_numel(t)) {
    ag_set_error(AG_ERR_INVALID, "reshape: %s has %lld elements, the new shape %lld",
                 ag_tensor_describe(t, d, sizeof d), (long long)ag_tensor_numel(t), (long long)n);
    return NULL;
  }
  if (!ag_tensor_is_contiguous(t)) {
    ag_set_error(AG_ERR_INVALID, "reshape: %s is a non-contiguous view; make it contiguous first",
                 ag_tensor_describe(t, d, sizeof d));
    return NULL;
  }
  ag_tensor *v = new_view(t);
  if (!v) return NULL;
  v->ndim = ndim;
  memcpy(v->shape, shape, (size_t)ndim * sizeof *shape);
  set_contiguous_strides(v);
  return v;
}

ag_tensor *ag_tensor_permute(const ag_tensor *t, const int *perm) {
  int seen[AG_MAX_DIMS] = {0};
  for (int i = 0; i < t->ndim; i++) {
    if (perm[i] < 0 || perm[i] >= t->ndim || seen[perm[i]]++) {
      ag_set_error(AG_ERR_INVALID, "permute: not a permutation of %d dims", t->ndim);
      return NULL;
    }
  }
  ag_tensor *v = new_view(t);
  if (!v) return NULL;
  for (int i = 0; i < t->ndim; i++) {
    v->shape[i] = t->shape[perm[i]];
    v->stride[i] = t->stride[perm[i]];
  }
  return v;
}

/* Moves a contiguous tensor's bytes to another backend, staging through host
 * memory when neither side is the host. */
static ag_status transfer(const ag_tensor *src, ag_tensor *dst) {
  ag_backend *from = ag_tensor_backend(src), *to = ag_tensor_backend(dst);
  size_t bytes = ag_tensor_nbytes(src);
  if (from == to) return from->copy(from, ag_tensor_data(dst), ag_tensor_data(src), bytes,
                                    AG_COPY_D2D, NULL);
  if (from->host_visible)
    return to->copy(to, ag_tensor_data(dst), ag_tensor_data(src), bytes, AG_COPY_H2D, NULL);
  if (to->host_visible)
    return from->copy(from, ag_tensor_data(dst), ag_tensor_data(src), bytes, AG_COPY_D2H, NULL);
  void *stage = malloc(bytes ? bytes : 1);
  if (!stage) return ag_set_error(AG_ERR_OOM, "tensor copy: no host memory for staging");
  ag_status st = from->copy(from, stage, ag_tensor_data(src), bytes, AG_COPY_D2H, NULL);
  if (st == AG_OK) st = to->copy(to, ag_tensor_data(dst), stage, bytes, AG_COPY_H2D, NULL);
  free(stage);
  return st;
}

ag_status ag_tensor_copy(ag_tensor *dst, const ag_tensor *src) {
  char ds[64], dd[64];
  if (src->dtype != dst->dtype || ag_tensor_numel(src) != ag_tensor_numel(dst) ||
      !ag_tensor_is_contiguous(src) || !ag_tensor_is_contiguous(dst))
    return ag_set_error(
        AG_ERR_INVALID, "tensor copy: %s into %s needs contiguous tensors of one dtype and size",
        ag_tensor_describe(src, ds, sizeof ds), ag_tensor_describe(dst, dd, sizeof dd));
  return transfer(src, dst);
}

static ag_status check_host_io(const ag_tensor *t, size_t bytes, const char *what) {
  char d[64];
  if (!ag_tensor_is_contiguous(t))
    return ag_set_error(AG_ERR_INVALID, "%s: %s is not contiguous", what,
                        ag_tensor_describe(t, d, sizeof d));
  if (bytes != ag_tensor_nbytes(t))
    return ag_set_error(AG_ERR_INVALID, "%s: %zu bytes given, %s holds %zu", what, bytes,
                        ag_tensor_describe(t, d, sizeof d), ag_tensor_nbytes(t));
  return AG_OK;
}

ag_status ag_tensor_write(ag_tensor *t, const void *host, size_t bytes) {
  AG_TRY(check_host_io(t, bytes, "tensor write"));
  ag_backend *be = ag_tensor_backend(t);
  return be->copy(be, ag_tensor_data(t), host, bytes, AG_COPY_H2D, NULL);
}

ag_status ag_tensor_read(const ag_tensor *t, void *host, size_t bytes) {
  AG_TRY(check_host_io(t, bytes, "tensor read"));
  ag_backend *be = ag_tensor_backend(t);
  return be->copy(be, host, ag_tensor_data(t), bytes, AG_COPY_D2H, NULL);
}

ag_shape ag_shape_of(const ag_tensor *t) {
  ag_shape s = {t->dtype, t->ndim, {0}};
  memcpy(s.dims, t->shape, sizeof s.dims);
  return s;
}

const char *ag_shape_describe(const ag_shape *s, char *buf, size_t len) {
  int n = snprintf(buf, len, "%s[", ag_dtype_name(s->dtype));
  for (int i = 0; i < s->ndim && n > 0 && (size_t)n < len; i++)
    n += snprintf(buf + n, len - (size_t)n, i ? ",%lld" : "%lld", (long long)s->dims[i]);
  if (n > 0 && (size_t)n < len) snprintf(buf + n, len - (size_t)n, "]");
  return buf;
}

int ag_shape_equal(const ag_shape *a, const ag_shape *b) {
  if (a->dtype != b->dtype || a->ndim != b->ndim) return 0;
  for (int i = 0; i < a->ndim; i++)
    if (a->dims[i] != b->dims[i]) return 0;
  return 1;
}
