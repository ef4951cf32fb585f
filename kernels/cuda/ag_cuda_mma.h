/* ag_cuda_mma.h - the sm_80 warp-level matrix instructions as small typed
 * wrappers: mma.sync m16n8k16 (f16 / bf16 inputs, f32 accumulators),
 * ldmatrix, and cp.async with commit / wait groups.
 *
 * Under nvcc each wrapper is one inline PTX instruction. Under the emulator
 * (AG_CUDA_EMU) each is a warp collective with the per-lane semantics the PTX
 * ISA defines (kernels/emu/ag_emu_mma.h), so a wrong lane mapping, a missing
 * cp.async wait or a call from a divergent branch fails on the CPU in CI
 * rather than on the first GPU.
 *
 * Fragment layouts of mma.m16n8k16 (PTX ISA, "Matrix Fragments for
 * mma.m16n8k16 with floating point type"), with g = lane / 4 and
 * t = lane % 4; a .b32 register holds two 16-bit elements, the lower column
 * (or row, for B) in its low half:
 *   A, 16 x 16 row major:  a[0] = A[g][2t, 2t+1]     a[1] = A[g+8][2t, 2t+1]
 *                          a[2] = A[g][2t+8, 2t+9]   a[3] = A[g+8][2t+8, 2t+9]
 *   B, 16 x 8 (k x n):     b[0] = B[2t, 2t+1][g]     b[1] = B[2t+8, 2t+9][g]
 *   C and D, 16 x 8 f32:   c[0], c[1] = C[g][2t, 2t+1]
 *                          c[2], c[3] = C[g+8][2t, 2t+1]
 * ldmatrix.x4 with lane l passing the address of row l % 8 of matrix l / 8
 * gives exactly an A fragment when the four 8 x 8 matrices are A's quadrants
 * in the order (rows 0-7, cols 0-7), (rows 8-15, cols 0-7), (rows 0-7,
 * cols 8-15), (rows 8-15, cols 8-15); the .trans forms load B fragments from
 * a row-major k x n tile.
 *
 * Every wrapper is warp-synchronous: all 32 lanes must call it together. */
#ifndef AG_CUDA_MMA_H
#define AG_CUDA_MMA_H

#include "ag_cuda.h"

#include <stdint.h>

#ifdef AG_CUDA_EMU
#include "kernels/emu/ag_emu_mma.h"
#endif

/* The element types the tensor-core wrappers take. */
template <class T> struct ag_mma_type;
template <> struct ag_mma_type<__half> {
  static __device__ __forceinline__ uint32_t pack(float lo, float hi) {
    const __half2 h = __floats2half2_rn(lo, hi);
    uint32_t bits;
    memcpy(&bits, &h, sizeof bits);
    return bits;
  }
};
template <> struct ag_mma_type<__nv_bfloat16> {
  static __device__ __forceinline__ uint32_t pack(float lo, float hi) {
    const __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);
    uint32_t bits;
    memcpy(&bits, &h, sizeof bits);
    return bits;
  }
};

/* Two floats rounded to T and packed into one register, lo in the low half:
 * how an f32 accumulator fragment becomes the A operand of the next mma. */
template <class T> __device__ __forceinline__ uint32_t ag_mma_pack(float lo, float hi) {
  return ag_mma_type<T>::pack(lo, hi);
}

#ifndef AG_CUDA_EMU

/* The shared-memory address of a generic pointer, as ldmatrix and cp.async
 * take it. */
__device__ __forceinline__ uint32_t ag_smem_addr(const void *p) {
  return (uint32_t)__cvta_generic_to_shared(p);
}

/* d += a * b on tensor cores, in f32. */
template <class T>
__device__ __forceinline__ void ag_mma_16816(float (&d)[4], const uint32_t (&a)[4],
                                             const uint32_t (&b)[2]);
template <>
__device__ __forceinline__ void ag_mma_16816<__half>(float (&d)[4], const uint32_t (&a)[4],
                                                     const uint32_t (&b)[2]) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, "
               "{%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
template <>
__device__ __forceinline__ void ag_mma_16816<__nv_bfloat16>(float (&d)[4], const uint32_t (&a)[4],
                                                            const uint32_t (&b)[2]) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, "
               "{%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

/* ldmatrix: `row` is this lane's row address (16 bytes, 16-byte aligned, in
 * shared memory): lanes 0-7 for x1, 0-15 for x2, all for x4; other lanes'
 * addresses are ignored. Register m receives matrix m's elements
 * (lane / 4, 2 (lane % 4) + {0, 1}), or with .trans (2 (lane % 4) + {0, 1},
 * lane / 4). */
__device__ __forceinline__ void ag_ldmatrix_x1(uint32_t (&r)[1], const void *row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x1.shared.b16 {%0}, [%1];\n"
               : "=r"(r[0])
               : "r"(ag_smem_addr(row)));
}
__device__ __forceinline__ void ag_ldmatrix_x2(uint32_t (&r)[2], const void *row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0,%1}, [%2];\n"
               : "=r"(r[0]), "=r"(r[1])
               : "r"(ag_smem_addr(row)));
}
__device__ __forceinline__ void ag_ldmatrix_x4(uint32_t (&r)[4], const void *row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(ag_smem_addr(row)));
}
__device__ __forceinline__ void ag_ldmatrix_x1_trans(uint32_t (&r)[1], const void *row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x1.trans.shared.b16 {%0}, [%1];\n"
               : "=r"(r[0])
               : "r"(ag_smem_addr(row)));
}
__device__ __forceinline__ void ag_ldmatrix_x2_trans(uint32_t (&r)[2], const void *row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {%0,%1}, [%2];\n"
               : "=r"(r[0]), "=r"(r[1])
               : "r"(ag_smem_addr(row)));
}
__device__ __forceinline__ void ag_ldmatrix_x4_trans(uint32_t (&r)[4], const void *row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(ag_smem_addr(row)));
}

/* Starts copying 16 bytes from global `src` to shared `dst` (both 16-byte
 * aligned), bypassing L1. With `valid` false nothing is read and `dst` is
 * zero-filled: how tiles past the end of a sequence are loaded. The copy is
 * complete only after the wait that covers its commit group. */
__device__ __forceinline__ void ag_cp_async_16(void *dst, const void *src, bool valid) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(ag_smem_addr(dst)),
               "l"(src), "r"(valid ? 16 : 0)
               : "memory");
}

/* Closes the group of this thread's cp.async calls issued since the last
 * commit. */
__device__ __forceinline__ void ag_cp_async_commit() {
  asm volatile("cp.async.commit_group;\n" ::: "memory");
}

/* Waits until at most N of this thread's committed groups are in flight. The
 * copies are then visible to this thread; other threads see them after a
 * barrier. */
template <int N> __device__ __forceinline__ void ag_cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

/* 2^x on the special function unit (softmax with log2(e) folded into the
 * scale). */
__device__ __forceinline__ float ag_exp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

#endif /* !AG_CUDA_EMU */

#endif
