/* conv.h - eager API of the conv ops: none yet. */
#ifndef AG_OPS_CONV_H
#define AG_OPS_CONV_H
#endif
