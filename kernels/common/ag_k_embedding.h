/* Embedding kernels. The lookup itself is a gather along axis 0 of the table
 * (gather_axis in ag_k_layout.h).
 *   timestep_embedding: y[r, c] = ag_timestep_embedding_value(t[r], c, dim,
 *   flip, max_period, shift) (kernels/common/ag_embedding.h) for r < n,
 *   c < dim; max_period > 0. Float dtypes. */
/* The max_period diffusers uses by default. */
#define AG_TIMESTEP_MAX_PERIOD 10000.0f

#define AG_KERNELS_EMBEDDING(P)                                                                   \
  ag_status P##timestep_embedding(ag_dtype dt, const void *t, void *y, int64_t n, int64_t dim,    \
                                  int flip, float max_period, float shift, void *stream);
AG_DECLARE_KERNELS(AG_KERNELS_EMBEDDING)
