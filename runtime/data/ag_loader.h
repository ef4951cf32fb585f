/* ag_loader.h - the batch loader over any dataset (ag_dataset.h): seeded
 * shuffling per epoch, a rank's shard of every global batch, drop-last or
 * keep-last, and the next batch prepared on a background thread.
 *
 * Batches. Global batch k of epoch e holds items P[k*B, min((k+1)*B, N)) of
 * P = ag_epoch_permutation(seed, e, N) (or the identity without shuffle),
 * B = opts.batch, N = the dataset length. Rank r of W takes the r-th of W
 * equal contiguous shares of it, so the ranks' shards are disjoint and, in
 * every full batch, cover it. A kept last batch of b < B items gives each
 * rank floor(b / W) items (its last b % W items go unused), and is dropped
 * when that is 0; drop_last drops it always.
 *
 * Determinism: a batch is a pure function of (dataset, seed, epoch, batch
 * index, rank, W), so a run restarted at epoch e (first_epoch) sees the same
 * batches, and prefetch on or off gives identical batches. */
#ifndef AG_DATA_LOADER_H
#define AG_DATA_LOADER_H

#include "ag_batch.h"
#include "ag_permutation.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Optional per-batch hook (augmentation), run where the batch is prepared:
 * on the prefetch thread when prefetch is on. It may change the batch's
 * data in place, not its count or fields. An error it returns (with
 * ag_set_error) stops the loader and is returned, message included, by
 * ag_loader_next at that batch and every call after. */
typedef ag_status (*ag_batch_fn)(void *ctx, ag_batch *batch);

typedef struct ag_loader_opts {
  int64_t batch;        /* global batch, over all ranks: > 0, a multiple of world_size */
  uint64_t seed;
  int shuffle;          /* 0: dataset order every epoch */
  int drop_last;        /* drop the final partial batch of each epoch */
  int rank, world_size; /* this process's shard: 0 <= rank < world_size */
  int prefetch;         /* prepare the next batch on a worker thread */
  uint64_t first_epoch; /* epoch number to start at (resume) */
  ag_batch_fn transform; /* NULL: none */
  void *transform_ctx;
} ag_loader_opts;

/* Defaults: batch 64, seed 0, shuffle, keep last, rank 0 of 1, prefetch on. */
ag_loader_opts ag_loader_default_opts(void);

typedef struct ag_loader ag_loader;

/* The loader borrows `ds`, which must outlive it and which only the loader
 * may use (fill from the prefetch thread) until ag_loader_close. */
ag_status ag_loader_open(ag_dataset *ds, const ag_loader_opts *opts, ag_loader **out);

/* This rank's next batch of the current epoch, in host memory owned by the
 * loader and valid until the next call or ag_loader_close: copy its fields
 * into graph inputs with ag_batch_write_field. At the end of an epoch sets
 * *out to NULL and returns AG_OK, once; the next call starts the following
 * epoch. Errors from the dataset or the transform, on either thread, are
 * returned here with their message. */
ag_status ag_loader_next(ag_loader *l, const ag_batch **out);

/* Epoch of the batch the next call to ag_loader_next returns. */
uint64_t ag_loader_epoch(const ag_loader *l);
/* Batches per epoch (the same on every rank). */
int64_t ag_loader_batches_per_epoch(const ag_loader *l);
/* Items per batch on this rank, for all but a kept last batch. */
int64_t ag_loader_rank_batch(const ag_loader *l);

/* Stops and joins the prefetch thread, frees everything. NULL is a no-op. */
void ag_loader_close(ag_loader *l);

#ifdef __cplusplus
}
#endif

#endif
