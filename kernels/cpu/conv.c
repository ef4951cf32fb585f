/* Convolution (NCHW) on the CPU through oneDNN: forward (with the bias
 * fused), backward data and backward weights, each one primitive per
 * geometry, cached (see cpu_dnnl.h). The primitives choose their own blocked
 * layouts (nChw16c and the like on AVX-512); the plan reorders the plain
 * NCHW tensors into and out of them, which is what PyTorch's oneDNN path
 * does with NCHW tensors too. bf16 is computed with f32 accumulation and
 * rounded once on store. A dtype that oneDNN cannot run on this processor
 * (f16 without AVX-512 FP16) is widened to f32 copies and run in f32. */
#include <stdlib.h>
#include <string.h>

#include "kernels/common/ag_kernels.h"
#include "cpu_dnnl.h"
#include "cpu_dtype.h"
#include "cpu_simd.h"

typedef enum conv_kind { CONV_FORWARD, CONV_BACKWARD_DATA, CONV_BACKWARD_WEIGHTS } conv_kind;

/* Everything a conv plan depends on; zeroed before it is filled. */
typedef struct conv_key {
  int family; /* 'C' */
  int kind;
  int dtype;
  int has_bias;
  ag_conv2d_geom g;
} conv_key;

/* The caller's tensors of one problem: their plain layouts and sizes. */
typedef struct conv_tensors {
  dnnl_memory_desc_t x, w, y, bias;
  int64_t nx, nw, ny;
} conv_tensors;

static conv_tensors conv_tensors_of(ag_dtype dt, const ag_conv2d_geom *g,
                                    dnnl_format_tag_t plain4, dnnl_format_tag_t plain_w) {
  const int64_t x[4] = {g->n, g->cin, g->h, g->w}, y[4] = {g->n, g->cout, g->oh, g->ow};
  const int64_t wg[5] = {g->groups, g->cout / g->groups, g->cin / g->groups, g->kh, g->kw};
  const int grouped = g->groups > 1;
  conv_tensors t = {
      .x = ag_dnnl_md_tag(dt, 4, x, plain4),
      .w = ag_dnnl_md_tag(dt, grouped ? 5 : 4, grouped ? wg : wg + 1, plain_w),
      .y = ag_dnnl_md_tag(dt, 4, y, plain4),
      .bias = ag_dnnl_md_tag(dt, 1, &g->cout, dnnl_a),
      .nx = g->n * g->cin * g->h * g->w,
      .nw = g->cout * (g->cin / g->groups) * g->kh * g->kw,
      .ny = g->n * g->cout * g->oh * g->ow,
  };
  return t;
}

/* The padding oneDNN wants on the far side: what makes the output size
 * come out as PyTorch's floor formula gave it. */
static int64_t far_pad(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t pad,
                       int64_t dil) {
  return (out - 1) * stride + (k - 1) * dil + 1 - in - pad;
}

/* Strides, dilations (oneDNN counts them from 0) and the padding on both
 * sides, as oneDNN's descriptors take them. */
typedef struct conv_window {
  dnnl_dims_t strides, dil, pad_l, pad_r;
} conv_window;

static conv_window conv_window_of(const ag_conv2d_geom *g) {
  conv_window win = {
      .strides = {g->stride_h, g->stride_w},
      .dil = {g->dil_h - 1, g->dil_w - 1},
      .pad_l = {g->pad_h, g->pad_w},
      .pad_r = {far_pad(g->h, g->oh, g->kh, g->stride_h, g->pad_h, g->dil_h),
                far_pad(g->w, g->ow, g->kw, g->stride_w, g->pad_w, g->dil_w)},
  };
  return win;
}

/* The forward descriptor, also the hint the backward primitives need; with
 * `any` layouts so oneDNN picks its fastest. */
static dnnl_status_t forward_pd(ag_dnnl *d, ag_dtype dt, const ag_conv2d_geom *g, int has_bias,
                                dnnl_primitive_desc_t *pd) {
  const conv_tensors any = conv_tensors_of(dt, g, dnnl_format_tag_any, dnnl_format_tag_any);
  const conv_window win = conv_window_of(g);
  dnnl_convolution_desc_t desc;
  dnnl_status_t s = dnnl_dilated_convolution_forward_desc_init(
      &desc, dnnl_forward_training, dnnl_convolution_direct, &any.x, &any.w,
      has_bias ? &any.bias : NULL, &any.y, win.strides, win.dil, win.pad_l, win.pad_r);
  if (s == dnnl_success) s = dnnl_primitive_desc_create(pd, &desc, NULL, ag_dnnl_engine(d), NULL);
  return s;
}

