/* Convolution-family kernels (NCHW, contiguous) and the index math their CPU
 * and CUDA versions share.
 *
 * conv2d_* take one geometry, always that of the forward convolution
 * x [n, cin, h, w] (*) w [cout, cin/groups, kh, kw] -> y [n, cout, oh, ow];
 * conv_transpose2d is bound to the same kernels with the roles of x and y
 * swapped (its forward is conv2d_backward_data). The CUDA launchers call
 * cuDNN through the handle and workspace cached in `ctx`; the CPU kernels
 * ignore `ctx`. Every kernel writes its output (no accumulation); `bias` may
 * be NULL. bf16/f16 are computed in f32 and rounded once on store. */
#ifndef AG_K_CONV_H
#define AG_K_CONV_H

#include "ag_hd.h"
#include "ag_kernel_ctx.h"

typedef struct ag_conv2d_geom {
  int64_t n, cin, h, w;       /* input x */
  int64_t cout, kh, kw;       /* weight [cout, cin / groups, kh, kw] */
  int64_t oh, ow;             /* output y [n, cout, oh, ow] */
  int64_t stride_h, stride_w; /* >= 1 */
  int64_t pad_h, pad_w;       /* >= 0, zero padding on both sides */
  int64_t dil_h, dil_w;       /* >= 1 */
  int64_t groups;             /* divides cin and cout */
} ag_conv2d_geom;

/* Average pooling over nc planes of h x w; the window is k x k, moved by
 * `stride`, over an input zero-padded by `pad` on each side. */
typedef struct ag_pool2d_geom {
  int64_t nc, h, w, oh, ow;
  int64_t k, stride, pad;
} ag_pool2d_geom;

/* Output length of a convolution along one axis (PyTorch's formula, floor). */
AG_HD int64_t ag_conv_out_len(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t dil) {
  return (in + 2 * pad - dil * (k - 1) - 1) / stride + 1;
}

/* The outputs o in [*lo, *hi) whose pooling window [o*stride - pad,
 * o*stride - pad + k) covers input index i: the gather form of the pooling
 * backward, so each input gradient has one writer and no atomics. */
AG_HD void ag_pool_covering(int64_t i, int64_t k, int64_t stride, int64_t pad, int64_t out_len,
                            int64_t *lo, int64_t *hi) {
  int64_t a = i + pad - k + 1; /* smallest o*stride that still covers i */
  int64_t first = a <= 0 ? 0 : (a + stride - 1) / stride;
  int64_t last = (i + pad) / stride + 1;
  *lo = first;
  *hi = last < out_len ? last : out_len;
}

/* The inputs [*lo, *hi) of output o's pooling window, clipped to the
 * input. count_include_pad semantics: the clipped-off positions are padding
 * and count as zeros, so the mean always divides by k*k (with floor-mode
 * output sizes every window lies within the padded input). */
AG_HD void ag_pool_window(int64_t o, int64_t k, int64_t stride, int64_t pad, int64_t in_len,
                          int64_t *lo, int64_t *hi) {
  int64_t start = o * stride - pad, end = start + k;
  *lo = start < 0 ? 0 : start;
  *hi = end < in_len ? end : in_len;
}

/* One signature per kernel, shared by the CPU kernels (ag_cpu_), the CUDA
 * launchers (ag_cuda_) and their emulated build (ag_emu_). */
typedef ag_status ag_conv2d_forward_kernel(ag_kernel_ctx *ctx, ag_dtype dt, ag_conv2d_geom g,
                                           const void *x, const void *w, const void *bias, void *y,
                                           void *stream);
typedef ag_status ag_conv2d_backward_data_kernel(ag_kernel_ctx *ctx, ag_dtype dt, ag_conv2d_geom g,
                                                 const void *gy, const void *w, void *gx,
                                                 void *stream);
typedef ag_status ag_conv2d_backward_filter_kernel(ag_kernel_ctx *ctx, ag_dtype dt,
                                                   ag_conv2d_geom g, const void *x, const void *gy,
                                                   void *gw, void *stream);
typedef ag_status ag_conv2d_backward_bias_kernel(ag_kernel_ctx *ctx, ag_dtype dt, ag_conv2d_geom g,
                                                 const void *gy, void *gb, void *stream);
typedef ag_status ag_upsample_nearest2x_kernel(ag_dtype dt, int64_t nc, int64_t h, int64_t w,
                                               const void *x, void *y, void *stream);
typedef ag_status ag_upsample_nearest2x_backward_kernel(ag_dtype dt, int64_t nc, int64_t h,
                                                        int64_t w, const void *gy, void *gx,
                                                        void *stream);
typedef ag_status ag_avgpool2d_kernel(ag_dtype dt, ag_pool2d_geom p, const void *x, void *y,
                                      void *stream);
typedef ag_status ag_avgpool2d_backward_kernel(ag_dtype dt, ag_pool2d_geom p, const void *gy,
                                               void *gx, void *stream);

/* The conv family's kernels on one backend (runtime/ops/bind_conv.c calls
 * through it). */
typedef struct ag_conv_kernels {
  ag_conv2d_forward_kernel *conv2d_forward;
  ag_conv2d_backward_data_kernel *conv2d_backward_data;
  ag_conv2d_backward_filter_kernel *conv2d_backward_filter;
  ag_conv2d_backward_bias_kernel *conv2d_backward_bias;
  ag_upsample_nearest2x_kernel *upsample_nearest2x;
  ag_upsample_nearest2x_backward_kernel *upsample_nearest2x_backward;
  ag_avgpool2d_kernel *avgpool2d;
  ag_avgpool2d_backward_kernel *avgpool2d_backward;
} ag_conv_kernels;

ag_conv2d_forward_kernel ag_cpu_conv2d_forward, ag_cuda_conv2d_forward, ag_emu_conv2d_forward;
ag_conv2d_backward_data_kernel ag_cpu_conv2d_backward_data, ag_cuda_conv2d_backward_data,
    ag_emu_conv2d_backward_data;
ag_conv2d_backward_filter_kernel ag_cpu_conv2d_backward_filter, ag_cuda_conv2d_backward_filter,
    ag_emu_conv2d_backward_filter;
ag_conv2d_backward_bias_kernel ag_cpu_conv2d_backward_bias, ag_cuda_conv2d_backward_bias,
    ag_emu_conv2d_backward_bias;
ag_upsample_nearest2x_kernel ag_cpu_upsample_nearest2x, ag_cuda_upsample_nearest2x,
    ag_emu_upsample_nearest2x;
ag_upsample_nearest2x_backward_kernel ag_cpu_upsample_nearest2x_backward,
    ag_cuda_upsample_nearest2x_backward, ag_emu_upsample_nearest2x_backward;
ag_avgpool2d_kernel ag_cpu_avgpool2d, ag_cuda_avgpool2d, ag_emu_avgpool2d;
ag_avgpool2d_backward_kernel ag_cpu_avgpool2d_backward, ag_cuda_avgpool2d_backward,
    ag_emu_avgpool2d_backward;
extern const ag_conv_kernels ag_cpu_conv_kernels, ag_cuda_conv_kernels, ag_emu_conv_kernels;

#endif
