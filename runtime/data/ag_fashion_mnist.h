/* ag_fashion_mnist.h - Fashion-MNIST (or any MNIST-layout IDX pair, gzipped
 * or not) as a dataset: items are an "image" f32[1,H,W], normalised from the
 * u8 pixels, and a "label" i32[] in 0..9.
 *
 * Two layers: ag_mnist is the raw host copy of one split's two IDX files
 * (what evaluation and the command line hold on to); ag_fashion_mnist_view
 * and ag_fashion_mnist_open give it the dataset interface. */
#ifndef AG_DATA_FASHION_MNIST_H
#define AG_DATA_FASHION_MNIST_H

#include "ag_dataset.h"
#include "ag_pixels.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AG_FASHION_MNIST_CLASSES 10

/* Host copy of an IDX image/label pair: images [n, h, w] u8, labels [n] u8. */
typedef struct ag_mnist {
  int64_t n, h, w;
  uint8_t *images; /* n*h*w bytes, row-major */
  uint8_t *labels; /* n bytes, each < AG_FASHION_MNIST_CLASSES */
} ag_mnist;

/* Loads <dir>/<split>-images-idx3-ubyte[.gz] and the matching labels file
 * (split = "train" or "t10k"); the .gz name is tried first. Checks u8 type,
 * ranks, equal N in both files and labels in 0..9. AG_ERR_IO messages start
 * with "fashion-mnist <split>:" and name the file. */
ag_status ag_mnist_load(const char *dir, const char *split, ag_mnist *out);
void ag_mnist_free(ag_mnist *ds);

/* "T-shirt/top", "Trouser", ..., "Ankle boot"; NULL outside 0..9. */
const char *ag_fashion_mnist_class_name(int label);

typedef struct ag_fashion_mnist_opts {
  ag_pixel_norm norm;
  float mean, std; /* for AG_PIXEL_MEAN_STD */
} ag_fashion_mnist_opts;

/* AG_PIXEL_UNIT (mean 0, std 1). */
ag_fashion_mnist_opts ag_fashion_mnist_default_opts(void);

/* A dataset named "fashion-mnist" over `raw`, which it borrows: raw must
 * outlive it. opts NULL: the defaults. */
ag_status ag_fashion_mnist_view(const ag_mnist *raw, const ag_fashion_mnist_opts *opts,
                                ag_dataset **out);
/* Loads a split (as ag_mnist_load) into a dataset named
 * "fashion-mnist <split>" that owns the data. */
ag_status ag_fashion_mnist_open(const char *dir, const char *split,
                                const ag_fashion_mnist_opts *opts, ag_dataset **out);

#ifdef __cplusplus
}
#endif

#endif
