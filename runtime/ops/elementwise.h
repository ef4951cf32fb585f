/* elementwise.h - eager API of the elementwise ops (same shapes). */
#ifndef AG_OPS_ELEMENTWISE_H
#define AG_OPS_ELEMENTWISE_H

#include "runtime/ag_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

ag_status ag_add(ag_tensor *y, const ag_tensor *a, const ag_tensor *b);
ag_status ag_mul(ag_tensor *y, const ag_tensor *a, const ag_tensor *b);
ag_status ag_scale(ag_tensor *y, const ag_tensor *a, float s);
ag_status ag_gelu(ag_tensor *y, const ag_tensor *x);
ag_status ag_silu(ag_tensor *y, const ag_tensor *x);

#ifdef __cplusplus
}
#endif

#endif
