/* optim.h - eager API of the optim ops: none yet. */
#ifndef AG_OPS_OPTIM_H
#define AG_OPS_OPTIM_H
#endif
