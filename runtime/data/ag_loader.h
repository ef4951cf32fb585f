/* loader.h - Fashion-MNIST dataset and a seeded, shuffling, prefetching batch
 * loader producing normalised f32 images and i32 labels on any backend.
 *
 * Determinism: the order of epoch e is a pure function of (seed, e)
 * (splitmix64 + Fisher-Yates), so a run restarted at epoch e sees the same
 * batches, with or without prefetch. */
#ifndef AG_IO_LOADER_H
#define AG_IO_LOADER_H

#include "runtime/core/ag_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- dataset ------------------------------------------------------------ */

#define AG_FASHION_MNIST_CLASSES 10

/* Host copy of an IDX image/label pair: images [n, h, w] u8, labels [n] u8. */
typedef struct ag_mnist {
  int64_t n, h, w;
  uint8_t *images; /* n*h*w bytes, row-major */
  uint8_t *labels; /* n bytes, each < AG_FASHION_MNIST_CLASSES */
} ag_mnist;

/* Loads <dir>/<split>-images-idx3-ubyte[.gz] and the matching labels file
 * (split = "train" or "t10k"); the .gz name is tried first. Checks ranks,
 * equal N on both files and labels in 0..9. AG_ERR_IO names the file. */
ag_status ag_mnist_load(const char *dir, const char *split, ag_mnist *out);
void ag_mnist_free(ag_mnist *ds);

/* "T-shirt/top", "Trouser", ..., "Ankle boot"; NULL outside 0..9. */
const char *ag_fashion_mnist_class_name(int label);

/* ---- normalisation helpers ---------------------------------------------- */

/* dst[i] = src[i] * scale + shift. */
void ag_u8_to_f32(const uint8_t *src, float *dst, size_t n, float scale, float shift);
/* dst[i] = clamp(round(src[i] * scale + shift), 0, 255); NaN becomes 0. */
void ag_f32_to_u8(const float *src, uint8_t *dst, size_t n, float scale, float shift);

typedef enum ag_norm {
  AG_NORM_UNIT = 0,  /* [0, 1]: x / 255 */
  AG_NORM_SIGNED,    /* [-1, 1]: x / 127.5 - 1 (diffusion, GAN) */
  AG_NORM_MEAN_STD   /* (x / 255 - mean) / std (classifier) */
} ag_norm;

/* The (scale, shift) pair that maps u8 pixels for a normalisation mode. */
ag_status ag_norm_coeffs(ag_norm mode, float mean, float std, float *scale, float *shift);

/* ---- batch loader ------------------------------------------------------- */

/* Fills perm[0..n) with the permutation of epoch `epoch` for `seed`. */
void ag_epoch_permutation(uint64_t seed, uint64_t epoch, int64_t n, int64_t *perm);

/* Optional per-batch hook (augmentation), run where the batch is prepared:
 * on the prefetch thread when prefetch is on. `images` is [count, 1, h, w]
 * after normalisation. An error it returns (with ag_set_error) stops the
 * loader and is returned, message included, by the next ag_loader_next. */
typedef ag_status (*ag_batch_fn)(void *ctx, uint64_t epoch, int64_t batch_index, float *images,
                                 int32_t *labels, int64_t count, int64_t h, int64_t w);

typedef struct ag_loader_opts {
  int64_t batch;        /* > 0 */
  uint64_t seed;
  int shuffle;          /* 0: dataset order every epoch */
  int drop_last;        /* drop the final partial batch of each epoch */
  ag_norm norm;
  float mean, std;      /* for AG_NORM_MEAN_STD */
  int prefetch;         /* prepare the next batch on a worker thread */
  ag_backend *backend;  /* NULL: CPU */
  uint64_t first_epoch; /* epoch number to start at (resume) */
  ag_batch_fn transform; /* NULL: none */
  void *transform_ctx;
} ag_loader_opts;

/* Defaults: batch 64, seed 0, shuffle, keep last, UNIT, prefetch on, CPU. */
ag_loader_opts ag_loader_default_opts(void);

typedef struct ag_loader ag_loader;

/* The loader borrows `ds`, which must outlive it. */
ag_status ag_loader_open(const ag_mnist *ds, const ag_loader_opts *opts, ag_loader **out);

/* Next batch of the current epoch: *images f32 [B, 1, H, W], *labels i32 [B]
 * (B smaller for a kept partial last batch), new tensors owned by the caller.
 * At the end of an epoch returns AG_OK with both set to NULL once; the next
 * call starts the following epoch. Errors from the prefetch thread are
 * returned here, with their message. */
ag_status ag_loader_next(ag_loader *l, ag_tensor **images, ag_tensor **labels);

/* Epoch of the batch the next call to ag_loader_next returns. */
uint64_t ag_loader_epoch(const ag_loader *l);
/* Batches per epoch under the drop_last setting. */
int64_t ag_loader_batches_per_epoch(const ag_loader *l);

/* Stops and joins the prefetch thread, frees everything. NULL is a no-op. */
void ag_loader_close(ag_loader *l);

#ifdef __cplusplus
}
#endif

#endif
