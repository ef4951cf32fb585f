/* Embedding kernels. The lookup itself is a gather along axis 0 of the table
 * (gather_axis in ag_k_layout.h).
 *   timestep_embedding: y[r, c] = ag_timestep_embedding_value(t[r], c, dim,
 *   flip, max_period, shift) (kernels/common/ag_embedding.h) for r < n,
 *   c < dim; max_period > 0. Float dtypes. */
/* The max_period diffusers uses by default. */
#define AG_TIMESTEP_MAX_PERIOD 10000.0f

/* One signature per kernel, shared by the CPU kernels (ag_cpu_), the CUDA
 * launchers (ag_cuda_) and their emulated build (ag_emu_). */
typedef ag_status ag_timestep_embedding_kernel(ag_dtype dt, const void *t, void *y, int64_t n,
                                               int64_t dim, int flip, float max_period, float shift,
                                               void *stream);

/* The embedding family's kernels on one backend (runtime/ops/bind_embedding.c calls
 * through it). */
typedef struct ag_embedding_kernels {
  ag_timestep_embedding_kernel *timestep_embedding;
} ag_embedding_kernels;

ag_timestep_embedding_kernel ag_cpu_timestep_embedding, ag_cuda_timestep_embedding,
    ag_emu_timestep_embedding;
extern const ag_embedding_kernels ag_cpu_embedding_kernels, ag_cuda_embedding_kernels,
    ag_emu_embedding_kernels;
