/* ag_emu_mma.h - the emulator's side of kernels/cuda/ag_cuda_mma.h: mma.sync
 * m16n8k16, ldmatrix and cp.async with the per-lane semantics the PTX ISA
 * defines, so a kernel that gets a lane mapping or a wait wrong fails here.
 *
 * mma and ldmatrix are warp collectives: every lane deposits its own
 * registers (or its row address) in one warp_exchange (emu.cpp) and receives
 * all 32 deposits; a call that not all 32 lanes reach, or that they reach at
 * different call sites, is a launch error. Each lane then computes only what
 * the ISA gives it:
 *   - mma: D = A B + C with A and B rebuilt from the lanes' registers through
 *     the fragment layouts in ag_cuda_mma.h; the lane's own four D elements
 *     are C plus the sixteen products in k order, summed in f32. A product of
 *     two f16 or bf16 values is exact in f32 (barring bf16 overflow or
 *     underflow), so the only rounding is the accumulation's; tensor cores
 *     add in another order and precision, so compare with a tolerance.
 *   - ldmatrix: the lane reads its own elements through the row addresses
 *     of the lanes that supplied them; each lane whose address is used checks
 *     it (16-byte aligned, 16 bytes of shared memory) before the exchange.
 * cp.async is per thread: each CUDA thread's copies not yet landed are kept in
 * its AsyncCopies (emu.cpp switches current.async_copies with the thread). An
 * issued copy fills its destination with 0xff bytes at once, so a read before
 * the covering wait sees NaN; the wait lands it (or zero-fills it when the
 * copy was issued invalid). Copies never waited on are a launch error,
 * reported at block end by the race detector's cp.async bookkeeping (active
 * in every build): hardware would complete them, but no thread could read
 * them in a defined order, and it is what a missing wait looks like.
 *
 * The shared-memory reads of ldmatrix and the landing writes of cp.async are
 * plain 2- and 4-byte accesses in this inline code, made by the lane that
 * receives or issued them, so the race detector (ag_emu_race.h), which sees
 * only the kernel translation unit's own accesses, sees them as that lane's.
 *
 * Each wrapper takes a trailing defaulted Site, filled in at the caller
 * (caller_site), so kernels call them exactly as under nvcc and errors name
 * the kernel's line. */
#ifndef AG_EMU_MMA_H
#define AG_EMU_MMA_H

#include "ag_emu_race.h"

#include <vector>

