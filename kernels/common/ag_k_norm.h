/* norm kernels: none yet. */
#define AG_KERNELS_NORM(P)
AG_DECLARE_KERNELS(AG_KERNELS_NORM)