/* The descriptor of a backward kind, against the forward hint. */
static dnnl_status_t backward_pd(ag_dnnl *d, conv_kind kind, ag_dtype dt, const ag_conv2d_geom *g,
                                 const_dnnl_primitive_desc_t hint, dnnl_primitive_desc_t *pd) {
  const conv_tensors any = conv_tensors_of(dt, g, dnnl_format_tag_any, dnnl_format_tag_any);
  const conv_window win = conv_window_of(g);
  dnnl_convolution_desc_t desc;
  dnnl_status_t s =
      kind == CONV_BACKWARD_DATA
          ? dnnl_dilated_convolution_backward_data_desc_init(
                &desc, dnnl_convolution_direct, &any.x, &any.w, &any.y, win.strides, win.dil,
                win.pad_l, win.pad_r)
          : dnnl_dilated_convolution_backward_weights_desc_init(
                &desc, dnnl_convolution_direct, &any.x, &any.w, NULL, &any.y, win.strides,
                win.dil, win.pad_l, win.pad_r);
  if (s == dnnl_success) s = dnnl_primitive_desc_create(pd, &desc, NULL, ag_dnnl_engine(d), hint);
  return s;
}

/* The plan arguments of a kind, in the order the kernels pass pointers:
 *   forward:          x, w, y [, bias]
 *   backward data:    gy, w, gx
 *   backward weights: x, gy, gw
 * with each one's element count (for the widened fallback). */
static int conv_args(conv_kind kind, ag_dtype dt, const ag_conv2d_geom *g, int has_bias,
                     ag_dnnl_arg *args, int64_t *counts) {
  const conv_tensors t =
      conv_tensors_of(dt, g, dnnl_nchw, g->groups > 1 ? dnnl_goihw : dnnl_oihw);
  if (kind == CONV_FORWARD) {
    args[0] = (ag_dnnl_arg){.arg = DNNL_ARG_SRC, .user = t.x};
    args[1] = (ag_dnnl_arg){.arg = DNNL_ARG_WEIGHTS, .user = t.w};
    args[2] = (ag_dnnl_arg){.arg = DNNL_ARG_DST, .output = 1, .user = t.y};
    args[3] = (ag_dnnl_arg){.arg = DNNL_ARG_BIAS, .user = t.bias};
    counts[0] = t.nx, counts[1] = t.nw, counts[2] = t.ny, counts[3] = g->cout;
    return has_bias ? 4 : 3;
  }
  if (kind == CONV_BACKWARD_DATA) {
    args[0] = (ag_dnnl_arg){.arg = DNNL_ARG_DIFF_DST, .user = t.y};
    args[1] = (ag_dnnl_arg){.arg = DNNL_ARG_WEIGHTS, .user = t.w};
    args[2] = (ag_dnnl_arg){.arg = DNNL_ARG_DIFF_SRC, .output = 1, .user = t.x};
    counts[0] = t.ny, counts[1] = t.nw, counts[2] = t.nx;
    return 3;
  }
  args[0] = (ag_dnnl_arg){.arg = DNNL_ARG_SRC, .user = t.x};
  args[1] = (ag_dnnl_arg){.arg = DNNL_ARG_DIFF_DST, .user = t.y};
  args[2] = (ag_dnnl_arg){.arg = DNNL_ARG_DIFF_WEIGHTS, .output = 1, .user = t.w};
  counts[0] = t.nx, counts[1] = t.ny, counts[2] = t.nw;
  return 3;
}

static const char *kind_name(conv_kind kind) {
  return kind == CONV_FORWARD         ? "conv2d_forward"
         : kind == CONV_BACKWARD_DATA ? "conv2d_backward_data"
                                      : "conv2d_backward_filter";
}

static ag_status conv_plan(ag_dnnl *d, const conv_key *key, ag_dnnl_plan **plan) {
  const conv_kind kind = (conv_kind)key->kind;
  const ag_dtype dt = (ag_dtype)key->dtype;
  ag_dnnl_arg args[4];
  int64_t counts[4];
  const int n = conv_args(kind, dt, &key->g, key->has_bias, args, counts);
  dnnl_primitive_desc_t fwd = NULL, bwd = NULL;
  dnnl_status_t s = forward_pd(d, dt, &key->g, key->has_bias, &fwd);
  if (s == dnnl_success && kind != CONV_FORWARD) s = backward_pd(d, kind, dt, &key->g, fwd, &bwd);
  ag_status st = s == dnnl_success
                     ? ag_dnnl_add(d, key, sizeof *key, kind == CONV_FORWARD ? fwd : bwd, args, n,
                                   plan)
                     : ag_dnnl_error(s, kind_name(kind), "primitive_desc_create");
  if (fwd) dnnl_primitive_desc_destroy(fwd);
  if (bwd) dnnl_primitive_desc_destroy(bwd);
  return st;
}

static ag_status conv_run(ag_dnnl *d, conv_kind kind, ag_dtype dt, const ag_conv2d_geom *g,
                          int has_bias, void *const *ptrs) {
  conv_key key;
  memset(&key, 0, sizeof key);
  key.family = 'C';
  key.kind = kind;
  key.dtype = dt;
  key.has_bias = has_bias;
  key.g = *g;
  ag_dnnl_plan *plan = ag_dnnl_find(d, &key, sizeof key);
  if (!plan) AG_TRY(conv_plan(d, &key, &plan));
  return ag_dnnl_execute(d, plan, ptrs);
}

