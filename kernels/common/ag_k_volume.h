/* Volume rendering kernels (the NeRF pipeline, Instant-NGP / nerfacc style):
 * the occupancy grid, ray marching into packed samples and compositing.
 * Everything is f32 (int32 and uint8 where stated); the per-ray march and
 * compositing below are AG_HD functions that the CPU kernels and the CUDA
 * kernels (one thread per ray) both call, so the backends take the same
 * decisions (which cell is occupied, where a ray stops) from the same
 * correctly rounded operations (the AG_PX_* macros of ag_philox.h); only
 * compositing's expf may differ in the last place on a GPU.
 *
 * Grid: G^3 cells over the cube [aabb_min, aabb_max]^3, cell (x, y, z) at
 * index x + G (y + G z) (a [G, G, G] tensor indexed [z][y][x]). The bitfield
 * holds cell c at bit (c & 7) of byte c >> 3, ceil(G^3 / 8) bytes.
 *
 * Packed samples: a ray march fills at most `capacity` S sample rows; ray r
 * owns rows [rays[2r], rays[2r] + rays[2r+1]) (offset, count), rays own
 * disjoint ranges in ray order, and rows past the total are zero. */
#ifndef AG_K_VOLUME_H
#define AG_K_VOLUME_H

#include <math.h>
#include <stdint.h>

#include "ag_hd.h"
#include "ag_philox.h"
#include "base/ag_base.h"

/* Compositing stops at the first sample whose transmittance T (before it)
 * is below this: it and every later sample of the ray get weight 0. */
#define AG_VOLUME_MIN_TRANSMITTANCE 1e-4f

/* OCC_BITFIELD's grid mean: lane j sums cells j, j + L, j + 2L, ... in
 * order (in double), then lane j += lane j + h for h = L/2, L/4, ..., 1; the
 * CPU adds in exactly the CUDA block's order, so the mean is the same bits. */
#define AG_VOLUME_MEAN_LANES 1024

/* RAY_MARCH parameters. Samples are the segments [t0 + k dt, t0 + (k+1) dt]
 * (k = 0, 1, ...) that end by the ray's exit t1, where t0 = max(box entry,
 * near); segment k is kept when the cell of its midpoint is occupied, at
 * most max_samples per ray. */
typedef struct ag_ray_march_args {
  float aabb_min, aabb_max; /* the cube, the same on every axis */
  float dt;                 /* step (segment) length, world units */
  float near;               /* no sample starts before this t */
  int64_t grid_res;         /* G */
  int64_t max_samples;      /* per ray */
  int64_t capacity;         /* S, the sample rows of the outputs */
} ag_ray_march_args;

/* One ray in the box: origin, unit direction and its [t0, t1]. */
typedef struct ag_volume_ray {
  float o[3], d[3];
  float t0, t1;
} ag_volume_ray;

/* Normalises d and clips the ray to the box (slab method) and the near
 * plane; 0 when it misses (or d is zero), so it has no samples. */
AG_HD int ag_volume_ray_setup(const ag_ray_march_args *a, const float *o, const float *d,
                              ag_volume_ray *r) {
  const float n2 =
      AG_PX_ADD(AG_PX_ADD(AG_PX_MUL(d[0], d[0]), AG_PX_MUL(d[1], d[1])), AG_PX_MUL(d[2], d[2]));
  if (!(n2 > 0.0f) || !(n2 < INFINITY)) return 0;
  const float inv = AG_PX_DIV(1.0f, AG_PX_SQRT(n2));
  float t0 = a->near, t1 = INFINITY;
  for (int k = 0; k < 3; k++) {
    r->o[k] = o[k];
    r->d[k] = AG_PX_MUL(d[k], inv);
    if (r->d[k] == 0.0f) {
      if (o[k] < a->aabb_min || o[k] > a->aabb_max) return 0;
      continue;
    }
    const float ta = AG_PX_DIV(AG_PX_SUB(a->aabb_min, o[k]), r->d[k]);
    const float tb = AG_PX_DIV(AG_PX_SUB(a->aabb_max, o[k]), r->d[k]);
    t0 = fmaxf(t0, fminf(ta, tb));
    t1 = fminf(t1, fmaxf(ta, tb));
  }
  r->t0 = t0, r->t1 = t1;
  return t0 < t1;
}

/* The bit of cell c. */
AG_HD int ag_volume_occupied(const uint8_t *bits, int64_t c) {
  return (bits[c >> 3] >> (c & 7)) & 1;
}

/* The cell holding the point at t (clamped into the grid, so rounding at the
 * box faces stays inside); its coordinates in xyz. */
AG_HD int64_t ag_volume_cell_at(const ag_ray_march_args *a, float scale, const ag_volume_ray *r,
                                float t, float *p, int64_t *xyz) {
  for (int k = 0; k < 3; k++) {
    p[k] = AG_PX_ADD(r->o[k], AG_PX_MUL(t, r->d[k]));
    const int64_t c = (int64_t)floorf(AG_PX_MUL(AG_PX_SUB(p[k], a->aabb_min), scale));
    xyz[k] = c < 0 ? 0 : (c >= a->grid_res ? a->grid_res - 1 : c);
  }
  return xyz[0] + a->grid_res * (xyz[1] + a->grid_res * xyz[2]);
}

