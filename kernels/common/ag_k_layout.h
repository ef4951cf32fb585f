/* Layout kernels. copy_strided: dst (contiguous) = src viewed through
 * `layout`, in row-major order; any dtype. */
#define AG_KERNELS_LAYOUT(P)                                                                      \
  ag_status P##copy_strided(ag_dtype dt, const void *src, ag_strided4 layout, void *dst,          \
                            void *stream);
AG_DECLARE_KERNELS(AG_KERNELS_LAYOUT)
