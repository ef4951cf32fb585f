/* embedding.h - eager API of the embedding ops: none yet. */
#ifndef AG_OPS_EMBEDDING_H
#define AG_OPS_EMBEDDING_H
#endif
