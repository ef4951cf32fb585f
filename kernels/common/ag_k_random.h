/* Philox4x32-10 fills: element i is value (offset + i) of the stream for
 * `seed`, bit-identical on every backend (see ag_philox.h). */
/* One signature per kernel, shared by the CPU kernels (ag_cpu_), the CUDA
 * launchers (ag_cuda_) and their emulated build (ag_emu_). */
typedef ag_status ag_fill_uniform_kernel(ag_dtype dt, void *y, int64_t n, uint64_t seed,
                                         uint64_t offset, float lo, float hi, void *stream);
typedef ag_status ag_fill_normal_kernel(ag_dtype dt, void *y, int64_t n, uint64_t seed,
                                        uint64_t offset, float mean, float std, void *stream);

/* The random family's kernels on one backend (runtime/ops/bind_random.c calls
 * through it). */
typedef struct ag_random_kernels {
  ag_fill_uniform_kernel *fill_uniform;
  ag_fill_normal_kernel *fill_normal;
} ag_random_kernels;

ag_fill_uniform_kernel ag_cpu_fill_uniform, ag_cuda_fill_uniform, ag_emu_fill_uniform;
ag_fill_normal_kernel ag_cpu_fill_normal, ag_cuda_fill_normal, ag_emu_fill_normal;
extern const ag_random_kernels ag_cpu_random_kernels, ag_cuda_random_kernels, ag_emu_random_kernels;
