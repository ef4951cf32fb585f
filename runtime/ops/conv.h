/* conv.h - eager API of the convolution ops (NCHW). */
#ifndef AG_OPS_CONV_H
#define AG_OPS_CONV_H

#include "runtime/core/ag_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Geometry of conv2d / conv_transpose2d, as [h, w] pairs. A zero stride,
 * dilation or group count means 1. The op-call encoding is i[0..1] stride,
 * i[2..3] padding, i[4..5] dilation, i[6] groups, i[7] output_padding
 * (conv_transpose2d only; both axes). */
typedef struct ag_conv2d_params {
  int64_t stride[2], padding[2], dilation[2];
  int64_t groups;
  int64_t output_padding;
} ag_conv2d_params;

/* Writes p into a call's i[0..7]. */
void ag_conv2d_encode(struct ag_op_call *c, const ag_conv2d_params *p);

/* y = conv2d(x, w) + bias; x [n, cin, h, w], w [cout, cin/groups, kh, kw],
 * bias [cout] or NULL (then the op conv2d, else conv2d_bias). */
ag_status ag_eager_conv2d(ag_tensor *y, const ag_tensor *x, const ag_tensor *w,
                          const ag_tensor *bias, const ag_conv2d_params *p);
/* y = conv_transpose2d(x, w): the adjoint of conv2d in x; x [n, cin, h, w],
 * w [cin, cout/groups, kh, kw] (PyTorch's layout). */
ag_status ag_eager_conv_transpose2d(ag_tensor *y, const ag_tensor *x, const ag_tensor *w,
                                    const ag_conv2d_params *p);
/* y [n, c, 2h, 2w] = x [n, c, h, w] repeated 2x2 (nearest neighbour). */
ag_status ag_eager_upsample_nearest2x(ag_tensor *y, const ag_tensor *x);
/* Average pooling, k x k windows; stride 0 means k; count_include_pad. */
ag_status ag_eager_avgpool2d(ag_tensor *y, const ag_tensor *x, int64_t k, int64_t stride,
                             int64_t pad);

#ifdef __cplusplus
}
#endif

#endif
