/* layout.h - ops that move data between layouts. ag_tensor_contiguous
 * (runtime/ag_tensor.h) is the eager form of CONTIGUOUS. */
#ifndef AG_OPS_LAYOUT_H
#define AG_OPS_LAYOUT_H
#endif
