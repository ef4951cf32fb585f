/* ag_emu.h - CUDA-on-CPU shim: lets the project's .cu files compile with the
 * host C++ compiler (AG_CUDA_EMU defined) and run on the CPU.
 *
 * Included by kernels/cuda/ag_cuda.h; never include it from C or from code that
 * also talks to a real GPU. Execution model (implemented in emu.cpp):
 *   - a launch is synchronous; the blocks of the grid run one after another on
 *     the calling OS thread;
 *   - inside a block every CUDA thread is a cooperative fiber, so
 *     __syncthreads() and the warp collectives really wait for their partners,
 *     and a barrier that can never complete is reported as a launch error;
 *   - a CUDA thread that never waits runs to completion without a context
 *     switch, which keeps barrier-free kernels fast;
 *   - threads start in order (thread 0 first), or last to first when the
 *     environment has AG_EMU_THREAD_ORDER=reverse. A missing barrier shows up
 *     as a wrong result when a reader runs before its writer: run tests both
 *     ways to catch races in either direction;
 *   - blocks run in linear order (blockIdx.x fastest), last to first with
 *     AG_EMU_BLOCK_ORDER=reverse, or in a seeded pseudo-random permutation
 *     with AG_EMU_BLOCK_ORDER=shuffle (seed 1, or AG_EMU_BLOCK_SEED; launch
 *     errors name the order and seed), so a kernel that assumes one block runs
 *     before another gives a wrong result;
 *   - a shared-memory race detector (ag_emu_race.h, race.cpp) checks every
 *     shared-memory access of the emulated kernels: two threads of a block
 *     touching one byte in the same barrier interval, at least one writing,
 *     without a __syncwarp() between them when they are lanes of one warp, is
 *     a launch error naming both threads, both source lines and the variable,
 *     even when the result comes out right. It needs the kernels compiled with
 *     its instrumentation (kernels/emu/CMakeLists.txt: every GCC build without
 *     AddressSanitizer); AG_EMU_RACECHECK=0 turns it off at run time;
 *   - dynamic shared memory, and with the detector static __shared__ too,
 *     starts every block filled with 0xff bytes (NaN floats), so a read before
 *     the block's first write does not see plausible zeros.
 * Errors are reported the CUDA way: cudaGetLastError() returns
 * cudaErrorInvalidConfiguration or cudaErrorLaunchFailure, and
 * cudaGetErrorString(err) returns a message naming the kernel, the block and
 * what the threads were doing.
 *
 * Test binaries link this emulator together with the real libcudart, so the
 * emulated runtime functions below are macros that rename each cudaXxx to
 * ag_emu_cudaXxx; nothing here defines a symbol that libcudart defines. */
#ifndef AG_EMU_H
#define AG_EMU_H

#ifndef __cplusplus
#error "ag_emu.h is C++: compile emulated .cu files as C++17"
#endif

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <driver_types.h>
#include <vector_types.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <type_traits>
#include <utility>

/* ---- CUDA keywords --------------------------------------------------------
 * crt/host_defines.h (pulled in above) already defines most of these away for a
 * host compiler; redefine them all here so the emulator does not depend on
 * that header's details. */
#undef __global__
#undef __device__
#undef __host__
#undef __constant__
#undef __managed__
#undef __shared__
#undef __forceinline__
#undef __launch_bounds__
#undef __grid_constant__
#define __global__
#define __device__
#define __host__
#define __constant__
#define __managed__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __grid_constant__
/* __restrict__ is a GNU keyword already; keep it. __noinline__ is left
 * undefined: libstdc++ writes __attribute__((__noinline__)), which a macro
 * would break. */

