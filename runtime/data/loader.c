/* loader.c - Fashion-MNIST loading and the batch loader.
 *
 * Prefetch design: two host slots (double buffering). The worker thread fills
 * the free slot with the next batch (gather through the permutation and
 * normalise: the costly part); ag_loader_next takes the full slot, copies it
 * to the backend on the caller's thread (backends need not be thread safe)
 * and hands the slot back. Both modes run the same produce_batch on the same
 * cursor sequence, so their output is identical. */
#define _POSIX_C_SOURCE 200809L
#include "ag_loader.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/io/idx.h"

/* ---- dataset ------------------------------------------------------------ */

static const char *const ag_fashion_names[AG_FASHION_MNIST_CLASSES] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

const char *ag_fashion_mnist_class_name(int label) {
  return label >= 0 && label < AG_FASHION_MNIST_CLASSES ? ag_fashion_names[label] : NULL;
}

/* Reads <dir>/<split>-<kind>-idxN-ubyte, preferring the .gz name (Debian
 * ships gzip) but accepting an unpacked copy. */
static ag_status read_part(const char *dir, const char *split, const char *kind, int rank,
                           ag_idx *out) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s-%s-idx%d-ubyte.gz", dir, split, kind, rank);
  FILE *probe = fopen(path, "rb");
  if (probe) fclose(probe);
  else snprintf(path, sizeof path, "%s/%s-%s-idx%d-ubyte", dir, split, kind, rank);
  AG_TRY(ag_idx_read(path, out));
  if (out->type != AG_IDX_U8 || out->rank != rank) {
    ag_status st = ag_set_error(AG_ERR_IO, "mnist '%s': expected u8 rank %d, got type 0x%02x rank %d",
                                path, rank, out->type, out->rank);
    ag_idx_free(out);
    return st;
  }
  return AG_OK;
}

/* Cross-checks the two files: same N, labels in range. */
static ag_status check_pair(const char *dir, const char *split, const ag_idx *img,
                            const ag_idx *lab) {
  if (img->dims[0] != lab->dims[0])
    return ag_set_error(AG_ERR_IO, "mnist '%s/%s': %lld images but %lld labels", dir, split,
                        (long long)img->dims[0], (long long)lab->dims[0]);
  const uint8_t *l = lab->data;
  for (int64_t i = 0; i < lab->count; i++)
    if (l[i] >= AG_FASHION_MNIST_CLASSES)
      return ag_set_error(AG_ERR_IO, "mnist '%s/%s': label %d at index %lld outside 0..9", dir,
                          split, l[i], (long long)i);
  return AG_OK;
}

ag_status ag_mnist_load(const char *dir, const char *split, ag_mnist *out) {
  if (!dir || !split || !out) return ag_set_error(AG_ERR_INVALID, "ag_mnist_load: NULL argument");
  memset(out, 0, sizeof(*out));
  ag_idx img, lab;
  AG_TRY(read_part(dir, split, "images", 3, &img));
  ag_status st = read_part(dir, split, "labels", 1, &lab);
  if (st != AG_OK) {
    ag_idx_free(&img);
    return st;
  }
  st = check_pair(dir, split, &img, &lab);
  if (st != AG_OK) {
    ag_idx_free(&img);
    ag_idx_free(&lab);
    return st;
  }
  out->n = img.dims[0], out->h = img.dims[1], out->w = img.dims[2];
  out->images = img.data; /* ownership moves to the dataset */
  out->labels = lab.data;
  return AG_OK;
}

void ag_mnist_free(ag_mnist *ds) {
  if (!ds) return;
  free(ds->images);
  free(ds->labels);
  memset(ds, 0, sizeof(*ds));
}

/* ---- normalisation ------------------------------------------------------ */

void ag_u8_to_f32(const uint8_t *src, float *dst, size_t n, float scale, float shift) {
  for (size_t i = 0; i < n; i++) dst[i] = (float)src[i] * scale + shift;
}

void ag_f32_to_u8(const float *src, uint8_t *dst, size_t n, float scale, float shift) {
  for (size_t i = 0; i < n; i++) {
    float v = src[i] * scale + shift;
    /* Written so NaN fails both comparisons' "keep" branch and lands on 0. */
    v = v > 0.0f ? (v < 255.0f ? v : 255.0f) : 0.0f;
    dst[i] = (uint8_t)lrintf(v);
  }
}

