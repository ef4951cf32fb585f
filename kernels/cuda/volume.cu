/* Volume rendering kernels: the occupancy grid update and bitfield, the
 * two-pass ray march and compositing, with the per-ray code of
 * kernels/common/ag_k_volume.h that kernels/cpu/volume.c shares.
 *
 * occ_update decays every cell, then takes the max with each density by
 * atomicMax on the float's bits: for non-negative floats (both kernels clamp
 * at 0) the int order is the value order, so the result does not depend on
 * the order of the updates. occ_bitfield is one block: its threads sum the
 * grid in the lane order of AG_VOLUME_MEAN_LANES, then write the bytes.
 * ray_march counts each ray's samples (one thread per ray), turns the counts
 * into offsets with a single-block scan (tiles of VOL_SCAN_THREADS counts,
 * a carry between tiles, so any n), then marches again to write. Compositing
 * is one thread per ray, forward and backward: no atomics, deterministic. */
#include "ag_cuda.h"
#include "ag_cuda_dtype.h"
#include "kernels/common/ag_kernels.h"

#define VOL_RAY_THREADS 128
#define VOL_SCAN_THREADS 512

static __device__ __forceinline__ float non_negative(float v) { return v > 0.0f ? v : 0.0f; }

static __global__ void decay_kernel(const float *grid, float *out, int64_t cells, float decay) {
  const int64_t stride = (int64_t)gridDim.x * blockDim.x;
  for (int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; c < cells; c += stride)
    out[c] = non_negative(__fmul_rn(grid[c], decay));
}

static __global__ void max_kernel(const int32_t *idx, const float *density, float *out,
                                  int64_t cells, int64_t m) {
  const int64_t stride = (int64_t)gridDim.x * blockDim.x;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < m; i += stride) {
    const int64_t c = idx[i];
    if (c >= 0 && c < cells) atomicMax((int *)&out[c], __float_as_int(non_negative(density[i])));
  }
}

static __global__ void bitfield_kernel(const float *grid, uint8_t *bits, int64_t cells,
                                       float threshold) {
  __shared__ double lane[AG_VOLUME_MEAN_LANES];
  const int j = threadIdx.x;
  double sum = 0.0;
  for (int64_t c = j; c < cells; c += AG_VOLUME_MEAN_LANES) sum += grid[c];
  lane[j] = sum;
  __syncthreads();
  for (int h = AG_VOLUME_MEAN_LANES / 2; h > 0; h /= 2) {
    if (j < h) lane[j] += lane[j + h];
    __syncthreads();
  }
  const double mean = lane[0] / (double)cells;
  const double thr = mean < threshold ? mean : (double)threshold;
  for (int64_t b = j; b < (cells + 7) / 8; b += AG_VOLUME_MEAN_LANES) {
    unsigned v = 0;
    for (int64_t k = 0; k < 8 && 8 * b + k < cells; k++)
      v |= (unsigned)((double)grid[8 * b + k] > thr) << k;
    bits[b] = (uint8_t)v;
  }
}

static __global__ void count_kernel(const float *origins, const float *dirs, const uint8_t *bits,
                                    int64_t n, ag_ray_march_args a, int32_t *rays) {
  const int64_t r = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
  if (r >= n) return;
  ag_volume_ray ray;
  const int hit = ag_volume_ray_setup(&a, origins + 3 * r, dirs + 3 * r, &ray);
  rays[2 * r + 1] =
      hit ? (int32_t)ag_volume_march_ray(&a, &ray, bits, a.max_samples, NULL, NULL, NULL, NULL) : 0;
}

/* Counts to (offset, count) in place, truncated at the capacity as on the
 * CPU: an inclusive scan of each tile in shared memory (Hillis-Steele),
 * offset by the rows used before the tile. */
static __global__ void scan_kernel(int32_t *rays, int64_t n, int64_t capacity, int32_t *total) {
  __shared__ int64_t incl[VOL_SCAN_THREADS];
  __shared__ int64_t carry;
  const int j = threadIdx.x;
  if (j == 0) carry = 0;
  __syncthreads();
  for (int64_t base = 0; base < n; base += VOL_SCAN_THREADS) {
    const int64_t r = base + j;
    const int64_t want = r < n ? rays[2 * r + 1] : 0;
    incl[j] = want;
    __syncthreads();
    for (int off = 1; off < VOL_SCAN_THREADS; off *= 2) {
      const int64_t add = j >= off ? incl[j - off] : 0;
      __syncthreads();
      incl[j] += add;
      __syncthreads();
    }
    if (r < n) {
      const int64_t start = carry + incl[j] - want;
      const int64_t begin = start < capacity ? start : capacity;
      const int64_t end = start + want < capacity ? start + want : capacity;
      rays[2 * r] = (int32_t)begin, rays[2 * r + 1] = (int32_t)(end - begin);
    }
    __syncthreads();
    if (j == 0) carry += incl[VOL_SCAN_THREADS - 1];
    __syncthreads();
  }
  if (j == 0) *total = (int32_t)(carry < capacity ? carry : capacity);
}