namespace ag_emu {

/* One cp.async copy that has not landed. `group` is the number of commits
 * its thread had made when issuing it, so it belongs to a committed group
 * once the thread's commit count exceeds it. */
struct AsyncCopy {
  void *dst;
  const void *src;
  bool valid;
  unsigned group;
};

/* A CUDA thread's copies not yet landed, oldest first, and its commits. */
struct AsyncCopies {
  std::vector<AsyncCopy> pending;
  unsigned commits = 0;
};

/* Operand checks (emu.cpp): each fails the launch, naming the site and the
 * operand, unless `p` is a multiple of `align` / [p, p + bytes) lies in the
 * running block's shared memory (static __shared__ or dynamic). */
void require_aligned(const Site &site, const void *p, size_t align, const char *operand);
void require_shared(const Site &site, const void *p, size_t bytes, const char *operand);

/* The site of the wrapper's caller, as its defaulted argument: GCC and Clang
 * evaluate __builtin_FILE / __builtin_LINE in a default argument at the call
 * (but not when written directly inside a braced initialiser there). */
inline Site caller_site(const char *op, const char *file = __builtin_FILE(),
                        int line = __builtin_LINE()) {
  return Site{file, line, op};
}

namespace mma {

/* For the mma arithmetic, which reads registers, not shared memory: kept out
 * of the race detector's instrumentation. GCC inlines only between functions
 * of equal sanitizer attributes, so the helpers carry it too. */
#define AG_EMU_REGISTERS_ONLY __attribute__((no_sanitize("thread")))

/* 16- and 32-bit views of shared memory that may alias any element type. */
typedef uint16_t __attribute__((__may_alias__)) u16_alias;
typedef uint32_t __attribute__((__may_alias__)) u32_alias;

/* The running thread's lane: its linear index in the block mod 32. */
inline unsigned lane_id() {
  const uint3 &t = current.thread_idx, &b = current.block_dim;
  return (t.x + b.x * (t.y + b.y * t.z)) % 32u;
}

/* Element h (0: the low half, the lower index) of a register. */
AG_EMU_REGISTERS_ONLY inline uint16_t half_of(uint32_t r, unsigned h) {
  return (uint16_t)(r >> (16u * h));
}

template <class T>
float element(uint16_t bits);
/* f16 bits to f32, exactly: the exponent and mantissa moved into f32's
 * fields and scaled by 2^(127 - 15), which also turns an f16 subnormal (an
 * f32 subnormal after the move; the emulator never runs with subnormals
 * flushed) into the right normal f32; infinities and NaNs keep an all-ones
 * exponent. */
template <>
AG_EMU_REGISTERS_ONLY inline float element<__half>(uint16_t bits) {
  const uint32_t sign = (uint32_t)(bits & 0x8000u) << 16, body = (uint32_t)(bits & 0x7fffu) << 13;
  if ((bits & 0x7c00u) == 0x7c00u) return __builtin_bit_cast(float, sign | 0x7f800000u | body);
  const float mag = __builtin_bit_cast(float, body) * 0x1p112f;
  return __builtin_bit_cast(float, sign | __builtin_bit_cast(uint32_t, mag));
}
template <>
AG_EMU_REGISTERS_ONLY inline float element<__nv_bfloat16>(uint16_t bits) {
  return __builtin_bit_cast(float, (uint32_t)bits << 16);
}

/* What a lane contributes to an mma. */
struct MmaLane {
  uint32_t a[4];
  uint32_t b[2];
};

/* A[row][k] of the 16 x 16 A operand: lane (row % 8) * 4 + (k % 8) / 2 holds
 * it in register (row / 8) + 2 (k / 8). */
AG_EMU_REGISTERS_ONLY inline uint16_t a_bits(const MmaLane (&warp)[32], unsigned row, unsigned k) {
  return half_of(warp[(row % 8) * 4 + (k % 8) / 2].a[row / 8 + 2 * (k / 8)], k % 2);
}

/* B[k][n] of the 16 x 8 B operand: lane n * 4 + (k % 8) / 2 holds it in
 * register k / 8. */
AG_EMU_REGISTERS_ONLY inline uint16_t b_bits(const MmaLane (&warp)[32], unsigned k, unsigned n) {
  return half_of(warp[n * 4 + (k % 8) / 2].b[k / 8], k % 2);
}

/* Fails the launch unless `p` is 16-byte aligned and [p, p + 16) is shared
 * memory. */
inline void require_shared_16(const Site &site, const void *p, const char *operand) {
  require_aligned(site, p, 16, operand);
  require_shared(site, p, 16, operand);
}

/* ldmatrix.m8n8 with N matrices: lane l receives register m from the row
 * addresses lanes 8m .. 8m + 7 supplied. Each lane whose address is used
 * checks it before the exchange, so the launch fails, naming that lane,
 * before any lane reads through a bad address. */
template <int N, bool Trans>
inline void ldmatrix(uint32_t (&r)[N], const void *row, const Site &site) {
  const unsigned lane = lane_id(), g = lane / 4, t = lane % 4;
  if (lane < 8 * N) require_shared_16(site, row, "ldmatrix row address");
  const void *rows[32];
  warp_exchange(site, &row, sizeof row, rows);
  for (int m = 0; m < N; m++) {
    const void *const *mat = rows + 8 * m;
    if (Trans) {
      /* Column g of rows 2t and 2t + 1. */
      const uint16_t lo = static_cast<const u16_alias *>(mat[2 * t])[g];
      const uint16_t hi = static_cast<const u16_alias *>(mat[2 * t + 1])[g];
      r[m] = (uint32_t)lo | (uint32_t)hi << 16;
    } else {
      /* Columns 2t and 2t + 1 of row g. */
      r[m] = static_cast<const u32_alias *>(mat[g])[t];
    }
  }
}

/* Lane `lane`'s part of d += a * b, from every lane's registers. It reads
 * registers, not shared memory, so the race detector need not see it. */
template <class T>
AG_EMU_REGISTERS_ONLY void mma_lane(float (&d)[4], const MmaLane (&warp)[32], unsigned lane) {
  const unsigned g = lane / 4, t = lane % 4;
  float arow[2][16], bcol[2][16];
  for (unsigned k = 0; k < 16; k++) {
    arow[0][k] = element<T>(a_bits(warp, g, k));
    arow[1][k] = element<T>(a_bits(warp, g + 8, k));
    bcol[0][k] = element<T>(b_bits(warp, k, 2 * t));
    bcol[1][k] = element<T>(b_bits(warp, k, 2 * t + 1));
  }
  /* d[i] is D[g + 8 (i / 2)][2t + i % 2]. */
  for (unsigned i = 0; i < 4; i++) {
    float acc = d[i];
    for (unsigned k = 0; k < 16; k++) acc += arow[i / 2][k] * bcol[i % 2][k];
    d[i] = acc;
  }
}

} /* namespace mma */
} /* namespace ag_emu */

