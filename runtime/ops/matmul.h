/* matmul.h - eager API of the matmul ops: none yet. */
#ifndef AG_OPS_MATMUL_H
#define AG_OPS_MATMUL_H
#endif
