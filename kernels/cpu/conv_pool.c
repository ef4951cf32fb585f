/* Nearest 2x upsampling and average pooling (NCHW planes) on the CPU. Both
 * backwards gather (each input gradient sums the outputs that read it), so
 * they need no atomics and match the CUDA kernels' summation order. */
#include "kernels/common/ag_kernels.h"
#include "cpu_dtype.h"
#include "cpu_simd.h"

ag_status ag_cpu_upsample_nearest2x(ag_dtype dt, int64_t nc, int64_t h, int64_t w, const void *x,
                                    void *y, void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("upsample_nearest2x", dt);
  int64_t oh = 2 * h, ow = 2 * w;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < nc * oh; r++) {
    int64_t plane = r / oh, oy = r % oh;
    for (int64_t ox = 0; ox < ow; ox++)
      ag_cpu_store(dt, y, r * ow + ox, ag_cpu_load(dt, x, (plane * h + oy / 2) * w + ox / 2));
  }
  return AG_OK;
}

ag_status ag_cpu_upsample_nearest2x_backward(ag_dtype dt, int64_t nc, int64_t h, int64_t w,
                                             const void *gy, void *gx, void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("upsample_nearest2x_backward", dt);
  int64_t ow = 2 * w;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < nc * h; r++) {
    int64_t top = (r / h * 2 * h + r % h * 2) * ow; /* first of the two output rows */
    for (int64_t ix = 0; ix < w; ix++) {
      float v = ag_cpu_load(dt, gy, top + 2 * ix) + ag_cpu_load(dt, gy, top + 2 * ix + 1) +
                ag_cpu_load(dt, gy, top + ow + 2 * ix) + ag_cpu_load(dt, gy, top + ow + 2 * ix + 1);
      ag_cpu_store(dt, gx, r * w + ix, v);
    }
  }
  return AG_OK;
}

/* The common pooling (f32, stride k, no padding): windows tile the input, so
 * every input is read by at most one output and the loops need no window
 * arithmetic. The sums run in the same order as the general loops. */
static int tiled(ag_dtype dt, const ag_pool2d_geom *p) {
  return dt == AG_F32 && p->stride == p->k && p->pad == 0;
}

/* One output row of a tiled pooling whose window starts at `top`. The
 * 2 x 2 window, the one models use, has its own loop: with k a constant
 * the strided reads become vector shuffles. */
AG_CPU_SIMD static void avgpool_tiled_row(const ag_pool2d_geom *p, const float *top, float *y,
                                          float inv) {
  const int64_t w = p->w;
  if (p->k == 2) {
    /* The general loop's order, starting from 0 (which turns -0 into +0). */
    for (int64_t ox = 0; ox < p->ow; ox++)
      y[ox] = ((((0.0f + top[2 * ox]) + top[2 * ox + 1]) + top[w + 2 * ox]) + top[w + 2 * ox + 1]) *
              inv;
    return;
  }
  for (int64_t ox = 0; ox < p->ow; ox++) {
    float sum = 0.0f;
    for (int64_t dy = 0; dy < p->k; dy++)
      for (int64_t dx = 0; dx < p->k; dx++) sum += top[dy * w + ox * p->k + dx];
    y[ox] = sum * inv;
  }
}

static void avgpool_tiled(const ag_pool2d_geom *p, const float *x, float *y) {
  const float inv = 1.0f / (float)(p->k * p->k);
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < p->nc * p->oh; r++)
    avgpool_tiled_row(p, x + (r / p->oh * p->h + r % p->oh * p->k) * p->w, y + r * p->ow, inv);
}

/* One input-gradient row of a tiled pooling: each input takes its window's
 * output gradient (0 past the last whole window). */
AG_CPU_SIMD static void avgpool_backward_tiled_row(const ag_pool2d_geom *p, const float *row,
                                                   int inside, float *gx, float inv) {
  const int64_t covered = inside ? p->ow * p->k : 0;
  if (p->k == 2)
    for (int64_t ox = 0; ox < covered / 2; ox++) {
      const float g = row[ox] * inv;
      gx[2 * ox] = g;
      gx[2 * ox + 1] = g;
    }
  else
    for (int64_t ix = 0; ix < covered; ix++) gx[ix] = row[ix / p->k] * inv;
  for (int64_t ix = covered; ix < p->w; ix++) gx[ix] = 0.0f;
}

static void avgpool_backward_tiled(const ag_pool2d_geom *p, const float *gy, float *gx) {
  const float inv = 1.0f / (float)(p->k * p->k);
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < p->nc * p->h; r++) {
    const int64_t plane = r / p->h, oy = r % p->h / p->k;
    avgpool_backward_tiled_row(p, gy + (plane * p->oh + (oy < p->oh ? oy : 0)) * p->ow,
                               oy < p->oh, gx + r * p->w, inv);
  }
}

ag_status ag_cpu_avgpool2d(ag_dtype dt, ag_pool2d_geom p, const void *x, void *y, void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("avgpool2d", dt);
  if (tiled(dt, &p)) {
    avgpool_tiled(&p, x, y);
    return AG_OK;
  }
  float inv = 1.0f / (float)(p.k * p.k);
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < p.nc * p.oh; r++) {
    int64_t plane = r / p.oh, oy = r % p.oh, y0, y1;
    ag_pool_window(oy, p.k, p.stride, p.pad, p.h, &y0, &y1);
    for (int64_t ox = 0; ox < p.ow; ox++) {
      int64_t x0, x1;
      ag_pool_window(ox, p.k, p.stride, p.pad, p.w, &x0, &x1);
      float sum = 0.0f;
      for (int64_t iy = y0; iy < y1; iy++)
        for (int64_t ix = x0; ix < x1; ix++)
          sum += ag_cpu_load(dt, x, (plane * p.h + iy) * p.w + ix);
      ag_cpu_store(dt, y, r * p.ow + ox, sum * inv);
    }
  }
  return AG_OK;
}

ag_status ag_cpu_avgpool2d_backward(ag_dtype dt, ag_pool2d_geom p, const void *gy, void *gx,
                                    void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("avgpool2d_backward", dt);
  if (tiled(dt, &p)) {
    avgpool_backward_tiled(&p, gy, gx);
    return AG_OK;
  }
  float inv = 1.0f / (float)(p.k * p.k);
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < p.nc * p.h; r++) {
    int64_t plane = r / p.h, iy = r % p.h, o0, o1;
    ag_pool_covering(iy, p.k, p.stride, p.pad, p.oh, &o0, &o1);
    for (int64_t ix = 0; ix < p.w; ix++) {
      int64_t q0, q1;
      ag_pool_covering(ix, p.k, p.stride, p.pad, p.ow, &q0, &q1);
      float sum = 0.0f;
      for (int64_t oy = o0; oy < o1; oy++)
        for (int64_t ox = q0; ox < q1; ox++)
          sum += ag_cpu_load(dt, gy, (plane * p.oh + oy) * p.ow + ox);
      ag_cpu_store(dt, gx, r * p.w + ix, sum * inv);
    }
  }
  return AG_OK;
}