/* The problem in f32 on widened copies of every argument; outputs are
 * rounded back once. */
static ag_status conv_run_widened(ag_dnnl *d, conv_kind kind, ag_dtype dt, const ag_conv2d_geom *g,
                                  int has_bias, void *const *ptrs) {
  ag_dnnl_arg args[4];
  int64_t counts[4];
  const int n = conv_args(kind, dt, g, has_bias, args, counts);
  void *wide[4] = {0};
  ag_status st = AG_OK;
  for (int i = 0; i < n && st == AG_OK; i++) {
    float *p = malloc((size_t)(counts[i] > 0 ? counts[i] : 1) * sizeof(float));
    wide[i] = p;
    if (!p) st = ag_set_error(AG_ERR_OOM, "cpu kernel %s: no memory for f32 copies", kind_name(kind));
    else if (!args[i].output)
#pragma omp parallel for schedule(static)
      for (int64_t k = 0; k < counts[i]; k++) p[k] = ag_cpu_load(dt, ptrs[i], k);
  }
  if (st == AG_OK) st = conv_run(d, kind, AG_F32, g, has_bias, wide);
  for (int i = 0; i < n && st == AG_OK; i++)
    if (args[i].output)
#pragma omp parallel for schedule(static)
      for (int64_t k = 0; k < counts[i]; k++) ag_cpu_store(dt, ptrs[i], k, ((float *)wide[i])[k]);
  for (int i = 0; i < n; i++) free(wide[i]);
  return st;
}

static ag_status conv_launch(ag_kernel_ctx *ctx, conv_kind kind, ag_dtype dt,
                             const ag_conv2d_geom *g, int has_bias, void *const *ptrs) {
  ag_dnnl *d;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only(kind_name(kind), dt);
  AG_TRY(ag_cpu_dnnl_of(ctx, kind_name(kind), &d));
  if (g->n == 0 || g->cout == 0 || g->cin == 0) return AG_OK;
  ag_status st = conv_run(d, kind, dt, g, has_bias, ptrs);
  if (st == AG_ERR_UNSUPPORTED && dt != AG_F32) {
    ag_clear_error();
    st = conv_run_widened(d, kind, dt, g, has_bias, ptrs);
  }
  return st;
}

ag_status ag_cpu_conv2d_forward(ag_kernel_ctx *ctx, ag_dtype dt, ag_conv2d_geom g, const void *x,
                                const void *w, const void *bias, void *y, void *stream) {
  (void)stream;
  void *ptrs[4] = {(void *)x, (void *)w, y, (void *)bias};
  return conv_launch(ctx, CONV_FORWARD, dt, &g, bias != NULL, ptrs);
}

ag_status ag_cpu_conv2d_backward_data(ag_kernel_ctx *ctx, ag_dtype dt, ag_conv2d_geom g,
                                      const void *gy, const void *w, void *gx, void *stream) {
  (void)stream;
  void *ptrs[3] = {(void *)gy, (void *)w, gx};
  return conv_launch(ctx, CONV_BACKWARD_DATA, dt, &g, 0, ptrs);
}

ag_status ag_cpu_conv2d_backward_filter(ag_kernel_ctx *ctx, ag_dtype dt, ag_conv2d_geom g,
                                        const void *x, const void *gy, void *gw, void *stream) {
  (void)stream;
  void *ptrs[3] = {(void *)x, (void *)gy, gw};
  return conv_launch(ctx, CONV_BACKWARD_WEIGHTS, dt, &g, 0, ptrs);
}

/* The sum of one plane of `p` elements, in 16 interleaved f32 lanes (a
 * vector register's worth) added at the end. */
AG_CPU_SIMD static float plane_sum(ag_dtype dt, const void *x, int64_t p) {
  float lanes[16] = {0};
  int64_t i = 0;
  if (dt == AG_BF16) {
    const uint16_t *b = x;
    for (; i + 16 <= p; i += 16)
      for (int l = 0; l < 16; l++) lanes[l] += ag_bf16_to_f32(b[i + l]);
  } else if (dt == AG_F32) {
    const float *f = x;
    for (; i + 16 <= p; i += 16)
      for (int l = 0; l < 16; l++) lanes[l] += f[i + l];
  }
  float s = 0.0f;
  for (int l = 0; l < 16; l++) s += lanes[l];
  for (; i < p; i++) s += ag_cpu_load(dt, x, i);
  return s;
}

ag_status ag_cpu_conv2d_backward_bias(ag_kernel_ctx *ctx, ag_dtype dt, ag_conv2d_geom g,
                                      const void *gy, void *gb, void *stream) {
  (void)ctx, (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("conv2d_backward_bias", dt);
  const int64_t p = g.oh * g.ow;
  const size_t es = ag_dtype_size(dt);
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < g.cout; c++) {
    float v = 0.0f;
    for (int64_t n = 0; n < g.n; n++)
      v += plane_sum(dt, (const char *)gy + (size_t)((n * g.cout + c) * p) * es, p);
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
