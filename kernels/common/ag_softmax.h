/* ag_softmax.h - softmax and loss math shared by the CPU and CUDA kernels, so
 * both evaluate the same formulas. Softmax rows are reduced with an online
 * (max, sum) pair: sum is the sum of exp(x - max) over the values seen, so
 * merging two partial pairs rescales the one with the smaller max and no
 * exp ever overflows. */
#ifndef AG_SOFTMAX_H
#define AG_SOFTMAX_H

#include <math.h>
#include <stdint.h>

#include "ag_hd.h"

/* A running softmax normaliser; the empty state is {-INFINITY, 0}. */
typedef struct ag_online_max_sum {
  float max, sum;
} ag_online_max_sum;

AG_HD ag_online_max_sum ag_online_empty(void) {
  ag_online_max_sum r = {-INFINITY, 0.0f};
  return r;
}

/* An x of -inf (a masked score) adds exp(-inf) = 0: skipping it keeps an
 * empty pair from evaluating exp(-inf - -inf) = NaN. */
AG_HD ag_online_max_sum ag_online_push(ag_online_max_sum a, float x) {
  if (x > a.max) {
    a.sum = a.sum * expf(a.max - x) + 1.0f;
    a.max = x;
  } else if (x != -INFINITY) {
    a.sum += expf(x - a.max);
  }
  return a;
}

/* Merging with an empty side must not evaluate exp(-inf - -inf). */
AG_HD ag_online_max_sum ag_online_merge(ag_online_max_sum a, ag_online_max_sum b) {
  if (b.sum == 0.0f) return a;
  if (a.sum == 0.0f) return b;
  ag_online_max_sum r;
  r.max = fmaxf(a.max, b.max);
  r.sum = a.sum * expf(a.max - r.max) + b.sum * expf(b.max - r.max);
  return r;
}

AG_HD float ag_online_logsumexp(ag_online_max_sum a) { return a.max + logf(a.sum); }

/* Columns of row `row` of a [.., T, S] softmax that survive the causal mask:
 * row t keeps columns s <= t + (S - T) (aligned bottom-right, as in
 * FlashAttention). causal_t = 0 means no mask. Needs S >= T, so every row
 * keeps at least one column. */
AG_HD int64_t ag_softmax_kept_cols(int64_t row, int64_t cols, int64_t causal_t) {
  if (causal_t <= 0) return cols;
  int64_t kept = row % causal_t + (cols - causal_t) + 1;
  return kept < cols ? kept : cols;
}

/* Cross-entropy with label smoothing e over C classes (PyTorch's
 * definition): the target distribution is q_c = (1 - e) [c == t] + e / C, so
 * loss = lse - (1 - e) x_t - (e / C) sum_c x_c and dloss/dx_c = p_c - q_c. */
AG_HD float ag_ce_loss(float lse, float x_target, float row_sum, int64_t classes, float smoothing) {
  return lse - (1.0f - smoothing) * x_target - smoothing / (float)classes * row_sum;
}

AG_HD float ag_ce_target_prob(int64_t c, int64_t target, int64_t classes, float smoothing) {
  return (c == target ? 1.0f - smoothing : 0.0f) + smoothing / (float)classes;
}

/* A target that is neither a class nor the ignore index has no defined
 * loss: the kernels give it NaN loss and gradient rather than reading out of
 * bounds. */
AG_HD int ag_ce_target_valid(int64_t target, int64_t classes) {
  return target >= 0 && target < classes;
}

/* Huber loss of a difference d (PyTorch's definition): quadratic below
 * delta, linear above, with value and slope continuous at |d| = delta. */
AG_HD float ag_huber(float d, float delta) {
  float a = fabsf(d);
  return a < delta ? 0.5f * d * d : delta * (a - 0.5f * delta);
}

AG_HD float ag_huber_grad(float d, float delta) {
  return fabsf(d) < delta ? d : copysignf(delta, d);
}

AG_HD float ag_mse(float d, float delta) {
  (void)delta;
  return d * d;
}

AG_HD float ag_mse_grad(float d, float delta) {
  (void)delta;
  return 2.0f * d;
}

#endif
