/* ag_epilogue.h - the activation a matmul applies to its result, shared by
 * the kernels and the runtime's op parameters. */
#ifndef AG_EPILOGUE_H
#define AG_EPILOGUE_H

typedef enum ag_matmul_epilogue {
  AG_MATMUL_EPI_NONE = 0,
  AG_MATMUL_EPI_RELU = 1,
  AG_MATMUL_EPI_GELU = 2 /* tanh approximation, as cuBLASLt's GELU epilogue */
} ag_matmul_epilogue;

#endif