/* A `__shared__` variable is one object per block, seen by all of the block's
 * threads. Blocks of a launch run one at a time and emu.cpp serialises launches
 * across OS threads, so plain static storage is exactly that: every fiber of
 * the running block sees the same object, and the next block reuses it (its
 * contents would be stale; the race detector poisons them instead, finding
 * the variables in the program's symbol table, since GCC ignores a section
 * attribute on a template's static locals). Static arrays are ordinary
 * globals to AddressSanitizer, so an out-of-bounds access is reported as a
 * global-buffer-overflow.
 * `extern __shared__ T x[];` does not compile here (it would read `extern
 * static`): declare dynamic shared memory with AG_DYNAMIC_SMEM instead. */
#define __shared__ static

namespace ag_emu {

/* ---- State of the running CUDA thread -------------------------------------
 * Updated by emu.cpp whenever it switches to another CUDA thread. `__thread`
 * rather than thread_local: the struct is trivially initialised, and GCC then
 * reads it without a call through a TLS wrapper, which matters because kernels
 * read threadIdx in their innermost loops. */
struct AsyncCopies; /* ag_emu_mma.h */
struct Current {
  uint3 thread_idx;
  uint3 block_idx;
  uint3 block_dim;
  uint3 grid_dim;
  void *dynamic_smem; /* this block's dynamic shared memory (launch smem bytes) */
  AsyncCopies *async_copies; /* the running thread's cp.async copies not landed */
};
extern __thread Current current;

inline const uint3 &thread_idx() { return current.thread_idx; }
inline const uint3 &block_idx() { return current.block_idx; }
inline dim3 block_dim() { return dim3(current.block_dim); }
inline dim3 grid_dim() { return dim3(current.grid_dim); }

/* Where a barrier or warp collective is called, for matching and messages. */
struct Site {
  const char *file;
  int line;
  const char *op; /* the intrinsic's name, e.g. "__shfl_down_sync" */
};
#define AG_EMU_SITE(op) (::ag_emu::Site{__FILE__, __LINE__, (op)})

/* ---- Block barriers (emu.cpp) ----------------------------------------------
 * All threads of the block must arrive at the same call site; the return value
 * is the count / and / or of the predicates (ignored for plain). */
enum class BarrierKind { plain, count, all, any };
int block_barrier(const Site &site, BarrierKind kind, int pred);

/* ---- Warp collectives (emu.cpp) --------------------------------------------
 * Every lane named in `mask` that exists in the block must arrive at a
 * collective of the same kind with the same mask. Values travel as 64 bits. */
enum class WarpOp { shfl, ballot, any, all, sync, exchange };
enum class ShflMode { idx, up, down, bfly };
struct WarpArgs {
  WarpOp op;
  unsigned mask;
  uint64_t value; /* the shuffled bits, or the vote predicate (0 / 1) */
  ShflMode mode;
  int lane_arg; /* srcLane, delta or laneMask */
  int width;
};
uint64_t warp_collective(const Site &site, const WarpArgs &args);
unsigned active_mask();

/* A full-warp collective for the warp-level matrix instructions: all 32 lanes
 * of the warp must arrive at the same call site, each depositing `bytes`
 * bytes at `mine`; each then receives every deposit, lane l's at
 * all32 + l * bytes. */
void warp_exchange(const Site &site, const void *mine, size_t bytes, void *all32);

/* Shuffles move any trivially copyable value of up to 8 bytes (int, float,
 * double, long long, __half, __half2, __nv_bfloat16, ...), as CUDA's
 * overloads do. */
template <class T> struct Shfl {
  static_assert(std::is_trivially_copyable<T>::value && sizeof(T) <= 8,
                "__shfl_*_sync: value must be trivially copyable and at most 8 bytes");
  static T run(const Site &site, ShflMode mode, unsigned mask, T var, int lane_arg, int width) {
    uint64_t bits = 0;
    std::memcpy(&bits, &var, sizeof var);
    bits = warp_collective(site, WarpArgs{WarpOp::shfl, mask, bits, mode, lane_arg, width});
    T out;
    std::memcpy(static_cast<void *>(&out), &bits, sizeof out);
    return out;
  }
};

/* The intrinsics are object-like macros expanding to one of these callables,
 * so `__shfl_down_sync(m, v, 1)` records its own file and line (used to match
 * barriers and to write precise errors) and keeps CUDA's default arguments. */
struct ShflAt {
  Site site;
  ShflMode mode;
  template <class T> T operator()(unsigned mask, T var, int lane_arg, int width = 32) const {
    return Shfl<T>::run(site, mode, mask, var, lane_arg, width);
  }
};
struct VoteAt {
  Site site;
  WarpOp op;
  /* ballot: the bits of the participating lanes whose predicate is non-zero;
   * any / all: 0 or 1. */
  unsigned operator()(unsigned mask, int pred) const {
    return (unsigned)warp_collective(site, WarpArgs{op, mask, pred != 0, ShflMode::idx, 0, 32});
  }
};
struct SyncwarpAt {
  Site site;
  void operator()(unsigned mask = 0xffffffffu) const {
    warp_collective(site, WarpArgs{WarpOp::sync, mask, 0, ShflMode::idx, 0, 32});
  }
};
struct BarrierAt {
  Site site;
  BarrierKind kind;
  int operator()(int pred = 1) const { return block_barrier(site, kind, pred); }
};

/* ---- Launch -----------------------------------------------------------------
 * Grid, block and smem as the caller wrote them (dim3 or any integer), checked
 * against the device limits in emu.cpp. */
struct Dims {
  long long x, y, z;
};
inline Dims dims(const dim3 &d) { return Dims{d.x, d.y, d.z}; }
template <class I, class = std::enable_if_t<std::is_integral<I>::value>> Dims dims(I n) {
  return Dims{(long long)n, 1, 1};
}

struct LaunchSpec {
  const char *kernel; /* the kernel expression, as written in AG_LAUNCH */
  const char *file;
  int line;
  Dims grid, block;
  long long smem;
};

/* Runs thread_fn(arg) once per CUDA thread of the grid; errors are recorded
 * for cudaGetLastError(). */
void launch(const LaunchSpec &spec, void (*thread_fn)(void *), void *arg);

template <class Body> void invoke_body(void *body) { (*static_cast<Body *>(body))(); }

/* `call` is a generic lambda wrapping the kernel expression (see AG_LAUNCH),
 * so template arguments the kernel leaves to deduction are deduced from the
 * launch arguments, as with <<<...>>>. */
template <class F> struct Launcher {
  LaunchSpec spec;
  F call;

  template <class... A> void operator()(A &&...args) const {
    /* Evaluated and copied once, like a real launch; each CUDA thread then
     * receives its own copies as the kernel's by-value parameters, so a
     * kernel may modify its parameters. */
    const std::tuple<std::decay_t<A>...> params{std::forward<A>(args)...};
    auto body = [this, &params] { std::apply(call, params); };
    launch(spec, &invoke_body<decltype(body)>, &body);
  }
};

template <class Stream, class F>
Launcher<F> make_launcher(const char *name, const char *file, int line, Dims grid, Dims block,
                          long long smem, const Stream &, F call) {
  /* Every launch is synchronous, so the stream only has to be evaluated. */
  return Launcher<F>{LaunchSpec{name, file, line, grid, block, smem}, call};
}

} /* namespace ag_emu */

