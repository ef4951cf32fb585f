/* Which AG_CPU_SIMD clone the loader picks (see cpu_simd.h). The test
 * mirrors GCC's resolver for the x86-64-v4 and -v3 levels. */
#include "cpu_simd.h"

const char *ag_cpu_simd_isa(void) {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("x86-64-v4")) return "avx512";
  if (__builtin_cpu_supports("x86-64-v3")) return "avx2";
#endif
  return "baseline";
}