static __global__ void write_kernel(const float *origins, const float *dirs, const uint8_t *bits,
                                    int64_t n, ag_ray_march_args a, const int32_t *rays, float *pos,
                                    float *sdir, float *t, float *dt) {
  const int64_t r = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
  if (r >= n || rays[2 * r + 1] == 0) return;
  ag_volume_ray ray;
  if (!ag_volume_ray_setup(&a, origins + 3 * r, dirs + 3 * r, &ray)) return;
  const int64_t o = rays[2 * r];
  ag_volume_march_ray(&a, &ray, bits, rays[2 * r + 1], pos + 3 * o, sdir + 3 * o, t + o, dt + o);
}

/* Rows at and past the total are zero. */
static __global__ void zero_tail_kernel(const int32_t *total, int64_t capacity, float *pos,
                                        float *sdir, float *t, float *dt) {
  const int64_t stride = (int64_t)gridDim.x * blockDim.x;
  for (int64_t i = *total + blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < capacity;
       i += stride) {
    for (int k = 0; k < 3; k++) pos[3 * i + k] = 0.0f, sdir[3 * i + k] = 0.0f;
    t[i] = 0.0f, dt[i] = 0.0f;
  }
}

static __global__ void composite_kernel(const float *sigma, const float *rgb, const float *dt,
                                        const float *t, const int32_t *rays, const float *bg,
                                        int64_t n, int64_t s, float *color, float *depth,
                                        float *opacity) {
  const int64_t r = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
  if (r >= n) return;
  int64_t b, e;
  ag_volume_ray_range(rays, r, s, &b, &e);
  ag_volume_composite_ray(sigma, rgb, dt, t, b, e, bg + 3 * r, color + 3 * r, depth + r,
                          opacity + r);
}

/* What the backward reads and writes. */
struct CompositeGrad {
  const float *sigma, *rgb, *dt, *t, *bg, *color, *depth, *opacity, *gcolor, *gdepth, *gopacity;
  const int32_t *rays;
  float *dsigma, *drgb, *dbg;
};

static __global__ void zero_kernel(float *x, int64_t n) {
  const int64_t stride = (int64_t)gridDim.x * blockDim.x;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += stride) x[i] = 0.0f;
}

static __global__ void composite_backward_kernel(CompositeGrad g, int64_t n, int64_t s) {
  const int64_t r = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
  if (r >= n) return;
  int64_t b, e;
  ag_volume_ray_range(g.rays, r, s, &b, &e);
  const float gd = g.gdepth ? g.gdepth[r] : 0.0f, go = g.gopacity ? g.gopacity[r] : 0.0f;
  ag_volume_composite_ray_backward(g.sigma, g.rgb, g.dt, g.t, b, e, g.bg + 3 * r, g.color + 3 * r,
                                   g.depth[r], g.opacity[r], g.gcolor + 3 * r, gd, go, g.dsigma,
                                   g.drgb);
  if (g.dbg)
    for (int j = 0; j < 3; j++)
      g.dbg[3 * r + j] = __fmul_rn(g.gcolor[3 * r + j], __fsub_rn(1.0f, g.opacity[r]));
}

static ag_status check_count(const char *name, const char *what, int64_t n) {
  if (n < 0)
    return ag_set_error(AG_ERR_INVALID, "cuda kernel %s: negative %s %lld", name, what,
                        (long long)n);
  return AG_OK;
}

static unsigned ray_blocks(int64_t n) { return ag_cuda_blocks(n, VOL_RAY_THREADS); }

