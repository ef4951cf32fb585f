/* embedding kernels: none yet. */
#define AG_KERNELS_EMBEDDING(P)
AG_DECLARE_KERNELS(AG_KERNELS_EMBEDDING)
