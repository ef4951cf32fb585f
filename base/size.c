/* size.c - overflow-checked size arithmetic for everything read from outside
 * (see ag_base.h). The compiler builtins compute the exact result and say
 * whether it wrapped, which no portable C expression does in one step. */
#include "ag_base.h"

int ag_size_add(size_t a, size_t b, size_t *out) {
  size_t r;
  if (__builtin_add_overflow(a, b, &r)) return 0;
  *out = r;
  return 1;
}

int ag_size_mul(size_t a, size_t b, size_t *out) {
  size_t r;
  if (__builtin_mul_overflow(a, b, &r)) return 0;
  *out = r;
  return 1;
}

int ag_shape_size(const int64_t *dims, int ndim, size_t esize, size_t max_bytes, size_t *count,
                  size_t *bytes) {
  if (esize == 0) return 0;
  size_t n = 1, span = esize; /* span: the product with zero dims skipped */
  for (int i = 0; i < ndim; i++) {
    if (dims[i] < 0 || (uint64_t)dims[i] > SIZE_MAX) return 0;
    size_t d = (size_t)dims[i];
    if (d && (!ag_size_mul(span, d, &span) || span > max_bytes)) return 0;
    n = d ? n * d : 0; /* n * d <= span / esize, so it cannot wrap */
  }
  if (span > max_bytes) return 0;
  if (count) *count = n;
  if (bytes) *bytes = n * esize;
  return 1;
}
