/* Volume rendering kernels on the CPU: the occupancy grid update and
 * bitfield, the two-pass ray march and compositing. The per-ray work is the
 * AG_HD code of kernels/common/ag_k_volume.h that the CUDA kernels run too;
 * rays are split over threads and every reduction has a fixed order, so
 * results do not depend on the thread count. */
#include <string.h>

#include "kernels/common/ag_kernels.h"

static ag_status check_count(const char *name, const char *what, int64_t n) {
  if (n < 0)
    return ag_set_error(AG_ERR_INVALID, "cpu kernel %s: negative %s %lld", name, what,
                        (long long)n);
  return AG_OK;
}

/* Non-negative by construction (0 for negatives and NaN): the CUDA kernel's
 * atomicMax on the float bits relies on it, and the CPU keeps the same rule. */
static float non_negative(float v) { return v > 0.0f ? v : 0.0f; }

ag_status ag_cpu_occ_update(const float *grid, const int32_t *idx, const float *density, float *out,
                            int64_t cells, int64_t m, float decay, void *stream) {
  (void)stream;
  AG_TRY(check_count("occ_update", "cell count", cells));
  AG_TRY(check_count("occ_update", "update count", m));
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < cells; c++) out[c] = non_negative(grid[c] * decay);
  /* Sequential: indices repeat, and max is order-independent anyway. */
  for (int64_t i = 0; i < m; i++) {
    const int64_t c = idx[i];
    const float d = non_negative(density[i]);
    if (c >= 0 && c < cells && d > out[c]) out[c] = d;
  }
  return AG_OK;
}

/* The grid mean in the lane order ag_k_volume.h fixes (AG_VOLUME_MEAN_LANES). */
static double grid_mean(const float *grid, int64_t cells) {
  double lane[AG_VOLUME_MEAN_LANES] = {0};
  for (int64_t base = 0; base < cells; base += AG_VOLUME_MEAN_LANES)
    for (int64_t j = 0; j < AG_VOLUME_MEAN_LANES && base + j < cells; j++)
      lane[j] += grid[base + j];
  for (int h = AG_VOLUME_MEAN_LANES / 2; h > 0; h /= 2)
    for (int j = 0; j < h; j++) lane[j] += lane[j + h];
  return lane[0] / (double)cells;
}

ag_status ag_cpu_occ_bitfield(const float *grid, uint8_t *bits, int64_t cells, float threshold,
                              void *stream) {
  (void)stream;
  AG_TRY(check_count("occ_bitfield", "cell count", cells));
  if (cells == 0) return AG_OK;
  const double mean = grid_mean(grid, cells);
  const double thr = mean < threshold ? mean : (double)threshold;
  const int64_t bytes = (cells + 7) / 8;
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < bytes; b++) {
    uint8_t v = 0;
    for (int64_t k = 0; k < 8 && 8 * b + k < cells; k++)
      v |= (uint8_t)(((double)grid[8 * b + k] > thr) << k);
    bits[b] = v;
  }
  return AG_OK;
}

/* Offsets from the counts (in place in rays [n, 2]): rays in order keep
 * their samples until the capacity is full; the ray that crosses it keeps
 * what fits and later rays get none. Returns the rows used. */
static int64_t pack_rays(int32_t *rays, int64_t n, int64_t capacity) {
  int64_t used = 0;
  for (int64_t r = 0; r < n; r++) {
    const int64_t want = rays[2 * r + 1], room = capacity - used;
    const int64_t keep = want < room ? want : room;
    rays[2 * r] = (int32_t)used, rays[2 * r + 1] = (int32_t)keep;
    used += keep;
  }
  return used;
}