ag_status ag_norm_coeffs(ag_norm mode, float mean, float std, float *scale, float *shift) {
  switch (mode) {
  case AG_NORM_UNIT: *scale = 1.0f / 255.0f, *shift = 0.0f; return AG_OK;
  case AG_NORM_SIGNED: *scale = 2.0f / 255.0f, *shift = -1.0f; return AG_OK;
  case AG_NORM_MEAN_STD:
    if (!(std > 0.0f)) return ag_set_error(AG_ERR_INVALID, "normalisation: std %g must be > 0", std);
    *scale = 1.0f / (255.0f * std), *shift = -mean / std;
    return AG_OK;
  }
  return ag_set_error(AG_ERR_INVALID, "normalisation: unknown mode %d", (int)mode);
}

/* ---- permutation -------------------------------------------------------- */

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

/* ---- loader ------------------------------------------------------------- */

typedef struct ag_slot {
  float *images;
  int32_t *labels;
  int64_t count;
  int last;        /* final batch of its epoch */
  int full;        /* filled, not yet taken by ag_loader_next */
  ag_status status; /* worker error; the message travels in `error` because
                       ag_set_error's message is thread-local */
  char error[512];
} ag_slot;

struct ag_loader {
  const ag_mnist *ds;
  ag_loader_opts opts;
  int64_t per_epoch;
  float scale, shift;
  int64_t *perm;
  uint64_t perm_epoch;
  int perm_valid;
  uint64_t p_epoch; /* producer cursor */
  int64_t p_batch;
  uint64_t c_epoch; /* consumer's epoch */
  int end_pending;  /* the last batch was returned; next call reports the end */
  ag_slot slots[2];
  int head, tail; /* slot the consumer takes next / the producer fills next */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  pthread_t thread;
  int has_thread;
  int stop;
};

ag_loader_opts ag_loader_default_opts(void) {
  ag_loader_opts o;
  memset(&o, 0, sizeof o);
  o.batch = 64, o.shuffle = 1, o.norm = AG_NORM_UNIT, o.std = 1.0f, o.prefetch = 1;
  return o;
}