/* ---- Built-in variables ------------------------------------------------------ */
#define threadIdx (::ag_emu::thread_idx())
#define blockIdx (::ag_emu::block_idx())
#define blockDim (::ag_emu::block_dim())
#define gridDim (::ag_emu::grid_dim())
/* A constant, not a macro: cudaDeviceProp has a member named warpSize. */
static constexpr int warpSize = 32;

/* ---- Launch and dynamic shared memory ------------------------------------- */
#define AG_LAUNCH(kernel, grid, block, smem, stream, ...)                                         \
  ::ag_emu::make_launcher(#kernel, __FILE__, __LINE__, ::ag_emu::dims(grid),                      \
                          ::ag_emu::dims(block), (long long)(smem), (stream),                     \
                          [&](const auto &...ag_emu_params_) { kernel(ag_emu_params_...); })(     \
      __VA_ARGS__)

/* This block's dynamic shared memory: a heap buffer of exactly the launch's
 * smem bytes, so AddressSanitizer catches an access past either end (and the
 * non-sanitizer build checks guard bytes around it after each block). */
#define AG_DYNAMIC_SMEM(type, name) type *name = static_cast<type *>(::ag_emu::current.dynamic_smem)

/* ---- Synchronisation ---------------------------------------------------------- */
#define __syncthreads ::ag_emu::BarrierAt{AG_EMU_SITE("__syncthreads"), ::ag_emu::BarrierKind::plain}
#define __syncthreads_count                                                                       \
  ::ag_emu::BarrierAt{AG_EMU_SITE("__syncthreads_count"), ::ag_emu::BarrierKind::count}
