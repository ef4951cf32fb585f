/* Convolution (NCHW) on the CPU: im2col + sgemm per image and group,
 * col2im for the gradient of x, OpenMP over the batch. bf16/f16 tensors are
 * widened to f32 scratch once and rounded once on store; f32 tensors are used
 * in place. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/common/ag_kernels.h"
#include "cpu_blas.h"
#include "cpu_dtype.h"

/* Per-group sizes of one convolution: the GEMMs are
 * y_g [cog, p] = w_g [cog, k] * col_g [k, p]. */
typedef struct conv_dims {
  int64_t cig, cog; /* input / output channels per group */
  int64_t k;        /* cig * kh * kw: rows of a column matrix */
  int64_t p;        /* oh * ow: columns of a column matrix */
} conv_dims;

static conv_dims dims_of(const ag_conv2d_geom *g) {
  conv_dims d = {g->cin / g->groups, g->cout / g->groups, 0, g->oh * g->ow};
  d.k = d.cig * g->kh * g->kw;
  return d;
}

/* The outputs ox in [*lo, *hi) whose input column ox*stride - pad + off lies
 * inside [0, w). */
static void valid_span(int64_t ow, int64_t w, int64_t stride, int64_t pad, int64_t off, int64_t *lo,
                       int64_t *hi) {
  int64_t first = pad - off, last = w + pad - off; /* ox*stride in [first, last) */
  *lo = first <= 0 ? 0 : (first + stride - 1) / stride;
  *hi = last <= 0 ? 0 : (last + stride - 1) / stride;
  if (*hi > ow) *hi = ow;
  if (*lo > *hi) *lo = *hi;
}

/* col [cig*kh*kw, oh*ow] = the input patches of one group of one image. Each
 * row of a patch plane is zeros, a strided run of one input row, zeros. */
static void im2col(const ag_conv2d_geom *g, int64_t cig, const float *x, float *col) {
  for (int64_t c = 0; c < cig; c++)
    for (int64_t ky = 0; ky < g->kh; ky++)
      for (int64_t kx = 0; kx < g->kw; kx++) {
        float *plane = col + ((c * g->kh + ky) * g->kw + kx) * g->oh * g->ow;
        const int64_t off = kx * g->dil_w;
        int64_t lo, hi;
        valid_span(g->ow, g->w, g->stride_w, g->pad_w, off, &lo, &hi);
        for (int64_t oy = 0; oy < g->oh; oy++) {
          float *row = plane + oy * g->ow;
          const int64_t iy = oy * g->stride_h - g->pad_h + ky * g->dil_h;
          if (iy < 0 || iy >= g->h) {
            memset(row, 0, sizeof(float) * (size_t)g->ow);
            continue;
          }
          const float *in = x + (c * g->h + iy) * g->w;
          const int64_t shift = off - g->pad_w;
          memset(row, 0, sizeof(float) * (size_t)lo);
          for (int64_t ox = lo; ox < hi; ox++) row[ox] = in[ox * g->stride_w + shift];
          memset(row + hi, 0, sizeof(float) * (size_t)(g->ow - hi));
        }
      }
}

/* x += the patches of col scattered back (the adjoint of im2col). */
static void col2im(const ag_conv2d_geom *g, int64_t cig, const float *col, float *x) {
  for (int64_t c = 0; c < cig; c++)
    for (int64_t ky = 0; ky < g->kh; ky++)
      for (int64_t kx = 0; kx < g->kw; kx++) {
        const float *row = col + ((c * g->kh + ky) * g->kw + kx) * g->oh * g->ow;
        for (int64_t oy = 0; oy < g->oh; oy++) {
          int64_t iy = oy * g->stride_h - g->pad_h + ky * g->dil_h;
          if (iy < 0 || iy >= g->h) continue;
          for (int64_t ox = 0; ox < g->ow; ox++) {
            int64_t ix = ox * g->stride_w - g->pad_w + kx * g->dil_w;
            if (ix >= 0 && ix < g->w) x[(c * g->h + iy) * g->w + ix] += row[oy * g->ow + ox];
          }
        }
      }
}

/* Scratch buffers; every pointer is NULL or owned. */
typedef struct conv_scratch {
  float *owned[4];
  int n_owned;
} conv_scratch;

