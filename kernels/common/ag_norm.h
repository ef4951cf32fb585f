/* ag_norm.h - normalisation math shared by the CPU and CUDA kernels, so both
 * backends evaluate the same formulas.
 *
 * Statistics come from one pass of two f32 sums over data shifted by one of
 * its own values k (the first element of the row or channel):
 *   s1 = sum(x - k),  s2 = sum((x - k)^2),  var = s2/n - (s1/n)^2.
 * Naive sum/sum-of-squares loses every significant digit of var when
 * |mean| >> std (a large DC offset); shifting by a sample of the data makes
 * the cancellation depend on (mean - k)^2 / var, which is O(1). Unlike
 * Welford it needs no per-element division and reduces with a plain block
 * sum, so the GPU pass stays bandwidth-bound. */
#ifndef AG_NORM_H
#define AG_NORM_H

#include <math.h>
#include <stdint.h>

#include "ag_hd.h"

/* Mean and biased variance of n values from the shifted sums. Without
 * centering (RMSNorm) the shift must be 0 and var is the mean square. */
AG_HD void ag_norm_moments(float n, float s1, float s2, float shift, int centered, float *mean,
                           float *var) {
  if (centered) {
    float d = s1 / n;
    *mean = shift + d;
    *var = fmaxf(s2 / n - d * d, 0.0f);
  } else {
    *mean = 0.0f;
    *var = s2 / n;
  }
}

/* 1/sqrt(var + eps), spelled out rather than rsqrtf: rsqrtf is approximate
 * on the GPU and would make the backends round differently. */
AG_HD float ag_norm_rstd(float var, float eps) { return 1.0f / sqrtf(var + eps); }

/* The affine channel of element c of row r in the row layout of the row
 * norms: rows of `cols` contiguous values, row r is group r % groups of its
 * sample, and a group holds cols / spatial channels of `spatial` values each.
 * LayerNorm and RMSNorm are groups = spatial = 1 (channel = column). */
AG_HD int64_t ag_norm_channel(int64_t r, int64_t c, int64_t cols, int64_t groups,
                              int64_t spatial) {
  return (r % groups) * (cols / spatial) + c / spatial;
}

/* Input gradient of a normalised value xhat = (x - mean) * rstd scaled per
 * element (gw = dy * weight), given the means over the normalised set of gw
 * and gw * xhat; mean_gw is 0 for RMSNorm, which does not centre. */
AG_HD float ag_norm_dx(float gw, float xhat, float rstd, float mean_gw, float mean_gwx) {
  return rstd * (gw - mean_gw - xhat * mean_gwx);
}

/* PyTorch's running-statistic update. */
AG_HD float ag_norm_running(float old, float batch, float momentum) {
  return (1.0f - momentum) * old + momentum * batch;
}

#endif