#define __syncthreads_and                                                                         \
  ::ag_emu::BarrierAt{AG_EMU_SITE("__syncthreads_and"), ::ag_emu::BarrierKind::all}
#define __syncthreads_or                                                                          \
  ::ag_emu::BarrierAt{AG_EMU_SITE("__syncthreads_or"), ::ag_emu::BarrierKind::any}
#define __syncwarp ::ag_emu::SyncwarpAt{AG_EMU_SITE("__syncwarp")}

#define __shfl_sync ::ag_emu::ShflAt{AG_EMU_SITE("__shfl_sync"), ::ag_emu::ShflMode::idx}
#define __shfl_up_sync ::ag_emu::ShflAt{AG_EMU_SITE("__shfl_up_sync"), ::ag_emu::ShflMode::up}
#define __shfl_down_sync ::ag_emu::ShflAt{AG_EMU_SITE("__shfl_down_sync"), ::ag_emu::ShflMode::down}
#define __shfl_xor_sync ::ag_emu::ShflAt{AG_EMU_SITE("__shfl_xor_sync"), ::ag_emu::ShflMode::bfly}
#define __ballot_sync ::ag_emu::VoteAt{AG_EMU_SITE("__ballot_sync"), ::ag_emu::WarpOp::ballot}
#define __any_sync ::ag_emu::VoteAt{AG_EMU_SITE("__any_sync"), ::ag_emu::WarpOp::any}
#define __all_sync ::ag_emu::VoteAt{AG_EMU_SITE("__all_sync"), ::ag_emu::WarpOp::all}

/* The lanes of the caller's warp that exist and have not exited. The emulator
 * does not track branch convergence, so inside a divergent branch this names
 * more lanes than hardware would. */
inline unsigned __activemask() { return ::ag_emu::active_mask(); }

/* Fibers of a block run one at a time and switch only inside barriers and
 * collectives, so every memory access is sequentially consistent: the fences
 * have nothing to order. */
inline void __threadfence() {}
inline void __threadfence_block() {}
inline void __threadfence_system() {}

/* ---- Atomics -------------------------------------------------------------------
 * Fibers are cooperative and never switch in the middle of these functions,
 * so a plain read-modify-write is atomic. Each returns the old value. They are
 * not instrumented: atomics on shared memory are never a race. */
#define AG_EMU_ATOMIC_RMW(name, T, expr)                                                          \
  __attribute__((no_sanitize_thread)) inline T name(T *address, T val) {                          \
    T old = *address;                                                                             \
    *address = (expr);                                                                            \
    return old;                                                                                   \
  }
