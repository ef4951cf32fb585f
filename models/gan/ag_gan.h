/* ag_gan.h - a DCGAN for one-channel images (Fashion-MNIST):
 *   generator:     z ~ N(0, 1) [zdim] (class-conditional: joined to a label
 *                  embedding) -> dense -> [2g, H/4, W/4], batchnorm, ReLU ->
 *                  conv-transpose 4x4 stride 2 -> [g, H/2, W/2], batchnorm,
 *                  ReLU -> conv-transpose 4x4 stride 2 -> [1, H, W], tanh;
 *   discriminator: conv 4x4 stride 2 -> [d, H/2, W/2], leaky ReLU 0.2 (no
 *                  batchnorm in the first layer, as DCGAN) -> conv 4x4
 *                  stride 2 -> [2d, H/4, W/4], batchnorm, leaky ReLU 0.2 ->
 *                  features phi -> dense head w.phi + b (class-conditional:
 *                  plus the projection embed(y).phi, Miyato & Koyama 2018).
 * Trained with Adam (0.5, 0.999) on the non-saturating, hinge or
 * relativistic-average loss, optionally with an R1 penalty on real images;
 * sampled from an exponential moving average of the generator's weights. */
#ifndef AG_GAN_H
#define AG_GAN_H

#include "models/ag_generator.h"
#include "runtime/data/ag_fashion_mnist.h"
#include "runtime/graph/ag_params.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ag_gan_config {
  int64_t height, width; /* one channel, each divisible by 4 */
  int64_t zdim;          /* latent size */
  int64_t g_channels;    /* g above */
  int64_t d_channels;    /* d above */
  int64_t classes;       /* 0: unconditional */
  int64_t embed_dim;     /* the conditional generator's label embedding */
} ag_gan_config;

/* 28x28, zdim 64, g = d = 64, unconditional, embedding 16 when made
 * conditional. */
ag_gan_config ag_gan_default_config(void);
/* AG_OK, or AG_ERR_INVALID naming the first field out of range. */
ag_status ag_gan_check(const ag_gan_config *c);

/* ---- graphs ----------------------------------------------------------------
 * Weights come from `p` (the generator's "gen.*", the discriminator's
 * "disc.*": two sets, one optimizer each), batchnorm running statistics
 * from `stats` (read as constants; they are set by ag_gan_standing_stats,
 * never during training). labels: i32 [N], ignored when unconditional. */

/* Images [N, 1, H, W] in [-1, 1] from z [N, zdim]. training: batch
 * statistics; else the running ones, so each image depends on its own z
 * alone. */
ag_tensor *ag_gan_generator(ag_graph *g, ag_params *p, ag_params *stats, const ag_gan_config *c,
                            ag_tensor *z, ag_tensor *labels, int training);
/* Logits [N, 1] of images x [N, 1, H, W] (batch statistics). */
ag_tensor *ag_gan_discriminator(ag_graph *g, ag_params *p, ag_params *stats, const ag_gan_config *c,
                                ag_tensor *x, ag_tensor *labels);
/* Creates every weight (from each set's seed) and statistic without a
 * graph; disc NULL: the generator's alone. */
ag_status ag_gan_init(ag_params *gen, ag_params *disc, ag_params *stats, const ag_gan_config *c);
/* Sets the generator's batchnorm statistics to the mean of its batch
 * statistics over `batches` batches of `batch` latents (BigGAN's "standing
 * statistics"): the weights sampled from (an average over training) never
 * produced the running statistics training would track. */
ag_status ag_gan_standing_stats(ag_params *p, ag_params *stats, const ag_gan_config *c,
                                uint64_t seed, int64_t batch, int batches);

/* ---- losses ----------------------------------------------------------------
 * r, f: discriminator logits [N, 1] of real and generated images; each loss
 * a [1] mean over the batch.
 *   ns:    D: softplus(-r) + softplus(f);        G: softplus(-f)
 *   hinge: D: relu(1 - r) + relu(1 + f);         G: -f
 *   ragan: with r~ = r - mean(f), f~ = f - mean(r):
 *          D: softplus(-r~) + softplus(f~);      G: softplus(r~) + softplus(-f~) */
typedef enum ag_gan_loss { AG_GAN_LOSS_NS, AG_GAN_LOSS_HINGE, AG_GAN_LOSS_RAGAN } ag_gan_loss;

