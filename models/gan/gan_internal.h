/* gan_internal.h - what the GAN's files share: the checkpoint layout that
 * training writes and resumes from and sampling reads.
 *
 * A checkpoint holds, by name:
 *   gen.*, disc.*            the two networks' weights;
 *   ema.gen.*                the generator that is sampled (the EMA of
 *                            gen.*, or a copy of it without EMA);
 *   stats.*                  batchnorm statistics, the generator's standing
 *                            ones for ema.gen.*;
 *   optim/{m,v}/gen.*, ...   Adam's moments of both networks (ag_dp's names);
 * and metadata: aigc.model "gan", aigc.config (the network), aigc.train (the
 * training options), optim.steps, train seconds and peak bytes, device and
 * dataset. */
#ifndef AG_GAN_INTERNAL_H
#define AG_GAN_INTERNAL_H

#include "ag_gan.h"
#include "runtime/train/ag_train.h"

#define AG_GAN_KIND "gan"
#define AG_GAN_EMA_PREFIX "ema."
#define AG_GAN_STATS_PREFIX "stats."

/* What a checkpoint says besides the tensors. */
typedef struct ag_gan_meta {
  int64_t steps;
  double seconds;
  int64_t peak_bytes;
  char device[32], dataset[64];
  ag_gan_loss loss;
  float r1_gamma, ema_decay;
} ag_gan_meta;

/* The tensors of a training run, as the checkpoint names them. */
typedef struct ag_gan_state {
  ag_params *gen, *disc, *ema, *stats;
  ag_optimizer *gen_opt, *disc_opt; /* NULL: none saved */
} ag_gan_state;

ag_status ag_gan_save(const char *path, const ag_gan_config *c, const ag_gan_meta *m,
                      const ag_gan_state *s);
/* Every tensor of `p` from "<prefix><name>" in the file. */
ag_status ag_gan_load_set(const ag_safetensors *st, const char *path, ag_params *p,
                          const char *prefix);
/* Adam's moments of every parameter of `p` into `o`, and the step count. */
ag_status ag_gan_load_optim(const ag_safetensors *st, const char *path, ag_params *p,
                            ag_optimizer *o, int64_t steps);
ag_status ag_gan_read_meta(const ag_safetensors *st, const char *path, ag_gan_meta *m);
/* Nonzero when the configs differ; buf gets "field a vs b, ...". */
int ag_gan_config_diff(const ag_gan_config *a, const ag_gan_config *b, char *buf, size_t len);

#endif
