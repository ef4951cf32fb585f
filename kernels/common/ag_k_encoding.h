/* Input encodings of the NeRF pipeline (Instant-NGP style): the
 * multiresolution hash grid and the spherical-harmonics direction encoding.
 * The per-point math below is AG_HD, so the CPU kernels and the CUDA kernels
 * take the same cells, the same corner indices and the same weights, from
 * the same correctly rounded operations (the AG_PX_* macros of ag_philox.h).
 *
 * hash_grid: positions f32 [n, 3], table [L, T, F] in `dt`, y [n, L F] in
 * `dt` (f32 accumulation, one rounding on store). Level l has resolution
 * res[l] (cells per axis). A coordinate x is clamped to [0, 1] and mapped as
 * Instant-NGP does, with the grid shifted by half a cell:
 *   p = x (res - 1) + 1/2,  cell = floor(p) in [0, res - 1],  w = p - cell,
 * so vertices run 0..res on each axis. y[n, l F + f] is the trilinear blend
 * of the 8 corners of the cell (corner k takes the upper vertex on axis d
 * when bit d of k is set), summed in corner order 0..7. A corner's entry in
 * the level's T rows is dense, x + (res+1) (y + (res+1) z), when
 * (res+1)^3 <= T, else the spatial hash (x * 1 ^ y * 2654435761 ^
 * z * 805459861) mod T in uint32 arithmetic.
 *
 * hash_grid_backward: gtable = the scatter of gy times the trilinear weights
 * (written, not accumulated). `scratch` holds at least
 * hash_grid_scratch_bytes(dt, L T F, deterministic) bytes of backend memory
 * (NULL when that is 0). The CPU is deterministic always (levels in parallel,
 * each level's slice of the table its own, points in order). CUDA adds with
 * atomics: in f32, in an order that varies from run to run, unless
 * `deterministic`, which adds in int64 fixed point (AG_HASH_GRID_FIXED_BITS
 * fraction bits) whose integer sums do not depend on the order.
 *
 * sh_encode: unit directions [n, 3] -> y [n, 16], the real spherical
 * harmonics of bands 0..3 with tcnn's constants and signs (the
 * Condon-Shortley phase: Y_1 = (-0.4886 y, 0.4886 z, -0.4886 x), ...), see
 * ag_sh_encode_eval. The directions are used as given (not normalised), so
 * the gradient is that of the polynomials. */
#ifndef AG_K_ENCODING_H
#define AG_K_ENCODING_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "ag_hd.h"
#include "ag_philox.h"
#include "base/ag_base.h"

#define AG_HASH_GRID_MAX_LEVELS 32
#define AG_HASH_GRID_MAX_FEATURES 8
/* The fixed point of the deterministic CUDA backward: a contribution v is
 * added as round(v 2^40), so each add is exact to 2^-41 absolute (4.5e-13)
 * and a table entry's sum must stay within +-2^23 (8.4e6); contributions are
 * clamped to +-2^22 first, so the conversion itself is always defined. */
#define AG_HASH_GRID_FIXED_BITS 40

/* What the kernels need of a hash grid: the runtime derives it from
 * ag_hash_grid_args (runtime/ops/encoding.h). */
typedef struct ag_hash_grid_geom {
  int32_t levels, features;
  uint32_t table_size; /* T, a power of two */
  int32_t res[AG_HASH_GRID_MAX_LEVELS];
} ag_hash_grid_geom;

/* The cell a point falls in at one resolution, and its offsets in it. */
typedef struct ag_hash_grid_voxel {
  uint32_t cell[3];
  float frac[3];
} ag_hash_grid_voxel;

AG_HD ag_hash_grid_voxel ag_hash_grid_locate(const float *x, int32_t res) {
  const float s = (float)(res - 1);
  ag_hash_grid_voxel v;
  for (int d = 0; d < 3; d++) {
    const float xd = fminf(fmaxf(x[d], 0.0f), 1.0f); /* NaN becomes 0 */
    const float p = AG_PX_ADD(AG_PX_MUL(xd, s), 0.5f);
    const float c = floorf(p);
    v.cell[d] = (uint32_t)c;
    v.frac[d] = AG_PX_SUB(p, c);
  }
  return v;
}

AG_HD int ag_hash_grid_dense(int32_t res, uint32_t table_size) {
  const uint64_t side = (uint64_t)res + 1;
  return side * side * side <= (uint64_t)table_size;
}

/* The row of corner k of v in its level's table. */
AG_HD uint32_t ag_hash_grid_corner(const ag_hash_grid_voxel *v, int k, int32_t res,
                                   uint32_t table_size) {
  const uint32_t x = v->cell[0] + (k & 1), y = v->cell[1] + ((k >> 1) & 1),
                 z = v->cell[2] + ((k >> 2) & 1);
  if (ag_hash_grid_dense(res, table_size)) {
    const uint32_t side = (uint32_t)res + 1;
    return x + side * (y + side * z);
  }
  return (x ^ (y * 2654435761u) ^ (z * 805459861u)) & (table_size - 1u);
}

/* The trilinear weight of corner k, the axes multiplied in order x, y, z. */
AG_HD float ag_hash_grid_weight(const ag_hash_grid_voxel *v, int k) {
  float w = 1.0f;
  for (int d = 0; d < 3; d++)
    w = AG_PX_MUL(w, ((k >> d) & 1) ? v->frac[d] : AG_PX_SUB(1.0f, v->frac[d]));
  return w;
}

AG_HD long long ag_hash_grid_to_fixed(float v) {
  const float lim = 0x1p22f;
  const float c = fminf(fmaxf(v, -lim), lim);
  return (long long)llrintf(AG_PX_MUL(c, 0x1p40f));
}

