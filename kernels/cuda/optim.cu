/* Optimizer steps and gradient-norm clipping. The steps are one pass over
 * memory: each thread loads four consecutive elements of every operand with
 * one vector load (16 bytes of f32, 8 of f16/bf16) where all pointers allow
 * it, updates them in registers and stores them back, over a grid-stride
 * loop; a scalar loop takes the remainder. A thread reads its elements before
 * writing them, so outputs may alias inputs (in-place steps): nothing here is
 * __restrict__ or read through the read-only cache. The squared norm is a
 * two-stage reduction (per-block partials, then one block summing them in
 * order), so it is the same run to run. */
#include <cstdint>
#include <initializer_list>

#include "ag_cuda.h"
#include "ag_cuda_dtype.h"
#include "ag_cuda_vec.h"
#include "kernels/common/ag_optim.h"
#include "kernels/common/ag_kernels.h"
#include "ag_cuda_reduce.h"

/* Elements per vector access. */
#define AG_OPTIM_VEC 4
/* sq_norm's grid cap: enough blocks to fill every SM of a large GPU, few
 * enough that one block sums their partials quickly. */
#define AG_SQ_NORM_MAX_BLOCKS 1024

/* Four consecutive elements: a count rather than 16 bytes, so that f32 master
 * weights and their f16/bf16 gradients step through the same indices (one
 * access moves 16 bytes of f32, 8 of f16/bf16). */
template <typename T> using ag_pack4 = ag_vec<T, AG_OPTIM_VEC>;

template <typename T> __device__ __forceinline__ void load4(const T *p, int64_t i, float r[4]) {
  ag_pack4<T> q = *reinterpret_cast<const ag_pack4<T> *>(p + i);
  for (int k = 0; k < AG_OPTIM_VEC; k++) r[k] = ag_to_f32(q.v[k]);
}

template <typename T> __device__ __forceinline__ void store4(T *p, int64_t i, const float r[4]) {
  ag_pack4<T> q;
  for (int k = 0; k < AG_OPTIM_VEC; k++) q.v[k] = ag_from_f32<T>(r[k]);
  *reinterpret_cast<ag_pack4<T> *>(p + i) = q;
}

__device__ __forceinline__ int64_t thread_index() {
  return blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
}

__device__ __forceinline__ int64_t thread_count() { return (int64_t)gridDim.x * blockDim.x; }

/* Whether every pointer allows vector access to elements of `size` bytes. */
static bool vector_aligned(size_t size, std::initializer_list<const void *> ptrs) {
  for (const void *p : ptrs)
    if ((uintptr_t)p % (size * AG_OPTIM_VEC) != 0) return false;
  return true;
}

/* Grid for a vectorised grid-stride loop over n elements. */
static unsigned vector_blocks(int64_t n) {
  return ag_ew_blocks((n + AG_OPTIM_VEC - 1) / AG_OPTIM_VEC);
}

/* One AdamW step over the param copy the optimizer owns (TS: the param's dtype,
 * or f32 master weights) with gradients of type TG; `low_out`, when set,
 * receives the new param rounded to TG. */
template <typename TG, typename TS>
static __global__ void adamw_kernel(const TG *g, const TS *p, const TS *m, const TS *v, TS *p_out,
                                    TS *m_out, TS *v_out, TG *low_out, int64_t n, int64_t n_vec,
                                    ag_adamw_coef c) {
  for (int64_t j = thread_index(); j < n_vec; j += thread_count()) {
    int64_t i = j * AG_OPTIM_VEC;
    float pv[4], gv[4], mv[4], vv[4];
    load4(p, i, pv), load4(g, i, gv), load4(m, i, mv), load4(v, i, vv);
    for (int k = 0; k < 4; k++) {
      ag_adamw_state s = ag_adamw_update(c, pv[k], gv[k], mv[k], vv[k]);
      pv[k] = s.p, mv[k] = s.m, vv[k] = s.v;
    }
    store4(p_out, i, pv), store4(m_out, i, mv), store4(v_out, i, vv);
    if (low_out) store4(low_out, i, pv);
  }
  for (int64_t i = n_vec * AG_OPTIM_VEC + thread_index(); i < n; i += thread_count()) {
    ag_adamw_state s = ag_adamw_update(c, ag_to_f32(p[i]), ag_to_f32(g[i]), ag_to_f32(m[i]),
                                       ag_to_f32(v[i]));
    p_out[i] = ag_from_f32<TS>(s.p);
    m_out[i] = ag_from_f32<TS>(s.m);
    v_out[i] = ag_from_f32<TS>(s.v);
    if (low_out) low_out[i] = ag_from_f32<TG>(s.p);
  }
}