#define AG_EMU_ATOMIC_INTEGER(T)                                                                  \
  AG_EMU_ATOMIC_RMW(atomicAdd, T, old + val)                                                      \
  AG_EMU_ATOMIC_RMW(atomicSub, T, old - val)                                                      \
  AG_EMU_ATOMIC_RMW(atomicExch, T, val)                                                           \
  AG_EMU_ATOMIC_RMW(atomicMin, T, val < old ? val : old)                                          \
  AG_EMU_ATOMIC_RMW(atomicMax, T, val > old ? val : old)                                          \
  AG_EMU_ATOMIC_RMW(atomicAnd, T, old &val)                                                       \
  AG_EMU_ATOMIC_RMW(atomicOr, T, old | val)                                                       \
  AG_EMU_ATOMIC_RMW(atomicXor, T, old ^ val)                                                      \
  __attribute__((no_sanitize_thread)) inline T atomicCAS(T *address, T compare, T val) {          \
    T old = *address;                                                                             \
    if (old == compare) *address = val;                                                           \
    return old;                                                                                   \
  }
AG_EMU_ATOMIC_INTEGER(int)
AG_EMU_ATOMIC_INTEGER(unsigned int)
AG_EMU_ATOMIC_INTEGER(unsigned long long)
AG_EMU_ATOMIC_RMW(atomicMin, long long, val < old ? val : old)
AG_EMU_ATOMIC_RMW(atomicMax, long long, val > old ? val : old)
AG_EMU_ATOMIC_RMW(atomicAdd, float, old + val)
AG_EMU_ATOMIC_RMW(atomicExch, float, val)
AG_EMU_ATOMIC_RMW(atomicAdd, double, old + val)
AG_EMU_ATOMIC_RMW(atomicAdd, __half, old + val)
AG_EMU_ATOMIC_RMW(atomicAdd, __nv_bfloat16, old + val)
/* CUDA's wrapping increment / decrement. */
AG_EMU_ATOMIC_RMW(atomicInc, unsigned int, old >= val ? 0u : old + 1u)
AG_EMU_ATOMIC_RMW(atomicDec, unsigned int, (old == 0u || old > val) ? val : old - 1u)
#undef AG_EMU_ATOMIC_INTEGER
#undef AG_EMU_ATOMIC_RMW

/* ---- Bit casts and integer intrinsics ---------------------------------------- */
template <class To, class From> inline To ag_emu_bit_cast(From from) {
  static_assert(sizeof(To) == sizeof(From), "bit cast between types of different sizes");
  To to;
  std::memcpy(&to, &from, sizeof to);
  return to;
}
inline unsigned int __float_as_uint(float x) { return ag_emu_bit_cast<unsigned int>(x); }
inline int __float_as_int(float x) { return ag_emu_bit_cast<int>(x); }
inline float __uint_as_float(unsigned int x) { return ag_emu_bit_cast<float>(x); }
inline float __int_as_float(int x) { return ag_emu_bit_cast<float>(x); }
inline long long __double_as_longlong(double x) { return ag_emu_bit_cast<long long>(x); }
inline double __longlong_as_double(long long x) { return ag_emu_bit_cast<double>(x); }

inline int __popc(unsigned int x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz((unsigned)x); }
inline int __clzll(long long x) { return x == 0 ? 64 : __builtin_clzll((unsigned long long)x); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __ffsll(long long x) { return __builtin_ffsll(x); }
inline unsigned int __brev(unsigned int x) {
  unsigned int r = 0;
  for (int i = 0; i < 32; ++i, x >>= 1) r = (r << 1) | (x & 1u);
  return r;
}
inline unsigned int __umulhi(unsigned int a, unsigned int b) {
  return (unsigned int)(((unsigned long long)a * b) >> 32);
}
inline int __mulhi(int a, int b) { return (int)(((long long)a * b) >> 32); }
inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b) {
  return (unsigned long long)(((unsigned __int128)a * b) >> 64);
}

/* Read-only cache load: just a load on the CPU. */
template <class T> inline T __ldg(const T *p) { return *p; }

