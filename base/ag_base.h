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

#define AG_TRY(expr)                                                           \
  do {                                                                         \
    ag_status ag_try_st_ = (expr);                                             \
    if (ag_try_st_ != AG_OK) return ag_try_st_;                                \
  } while (0)

#ifdef __cplusplus
}
#endif

#endif
