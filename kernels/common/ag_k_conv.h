/* conv kernels: none yet. */
#define AG_KERNELS_CONV(P)
AG_DECLARE_KERNELS(AG_KERNELS_CONV)
