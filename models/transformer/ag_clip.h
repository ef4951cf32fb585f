/* ag_clip.h - CLIP (Radford et al., 2021) for Fashion-MNIST: an image tower
 * (ViT, ag_vit.h) and a text tower over byte-level captions
 * (ag_tokenizer.h), each projected to a joint space and L2-normalised, and
 * trained with the symmetric InfoNCE loss on a learnable temperature.
 *
 * Text tower: token embeddings plus learned positions, causal pre-norm
 * blocks and a final layernorm, pooled at the end-of-text token, as OpenAI's
 * CLIP does. Causal attention means the padding after end-of-text never
 * reaches a valid token, so no key mask is needed, and each token's feature
 * depends on the caption up to it only (what text-conditioned diffusion
 * attends to).
 *
 * Data parallel: every rank embeds its shard of the global batch and the
 * loss is built on the all-gathered embeddings (ag_all_gather, backward a
 * reduce-scatter-sum), so every rank computes the same global-batch loss
 * with every rank's negatives; averaging the ranks' gradients (ag_dp) then
 * gives exactly the single-process gradient. */
#ifndef AG_CLIP_H
#define AG_CLIP_H

#include "ag_clip_captions.h"
#include "ag_vit.h"
#include "runtime/dist/ag_comm.h"
#include "runtime/io/safetensors.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ag_clip_text_config {
  int64_t vocab;   /* token ids are < vocab */
  int64_t context; /* tokens per caption, end-of-text included */
  int64_t dim, layers, heads;
} ag_clip_text_config;

typedef struct ag_clip_config {
  ag_vit_config vision;
  ag_clip_text_config text;
  int64_t embed_dim;         /* the joint space */
  float norm_mean, norm_std; /* image pixels are (x / 255 - mean) / std */
} ag_clip_config;

/* The settings `aigc train clip` uses: 28x28 images in 7x7 patches (16
 * tokens and the class token) through 3 blocks of width 64, a text tower of
 * 2 blocks of width 64 over AG_CLIP_CAPTION_MAX + 2 tokens, 2 heads each
 * (head dim 32, which the CUDA attention kernel takes), joint dim 64. */
ag_clip_config ag_clip_default_config(void);
/* AG_OK, or AG_ERR_INVALID naming the first field out of range. */
ag_status ag_clip_check(const ag_clip_config *c);

/* The initial temperature, ln(1/0.07), and the range the logit scale is
 * clamped to after every update, [0, ln 100]. */
#define AG_CLIP_LOGIT_SCALE_INIT 2.6592600f
#define AG_CLIP_LOGIT_SCALE_MAX 4.6051702f

/* ---- graphs ---------------------------------------------------------------- */

/* Normalised image embeddings [N, embed_dim] of images [N, 1, H, W]
 * (normalised pixels): "visual.*" and the projection "visual_proj". */
ag_tensor *ag_clip_image_embed(ag_graph *g, ag_params *p, const ag_clip_config *c,
                               ag_tensor *images);

/* Normalised text embeddings [N, embed_dim] of token ids [N, context] (i32,
 * rows as ag_tok_encode_padded writes them), pooled at rows eot_rows (i32
 * [N]: n * context + the position of caption n's end-of-text token):
 * "text.*" and the projection "text_proj". *tokens (may be NULL) receives every token's
 * feature after the final layernorm, [N, context, text.dim]. */
ag_tensor *ag_clip_text_embed(ag_graph *g, ag_params *p, const ag_clip_config *c, ag_tensor *ids,
                              ag_tensor *eot_rows, ag_tensor **tokens);

/* exp(logit_scale) * img @ txt^T: [N, M] of embeddings [N, E] and [M, E].
 * "logit_scale" [1] starts at AG_CLIP_LOGIT_SCALE_INIT. */
ag_tensor *ag_clip_logits(ag_graph *g, ag_params *p, ag_tensor *img, ag_tensor *txt);

/* The symmetric InfoNCE loss (f32 [1]) of a batch of matching pairs: the
 * mean of the image->text and text->image cross-entropies of the logits,
 * pair i being class i. img and txt are this rank's [n, E] shard; the loss
 * is computed on the all-gathered [world * n, E] batch (rank order), the
 * same on every rank. world 1 is a single process. */
ag_tensor *ag_clip_loss(ag_graph *g, ag_params *p, ag_tensor *img, ag_tensor *txt, int world);

/* Creates every parameter (initialised from p's seed) without a graph. */
ag_status ag_clip_init(ag_params *p, const ag_clip_config *c);
/* Clamps "logit_scale" to [0, AG_CLIP_LOGIT_SCALE_MAX]; *value (may be
 * NULL) gets the clamped value. */
ag_status ag_clip_clamp_logit_scale(ag_params *p, float *value);

/* ---- checkpoints ----------------------------------------------------------- */

/* The metadata a CLIP checkpoint carries besides the weights: "aigc.model"
 * = "clip" and "aigc.config" (JSON). keys/values get AG_CLIP_META pairs;
 * *config is the JSON text, freed by the caller. */
#define AG_CLIP_META 2
ag_status ag_clip_meta(const ag_clip_config *c, const char *keys[AG_CLIP_META],
                       const char *values[AG_CLIP_META], char **config);
/* The config of an opened checkpoint; a file of another model kind or a
 * config that does not parse is an error naming `path` and the problem. */
ag_status ag_clip_read_config(const char *path, const ag_safetensors *st, ag_clip_config *c);
/* The fields in which two configs differ, as "vision.dim 32 vs 48, ..."
 * into buf (truncated to len); returns how many. */
