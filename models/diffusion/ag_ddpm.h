/* ag_ddpm.h - the diffusion model of the pipeline: the class-conditional
 * UNet (ag_unet.h) trained as a DDPM denoiser on Fashion-MNIST, and batched
 * sampling with the host schedulers (ag_scheduler.h) and classifier-free
 * guidance.
 *
 * Training (Ho et al., 2020): each image x0 (pixels in [-1, 1]) gets a
 * timestep t uniform in 0..T-1 and is noised by the eager diffusion_noise
 * op, x_t = sqrt(ab_t) x0 + sqrt(1 - ab_t) eps; the UNet is trained with the
 * MSE to eps (or v) under AdamW, warm-up + cosine learning rate and gradient
 * clipping, data-parallel through ag_dp. With probability label_dropout an
 * image's class is replaced by the null class, so the same network also
 * learns the unconditional model guidance needs. The weights are averaged
 * after every update (EMA, runtime/train; the average starts at the initial
 * weights, so a run should be several times 1 / (1 - ema) updates long), and
 * sampling uses the averages.
 *
 * Everything random is a function of (seed, update, global image index):
 * timesteps and label dropout through Philox on the host, the noise through
 * the op's Philox stream, so a resumed run and any world size see the same
 * batches as one uninterrupted process.
 *
 * Checkpoints (safetensors, written atomically by rank 0): the weights under
 * their names, the optimizer state under "optim/m|v/<name>" (ag_dp.h), the
 * averages under "optim/ema/<name>", and metadata "aigc.model" = "ddpm",
 * "aigc.config" (JSON: UNet, noise schedule, prediction, label dropout),
 * "optim.steps", "ddpm.train_seconds" (over resumes), "ddpm.peak_bytes",
 * "ddpm.device", "ddpm.dataset". */
#ifndef AG_DDPM_H
#define AG_DDPM_H

#include "ag_scheduler.h"
#include "ag_unet.h"
#include "models/ag_generator.h"
#include "runtime/data/ag_fashion_mnist.h"
#include "runtime/dist/ag_comm.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ag_ddpm_config {
  ag_unet_config unet;
  ag_noise_schedule_config schedule; /* T, betas and what the UNet predicts */
  float label_dropout;               /* probability of the null class in training */
} ag_ddpm_config;

/* The default UNet, diffusers' default schedule (T 1000, linear 1e-4 ..
 * 0.02, epsilon) and label dropout 0.1. */
ag_ddpm_config ag_ddpm_default_config(void);
ag_status ag_ddpm_check(const ag_ddpm_config *c);

/* ---- training ------------------------------------------------------------- */

typedef struct ag_ddpm_train_opts {
  int64_t steps;  /* total optimizer updates, counting those a resumed run had */
  int64_t until;  /* > 0: stop (and save) after this many of them, to resume later */
  int64_t batch;  /* global: images per update over all ranks */
  int64_t warmup; /* LR warm-up updates, then cosine to 0 at `steps` */
  float lr, weight_decay, clip_norm;
  float ema;          /* decay of the weight average, in [0, 1) */
  uint64_t seed;      /* initial weights, shuffling, timesteps, dropout and noise */
  int zero;           /* ZeRO-1 optimizer sharding (ag_dp.h) */
  const char *resume; /* NULL, or a checkpoint to continue from */
  const char *out;    /* NULL, or the checkpoint to write at the end */
  const char *dataset; /* recorded in the checkpoint ("fashion-mnist" or a directory) */
  int progress;        /* rank 0 shows a progress line on stderr */
  /* NULL, or `steps` entries: losses[s] = the loss of update s (the mean
   * over the ranks), written for the updates this call runs. */
  double *losses;
} ag_ddpm_train_opts;

/* 1200 updates of 128 images, AdamW lr 2e-3 (warm-up 100, cosine), no
 * weight decay, gradient norm clipped to 1, EMA 0.995 (a horizon of 200
 * updates), seed 1. */
ag_ddpm_train_opts ag_ddpm_default_train_opts(void);

typedef struct ag_ddpm_train_result {
  int64_t steps_done, resumed_at; /* resumed_at 0 for a fresh run */
  float last_loss;
  double seconds;       /* this call's updates */
  double total_seconds; /* over every run of the checkpoint */
  int64_t peak_bytes;   /* the backend allocator's high-water mark */
} ag_ddpm_train_result;

/* Trains data-parallel over `comm` (every rank calls it alike) on `train`,
 * whose images must be the UNet's size (else an error naming both sizes),
 * and writes o->out. A resumed run continues the checkpoint's updates,
 * batches, schedule and averages; a checkpoint of another model, config or
 * size is an error naming the difference. */
ag_status ag_ddpm_train(ag_comm *comm, const ag_ddpm_config *c, const ag_ddpm_train_opts *o,
                        const ag_mnist *train, ag_ddpm_train_result *res);

/* ---- checkpoints and sampling --------------------------------------------- */

/* A loaded model: config, schedule and the averaged weights on a backend. */
typedef struct ag_ddpm ag_ddpm;

/* Loads a checkpoint written by ag_ddpm_train. A file of another kind (a
 * GAN, a classifier) or without a valid config is an error naming the path
 * and what it holds. */
ag_status ag_ddpm_load(const char *path, ag_backend *be, ag_ddpm **out);
/* A model with freshly initialised weights (ag_unet_init from `seed`, as a
 * training run starts): for timing sampling, whose cost does not depend on
 * the weights, without a checkpoint. Its info reports no training. */
ag_status ag_ddpm_new(const ag_ddpm_config *c, ag_backend *be, uint64_t seed, ag_ddpm **out);
void ag_ddpm_free(ag_ddpm *m);
void ag_ddpm_info(const ag_ddpm *m, ag_generator_info *out);
const ag_ddpm_config *ag_ddpm_config_of(const ag_ddpm *m);

typedef struct ag_ddpm_sample_opts {
  const char *sampler; /* ag_sampler_config_named names */
  int64_t steps;
  float guidance;  /* u + g (c - u); 0 (or 1): conditional only, no unconditional pass */
  uint64_t seed;
  int64_t batch;   /* images per forward pass; 0: sized to memory */
  int64_t first;   /* global index of images[0]: image i depends only on (seed, first+i, its label) */
} ag_ddpm_sample_opts;

/* ddpm (ancestral), 50 steps, guidance 3, seed 1, batch 0, first 0. The
 * ancestral samplers forgive an undertrained model: after minutes of CPU
 * training DDIM and DPM-Solver leave part of the initial noise in the images
 * (FID several times the ancestral samplers'), see README. */
ag_ddpm_sample_opts ag_ddpm_default_sample_opts(void);

/* n images [n, H, W] f32 in [0, 1]; labels[n] the class of each image
 * (NULL: image i gets class (first + i) % classes; an unconditional model
 * takes none). One planned UNet graph per batch shape runs once per step,
 * guidance as one doubled batch [cond; uncond]; the last batch is padded
 * with images past the end, so every batch has one shape. Unknown samplers,
 * steps outside 1..T and labels out of range are errors. */
ag_status ag_ddpm_sample(ag_ddpm *m, const ag_ddpm_sample_opts *o, int64_t n,
                         const int32_t *labels, float *images);

#ifdef __cplusplus
}
#endif

#endif
