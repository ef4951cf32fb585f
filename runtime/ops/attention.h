/* attention.h - eager API of the attention ops: none yet. */
#ifndef AG_OPS_ATTENTION_H
#define AG_OPS_ATTENTION_H
#endif