static void scratch_free(conv_scratch *s) {
  for (int i = 0; i < s->n_owned; i++) free(s->owned[i]);
}

static float *scratch_alloc(conv_scratch *s, int64_t count) {
  float *p = malloc((size_t)(count > 0 ? count : 1) * sizeof(float));
  if (p) s->owned[s->n_owned++] = p;
  return p;
}

/* The f32 values of an input: the tensor itself when it is f32. */
static const float *f32_input(conv_scratch *s, ag_dtype dt, const void *src, int64_t count) {
  if (dt == AG_F32) return src;
  float *p = scratch_alloc(s, count);
  if (!p) return NULL;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < count; i++) p[i] = ag_cpu_load(dt, src, i);
  return p;
}

/* Where an output is computed in f32: the tensor itself when it is f32. */
static float *f32_output(conv_scratch *s, ag_dtype dt, void *dst, int64_t count) {
  return dt == AG_F32 ? dst : scratch_alloc(s, count);
}

static void store_output(ag_dtype dt, const float *src, void *dst, int64_t count) {
  if (dt == AG_F32) return;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < count; i++) ag_cpu_store(dt, dst, i, src[i]);
}

static ag_status oom(conv_scratch *s, const char *kernel) {
  scratch_free(s);
  return ag_set_error(AG_ERR_OOM, "cpu kernel %s: out of memory for scratch buffers", kernel);
}

