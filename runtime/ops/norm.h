/* norm.h - eager API of the norm ops: none yet. */
#ifndef AG_OPS_NORM_H
#define AG_OPS_NORM_H
#endif
