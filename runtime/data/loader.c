/* loader.c - the batch loader (see ag_loader.h for which items a batch holds).
 *
 * Prefetch design: two host slots (double buffering). The caller holds the
 * slot of the batch it was last given; the worker thread fills the other one
 * with the next batch (the dataset's fill and the transform: the costly
 * part). ag_loader_next hands the held slot back and takes the next full
 * one. Without prefetch the same produce_batch runs on the caller's thread
 * on the same cursor sequence, so both modes give identical batches.
 *
 * Invariants: the producer cursor (p_epoch, p_batch) is touched only by
 * whoever produces (the worker, or the caller without prefetch); a slot's
 * contents are touched only by the producer while it is not full and only
 * by the caller while it is full; `full`, `head`, `tail` and `stop` change
 * under `mu`. */
#define _POSIX_C_SOURCE 200809L
#include "ag_loader.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ag_slot {
  ag_batch batch;
  int last;         /* final batch of its epoch */
  int full;         /* produced, not yet handed back by the caller */
  ag_status status; /* producer error; the message travels in `error` because
                       ag_set_error's message is thread-local */
  char error[1024];
} ag_slot;

struct ag_loader {
  ag_dataset *ds;
  ag_loader_opts opts;
  int64_t n;          /* dataset length */
  int64_t rank_batch; /* items per full batch on this rank */
  int64_t per_epoch;
  int64_t *perm; /* order of epoch perm_epoch */
  uint64_t perm_epoch;
  int perm_valid;
  uint64_t p_epoch; /* producer cursor */
  int64_t p_batch;
  uint64_t c_epoch; /* caller's epoch */
  int end_pending;  /* the last batch was returned; next call reports the end */
  ag_slot slots[2];
  int head, tail; /* slot the caller takes next / the producer fills next */
  ag_slot *held;  /* the slot of the batch the caller holds, or NULL */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  pthread_t thread;
  int has_thread;
  int stop;
};

ag_loader_opts ag_loader_default_opts(void) {
  ag_loader_opts o;
  memset(&o, 0, sizeof o);
  o.batch = 64, o.shuffle = 1, o.world_size = 1, o.prefetch = 1;
  return o;
}

/* ---- which items a batch holds ----------------------------------------- */

/* A kept last batch counts only when every rank gets at least one item. */
static int64_t batches_per_epoch(int64_t n, const ag_loader_opts *o) {
  const int64_t rest = n % o->batch;
  return n / o->batch + (!o->drop_last && rest / o->world_size > 0);
}

/* Makes perm hold the order of the producer's epoch. */
static void ensure_permutation(ag_loader *l) {
  if (l->perm_valid && l->perm_epoch == l->p_epoch) return;
  if (l->opts.shuffle) ag_epoch_permutation(l->opts.seed, l->p_epoch, l->n, l->perm);
  else for (int64_t i = 0; i < l->n; i++) l->perm[i] = i;
  l->perm_epoch = l->p_epoch, l->perm_valid = 1;
}

/* This rank's share [*start, *start + *count) of perm for global batch k. */
static void shard_range(const ag_loader *l, int64_t k, int64_t *start, int64_t *count) {
  const int64_t first = k * l->opts.batch;
  const int64_t global = l->n - first < l->opts.batch ? l->n - first : l->opts.batch;
  *count = global / l->opts.world_size;
  *start = first + l->opts.rank * *count;
}

/* ---- producing ----------------------------------------------------------- */

/* Fills `s` with the batch at the producer cursor, then advances it. */
static void produce_batch(ag_loader *l, ag_slot *s) {
  ensure_permutation(l);
  int64_t start, count;
  shard_range(l, l->p_batch, &start, &count);
  ag_batch *b = &s->batch;
  b->count = count, b->epoch = l->p_epoch, b->index = l->p_batch;
  s->status = ag_dataset_fill(l->ds, l->perm + start, (int)count, b->data);
  const char *stage = "";
  if (s->status == AG_OK && l->opts.transform) {
    s->status = l->opts.transform(l->opts.transform_ctx, b);
    stage = "transform: ";
  }
  if (s->status != AG_OK)
    snprintf(s->error, sizeof s->error, "loader over '%s' (epoch %llu, batch %lld): %s%s",
             l->ds->name, (unsigned long long)b->epoch, (long long)b->index, stage,
             ag_last_error());
  s->last = ++l->p_batch == l->per_epoch;
  if (s->last) l->p_epoch++, l->p_batch = 0;
}

static void *worker_main(void *arg) {
  ag_loader *l = arg;
  pthread_mutex_lock(&l->mu);
  for (;;) {
    while (!l->stop && l->slots[l->tail].full) pthread_cond_wait(&l->cv, &l->mu);
    if (l->stop) break;
    ag_slot *s = &l->slots[l->tail];
    pthread_mutex_unlock(&l->mu); /* the free slot is ours alone until marked full */
    produce_batch(l, s);
    pthread_mutex_lock(&l->mu);
    s->full = 1;
    l->tail ^= 1;
    pthread_cond_broadcast(&l->cv);
    if (s->status != AG_OK) break; /* nothing after an error would be valid */
  }
  pthread_mutex_unlock(&l->mu);
  return NULL;
}

/* ---- opening --------------------------------------------------------------- */

