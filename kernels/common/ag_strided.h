/* ag_strided.h - a 4-d strided layout passed by value to copy kernels. */
#ifndef AG_STRIDED_H
#define AG_STRIDED_H

#include <stdint.h>

typedef struct ag_strided4 {
  int64_t shape[4];  /* logical shape, padded with leading 1s to 4 dims */
  int64_t stride[4]; /* element strides of the source */
} ag_strided4;

#endif
