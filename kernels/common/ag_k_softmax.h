/* softmax kernels: none yet. */
#define AG_KERNELS_SOFTMAX(P)
AG_DECLARE_KERNELS(AG_KERNELS_SOFTMAX)