/* Where the ray leaves cell xyz: the nearest face ahead on any axis. */
AG_HD float ag_volume_cell_exit(const ag_ray_march_args *a, float scale, const ag_volume_ray *r,
                                const int64_t *xyz) {
  float t = INFINITY;
  for (int k = 0; k < 3; k++) {
    if (r->d[k] == 0.0f) continue;
    const float face = AG_PX_ADD(a->aabb_min, AG_PX_DIV((float)(xyz[k] + (r->d[k] > 0.0f)), scale));
    t = fminf(t, AG_PX_DIV(AG_PX_SUB(face, r->o[k]), r->d[k]));
  }
  return t;
}

/* Marches one ray, keeping at most `limit` samples; writes them from row 0
 * of pos/dir [.,3] and t/dt (midpoint, length) unless pos is NULL (the
 * counting pass). An empty cell is left in one step: the march jumps to the
 * first segment whose midpoint lies past the cell's exit, which skips only
 * midpoints inside that cell, so the samples are exactly the occupied
 * midpoints of the dt lattice. Returns the number kept. */
AG_HD int64_t ag_volume_march_ray(const ag_ray_march_args *a, const ag_volume_ray *r,
                                  const uint8_t *bits, int64_t limit, float *pos, float *dir,
                                  float *ts, float *dts) {
  const float scale = AG_PX_DIV((float)a->grid_res, AG_PX_SUB(a->aabb_max, a->aabb_min));
  int64_t n = 0, k = 0;
  while (n < limit && AG_PX_ADD(r->t0, AG_PX_MUL((float)(k + 1), a->dt)) <= r->t1) {
    const float tm = AG_PX_ADD(r->t0, AG_PX_MUL((float)k + 0.5f, a->dt));
    float p[3];
    int64_t xyz[3];
    const int64_t c = ag_volume_cell_at(a, scale, r, tm, p, xyz);
    if (ag_volume_occupied(bits, c)) {
      if (pos) {
        for (int j = 0; j < 3; j++) pos[3 * n + j] = p[j], dir[3 * n + j] = r->d[j];
        ts[n] = tm, dts[n] = a->dt;
      }
      n++, k++;
      continue;
    }
    const float exit = ag_volume_cell_exit(a, scale, r, xyz);
    const float q = AG_PX_SUB(AG_PX_DIV(AG_PX_SUB(exit, r->t0), a->dt), 0.5f);
    const int64_t next = (int64_t)floorf(q) + 1;
    k = next > k ? next : k + 1;
  }
  return n;
}

/* The packed range of a ray, clamped to [0, s) so that ranges read from
 * device memory never index out of bounds. */
AG_HD void ag_volume_ray_range(const int32_t *rays, int64_t r, int64_t s, int64_t *begin,
                               int64_t *end) {
  int64_t b = rays[2 * r], e = b + rays[2 * r + 1];
  b = b < 0 ? 0 : (b > s ? s : b);
  e = e < b ? b : (e > s ? s : e);
  *begin = b, *end = e;
}

/* Composites samples [b, e) of one ray over bg[3]: alpha_i = 1 - exp(-sigma_i
 * dt_i), w_i = T_i alpha_i with T_i = prod_{j<i} (1 - alpha_j), stopping at
 * the first T_i < AG_VOLUME_MIN_TRANSMITTANCE. out: color[3], depth, opacity. */
AG_HD void ag_volume_composite_ray(const float *sigma, const float *rgb, const float *dt,
                                   const float *t, int64_t b, int64_t e, const float *bg,
                                   float *color, float *depth, float *opacity) {
  float c[3] = {0.0f, 0.0f, 0.0f}, d = 0.0f, o = 0.0f, tr = 1.0f;
  for (int64_t i = b; i < e && tr >= AG_VOLUME_MIN_TRANSMITTANCE; i++) {
    const float keep = expf(-AG_PX_MUL(sigma[i], dt[i]));
    const float w = AG_PX_MUL(tr, AG_PX_SUB(1.0f, keep));
    for (int j = 0; j < 3; j++) c[j] = AG_PX_ADD(c[j], AG_PX_MUL(w, rgb[3 * i + j]));
    d = AG_PX_ADD(d, AG_PX_MUL(w, t[i]));
    o = AG_PX_ADD(o, w);
    tr = AG_PX_MUL(tr, keep);
  }
  for (int j = 0; j < 3; j++) color[j] = AG_PX_ADD(c[j], AG_PX_MUL(AG_PX_SUB(1.0f, o), bg[j]));
  *depth = d, *opacity = o;
}

/* The gradients of one ray, in one pass in sample order that recomputes T
 * and the weights exactly as the forward (so both stop at the same sample).
 * With v_i = gc.(rgb_i - bg) + gd t_i + go, the loss is sum_i w_i v_i plus
 * terms free of sigma, and
 *   dL/dsigma_i = dt_i (T_{i+1} v_i - sum_{j>i} w_j v_j),
 * the suffix sum being total - prefix with total = gc.(color - bg) + gd depth
 * + go opacity read from the forward outputs. drgb_i = w_i gc; samples past
 * the stop get 0 (the caller zeroes them). gd, go may be 0 (no gradient). */
