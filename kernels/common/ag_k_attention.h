/* Attention kernels: softmax(scale * Q K^T + mask) V over [B, H, T, D]
 * contiguous tensors (see runtime/ops/attention.list).
 *
 * Masking: key j is visible to query i when j < kv_len[b] (every key when
 * kv_len is NULL) and, if causal, j <= i + (Tk - Tq): the causal diagonal is
 * aligned to the bottom-right corner, as in FlashAttention 2, so the last
 * query sees every key. A query that sees no key gets a zero output and
 * lse = +inf, which makes its recomputed probabilities exp(s - lse) zero.
 *
 * forward writes o (the dtype of q) and lse = log sum_j exp(scale * q.k_j),
 * f32 [B, H, Tq]. backward recomputes the probabilities from lse and writes
 * the gradients that are not NULL; delta = rowsum(dO * O) - dlse uses the
 * stored O (dlse, the gradient of lse, may be NULL: zero).
 * The CPU kernels are the exact (math) attention; the CUDA ones are fused
 * flash attention. */
#include "ag_hd.h"

typedef struct ag_attn_dims {
  int64_t batch, heads, tq, tk, dim;
  int causal;
  float scale; /* already resolved: never 0 */
} ag_attn_dims;

/* Number of keys of batch b that are visible at all. */
AG_HD int64_t ag_attn_key_limit(const ag_attn_dims *d, const int32_t *kv_len, int64_t b) {
  if (!kv_len) return d->tk;
  const int64_t n = kv_len[b];
  return n < 0 ? 0 : (n > d->tk ? d->tk : n);
}

/* One past the last key query i may see (before the key limit). */
AG_HD int64_t ag_attn_causal_end(const ag_attn_dims *d, int64_t i) {
  return d->causal ? i + d->tk - d->tq + 1 : d->tk;
}

AG_HD int ag_attn_visible(const ag_attn_dims *d, int64_t limit, int64_t i, int64_t j) {
  return j < limit && j < ag_attn_causal_end(d, i);
}

/* One signature per kernel, shared by the CPU kernels (ag_cpu_), the CUDA
 * launchers (ag_cuda_) and their emulated build (ag_emu_). */
typedef ag_status ag_attention_forward_kernel(ag_dtype dt, ag_attn_dims d, const void *q,
                                              const void *k, const void *v, const int32_t *kv_len,
                                              void *o, float *lse, void *stream);
typedef ag_status ag_attention_backward_kernel(ag_dtype dt, ag_attn_dims d, const void *q,
                                               const void *k, const void *v, const int32_t *kv_len,
                                               const void *o, const float *lse, const void *dout,
                                               const float *dlse, void *dq, void *dk, void *dv,
                                               void *stream);
/* AG_OK when the kernels can run these dims (forward, or backward), else
 * AG_ERR_UNSUPPORTED with the reason; asked when a graph is planned. */
typedef ag_status ag_attention_supports_kernel(ag_dtype dt, ag_attn_dims d, int backward);

/* The attention family's kernels on one backend (runtime/ops/bind_attention.c calls
 * through it). */
typedef struct ag_attention_kernels {
  ag_attention_forward_kernel *attention_forward;
  ag_attention_backward_kernel *attention_backward;
  ag_attention_supports_kernel *attention_supports; /* NULL: no limit beyond the op's */
} ag_attention_kernels;

ag_attention_forward_kernel ag_cpu_attention_forward, ag_cuda_attention_forward,
    ag_emu_attention_forward;
ag_attention_backward_kernel ag_cpu_attention_backward, ag_cuda_attention_backward,
    ag_emu_attention_backward;
ag_attention_supports_kernel ag_cuda_attention_supports, ag_emu_attention_supports;
extern const ag_attention_kernels ag_cpu_attention_kernels, ag_cuda_attention_kernels,
    ag_emu_attention_kernels;
