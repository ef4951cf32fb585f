/* ag_permutation.h - the shuffle order of an epoch, a pure function of
 * (seed, epoch, n) built from integer operations only (splitmix64 feeding a
 * Fisher-Yates shuffle with rejection sampling), so every machine and every
 * rank of a data-parallel run computes the same order. */
#ifndef AG_DATA_PERMUTATION_H
#define AG_DATA_PERMUTATION_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Fills perm[0..n) with the permutation of epoch `epoch` for `seed`. */
void ag_epoch_permutation(uint64_t seed, uint64_t epoch, int64_t n, int64_t *perm);

#ifdef __cplusplus
}
#endif

#endif