AG_HD void ag_volume_composite_ray_backward(const float *sigma, const float *rgb, const float *dt,
                                            const float *t, int64_t b, int64_t e, const float *bg,
                                            const float *color, float depth, float opacity,
                                            const float *gc, float gd, float go, float *dsigma,
                                            float *drgb) {
  float total = AG_PX_ADD(AG_PX_MUL(gd, depth), AG_PX_MUL(go, opacity));
  for (int j = 0; j < 3; j++)
    total = AG_PX_ADD(total, AG_PX_MUL(gc[j], AG_PX_SUB(color[j], bg[j])));
  float prefix = 0.0f, tr = 1.0f;
  for (int64_t i = b; i < e && tr >= AG_VOLUME_MIN_TRANSMITTANCE; i++) {
    const float keep = expf(-AG_PX_MUL(sigma[i], dt[i]));
    const float w = AG_PX_MUL(tr, AG_PX_SUB(1.0f, keep));
    float v = AG_PX_ADD(AG_PX_MUL(gd, t[i]), go);
    for (int j = 0; j < 3; j++)
      v = AG_PX_ADD(v, AG_PX_MUL(gc[j], AG_PX_SUB(rgb[3 * i + j], bg[j])));
    prefix = AG_PX_ADD(prefix, AG_PX_MUL(w, v));
    tr = AG_PX_MUL(tr, keep);
    if (dsigma) dsigma[i] = AG_PX_MUL(dt[i], AG_PX_SUB(AG_PX_MUL(tr, v), AG_PX_SUB(total, prefix)));
    if (drgb)
      for (int j = 0; j < 3; j++) drgb[3 * i + j] = AG_PX_MUL(w, gc[j]);
  }
}

/* One signature per kernel, shared by the CPU kernels (ag_cpu_), the CUDA
 * launchers (ag_cuda_) and their emulated build (ag_emu_).
 *
 * occ_update: out[c] = max(grid[c] decay, density_i for idx_i = c, 0) over
 * `cells` cells; indices outside [0, cells) are skipped. out may be grid.
 * occ_bitfield: bit c = grid[c] > min(mean(grid), threshold).
 * ray_march: n rays to packed samples (see ag_ray_march_args); rays [n, 2]
 * (offset, count), total [1] the rows written.
 * composite: n rays over s sample rows; bg [n, 3].
 * composite_backward: any of dsigma, drgb, dbg may be NULL (not wanted),
 * gdepth and gopacity too (zero). */
typedef ag_status ag_occ_update_kernel(const float *grid, const int32_t *idx, const float *density,
                                       float *out, int64_t cells, int64_t m, float decay,
                                       void *stream);
typedef ag_status ag_occ_bitfield_kernel(const float *grid, uint8_t *bits, int64_t cells,
                                         float threshold, void *stream);
typedef ag_status ag_ray_march_kernel(const float *origins, const float *dirs, const uint8_t *bits,
                                      int64_t n, const ag_ray_march_args *a, float *pos,
                                      float *sdir, float *t, float *dt, int32_t *rays,
                                      int32_t *total, void *stream);
typedef ag_status ag_composite_kernel(const float *sigma, const float *rgb, const float *dt,
                                      const float *t, const int32_t *rays, const float *bg,
                                      int64_t n, int64_t s, float *color, float *depth,
                                      float *opacity, void *stream);
typedef ag_status ag_composite_backward_kernel(
    const float *sigma, const float *rgb, const float *dt, const float *t, const int32_t *rays,
    const float *bg, const float *color, const float *depth, const float *opacity,
    const float *gcolor, const float *gdepth, const float *gopacity, int64_t n, int64_t s,
    float *dsigma, float *drgb, float *dbg, void *stream);

/* The volume family's kernels on one backend (runtime/ops/bind_volume.c). */
typedef struct ag_volume_kernels {
  ag_occ_update_kernel *occ_update;
  ag_occ_bitfield_kernel *occ_bitfield;
  ag_ray_march_kernel *ray_march;
  ag_composite_kernel *composite;
  ag_composite_backward_kernel *composite_backward;
} ag_volume_kernels;

ag_occ_update_kernel ag_cpu_occ_update, ag_cuda_occ_update, ag_emu_occ_update;
ag_occ_bitfield_kernel ag_cpu_occ_bitfield, ag_cuda_occ_bitfield, ag_emu_occ_bitfield;
ag_ray_march_kernel ag_cpu_ray_march, ag_cuda_ray_march, ag_emu_ray_march;
ag_composite_kernel ag_cpu_composite, ag_cuda_composite, ag_emu_composite;
ag_composite_backward_kernel ag_cpu_composite_backward, ag_cuda_composite_backward,
    ag_emu_composite_backward;
extern const ag_volume_kernels ag_cpu_volume_kernels, ag_cuda_volume_kernels, ag_emu_volume_kernels;

#endif
