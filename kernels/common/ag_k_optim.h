/* optim kernels: none yet. */
#define AG_KERNELS_OPTIM(P)
AG_DECLARE_KERNELS(AG_KERNELS_OPTIM)
