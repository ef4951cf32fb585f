/* Elementwise kernels (contiguous, equal sizes). bf16/f16 are computed in f32
 * and rounded once on store. Backward kernels write gx = g * f'(x). */
#define AG_KERNELS_ELEMENTWISE(P)                                                                 \
  ag_status P##add(ag_dtype dt, const void *a, const void *b, void *y, int64_t n, void *stream);  \
  ag_status P##mul(ag_dtype dt, const void *a, const void *b, void *y, int64_t n, void *stream);  \
  ag_status P##scale(ag_dtype dt, const void *a, float s, void *y, int64_t n, void *stream);       \
  ag_status P##gelu(ag_dtype dt, const void *x, void *y, int64_t n, void *stream);                \
  ag_status P##gelu_backward(ag_dtype dt, const void *x, const void *g, void *gx, int64_t n,      \
                             void *stream);                                                       \
  ag_status P##silu(ag_dtype dt, const void *x, void *y, int64_t n, void *stream);                \
  ag_status P##silu_backward(ag_dtype dt, const void *x, const void *g, void *gx, int64_t n,      \
                             void *stream);
AG_DECLARE_KERNELS(AG_KERNELS_ELEMENTWISE)
