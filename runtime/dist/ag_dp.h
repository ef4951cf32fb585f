/* ag_dp.h - data-parallel training over a communicator (ag_comm.h).
 *
 * Every rank builds the same model and the same training graph for its shard
 * of each global batch (the loader's rank/world), so its loss is the mean
 * over its shard and the mean of the ranks' gradients is the gradient of the
 * global batch. ag_dp owns what that takes:
 *   - parameters broadcast from rank 0 when it is created, so every rank
 *     starts from the same weights whatever it initialised;
 *   - gradients averaged in buckets (about bucket_bytes each, parameters in
 *     reverse creation order, the order backward produces them): a bucket's
 *     reduction starts as soon as the scheduler has launched the last node
 *     that writes one of its gradients (ag_sched_on_written), on the
 *     communicator's stream under NCCL so it overlaps the rest of backward;
 *     with MPI on the CPU it runs there and then;
 *   - the optimizer step. ZeRO-1 (zero = 1): each bucket is reduce-scattered
 *     instead, rank r keeps the optimizer state of the r-th share of every
 *     bucket only, updates that share, and the shares are all-gathered back
 *     into the parameters. Gradient clipping uses the global norm either way.
 * With a single-rank communicator it is a plain optimizer, so training loops
 * take one path whatever the world size.
 *
 * Checkpoints hold the parameters under their names and the whole optimizer
 * state under "optim/m/<name>" and "optim/v/<name>" (gathered from the shards
 * under ZeRO-1) with the step count in the metadata, so a run resumes on any
 * world size, with or without ZeRO. Only rank 0 writes the file. */
#ifndef AG_DP_H
#define AG_DP_H

#include "ag_comm.h"
#include "runtime/sched/ag_sched.h"
#include "runtime/train/ag_train.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ag_dp_opts {
  int zero;            /* 0 or 1 */
  size_t bucket_bytes; /* 0: 4 MiB */
} ag_dp_opts;

typedef struct ag_dp ag_dp;

/* Data-parallel training of the parameters of `p` whose gradients graph `g`
 * computes (after ag_backward), with the optimizer `o` (AdamW or SGD; biases
 * and norm weights take no weight decay, as ag_optimizer_for_params). Call
 * after the graph was planned as `s` and before its first run. Collective:
 * every rank calls it with the same model. */
ag_status ag_dp_new(ag_comm *c, const ag_optim_opts *o, const ag_dp_opts *d, ag_params *p,
                    const ag_graph *g, ag_sched *s, ag_dp **out);
void ag_dp_free(ag_dp *dp);

/* After ag_sched_run: waits for the gradient reductions, then one optimizer
 * update with learning rate lr, leaving every rank's parameters equal. */
ag_status ag_dp_step(ag_dp *dp, float lr);
/* Global gradient norm of the last update, before clipping. */
float ag_dp_last_grad_norm(const ag_dp *dp);
int64_t ag_dp_steps(const ag_dp *dp);

/* The mean of a host value (a loss) over the ranks. */
ag_status ag_dp_mean_host(ag_dp *dp, double *value);
int ag_dp_rank(const ag_dp *dp);
int ag_dp_world(const ag_dp *dp);

/* Writes a checkpoint (see above) with the model's metadata pairs plus
 * "optim.steps", atomically, from rank 0. Collective. */
ag_status ag_dp_save(ag_dp *dp, const char *path, const char *const *keys,
                     const char *const *values, int n_meta);
/* Tensors a checkpoint carries besides the parameters and the optimizer
 * state (an average of the weights, an occupancy grid), under their own
 * names; rank 0's are written. */
typedef struct ag_dp_extra {
  int n;
  const char *const *names;
  const ag_tensor *const *tensors;
} ag_dp_extra;
/* ag_dp_save with the extra tensors in the same file (extra may be NULL). */
ag_status ag_dp_save_with(ag_dp *dp, const char *path, const char *const *keys,
                          const char *const *values, int n_meta, const ag_dp_extra *extra);
/* Restores the optimizer state and step count from an opened checkpoint
 * whose parameters the caller has loaded into `p` already (ag_params_load
 * skips the "optim/" tensors); shapes that do not match are an error naming
 * the tensor, and nothing is changed. */
ag_status ag_dp_load(ag_dp *dp, const ag_safetensors *st);

#ifdef __cplusplus
}
#endif

#endif
