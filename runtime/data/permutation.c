/* permutation.c - the epoch permutation (see ag_permutation.h). The exact
 * sequence is part of the contract: changing it changes every training run's
 * batch order. */
#include "ag_permutation.h"

static uint64_t splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* Uniform in [0, bound) without modulo bias (rejection of the short tail). */
static uint64_t uniform_below(uint64_t *state, uint64_t bound) {
  uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  uint64_t r;
  do r = splitmix64(state);
  while (r >= limit);
  return r % bound;
}

void ag_epoch_permutation(uint64_t seed, uint64_t epoch, int64_t n, int64_t *perm) {
  /* Mix seed and epoch through one splitmix step each so nearby (seed, epoch)
   * pairs give unrelated streams. */
  uint64_t s = seed;
  uint64_t state = splitmix64(&s) ^ (epoch * 0xD1B54A32D192ED03ull);
  splitmix64(&state);
  for (int64_t i = 0; i < n; i++) perm[i] = i;
  for (int64_t i = n - 1; i > 0; i--) {
    int64_t j = (int64_t)uniform_below(&state, (uint64_t)i + 1);
    int64_t t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
}