template <typename T>
static __global__ void sgd_kernel(const T *p, const T *g, const T *buf, T *p_out, T *buf_out,
                                  int64_t n, int64_t n_vec, ag_sgd_coef c) {
  for (int64_t j = thread_index(); j < n_vec; j += thread_count()) {
    int64_t i = j * AG_OPTIM_VEC;
    float pv[4], gv[4], bv[4];
    load4(p, i, pv), load4(g, i, gv), load4(buf, i, bv);
    for (int k = 0; k < 4; k++) {
      ag_sgd_state s = ag_sgd_update(c, pv[k], gv[k], bv[k]);
      pv[k] = s.p, bv[k] = s.buf;
    }
    store4(p_out, i, pv), store4(buf_out, i, bv);
  }
  for (int64_t i = n_vec * AG_OPTIM_VEC + thread_index(); i < n; i += thread_count()) {
    ag_sgd_state s = ag_sgd_update(c, ag_to_f32(p[i]), ag_to_f32(g[i]), ag_to_f32(buf[i]));
    p_out[i] = ag_from_f32<T>(s.p);
    buf_out[i] = ag_from_f32<T>(s.buf);
  }
}

/* Stage 1: each block sums the squares of its grid-stride slice in f32 and
 * writes partials[blockIdx.x]. With one operand there is no f32 partner to
 * keep in step, so the vectors are 16 bytes for every dtype (ag_vec). */
template <typename T>
static __global__ void sq_norm_partials_kernel(const T *x, float *partials, int64_t n,
                                               int64_t n_vec) {
  constexpr int V = ag_vec<T>::count;
  float acc = 0.0f;
  for (int64_t j = thread_index(); j < n_vec; j += thread_count()) {
    ag_vec<T> p = reinterpret_cast<const ag_vec<T> *>(x)[j];
    for (int k = 0; k < V; k++) acc += ag_to_f32(p.v[k]) * ag_to_f32(p.v[k]);
  }
  for (int64_t i = n_vec * V + thread_index(); i < n; i += thread_count()) {
    float e = ag_to_f32(x[i]);
    acc += e * e;
  }
  acc = ag_block_sum(acc);
  if (threadIdx.x == 0) partials[blockIdx.x] = acc;
}

/* Stage 2, one block: out[0] = acc[0] + the partials, summed in a fixed
 * order. Thread 0 reads acc[0] before writing out[0], so they may alias. */
static __global__ void sq_norm_finish_kernel(const float *partials, int64_t count, const float *acc,
                                             float *out) {
  float s = 0.0f;
  for (int64_t i = threadIdx.x; i < count; i += blockDim.x) s += partials[i];
  s = ag_block_sum(s);
  if (threadIdx.x == 0) out[0] = acc[0] + s;
}

template <typename T>
static __global__ void clip_scale_kernel(const T *g, const float *sq_total, float max_norm, T *gx,
                                         int64_t n, int64_t n_vec) {
  float coef = ag_clip_coef(sq_total[0], max_norm);
  for (int64_t j = thread_index(); j < n_vec; j += thread_count()) {
    int64_t i = j * AG_OPTIM_VEC;
    float gv[4];
    load4(g, i, gv);
    for (int k = 0; k < 4; k++) gv[k] *= coef;
    store4(gx, i, gv);
  }
  for (int64_t i = n_vec * AG_OPTIM_VEC + thread_index(); i < n; i += thread_count())
    gx[i] = ag_from_f32<T>(coef * ag_to_f32(g[i]));
}

extern "C" ag_status AG_CUDA_SYM(adamw)(ag_dtype dt, const void *p, const void *g, const void *m,
                                        const void *v, void *p_out, void *m_out, void *v_out,
                                        int64_t n, ag_adamw_coef coef, void *stream) {
  if (n == 0) return AG_OK;
  return ag_dispatch_float(dt, "adamw", [&](auto tag) {
    using T = decltype(tag);
    bool vec = vector_aligned(sizeof(T), {p, g, m, v, p_out, m_out, v_out});
    int64_t n_vec = vec ? n / AG_OPTIM_VEC : 0;
    auto *kernel = adamw_kernel<T, T>;
    AG_LAUNCH(kernel, vector_blocks(n), AG_EW_THREADS, 0, stream, (const T *)g, (const T *)p,
              (const T *)m, (const T *)v, (T *)p_out, (T *)m_out, (T *)v_out, (T *)nullptr, n,
              n_vec, coef);
  });
}