/* ---- Float intrinsics ------------------------------------------------------------
 * The fast-math versions (__expf, ...) are less accurate on a GPU; here they
 * are the accurate libm functions, so compare emulated and real results with a
 * tolerance where a kernel uses them. The _rn versions round once, like the
 * hardware; the project builds with -ffp-contract=off so the compiler does not
 * fuse them either. */
inline float __expf(float x) { return std::exp(x); }
inline float __exp10f(float x) { return std::pow(10.0f, x); }
inline float __logf(float x) { return std::log(x); }
inline float __log2f(float x) { return std::log2(x); }
inline float __log10f(float x) { return std::log10(x); }
inline float __sinf(float x) { return std::sin(x); }
inline float __cosf(float x) { return std::cos(x); }
inline float __tanf(float x) { return std::tan(x); }
inline void __sincosf(float x, float *s, float *c) {
  *s = std::sin(x);
  *c = std::cos(x);
}
inline float __powf(float x, float y) { return std::pow(x, y); }
inline float __fdividef(float x, float y) { return x / y; }
inline float fdividef(float x, float y) { return x / y; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); }
inline float __frcp_rn(float x) { return 1.0f / x; }
inline float __fsqrt_rn(float x) { return std::sqrt(x); }
/* 1/sqrt(x) evaluated in double, then rounded once to float. */
inline float __frsqrt_rn(float x) { return (float)(1.0 / std::sqrt((double)x)); }
inline float rsqrtf(float x) { return (float)(1.0 / std::sqrt((double)x)); }
inline double rsqrt(double x) { return 1.0 / std::sqrt(x); }
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline double __fma_rn(double a, double b, double c) { return std::fma(a, b, c); }
/* Clamp to [0, 1]; NaN becomes 0, as on the GPU. */
inline float __saturatef(float x) { return x >= 1.0f ? 1.0f : (x > 0.0f ? x : 0.0f); }
inline int __float2int_rn(float x) { return (int)std::nearbyint(x); }
inline int __float2int_rz(float x) { return (int)x; }
inline int __float2int_rd(float x) { return (int)std::floor(x); }
inline int __float2int_ru(float x) { return (int)std::ceil(x); }
inline unsigned int __float2uint_rn(float x) { return (unsigned int)std::nearbyint(x); }
inline float __int2float_rn(int x) { return (float)x; }

/* A few half / bfloat16 functions that cuda_fp16.h and cuda_bf16.h declare for
 * device code only: computed in float and rounded to nearest even once. */
#define AG_EMU_HALF_MATH(name, T, to_f, from_f, expr)                                             \
  inline T name(const T a) {                                                                      \
    const float x = to_f(a);                                                                      \
    return from_f(expr);                                                                          \
  }