ag_status ag_cpu_conv2d_forward(ag_kernel_ctx *ctx, ag_dtype dt, ag_conv2d_geom g, const void *x,
                                const void *w, const void *bias, void *y, void *stream) {
  (void)ctx, (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("conv2d_forward", dt);
  conv_dims d = dims_of(&g);
  int nt = omp_get_max_threads();
  conv_scratch s = {0};
  const float *xf = f32_input(&s, dt, x, g.n * g.cin * g.h * g.w);
  const float *wf = f32_input(&s, dt, w, g.cout * d.k);
  float *yf = f32_output(&s, dt, y, g.n * g.cout * d.p);
  float *cols = scratch_alloc(&s, nt * d.k * d.p);
  if (!xf || !wf || !yf || !cols) return oom(&s, "conv2d_forward");
#pragma omp parallel for schedule(static) num_threads(nt)
  for (int64_t n = 0; n < g.n; n++) {
    float *col = cols + omp_get_thread_num() * d.k * d.p;
    for (int64_t gi = 0; gi < g.groups; gi++) {
      float *yg = yf + (n * g.cout + gi * d.cog) * d.p;
      im2col(&g, d.cig, xf + (n * g.cin + gi * d.cig) * g.h * g.w, col);
      ag_cpu_sgemm(0, 0, d.cog, d.p, d.k, 1.0f, wf + gi * d.cog * d.k, d.k, col, d.p, 0.0f, yg,
                   d.p);
    }
    for (int64_t c = 0; bias && c < g.cout; c++) {
      float b = ag_cpu_load(dt, bias, c);
      for (int64_t i = 0; i < d.p; i++) yf[(n * g.cout + c) * d.p + i] += b;
    }
  }
  store_output(dt, yf, y, g.n * g.cout * d.p);
  scratch_free(&s);
  return AG_OK;
}

ag_status ag_cpu_conv2d_backward_data(ag_kernel_ctx *ctx, ag_dtype dt, ag_conv2d_geom g,
                                      const void *gy, const void *w, void *gx, void *stream) {
  (void)ctx, (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("conv2d_backward_data", dt);
  conv_dims d = dims_of(&g);
  int nt = omp_get_max_threads();
  conv_scratch s = {0};
  const float *gyf = f32_input(&s, dt, gy, g.n * g.cout * d.p);
  const float *wf = f32_input(&s, dt, w, g.cout * d.k);
  float *gxf = f32_output(&s, dt, gx, g.n * g.cin * g.h * g.w);
  float *cols = scratch_alloc(&s, nt * d.k * d.p);
  if (!gyf || !wf || !gxf || !cols) return oom(&s, "conv2d_backward_data");
#pragma omp parallel for schedule(static) num_threads(nt)
  for (int64_t n = 0; n < g.n; n++) {
    float *col = cols + omp_get_thread_num() * d.k * d.p;
    float *gxn = gxf + n * g.cin * g.h * g.w;
    memset(gxn, 0, (size_t)(g.cin * g.h * g.w) * sizeof(float));
    for (int64_t gi = 0; gi < g.groups; gi++) {
      const float *gyg = gyf + (n * g.cout + gi * d.cog) * d.p;
      ag_cpu_sgemm(1, 0, d.k, d.p, d.cog, 1.0f, wf + gi * d.cog * d.k, d.k, gyg, d.p, 0.0f, col,
                   d.p);
      col2im(&g, d.cig, col, gxn + gi * d.cig * g.h * g.w);
    }
  }
  store_output(dt, gxf, gx, g.n * g.cin * g.h * g.w);
  scratch_free(&s);
  return AG_OK;
}

/* gw = sum over images of gy_g * col_g^T. Each thread sums its images into
 * its own partial; the partials are added in thread order afterwards, so the
 * result does not depend on scheduling. */
ag_status ag_cpu_conv2d_backward_filter(ag_kernel_ctx *ctx, ag_dtype dt, ag_conv2d_geom g,
                                        const void *x, const void *gy, void *gw, void *stream) {
  (void)ctx, (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("conv2d_backward_filter", dt);
  conv_dims d = dims_of(&g);
  int nt = omp_get_max_threads();
  int64_t wn = g.cout * d.k;
  conv_scratch s = {0};
  const float *xf = f32_input(&s, dt, x, g.n * g.cin * g.h * g.w);
  const float *gyf = f32_input(&s, dt, gy, g.n * g.cout * d.p);
  float *cols = scratch_alloc(&s, nt * d.k * d.p);
  float *parts = scratch_alloc(&s, nt * wn);
  if (!xf || !gyf || !cols || !parts) return oom(&s, "conv2d_backward_filter");
  memset(parts, 0, (size_t)(nt * wn) * sizeof(float));
#pragma omp parallel for schedule(static) num_threads(nt)
  for (int64_t n = 0; n < g.n; n++) {
    int t = omp_get_thread_num();
    float *col = cols + t * d.k * d.p;
    for (int64_t gi = 0; gi < g.groups; gi++) {
      im2col(&g, d.cig, xf + (n * g.cin + gi * d.cig) * g.h * g.w, col);
      ag_cpu_sgemm(0, 1, d.cog, d.k, d.p, 1.0f, gyf + (n * g.cout + gi * d.cog) * d.p, d.p, col,
                   d.p, 1.0f, parts + t * wn + gi * d.cog * d.k, d.k);
    }
  }
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < wn; i++) {
    float v = 0.0f;
    for (int t = 0; t < nt; t++) v += parts[t * wn + i];
    ag_cpu_store(dt, gw, i, v);
  }
  scratch_free(&s);
  return AG_OK;
}

ag_status ag_cpu_conv2d_backward_bias(ag_kernel_ctx *ctx, ag_dtype dt, ag_conv2d_geom g,
                                      const void *gy, void *gb, void *stream) {
  (void)ctx, (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("conv2d_backward_bias", dt);
  int64_t p = g.oh * g.ow;
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < g.cout; c++) {
    float v = 0.0f;
    for (int64_t n = 0; n < g.n; n++)
      for (int64_t i = 0; i < p; i++) v += ag_cpu_load(dt, gy, (n * g.cout + c) * p + i);
    ag_cpu_store(dt, gb, c, v);
  }
  return AG_OK;
}

const ag_conv_kernels ag_cpu_conv_kernels = {
    .conv2d_forward = ag_cpu_conv2d_forward,
    .conv2d_backward_data = ag_cpu_conv2d_backward_data,
    .conv2d_backward_filter = ag_cpu_conv2d_backward_filter,
    .conv2d_backward_bias = ag_cpu_conv2d_backward_bias,
    .upsample_nearest2x = ag_cpu_upsample_nearest2x,
    .upsample_nearest2x_backward = ag_cpu_upsample_nearest2x_backward,
    .avgpool2d = ag_cpu_avgpool2d,
    .avgpool2d_backward = ag_cpu_avgpool2d_backward,
};
