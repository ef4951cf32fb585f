/* Reductions. sum_rows: y[r] = sum_c x[r, c] over `rows` rows of `cols`,
 * accumulated in f32; broadcast_rows is its backward (gx[r, c] = g[r]). */
#define AG_KERNELS_REDUCE(P)                                                                      \
  ag_status P##sum_rows(ag_dtype dt, const void *x, void *y, int64_t rows, int64_t cols,          \
                        void *stream);                                                            \
  ag_status P##broadcast_rows(ag_dtype dt, const void *g, void *gx, int64_t rows, int64_t cols,   \
                              void *stream);
AG_DECLARE_KERNELS(AG_KERNELS_REDUCE)
