/* ag_clip_captions.h - captions for Fashion-MNIST images, made from the class
 * name and attributes measured from the image itself, and the image-caption
 * dataset CLIP trains on.
 *
 * Attributes, each low / middle / high against the terciles of the training
 * set (so each level holds a third of the training images):
 *   size        the count of garment pixels        "small" / - / "large"
 *   brightness  their mean intensity                "dark"  / - / "light"
 *   texture     the standard deviation of it        "plain" / - / "patterned"
 * where garment pixels are those above AG_CLIP_GARMENT_LEVEL (the background
 * is black). A middle level is not named.
 *
 * A caption names the class and, each with probability 3/4, every attribute
 * not in the middle, in one of several templates ("a photo of a dark
 * shirt", "a large, light sneaker", "an ankle boot that is small and
 * dark"); which ones is a pure function of (seed, image index, epoch), so
 * every epoch shows an image under new words and every rank of a
 * data-parallel run agrees. */
#ifndef AG_CLIP_CAPTIONS_H
#define AG_CLIP_CAPTIONS_H

#include "runtime/data/ag_batch.h"
#include "runtime/data/ag_fashion_mnist.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AG_CLIP_GARMENT_LEVEL 16 /* u8 pixels above this are the garment */
/* Bytes of the longest caption ag_clip_caption writes (without the NUL). */
#define AG_CLIP_CAPTION_MAX 50

typedef enum ag_clip_attr {
  AG_CLIP_SIZE,
  AG_CLIP_BRIGHTNESS,
  AG_CLIP_TEXTURE,
  AG_CLIP_ATTRS
} ag_clip_attr;
typedef enum ag_clip_level { AG_CLIP_LOW, AG_CLIP_MIDDLE, AG_CLIP_HIGH } ag_clip_level;

/* The raw measures of one image, indexed by ag_clip_attr. */
typedef struct ag_clip_measures {
  float v[AG_CLIP_ATTRS];
} ag_clip_measures;

/* Per attribute: below lo is low, at or above hi is high. */
typedef struct ag_clip_thresholds {
  float lo[AG_CLIP_ATTRS], hi[AG_CLIP_ATTRS];
} ag_clip_thresholds;

typedef struct ag_clip_levels {
  uint8_t level[AG_CLIP_ATTRS]; /* ag_clip_level */
} ag_clip_levels;

ag_clip_measures ag_clip_measure(const uint8_t *pixels, int64_t h, int64_t w);
/* The terciles of every measure over the images of `train` (n >= 3). */
ag_status ag_clip_fit_thresholds(const ag_mnist *train, ag_clip_thresholds *out);
ag_clip_levels ag_clip_levels_of(const ag_clip_measures *m, const ag_clip_thresholds *t);

/* The caption of an image of class `label` (0..9) with these levels, for
 * (seed, index, epoch), into out (cap > AG_CLIP_CAPTION_MAX). Returns its
 * length. */
size_t ag_clip_caption(int label, ag_clip_levels levels, uint64_t seed, int64_t index,
                       uint64_t epoch, char *out, size_t cap);

/* Zero-shot prompts: template t (0 <= t < AG_CLIP_PROMPTS) of a class with no
 * attribute, e.g. "a photo of a sneaker". Returns the length. */
#define AG_CLIP_PROMPTS 4
size_t ag_clip_prompt(int label, int t, char *out, size_t cap);

/* ---- the dataset ----------------------------------------------------------- */

typedef struct ag_clip_data_opts {
  int64_t context;               /* ids per caption row (> AG_CLIP_CAPTION_MAX + 1) */
  uint64_t seed;                 /* of the captions */
  float norm_mean, norm_std;     /* image pixels are (x / 255 - mean) / std */
  ag_clip_thresholds thresholds; /* from the training set, for every split */
} ag_clip_data_opts;

/* A dataset over `raw` (borrowed: it must outlive the dataset) whose items
 * are an "image" f32 [1, H, W], its "label" i32, its "index" i32 in raw, the
 * caption of epoch 0 as "ids" i32 [context] (ag_tok_encode_padded's row) and
 * "eot" i32, the position of its end-of-text id. */
ag_status ag_clip_dataset_open(const ag_mnist *raw, const ag_clip_data_opts *o, ag_dataset **out);
/* An ag_batch_fn for the loader (ctx: a dataset from ag_clip_dataset_open):
 * rewrites the batch's captions as those of its epoch. */
ag_status ag_clip_recaption(void *ctx, ag_batch *b);

#ifdef __cplusplus
}
#endif

#endif