extern "C" ag_status AG_CUDA_SYM(adamw_master)(ag_dtype dt, const void *g, const float *master,
                                               const float *m, const float *v, void *p_out,
                                               float *master_out, float *m_out, float *v_out,
                                               int64_t n, ag_adamw_coef coef, void *stream) {
  if (n == 0) return AG_OK;
  return ag_dispatch_float(dt, "adamw_master", [&](auto tag) {
    using T = decltype(tag);
    bool vec = vector_aligned(sizeof(T), {g, p_out}) &&
               vector_aligned(sizeof(float), {master, m, v, master_out, m_out, v_out});
    int64_t n_vec = vec ? n / AG_OPTIM_VEC : 0;
    auto *kernel = adamw_kernel<T, float>;
    AG_LAUNCH(kernel, vector_blocks(n), AG_EW_THREADS, 0, stream, (const T *)g, master, m, v,
              master_out, m_out, v_out, (T *)p_out, n, n_vec, coef);
  });
}

extern "C" ag_status AG_CUDA_SYM(sgd)(ag_dtype dt, const void *p, const void *g, const void *buf,
                                      void *p_out, void *buf_out, int64_t n, ag_sgd_coef coef,
                                      void *stream) {
  if (n == 0) return AG_OK;
  return ag_dispatch_float(dt, "sgd", [&](auto tag) {
    using T = decltype(tag);
    bool vec = vector_aligned(sizeof(T), {p, g, buf, p_out, buf_out});
    int64_t n_vec = vec ? n / AG_OPTIM_VEC : 0;
    AG_LAUNCH(sgd_kernel<T>, vector_blocks(n), AG_EW_THREADS, 0, stream, (const T *)p,
              (const T *)g, (const T *)buf, (T *)p_out, (T *)buf_out, n, n_vec, coef);
  });
}

extern "C" ag_status AG_CUDA_SYM(sq_norm)(ag_dtype dt, const void *x, const float *acc,
                                          float *out, int64_t n, void *stream) {
  if (n == 0)
    return ag_dispatch_float(dt, "sq_norm", [&](auto) {
      AG_LAUNCH(sq_norm_finish_kernel, 1, 32, 0, stream, (const float *)nullptr, (int64_t)0, acc,
                out);
    });
  unsigned blocks = vector_blocks(n);
  if (blocks > AG_SQ_NORM_MAX_BLOCKS) blocks = AG_SQ_NORM_MAX_BLOCKS;
  return ag_with_partials(blocks, stream, "sq_norm", [&](float *partials) {
    return ag_dispatch_float(dt, "sq_norm", [&](auto tag) {
      using T = decltype(tag);
      int64_t n_vec = ag_vec_aligned<T>(x) ? n / ag_vec<T>::count : 0;
      AG_LAUNCH(sq_norm_partials_kernel<T>, blocks, AG_EW_THREADS, 0, stream, (const T *)x,
                partials, n, n_vec);
      AG_LAUNCH(sq_norm_finish_kernel, 1, AG_EW_THREADS, 0, stream, (const float *)partials,
                (int64_t)blocks, acc, out);
    });
  });
}

extern "C" ag_status AG_CUDA_SYM(clip_scale)(ag_dtype dt, const void *g, const float *sq_total,
                                             float max_norm, void *gx, int64_t n, void *stream) {
  if (n == 0) return AG_OK;
  return ag_dispatch_float(dt, "clip_scale", [&](auto tag) {
    using T = decltype(tag);
    bool vec = vector_aligned(sizeof(T), {g, gx});
    int64_t n_vec = vec ? n / AG_OPTIM_VEC : 0;
    AG_LAUNCH(clip_scale_kernel<T>, vector_blocks(n), AG_EW_THREADS, 0, stream, (const T *)g,
              sq_total, max_norm, (T *)gx, n, n_vec);
  });
}

extern "C" const ag_optim_kernels AG_CUDA_SYM(optim_kernels) = {
    .adamw = AG_CUDA_SYM(adamw),
    .adamw_master = AG_CUDA_SYM(adamw_master),
    .sgd = AG_CUDA_SYM(sgd),
    .sq_norm = AG_CUDA_SYM(sq_norm),
    .clip_scale = AG_CUDA_SYM(clip_scale),
};