/* d += a * b: see the header comment. */
template <class T>
inline void ag_mma_16816(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2],
                         const ::ag_emu::Site &site = ::ag_emu::caller_site("mma.sync.m16n8k16")) {
  static_assert(std::is_same<T, __half>::value || std::is_same<T, __nv_bfloat16>::value,
                "ag_mma_16816 takes __half or __nv_bfloat16 inputs");
  using ::ag_emu::mma::MmaLane;
  const MmaLane mine{{a[0], a[1], a[2], a[3]}, {b[0], b[1]}};
  MmaLane warp[32];
  ::ag_emu::warp_exchange(site, &mine, sizeof mine, warp);
  ::ag_emu::mma::mma_lane<T>(d, warp, ::ag_emu::mma::lane_id());
}

inline void ag_ldmatrix_x1(uint32_t (&r)[1], const void *row,
                           const ::ag_emu::Site &site = ::ag_emu::caller_site("ldmatrix.x1")) {
  ::ag_emu::mma::ldmatrix<1, false>(r, row, site);
}
inline void ag_ldmatrix_x2(uint32_t (&r)[2], const void *row,
                           const ::ag_emu::Site &site = ::ag_emu::caller_site("ldmatrix.x2")) {
  ::ag_emu::mma::ldmatrix<2, false>(r, row, site);
}
inline void ag_ldmatrix_x4(uint32_t (&r)[4], const void *row,
                           const ::ag_emu::Site &site = ::ag_emu::caller_site("ldmatrix.x4")) {
  ::ag_emu::mma::ldmatrix<4, false>(r, row, site);
}
inline void ag_ldmatrix_x1_trans(
    uint32_t (&r)[1], const void *row,
    const ::ag_emu::Site &site = ::ag_emu::caller_site("ldmatrix.x1.trans")) {
  ::ag_emu::mma::ldmatrix<1, true>(r, row, site);
}
inline void ag_ldmatrix_x2_trans(
    uint32_t (&r)[2], const void *row,
    const ::ag_emu::Site &site = ::ag_emu::caller_site("ldmatrix.x2.trans")) {
  ::ag_emu::mma::ldmatrix<2, true>(r, row, site);
}
inline void ag_ldmatrix_x4_trans(
    uint32_t (&r)[4], const void *row,
    const ::ag_emu::Site &site = ::ag_emu::caller_site("ldmatrix.x4.trans")) {
  ::ag_emu::mma::ldmatrix<4, true>(r, row, site);
}

/* Issues a copy into this thread's open group; dst holds 0xff bytes until the
 * copy lands. */
inline void ag_cp_async_16(void *dst, const void *src, bool valid,
                           const ::ag_emu::Site &site = ::ag_emu::caller_site("cp.async")) {
  using namespace ::ag_emu::mma;
  require_shared_16(site, dst, "cp.async destination");
  ::ag_emu::require_aligned(site, src, 16, "cp.async source");
  u32_alias *out = static_cast<u32_alias *>(dst);
  for (int i = 0; i < 4; i++) out[i] = 0xffffffffu;
  ::ag_emu::race_async_copy_issued(dst, 16);
  ::ag_emu::AsyncCopies &q = *::ag_emu::current.async_copies;
  q.pending.push_back(::ag_emu::AsyncCopy{dst, src, valid, q.commits});
}

inline void ag_cp_async_commit() { ::ag_emu::current.async_copies->commits++; }

/* Lands, oldest first, every copy of a committed group except the newest N
 * groups. */
template <int N>
inline void ag_cp_async_wait() {
  static_assert(N >= 0, "ag_cp_async_wait: N is a count of groups");
  using namespace ::ag_emu::mma;
  ::ag_emu::AsyncCopies &q = *::ag_emu::current.async_copies;
  size_t landed = 0;
  for (; landed < q.pending.size() && q.pending[landed].group + (unsigned)N < q.commits; landed++) {
    const ::ag_emu::AsyncCopy &c = q.pending[landed];
    /* Announced first: until then the detector treats the bytes as in flight. */
    ::ag_emu::race_async_copy_landed(c.dst, 16);
    u32_alias *out = static_cast<u32_alias *>(c.dst);
    const u32_alias *in = static_cast<const u32_alias *>(c.src);
    for (int i = 0; i < 4; i++) out[i] = c.valid ? in[i] : 0u;
  }
  q.pending.erase(q.pending.begin(), q.pending.begin() + (std::ptrdiff_t)landed);
}

/* The GPU's ex2.approx.ftz differs from this by up to ~2 ulp and flushes
 * subnormals to zero. */
inline float ag_exp2(float x) { return std::exp2(x); }

#undef AG_EMU_REGISTERS_ONLY

#endif
