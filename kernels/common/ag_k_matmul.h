/* matmul kernels: none yet. */
#define AG_KERNELS_MATMUL(P)
AG_DECLARE_KERNELS(AG_KERNELS_MATMUL)