/* Fills `s` with the batch at the producer cursor, then advances it. */
static void produce_batch(ag_loader *l, ag_slot *s) {
  const ag_mnist *ds = l->ds;
  if (!l->perm_valid || l->perm_epoch != l->p_epoch) {
    if (l->opts.shuffle) ag_epoch_permutation(l->opts.seed, l->p_epoch, ds->n, l->perm);
    else for (int64_t i = 0; i < ds->n; i++) l->perm[i] = i;
    l->perm_epoch = l->p_epoch, l->perm_valid = 1;
  }
  int64_t hw = ds->h * ds->w, start = l->p_batch * l->opts.batch;
  int64_t count = ds->n - start < l->opts.batch ? ds->n - start : l->opts.batch;
  for (int64_t i = 0; i < count; i++) {
    int64_t k = l->perm[start + i];
    ag_u8_to_f32(ds->images + k * hw, s->images + i * hw, (size_t)hw, l->scale, l->shift);
    s->labels[i] = ds->labels[k];
  }
  s->count = count;
  s->status = AG_OK;
  if (l->opts.transform) {
    s->status = l->opts.transform(l->opts.transform_ctx, l->p_epoch, l->p_batch, s->images,
                                  s->labels, count, ds->h, ds->w);
    /* ag_last_error is thread-local: carry the text to the caller's thread. */
    if (s->status != AG_OK) snprintf(s->error, sizeof s->error, "loader: %s", ag_last_error());
  }
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

static ag_status check_opts(const ag_mnist *ds, const ag_loader_opts *o) {
  if (!ds || !ds->images || !ds->labels || ds->n <= 0)
    return ag_set_error(AG_ERR_INVALID, "ag_loader_open: empty or NULL dataset");
  if (o->batch <= 0)
    return ag_set_error(AG_ERR_INVALID, "ag_loader_open: batch %lld must be > 0",
                        (long long)o->batch);
  if (o->drop_last && ds->n < o->batch)
    return ag_set_error(AG_ERR_INVALID,
                        "ag_loader_open: drop_last with batch %lld > dataset size %lld leaves no batch",
                        (long long)o->batch, (long long)ds->n);
  return AG_OK;
}

static ag_status alloc_buffers(ag_loader *l) {
  size_t hw = (size_t)(l->ds->h * l->ds->w), b = (size_t)l->opts.batch;
  int ok = (l->perm = malloc(sizeof(int64_t) * (size_t)l->ds->n)) != NULL;
  for (int i = 0; i < 2; i++) {
    ok &= (l->slots[i].images = malloc(sizeof(float) * b * hw)) != NULL;
    ok &= (l->slots[i].labels = malloc(sizeof(int32_t) * b)) != NULL;
  }
  /* On failure ag_loader_close frees whatever was allocated. */
  return ok ? AG_OK : ag_set_error(AG_ERR_OOM, "ag_loader_open: out of host memory");
}

ag_status ag_loader_open(const ag_mnist *ds, const ag_loader_opts *opts, ag_loader **out) {
  *out = NULL;
  ag_loader_opts o = opts ? *opts : ag_loader_default_opts();
  AG_TRY(check_opts(ds, &o));
  if (!o.backend) o.backend = ag_backend_cpu();
  ag_loader *l = calloc(1, sizeof *l);
  if (!l) return ag_set_error(AG_ERR_OOM, "ag_loader_open: out of host memory");
  l->ds = ds, l->opts = o;
  l->per_epoch = o.drop_last ? ds->n / o.batch : (ds->n + o.batch - 1) / o.batch;
  l->p_epoch = l->c_epoch = o.first_epoch;
  ag_status st = ag_norm_coeffs(o.norm, o.mean, o.std, &l->scale, &l->shift);
  if (st == AG_OK) st = alloc_buffers(l);
  pthread_mutex_init(&l->mu, NULL);
  pthread_cond_init(&l->cv, NULL);
  if (st == AG_OK && o.prefetch) {
    if (pthread_create(&l->thread, NULL, worker_main, l) == 0) l->has_thread = 1;
    else st = ag_set_error(AG_ERR_OOM, "ag_loader_open: cannot start prefetch thread");
  }
  if (st != AG_OK) {
    ag_loader_close(l);
    return st;
  }
  *out = l;
  return AG_OK;
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

static void release_slot(ag_loader *l, ag_slot *s) {
  pthread_mutex_lock(&l->mu);
  s->full = 0;
  if (l->has_thread) l->head ^= 1;
  pthread_cond_broadcast(&l->cv);
  pthread_mutex_unlock(&l->mu);
}

/* Copies a host slot into two new backend tensors. */
static ag_status upload(ag_loader *l, const ag_slot *s, ag_tensor **images, ag_tensor **labels) {
  int64_t ishape[4] = {s->count, 1, l->ds->h, l->ds->w}, lshape[1] = {s->count};
  ag_tensor *im = ag_tensor_new(l->opts.backend, AG_F32, 4, ishape);
  ag_tensor *lb = ag_tensor_new(l->opts.backend, AG_I32, 1, lshape);
  ag_status st = im && lb ? AG_OK : AG_ERR_OOM;
  if (st == AG_OK) st = ag_tensor_write(im, s->images, ag_tensor_nbytes(im));
  if (st == AG_OK) st = ag_tensor_write(lb, s->labels, ag_tensor_nbytes(lb));
  if (st != AG_OK) {
    ag_tensor_free(im);
    ag_tensor_free(lb);
    return st;
  }
  *images = im, *labels = lb;
  return AG_OK;
}

ag_status ag_loader_next(ag_loader *l, ag_tensor **images, ag_tensor **labels) {
  *images = NULL, *labels = NULL;
  if (l->end_pending) {
    l->end_pending = 0;
    l->c_epoch++;
    return AG_OK;
  }
  ag_slot *s = take_slot(l);
  /* A worker error stays in its slot, so every later call reports it too. */
  if (s->status != AG_OK) return ag_set_error(s->status, "%s", s->error);
  AG_TRY(upload(l, s, images, labels)); /* slot kept: a retry gets the same batch */
  l->end_pending = s->last;
  release_slot(l, s);
  return AG_OK;
}

uint64_t ag_loader_epoch(const ag_loader *l) { return l->c_epoch; }

int64_t ag_loader_batches_per_epoch(const ag_loader *l) { return l->per_epoch; }

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
  for (int i = 0; i < 2; i++) free(l->slots[i].images), free(l->slots[i].labels);
  free(l->perm);
  free(l);
}