extern "C" ag_status AG_CUDA_SYM(occ_update)(const float *grid, const int32_t *idx,
                                             const float *density, float *out, int64_t cells,
                                             int64_t m, float decay, void *stream) {
  AG_TRY(check_count("occ_update", "cell count", cells));
  AG_TRY(check_count("occ_update", "update count", m));
  if (cells == 0) return AG_OK;
  AG_LAUNCH(decay_kernel, ag_ew_blocks(cells), AG_EW_THREADS, 0, stream, grid, out, cells, decay);
  if (m > 0)
    AG_LAUNCH(max_kernel, ag_ew_blocks(m), AG_EW_THREADS, 0, stream, idx, density, out, cells, m);
  return AG_LAUNCH_STATUS("occ_update");
}

extern "C" ag_status AG_CUDA_SYM(occ_bitfield)(const float *grid, uint8_t *bits, int64_t cells,
                                               float threshold, void *stream) {
  AG_TRY(check_count("occ_bitfield", "cell count", cells));
  if (cells == 0) return AG_OK;
  AG_LAUNCH(bitfield_kernel, 1, AG_VOLUME_MEAN_LANES, 0, stream, grid, bits, cells, threshold);
  return AG_LAUNCH_STATUS("occ_bitfield");
}

extern "C" ag_status AG_CUDA_SYM(ray_march)(const float *origins, const float *dirs,
                                            const uint8_t *bits, int64_t n,
                                            const ag_ray_march_args *a, float *pos, float *sdir,
                                            float *t, float *dt, int32_t *rays, int32_t *total,
                                            void *stream) {
  AG_TRY(check_count("ray_march", "ray count", n));
  const ag_ray_march_args args = *a;
  if (n > 0) {
    AG_LAUNCH(count_kernel, ray_blocks(n), VOL_RAY_THREADS, 0, stream, origins, dirs, bits, n, args,
              rays);
  }
  AG_LAUNCH(scan_kernel, 1, VOL_SCAN_THREADS, 0, stream, rays, n, args.capacity, total);
  if (n > 0) {
    AG_LAUNCH(write_kernel, ray_blocks(n), VOL_RAY_THREADS, 0, stream, origins, dirs, bits, n, args,
              rays, pos, sdir, t, dt);
  }
  if (args.capacity > 0) {
    AG_LAUNCH(zero_tail_kernel, ag_ew_blocks(args.capacity), AG_EW_THREADS, 0, stream, total,
              args.capacity, pos, sdir, t, dt);
  }
  return AG_LAUNCH_STATUS("ray_march");
}

extern "C" ag_status AG_CUDA_SYM(composite)(const float *sigma, const float *rgb, const float *dt,
                                            const float *t, const int32_t *rays, const float *bg,
                                            int64_t n, int64_t s, float *color, float *depth,
                                            float *opacity, void *stream) {
  AG_TRY(check_count("composite", "ray count", n));
  if (n == 0) return AG_OK;
  AG_LAUNCH(composite_kernel, ray_blocks(n), VOL_RAY_THREADS, 0, stream, sigma, rgb, dt, t, rays,
            bg, n, s, color, depth, opacity);
  return AG_LAUNCH_STATUS("composite");
}

extern "C" ag_status AG_CUDA_SYM(composite_backward)(
    const float *sigma, const float *rgb, const float *dt, const float *t, const int32_t *rays,
    const float *bg, const float *color, const float *depth, const float *opacity,
    const float *gcolor, const float *gdepth, const float *gopacity, int64_t n, int64_t s,
    float *dsigma, float *drgb, float *dbg, void *stream) {
  AG_TRY(check_count("composite_backward", "ray count", n));
  if (dsigma && s > 0) AG_LAUNCH(zero_kernel, ag_ew_blocks(s), AG_EW_THREADS, 0, stream, dsigma, s);
  if (drgb && s > 0)
    AG_LAUNCH(zero_kernel, ag_ew_blocks(3 * s), AG_EW_THREADS, 0, stream, drgb, 3 * s);
  const CompositeGrad g = {sigma,  rgb,    dt,       t,    bg,     color, depth, opacity,
                           gcolor, gdepth, gopacity, rays, dsigma, drgb,  dbg};
  if (n > 0)
    AG_LAUNCH(composite_backward_kernel, ray_blocks(n), VOL_RAY_THREADS, 0, stream, g, n, s);
  return AG_LAUNCH_STATUS("composite_backward");
}

extern "C" const ag_volume_kernels AG_CUDA_SYM(volume_kernels) = {
    .occ_update = AG_CUDA_SYM(occ_update),
    .occ_bitfield = AG_CUDA_SYM(occ_bitfield),
    .ray_march = AG_CUDA_SYM(ray_march),
    .composite = AG_CUDA_SYM(composite),
    .composite_backward = AG_CUDA_SYM(composite_backward),
};