int ag_clip_config_diff(const ag_clip_config *a, const ag_clip_config *b, char *buf, size_t len);
/* A CLIP checkpoint's weights into new parameters on `be` (training state
 * under "optim/" is skipped); *c gets its config. */
ag_status ag_clip_load(const char *path, ag_backend *be, ag_params **p, ag_clip_config *c);

/* ---- text embeddings for other pipelines ----------------------------------- */

typedef struct ag_clip_text_out {
  ag_tensor *embeddings; /* [n, embed_dim] f32, unit L2 norm per row */
  ag_tensor *tokens;     /* [n, context, text.dim] f32, or NULL when not asked */
  ag_tensor *lengths;    /* [n] i32: valid tokens per caption, end-of-text included */
} ag_clip_text_out;

/* Embeds n captions with the trained text tower. Contract:
 *   - captions are byte strings, encoded as ag_tok_encode_padded does
 *     (start-of-text, the bytes, end-of-text, padding); each must fit in
 *     context - 2 bytes, else AG_ERR_INVALID naming the caption: nothing is
 *     truncated silently;
 *   - out->embeddings are what the image tower is compared with (cosine =
 *     dot product);
 *   - with want_tokens, out->tokens holds the text tower's per-token features
 *     (causal: token t sees tokens 0..t only); positions >= lengths[i] are
 *     padding, to be masked by a consumer (attention_padded with kv_len =
 *     lengths);
 *   - the tensors are new, on p's backend, owned by the caller
 *     (ag_clip_text_out_free); captions do not see each other, so a
 *     caption's rows are the same (up to rounding) whatever else is in the
 *     call.
 * n >= 1. */
ag_status ag_clip_encode_text(ag_params *p, const ag_clip_config *c, const char *const *captions,
                              int64_t n, int want_tokens, ag_clip_text_out *out);
void ag_clip_text_out_free(ag_clip_text_out *out);

/* ---- training -------------------------------------------------------------- */

typedef struct ag_clip_train_opts {
  int64_t steps;  /* total optimizer updates, counting those a resumed run had */
  int64_t until;  /* > 0: stop (and save) after this many of them, to resume later */
  int64_t batch;  /* global: image-caption pairs per update over all ranks */
  int64_t warmup; /* LR warm-up updates, then cosine to 0 at `steps` */
  float lr, weight_decay;
  uint64_t seed;      /* initial weights, shuffling and the training captions */
  int zero;           /* ZeRO-1 optimizer sharding (ag_dp.h) */
  ag_dtype dtype;     /* compute: AG_F32 (the default) or AG_BF16 over f32 master weights */
  const char *resume; /* NULL, or a checkpoint to continue from */
  const char *out;    /* NULL, or the checkpoint to write at the end */
  int progress;       /* rank 0 shows a progress line on stderr */
  /* NULL, or `steps` entries: losses[s] = the loss of update s (the
   * global-batch loss, the same on every rank), written for the updates
   * this call runs. Reading it every update waits for the device. */
  double *losses;
} ag_clip_train_opts;

/* 1500 updates of 256 pairs, AdamW lr 2e-3 (warm-up 100), weight decay 0.1. */
ag_clip_train_opts ag_clip_default_train_opts(void);

typedef struct ag_clip_train_result {
  int64_t steps_done, resumed_at; /* resumed_at 0 for a fresh run */
  float last_loss, logit_scale;
  double seconds;
} ag_clip_train_result;

/* Trains CLIP data-parallel over `comm` (every rank calls it alike; a
 * single-rank communicator is a plain run) on `train` with its measured
 * captions, AdamW under warm-up + cosine through ag_dp, the logit scale
 * clamped after every update, and writes o->out (rank 0, with the config in
 * the metadata). A resumed run continues the checkpoint's updates, batches
 * and schedule; a checkpoint of another model or other shapes is an error.
 * Returns the trained parameters on comm's backend. */
ag_status ag_clip_train(ag_comm *comm, const ag_clip_config *c, const ag_clip_train_opts *o,
                        const ag_mnist *train, ag_params **out, ag_clip_train_result *res);

/* ---- evaluation ------------------------------------------------------------ */

typedef struct ag_clip_eval_result {
  int64_t images, chunk;
  double zero_shot; /* test accuracy with prompt ensembles over the class names */
  int64_t confusion[AG_FASHION_MNIST_CLASSES][AG_FASHION_MNIST_CLASSES]; /* [true][predicted] */
  /* Retrieval in chunks of `chunk` images against their own captions. */
  double i2t_r1, i2t_r5, t2i_r1, t2i_r5;
} ag_clip_eval_result;

/* Evaluates on `test`, whose captions are those of epoch 0 for
 * caption_seed under the training set's thresholds:
 *   zero-shot: each class's embedding is the normalised mean of the
 *     normalised embeddings of its AG_CLIP_PROMPTS prompts; an image is
 *     predicted as the class of highest cosine;
 *   retrieval: the images are cut into consecutive chunks of `chunk` (a
 *     last short chunk is dropped); within a chunk, image->text recall@k
 *     counts an image whose own caption text is among its k nearest
 *     captions (a caption identical to its own counts as it: the text is all
 *     a caption has), and text->image recall@k a caption whose own image is
 *     among its k nearest images (by index: identical captions of other
 *     images do not count).
 * chunk >= 5 and at most the test set's size. */
ag_status ag_clip_evaluate(ag_params *p, const ag_clip_config *c, const ag_mnist *test,
                           const ag_clip_thresholds *t, uint64_t caption_seed, int64_t chunk,
                           ag_clip_eval_result *r);

#ifdef __cplusplus
}
#endif

#endif