AG_HD float ag_hash_grid_from_fixed(long long q) { return (float)((double)q * 0x1p-40); }

/* The 16 real spherical harmonics of bands 0..3 at (x, y, z). */
AG_HD void ag_sh_encode_eval(float x, float y, float z, float *out) {
  const float xx = x * x, yy = y * y, zz = z * z, xy = x * y, yz = y * z, xz = x * z;
  out[0] = 0.28209479177387814f;
  out[1] = -0.48860251190291987f * y;
  out[2] = 0.48860251190291987f * z;
  out[3] = -0.48860251190291987f * x;
  out[4] = 1.0925484305920792f * xy;
  out[5] = -1.0925484305920792f * yz;
  out[6] = 0.94617469575755997f * zz - 0.31539156525251999f;
  out[7] = -1.0925484305920792f * xz;
  out[8] = 0.54627421529603959f * (xx - yy);
  out[9] = 0.59004358992664352f * y * (yy - 3.0f * xx);
  out[10] = 2.8906114426405538f * xy * z;
  out[11] = 0.45704579946446572f * y * (1.0f - 5.0f * zz);
  out[12] = 0.3731763325901154f * z * (5.0f * zz - 3.0f);
  out[13] = 0.45704579946446572f * x * (1.0f - 5.0f * zz);
  out[14] = 1.4453057213202769f * z * (xx - yy);
  out[15] = 0.59004358992664352f * x * (3.0f * yy - xx);
}

/* g = sum_j gy[j] * d out[j] / d(x, y, z). */
AG_HD void ag_sh_encode_grad(float x, float y, float z, const float *gy, float *g) {
  const float c1 = 0.48860251190291987f, c4 = 1.0925484305920792f, c6 = 0.94617469575755997f,
              c8 = 0.54627421529603959f, c9 = 0.59004358992664352f, c10 = 2.8906114426405538f,
              c11 = 0.45704579946446572f, c12 = 0.3731763325901154f, c14 = 1.4453057213202769f;
  const float xx = x * x, yy = y * y, zz = z * z, xy = x * y, yz = y * z, xz = x * z;
  g[0] = -c1 * gy[3] + c4 * y * gy[4] - c4 * z * gy[7] + 2.0f * c8 * x * gy[8] -
         6.0f * c9 * xy * gy[9] + c10 * yz * gy[10] + c11 * (1.0f - 5.0f * zz) * gy[13] +
         2.0f * c14 * xz * gy[14] + 3.0f * c9 * (yy - xx) * gy[15];
  g[1] = -c1 * gy[1] + c4 * x * gy[4] - c4 * z * gy[5] - 2.0f * c8 * y * gy[8] +
         3.0f * c9 * (yy - xx) * gy[9] + c10 * xz * gy[10] + c11 * (1.0f - 5.0f * zz) * gy[11] -
         2.0f * c14 * yz * gy[14] + 6.0f * c9 * xy * gy[15];
  g[2] = c1 * gy[2] - c4 * y * gy[5] + 2.0f * c6 * z * gy[6] - c4 * x * gy[7] +
         c10 * xy * gy[10] - 10.0f * c11 * yz * gy[11] + c12 * (15.0f * zz - 3.0f) * gy[12] -
         10.0f * c11 * xz * gy[13] + c14 * (xx - yy) * gy[14];
}

/* One signature per kernel, shared by the CPU kernels (ag_cpu_), the CUDA
 * launchers (ag_cuda_) and their emulated build (ag_emu_). */
typedef ag_status ag_hash_grid_kernel(ag_dtype dt, const float *pos, const void *table, void *y,
                                      int64_t n, const ag_hash_grid_geom *g, void *stream);
typedef ag_status ag_hash_grid_backward_kernel(ag_dtype dt, const float *pos, const void *gy,
                                               void *gtable, void *scratch, int64_t n,
                                               const ag_hash_grid_geom *g, int deterministic,
                                               void *stream);
/* The scratch bytes a backward of a table of `numel` values needs. */
typedef size_t ag_hash_grid_scratch_fn(ag_dtype dt, int64_t numel, int deterministic);
typedef ag_status ag_sh_encode_kernel(ag_dtype dt, const void *dirs, void *y, int64_t n,
                                      void *stream);
typedef ag_status ag_sh_encode_backward_kernel(ag_dtype dt, const void *dirs, const void *gy,
                                               void *gdirs, int64_t n, void *stream);

/* The encoding family's kernels on one backend (runtime/ops/bind_encoding.c). */
typedef struct ag_encoding_kernels {
  ag_hash_grid_kernel *hash_grid;
  ag_hash_grid_backward_kernel *hash_grid_backward;
  ag_hash_grid_scratch_fn *hash_grid_scratch_bytes;
  ag_sh_encode_kernel *sh_encode;
  ag_sh_encode_backward_kernel *sh_encode_backward;
} ag_encoding_kernels;

ag_hash_grid_kernel ag_cpu_hash_grid, ag_cuda_hash_grid, ag_emu_hash_grid;
ag_hash_grid_backward_kernel ag_cpu_hash_grid_backward, ag_cuda_hash_grid_backward,
    ag_emu_hash_grid_backward;
ag_hash_grid_scratch_fn ag_cpu_hash_grid_scratch_bytes, ag_cuda_hash_grid_scratch_bytes,
    ag_emu_hash_grid_scratch_bytes;
ag_sh_encode_kernel ag_cpu_sh_encode, ag_cuda_sh_encode, ag_emu_sh_encode;
ag_sh_encode_backward_kernel ag_cpu_sh_encode_backward, ag_cuda_sh_encode_backward,
    ag_emu_sh_encode_backward;
extern const ag_encoding_kernels ag_cpu_encoding_kernels, ag_cuda_encoding_kernels,
    ag_emu_encoding_kernels;

#endif
