/* Diffusion sampler kernels (the math is kernels/common/ag_diffusion.h).
 * Tensors are contiguous, of `batch` images of `image_numel` values each, in
 * the storage dtype `dt` (f32, bf16, f16) with f32 math; timesteps are int32
 * and alphas_cumprod f32.
 *
 * diffusion_noise: x_t = sqrt(ab) x0 + sqrt(1 - ab) eps and the training
 * target of `prediction`, ab = alphas_cumprod[t[b]]. Timesteps live on the
 * device, where shape inference cannot see them, so the kernels clamp them
 * to [0, T) rather than read out of bounds.
 *
 * diffusion_step: one fused sampler step. model_out has 2 * batch images
 * ([cond; uncond]) when `guided`, else batch. x0_prev is read only when
 * c1 != 0 and noise drawn only when cn != 0. Writes x0 (the clipped or
 * thresholded prediction) and x_next; x_next may be x itself.
 *
 * cfg_combine: y = u + g (c - u) over x = [c; u], 2 * batch images in. */
#include "ag_diffusion.h"

/* One signature per kernel, shared by the CPU kernels (ag_cpu_), the CUDA
 * launchers (ag_cuda_) and their emulated build (ag_emu_). */
typedef ag_status ag_diffusion_noise_kernel(ag_dtype dt, const void *x0, const int32_t *t,
                                            const float *alphas_cumprod, int64_t train_steps,
                                            void *x_t, void *target, int64_t batch,
                                            int64_t image_numel, ag_diffusion_prediction prediction,
                                            uint64_t seed, uint64_t first, void *stream);
typedef ag_status ag_diffusion_step_kernel(ag_dtype dt, const void *x, const void *model_out,
                                           const void *x0_prev, void *x_next, void *x0,
                                           int64_t batch, int64_t image_numel, int guided,
                                           const ag_diffusion_step_args *a, void *stream);
typedef ag_status ag_cfg_combine_kernel(ag_dtype dt, const void *x, void *y, int64_t batch,
                                        int64_t image_numel, float guidance, void *stream);

/* The diffusion family's kernels on one backend (runtime/ops/bind_diffusion.c). */
typedef struct ag_diffusion_kernels {
  ag_diffusion_noise_kernel *diffusion_noise;
  ag_diffusion_step_kernel *diffusion_step;
  ag_cfg_combine_kernel *cfg_combine;
} ag_diffusion_kernels;

ag_diffusion_noise_kernel ag_cpu_diffusion_noise, ag_cuda_diffusion_noise, ag_emu_diffusion_noise;
ag_diffusion_step_kernel ag_cpu_diffusion_step, ag_cuda_diffusion_step, ag_emu_diffusion_step;
ag_cfg_combine_kernel ag_cpu_cfg_combine, ag_cuda_cfg_combine, ag_emu_cfg_combine;
extern const ag_diffusion_kernels ag_cpu_diffusion_kernels, ag_cuda_diffusion_kernels,
    ag_emu_diffusion_kernels;