ag_status ag_cpu_ray_march(const float *origins, const float *dirs, const uint8_t *bits, int64_t n,
                           const ag_ray_march_args *a, float *pos, float *sdir, float *t, float *dt,
                           int32_t *rays, int32_t *total, void *stream) {
  (void)stream;
  AG_TRY(check_count("ray_march", "ray count", n));
#pragma omp parallel for schedule(dynamic, 64)
  for (int64_t r = 0; r < n; r++) {
    ag_volume_ray ray;
    const int hit = ag_volume_ray_setup(a, origins + 3 * r, dirs + 3 * r, &ray);
    rays[2 * r + 1] =
        hit ? (int32_t)ag_volume_march_ray(a, &ray, bits, a->max_samples, NULL, NULL, NULL, NULL)
            : 0;
  }
  const int64_t used = pack_rays(rays, n, a->capacity);
#pragma omp parallel for schedule(dynamic, 64)
  for (int64_t r = 0; r < n; r++) {
    ag_volume_ray ray;
    const int64_t o = rays[2 * r];
    if (rays[2 * r + 1] == 0 || !ag_volume_ray_setup(a, origins + 3 * r, dirs + 3 * r, &ray))
      continue;
    ag_volume_march_ray(a, &ray, bits, rays[2 * r + 1], pos + 3 * o, sdir + 3 * o, t + o, dt + o);
  }
  const size_t tail = (size_t)(a->capacity - used);
  memset(pos + 3 * used, 0, 3 * tail * sizeof *pos);
  memset(sdir + 3 * used, 0, 3 * tail * sizeof *sdir);
  memset(t + used, 0, tail * sizeof *t);
  memset(dt + used, 0, tail * sizeof *dt);
  *total = (int32_t)used;
  return AG_OK;
}

ag_status ag_cpu_composite(const float *sigma, const float *rgb, const float *dt, const float *t,
                           const int32_t *rays, const float *bg, int64_t n, int64_t s, float *color,
                           float *depth, float *opacity, void *stream) {
  (void)stream;
  AG_TRY(check_count("composite", "ray count", n));
#pragma omp parallel for schedule(dynamic, 64)
  for (int64_t r = 0; r < n; r++) {
    int64_t b, e;
    ag_volume_ray_range(rays, r, s, &b, &e);
    ag_volume_composite_ray(sigma, rgb, dt, t, b, e, bg + 3 * r, color + 3 * r, depth + r,
                            opacity + r);
  }
  return AG_OK;
}

ag_status ag_cpu_composite_backward(const float *sigma, const float *rgb, const float *dt,
                                    const float *t, const int32_t *rays, const float *bg,
                                    const float *color, const float *depth, const float *opacity,
                                    const float *gcolor, const float *gdepth, const float *gopacity,
                                    int64_t n, int64_t s, float *dsigma, float *drgb, float *dbg,
                                    void *stream) {
  (void)stream;
  AG_TRY(check_count("composite_backward", "ray count", n));
  if (dsigma) memset(dsigma, 0, (size_t)s * sizeof *dsigma);
  if (drgb) memset(drgb, 0, 3 * (size_t)s * sizeof *drgb);
#pragma omp parallel for schedule(dynamic, 64)
  for (int64_t r = 0; r < n; r++) {
    int64_t b, e;
    ag_volume_ray_range(rays, r, s, &b, &e);
    const float gd = gdepth ? gdepth[r] : 0.0f, go = gopacity ? gopacity[r] : 0.0f;
    ag_volume_composite_ray_backward(sigma, rgb, dt, t, b, e, bg + 3 * r, color + 3 * r, depth[r],
                                     opacity[r], gcolor + 3 * r, gd, go, dsigma, drgb);
    if (dbg)
      for (int j = 0; j < 3; j++) dbg[3 * r + j] = gcolor[3 * r + j] * (1.0f - opacity[r]);
  }
  return AG_OK;
}

const ag_volume_kernels ag_cpu_volume_kernels = {
    .occ_update = ag_cpu_occ_update,
    .occ_bitfield = ag_cpu_occ_bitfield,
    .ray_march = ag_cpu_ray_march,
    .composite = ag_cpu_composite,
    .composite_backward = ag_cpu_composite_backward,
};
