/* conv.h - typed arguments and graph builders of the convolution
 * ops (NCHW). */
#ifndef AG_OPS_CONV_H
#define AG_OPS_CONV_H

#include "ag_ops.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ag_graph ag_graph;

/* Geometry of conv2d, conv2d_bias and conv_transpose2d, as [h, w] pairs. A
 * zero stride, dilation or group count means 1 (decode applies it).
 * output_padding is conv_transpose2d's only (both axes). */
typedef struct ag_conv2d_args {
  int64_t stride[2], padding[2], dilation[2];
  int64_t groups;
  int64_t output_padding;
} ag_conv2d_args;

/* Average pooling: k x k windows; a zero stride means k (decode applies it). */
typedef struct ag_pool2d_args {
  int64_t kernel, stride, padding;
} ag_pool2d_args;

/* The one place a call's parameter slots are read or written for the family. */
void ag_conv2d_args_encode(ag_op_call *c, const ag_conv2d_args *a);
ag_conv2d_args ag_conv2d_args_decode(const ag_op_call *c);
void ag_pool2d_args_encode(ag_op_call *c, const ag_pool2d_args *a);
ag_pool2d_args ag_pool2d_args_decode(const ag_op_call *c);

/* Graph builders; bias may be NULL (then the op conv2d, else conv2d_bias). */
ag_tensor *ag_conv2d(ag_graph *g, ag_tensor *x, ag_tensor *w, ag_tensor *bias,
                     const ag_conv2d_args *args);
ag_tensor *ag_conv_transpose2d(ag_graph *g, ag_tensor *x, ag_tensor *w, const ag_conv2d_args *args);
/* k x k average pooling with stride k and no padding. */
ag_tensor *ag_avgpool2d(ag_graph *g, ag_tensor *x, int k);
ag_tensor *ag_upsample_nearest2x(ag_graph *g, ag_tensor *x);

#ifdef __cplusplus
}
#endif

#endif
