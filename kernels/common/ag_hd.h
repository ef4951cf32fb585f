/* ag_hd.h - lets one header serve CPU kernels (C11), CUDA kernels (nvcc) and
 * the CUDA-on-CPU emulator (host C++). Functions marked AG_HD compile for host
 * and device alike. */
#ifndef AG_HD_H
#define AG_HD_H

#if defined(__CUDACC__)
#define AG_HD __host__ __device__ __forceinline__
#else
#define AG_HD static inline
#endif

#endif