#define AG_EMU_HALF_MATH_SET(prefix, T, to_f, from_f)                                             \
  AG_EMU_HALF_MATH(prefix##exp, T, to_f, from_f, std::exp(x))                                     \
  AG_EMU_HALF_MATH(prefix##log, T, to_f, from_f, std::log(x))                                     \
  AG_EMU_HALF_MATH(prefix##sqrt, T, to_f, from_f, std::sqrt(x))                                   \
  AG_EMU_HALF_MATH(prefix##rsqrt, T, to_f, from_f, (float)(1.0 / std::sqrt((double)x)))           \
  AG_EMU_HALF_MATH(prefix##rcp, T, to_f, from_f, 1.0f / x)                                        \
  AG_EMU_HALF_MATH(prefix##sin, T, to_f, from_f, std::sin(x))                                     \
  AG_EMU_HALF_MATH(prefix##cos, T, to_f, from_f, std::cos(x))
AG_EMU_HALF_MATH_SET(h, __half, __half2float, __float2half_rn)
AG_EMU_HALF_MATH_SET(h, __nv_bfloat16, __bfloat162float, __float2bfloat16_rn)
#undef AG_EMU_HALF_MATH_SET
#undef AG_EMU_HALF_MATH

/* ---- min / max -----------------------------------------------------------------
 * CUDA's overloads for device code, including the mixed signed / unsigned ones
 * (which compare as unsigned, as CUDA does) and float / double. */
#define AG_EMU_MINMAX(R, A, B)                                                                    \
  inline R min(A a, B b) { return (R)a < (R)b ? (R)a : (R)b; }                                    \
  inline R max(A a, B b) { return (R)a > (R)b ? (R)a : (R)b; }
AG_EMU_MINMAX(int, int, int)
AG_EMU_MINMAX(unsigned int, unsigned int, unsigned int)
AG_EMU_MINMAX(unsigned int, int, unsigned int)
AG_EMU_MINMAX(unsigned int, unsigned int, int)
AG_EMU_MINMAX(long, long, long)
AG_EMU_MINMAX(unsigned long, unsigned long, unsigned long)
AG_EMU_MINMAX(unsigned long, long, unsigned long)
AG_EMU_MINMAX(unsigned long, unsigned long, long)
AG_EMU_MINMAX(long long, long long, long long)
AG_EMU_MINMAX(unsigned long long, unsigned long long, unsigned long long)
AG_EMU_MINMAX(unsigned long long, long long, unsigned long long)
AG_EMU_MINMAX(unsigned long long, unsigned long long, long long)
AG_EMU_MINMAX(double, double, double)
AG_EMU_MINMAX(double, float, double)
AG_EMU_MINMAX(double, double, float)
#undef AG_EMU_MINMAX
/* float follows fminf / fmaxf: a NaN operand yields the other operand. */
inline float min(float a, float b) { return std::fmin(a, b); }
inline float max(float a, float b) { return std::fmax(a, b); }

/* ---- Runtime API subset ----------------------------------------------------------
 * Declared extern "C" with cudart's exact signatures, so a translation unit
 * that also includes cuda_runtime_api.h (before or after this header) sees
 * compatible declarations. Launches are synchronous, so the synchronise calls
 * only report the pending error; memory calls are plain memcpy / memset on
 * host memory (the emulator has no separate device memory). */
#define cudaGetLastError ag_emu_cudaGetLastError
#define cudaPeekAtLastError ag_emu_cudaPeekAtLastError
#define cudaGetErrorString ag_emu_cudaGetErrorString
#define cudaGetErrorName ag_emu_cudaGetErrorName
#define cudaDeviceSynchronize ag_emu_cudaDeviceSynchronize
#define cudaStreamSynchronize ag_emu_cudaStreamSynchronize
#define cudaMemsetAsync ag_emu_cudaMemsetAsync
#define cudaMemcpyAsync ag_emu_cudaMemcpyAsync
#define cudaGetDevice ag_emu_cudaGetDevice
#define cudaDeviceGetAttribute ag_emu_cudaDeviceGetAttribute

extern "C" {
cudaError_t ag_emu_cudaGetLastError(void);
cudaError_t ag_emu_cudaPeekAtLastError(void);
const char *ag_emu_cudaGetErrorString(cudaError_t error);
const char *ag_emu_cudaGetErrorName(cudaError_t error);
cudaError_t ag_emu_cudaDeviceSynchronize(void);
cudaError_t ag_emu_cudaStreamSynchronize(cudaStream_t stream);
cudaError_t ag_emu_cudaMemsetAsync(void *devPtr, int value, size_t count, cudaStream_t stream);
cudaError_t ag_emu_cudaMemcpyAsync(void *dst, const void *src, size_t count,
                                   enum cudaMemcpyKind kind, cudaStream_t stream);
/* One emulated device, 0, whose only attribute queried by the kernels is
 * the opt-in dynamic shared memory per block (the limit launches check). */
cudaError_t ag_emu_cudaGetDevice(int *device);
cudaError_t ag_emu_cudaDeviceGetAttribute(int *value, enum cudaDeviceAttr attr, int device);
}

#endif