/* "ns", "hinge", "ragan"; NULL outside the enum. */
const char *ag_gan_loss_name(ag_gan_loss l);
/* The loss called `name`; AG_ERR_INVALID naming it when there is none. */
ag_status ag_gan_loss_parse(const char *name, ag_gan_loss *out);
ag_tensor *ag_gan_d_loss(ag_graph *g, ag_gan_loss l, ag_tensor *r, ag_tensor *f);
/* r is read by ragan only (may be NULL otherwise). */
ag_tensor *ag_gan_g_loss(ag_graph *g, ag_gan_loss l, ag_tensor *r, ag_tensor *f);

/* The R1 penalty's |grad_x D(x)|^2, without double backward (autograd
 * differentiates a loss once; gradients of gradients are not graph ops):
 * for a direction v ~ N(0, I), E_v[(grad D . v)^2] = |grad D|^2, and the
 * directional derivative is a central difference,
 *   (D(x + h v) - D(x - h v)) / 2h = grad D . v + O(h^2),
 * two more passes of D that ordinary backprop differentiates with respect
 * to D's weights. One direction per image per step: an unbiased estimate.
 * Returns the [1] mean over images of the squared difference quotients;
 * the loss adds gamma / 2 times it. v: [N, ...] like x. */
typedef ag_tensor *(*ag_gan_critic)(void *ctx, ag_graph *g, ag_tensor *x);
ag_tensor *ag_gan_r1(ag_graph *g, ag_gan_critic d, void *ctx, ag_tensor *x, ag_tensor *v, float h);
/* The step h of the central difference training uses: small against the
 * [-1, 1] pixels, large against f32 rounding of the logits. */
#define AG_GAN_R1_STEP 1e-2f

/* ---- training ----------------------------------------------------------- */

typedef struct ag_gan_train_opts {
  int64_t steps; /* updates of each network, a resumed run's included */
  int64_t batch;
  float lr, beta1, beta2; /* Adam, both networks */
  ag_gan_loss loss;
  float r1_gamma;     /* 0: no R1 penalty */
  float ema_decay;    /* 0: the sampled generator is G itself */
  uint64_t seed;      /* weights, shuffling, latents */
  const char *out;    /* checkpoint to write at the end; NULL: none */
  const char *resume; /* checkpoint to continue from; NULL: a new run */
  int64_t until;      /* > 0: stop after this update (tests stop and resume) */
  int progress;       /* progress line on stderr */
  /* Per update (index = update number, may be NULL): the losses and the
   * discriminator's accuracy on its batch (real logits > 0, fake < 0). */
  float *d_loss, *g_loss, *d_acc;
} ag_gan_train_opts;

/* 3000 updates of 64, lr 2e-4, betas (0.5, 0.999), ns, no R1, no EMA. */
ag_gan_train_opts ag_gan_default_train_opts(void);

typedef struct ag_gan_train_result {
  int64_t resumed_at, steps_done;
  double seconds;       /* this run's, plus the resumed checkpoint's */
  float d_loss, g_loss; /* the last update's */
  int64_t peak_bytes;   /* the backend allocator's high-water mark */
} ag_gan_train_result;

/* Trains on `train` (pixels to [-1, 1]); writes o->out when set. */
ag_status ag_gan_train(ag_backend *be, const ag_gan_config *c, const ag_gan_train_opts *o,
                       const ag_mnist *train, ag_gan_train_result *res);

/* ---- checkpoints -------------------------------------------------------- */

/* The config of a GAN checkpoint; another kind of checkpoint is an error
 * naming its kind. */
ag_status ag_gan_read_config(const char *path, const ag_safetensors *st, ag_gan_config *c);

/* ---- sampling ----------------------------------------------------------- */

typedef struct ag_gan ag_gan; /* a loaded generator (EMA weights) on a backend */
/* A ddpm or other checkpoint: a clear error. */
ag_status ag_gan_load(const char *path, ag_backend *be, ag_gan **out);
/* A generator with freshly initialised weights (from `seed`, as a training
 * run starts) and the initial batchnorm statistics (mean 0, variance 1): for
 * timing sampling, whose cost does not depend on the weights, without a
 * checkpoint. Its info reports no training. */
ag_status ag_gan_new(const ag_gan_config *c, ag_backend *be, uint64_t seed, ag_gan **out);
void ag_gan_free(ag_gan *g);
void ag_gan_info(const ag_gan *g, ag_generator_info *out);
/* n images [n, H, W] f32 in [0, 1]; image i's latent depends only on
 * (seed, first + i); labels[n] (NULL: class (first+i) % classes; ignored when
 * unconditional); batch 0: a default. */
ag_status ag_gan_sample(ag_gan *g, uint64_t seed, int64_t first, int64_t batch, int64_t n,
                        const int32_t *labels, float *images);

#ifdef __cplusplus
}
#endif

#endif