static ag_status check_opts(const ag_dataset *ds, const ag_loader_opts *o) {
  const int64_t n = ag_dataset_length(ds);
  if (o->batch <= 0 || o->world_size < 1 || o->rank < 0 || o->rank >= o->world_size)
    return ag_set_error(AG_ERR_INVALID,
                        "loader over '%s': batch %lld, rank %d of %d: need batch > 0 and "
                        "0 <= rank < world_size",
                        ds->name, (long long)o->batch, o->rank, o->world_size);
  if (o->batch % o->world_size != 0)
    return ag_set_error(AG_ERR_INVALID,
                        "loader over '%s': batch %lld does not split into %d equal shards",
                        ds->name, (long long)o->batch, o->world_size);
  if (o->batch / o->world_size > INT_MAX)
    return ag_set_error(AG_ERR_INVALID, "loader over '%s': %lld items per rank is too many",
                        ds->name, (long long)(o->batch / o->world_size));
  if (batches_per_epoch(n, o) == 0)
    return ag_set_error(AG_ERR_INVALID,
                        "loader over '%s': %lld items give no batch of %lld over %d ranks%s",
                        ds->name, (long long)n, (long long)o->batch, o->world_size,
                        o->drop_last ? " with drop_last" : "");
  return AG_OK;
}

static ag_status alloc_buffers(ag_loader *l) {
  l->perm = malloc(sizeof(int64_t) * (size_t)l->n);
  if (!l->perm) return ag_set_error(AG_ERR_OOM, "loader over '%s': out of host memory", l->ds->name);
  for (int i = 0; i < 2; i++) AG_TRY(ag_batch_alloc(&l->slots[i].batch, l->ds, l->rank_batch));
  return AG_OK; /* on failure ag_loader_close frees whatever was allocated */
}

ag_status ag_loader_open(ag_dataset *ds, const ag_loader_opts *opts, ag_loader **out) {
  *out = NULL;
  if (!ds) return ag_set_error(AG_ERR_INVALID, "ag_loader_open: NULL dataset");
  const ag_loader_opts o = opts ? *opts : ag_loader_default_opts();
  AG_TRY(check_opts(ds, &o));
  ag_loader *l = calloc(1, sizeof *l);
  if (!l) return ag_set_error(AG_ERR_OOM, "loader over '%s': out of host memory", ds->name);
  l->ds = ds, l->opts = o, l->n = ag_dataset_length(ds);
  l->rank_batch = o.batch / o.world_size;
  l->per_epoch = batches_per_epoch(l->n, &o);
  l->p_epoch = l->c_epoch = o.first_epoch;
  pthread_mutex_init(&l->mu, NULL);
  pthread_cond_init(&l->cv, NULL);
  ag_status st = alloc_buffers(l);
  if (st == AG_OK && o.prefetch) {
    if (pthread_create(&l->thread, NULL, worker_main, l) == 0) l->has_thread = 1;
    else st = ag_set_error(AG_ERR_OOM, "loader over '%s': cannot start the prefetch thread", ds->name);
  }
  if (st != AG_OK) {
    ag_loader_close(l);
    return st;
  }
  *out = l;
  return AG_OK;
}

/* ---- consuming ------------------------------------------------------------- */

/* Hands the caller's slot back to the producer. */
static void release_held(ag_loader *l) {
  if (!l->held) return;
  pthread_mutex_lock(&l->mu);
  l->held->full = 0;
  l->head ^= 1;
  pthread_cond_broadcast(&l->cv);
  pthread_mutex_unlock(&l->mu);
  l->held = NULL;
}

/* Waits for (or, without prefetch, makes) the next full slot. */
static ag_slot *take_slot(ag_loader *l) {
  ag_slot *s = &l->slots[l->head];
  if (!l->has_thread) {
    if (!s->full) produce_batch(l, s), s->full = 1;
    return s;
  }
  pthread_mutex_lock(&l->mu);
  while (!s->full) pthread_cond_wait(&l->cv, &l->mu);
  pthread_mutex_unlock(&l->mu);
  return s;
}

ag_status ag_loader_next(ag_loader *l, const ag_batch **out) {
  *out = NULL;
  release_held(l);
  if (l->end_pending) {
    l->end_pending = 0;
    l->c_epoch++;
    return AG_OK;
  }
  ag_slot *s = take_slot(l);
  /* A failed slot is never handed back, so every later call reports it. */
  if (s->status != AG_OK) return ag_set_error(s->status, "%s", s->error);
  l->held = s;
  l->end_pending = s->last;
  *out = &s->batch;
  return AG_OK;
}

uint64_t ag_loader_epoch(const ag_loader *l) { return l->c_epoch; }

int64_t ag_loader_batches_per_epoch(const ag_loader *l) { return l->per_epoch; }

int64_t ag_loader_rank_batch(const ag_loader *l) { return l->rank_batch; }

void ag_loader_close(ag_loader *l) {
  if (!l) return;
  if (l->has_thread) {
    pthread_mutex_lock(&l->mu);
    l->stop = 1;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->thread, NULL);
  }
  pthread_cond_destroy(&l->cv);
  pthread_mutex_destroy(&l->mu);
  for (int i = 0; i < 2; i++) ag_batch_free(&l->slots[i].batch);
  free(l->perm);
  free(l);
}
