/* Thread-local error messages: deep code records what went wrong and returns a
 * status; only the outermost caller (the CLI, a test) decides to print it. */
#include "ag_base.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char ag_error_buf[1024];

size_t ag_dtype_size(ag_dtype dt) {
  switch (dt) {
  case AG_F32: return 4;
  case AG_F16: return 2;
  case AG_BF16: return 2;
  case AG_I32: return 4;
  case AG_U8: return 1;
  default: return 0;
  }
}

const char *ag_dtype_name(ag_dtype dt) {
  static const char *names[AG_DTYPE_COUNT] = {"f32", "f16", "bf16", "i32", "u8"};
  return (unsigned)dt < AG_DTYPE_COUNT ? names[dt] : "invalid";
}

const char *ag_status_name(ag_status st) {
  switch (st) {
  case AG_OK: return "ok";
  case AG_ERR_INVALID: return "invalid argument";
  case AG_ERR_OOM: return "out of memory";
  case AG_ERR_DEVICE: return "device error";
  case AG_ERR_UNSUPPORTED: return "unsupported";
  case AG_ERR_IO: return "i/o error";
  case AG_ERR_KERNEL: return "kernel fault";
  }
  return "unknown status";
}

ag_status ag_set_error(ag_status st, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ag_error_buf, sizeof ag_error_buf, fmt, ap);
  va_end(ap);
  return st;
}

const char *ag_last_error(void) { return ag_error_buf; }

void ag_clear_error(void) { ag_error_buf[0] = '\0'; }
