/* ag_base.h - the vocabulary every layer shares: dtypes, status codes and the
 * thread-local error message. It is a leaf: it includes nothing of the project,
 * so CPU kernels, CUDA launchers, the runtime and the tools can all use it. */
#ifndef AG_BASE_H
#define AG_BASE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ag_dtype {
  AG_F32 = 0,
  AG_F16,
  AG_BF16,
  AG_I32,
  AG_U8,
  AG_DTYPE_COUNT
} ag_dtype;

typedef enum ag_status {
  AG_OK = 0,
  AG_ERR_INVALID,     /* bad argument, shape or dtype */
  AG_ERR_OOM,         /* an allocation failed */
  AG_ERR_DEVICE,      /* driver, runtime or library call failed */
  AG_ERR_UNSUPPORTED, /* no kernel for this op / dtype / backend */
  AG_ERR_IO,          /* file missing, truncated or corrupt */
  AG_ERR_KERNEL       /* a kernel misbehaved (caught by the emulator) */
} ag_status;

size_t ag_dtype_size(ag_dtype dt);
const char *ag_dtype_name(ag_dtype dt);
const char *ag_status_name(ag_status st);

/* Records a printf-style message for the calling thread and returns `st`, so
 * error paths read `return ag_set_error(AG_ERR_INVALID, "...", ...);`. */
ag_status ag_set_error(ag_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Message of the last error set on this thread ("" when none). */
const char *ag_last_error(void);
void ag_clear_error(void);

/* Overflow-checked size arithmetic. Every size that comes from outside the
 * process (a file's dims, offsets, lengths; a command line's counts) goes
 * through these before it reaches an allocation or pointer arithmetic. Each
 * returns 1 and stores the exact result, or returns 0 and leaves *out
 * untouched when the result does not fit. */
int ag_size_add(size_t a, size_t b, size_t *out);
int ag_size_mul(size_t a, size_t b, size_t *out);

/* Element count and byte size of a shape of `ndim` dims of `esize` bytes
 * each. Fails (returns 0) when a dim is negative or when the product of the
 * non-zero dims times `esize` exceeds `max_bytes`: a zero dim must not hide
 * huge others, because strides multiply them all. `esize` must be >= 1;
 * `count` and `bytes` may be NULL. */
int ag_shape_size(const int64_t *dims, int ndim, size_t esize, size_t max_bytes, size_t *count,
                  size_t *bytes);

#define AG_TRY(expr)                                                           \
  do {                                                                         \
    ag_status ag_try_st_ = (expr);                                             \
    if (ag_try_st_ != AG_OK) return ag_try_st_;                                \
  } while (0)

#ifdef __cplusplus
}
#endif

#endif
