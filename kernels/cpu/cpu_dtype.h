/* cpu_dtype.h - element access for the CPU kernels. Reduced-precision values
 * are widened to f32 for the math and rounded back once on store, the same
 * contract as the CUDA kernels, so both backends round identically. */
#ifndef AG_CPU_DTYPE_H
#define AG_CPU_DTYPE_H

#include "base/ag_base.h"
#include "kernels/common/ag_bf16.h"

static inline int ag_cpu_is_float(ag_dtype dt) {
  return dt == AG_F32 || dt == AG_BF16 || dt == AG_F16;
}

static inline float ag_cpu_load(ag_dtype dt, const void *p, int64_t i) {
  switch (dt) {
  case AG_BF16: return ag_bf16_to_f32(((const uint16_t *)p)[i]);
  case AG_F16: return ag_f16_to_f32(((const uint16_t *)p)[i]);
  default: return ((const float *)p)[i];
  }
}

static inline void ag_cpu_store(ag_dtype dt, void *p, int64_t i, float v) {
  switch (dt) {
  case AG_BF16: ((uint16_t *)p)[i] = ag_f32_to_bf16(v); break;
  case AG_F16: ((uint16_t *)p)[i] = ag_f32_to_f16(v); break;
  default: ((float *)p)[i] = v; break;
  }
}

/* The error every float-only kernel returns for other dtypes. */
static inline ag_status ag_cpu_float_only(const char *kernel, ag_dtype dt) {
  return ag_set_error(AG_ERR_UNSUPPORTED, "cpu kernel %s: dtype %s is not supported",
                      kernel, ag_dtype_name(dt));
}

#endif
