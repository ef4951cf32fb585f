/* Philox4x32-10 fills: element i is value (offset + i) of the stream for
 * `seed`, bit-identical on every backend (see ag_philox.h). */
#define AG_KERNELS_RANDOM(P)                                                                      \
  ag_status P##fill_uniform(ag_dtype dt, void *y, int64_t n, uint64_t seed, uint64_t offset,      \
                            float lo, float hi, void *stream);                                    \
  ag_status P##fill_normal(ag_dtype dt, void *y, int64_t n, uint64_t seed, uint64_t offset,       \
                           float mean, float std, void *stream);
AG_DECLARE_KERNELS(AG_KERNELS_RANDOM)
