/* attention kernels: none yet. */
#define AG_KERNELS_ATTENTION(P)
AG_DECLARE_KERNELS(AG_KERNELS_ATTENTION)
