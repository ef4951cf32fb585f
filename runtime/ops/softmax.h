/* softmax.h - eager API of the softmax ops: none yet. */
#ifndef AG_OPS_SOFTMAX_H
#define AG_OPS_SOFTMAX_H
#endif
