/* cpu_simd.h - how the CPU kernels get vector code without -march=native.
 *
 * A hot loop lives in a function marked AG_CPU_SIMD. GCC compiles such a
 * function three times (x86-64-v4: AVX-512; x86-64-v3: AVX2 and FMA; the
 * baseline x86-64) and the loader binds the best one for the running
 * processor once, at start (an ifunc), so a binary built on one machine runs
 * on any x86-64 and still uses AVX-512 where there is one. The loops are
 * plain C shaped for the auto-vectoriser (this library is built with -O3):
 * no calls that are not inlined, no early exits, the dtype chosen outside
 * the loop. OpenMP splits rows or chunks outside the marked function; the
 * marked function works on one chunk. */
#ifndef AG_CPU_SIMD_H
#define AG_CPU_SIMD_H

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define AG_CPU_SIMD __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define AG_CPU_SIMD
#endif

/* Helpers of AG_CPU_SIMD loops are always inlined: out of line they would
 * be compiled for the baseline ISA only, outside the clones that call
 * them, and GCC's inliner refuses large ones (partial-sum arrays) itself. */
#if defined(__GNUC__)
#define AG_CPU_INLINE static inline __attribute__((always_inline))
#else
#define AG_CPU_INLINE static inline
#endif

/* f(dt, args...) with the float dtype dt turned into a constant, so that an
 * AG_CPU_INLINE loop written once with ag_cpu_load / ag_cpu_store is
 * compiled once per dtype with the conversion folded into the loop. */
#define AG_CPU_BY_DTYPE(dt, f, ...)                                                                \
  ((dt) == AG_F32    ? f(AG_F32, __VA_ARGS__)                                                      \
   : (dt) == AG_BF16 ? f(AG_BF16, __VA_ARGS__)                                                     \
                     : f(AG_F16, __VA_ARGS__))

/* Elements per OpenMP work item in flat loops: large enough to amortise
 * the loop overhead, small enough to split 1 MB over every core. */
#define AG_CPU_CHUNK 16384

/* The vector ISA the AG_CPU_SIMD clones dispatch to on this processor:
 * "avx512", "avx2" or "baseline". */
const char *ag_cpu_simd_isa(void);

#endif
