/* ag_train.h - the main header of runtime/train/, which owns what training
 * loops share (optimisers, LR schedules, EMA, the progress line in
 * ag_progress.h); the loops themselves live with their models. Helpers over
 * a set of parameters: an optimizer
 * (AdamW or SGD) with gradient accumulation and global-norm clipping, a
 * warm-up + cosine learning-rate schedule, and an exponential moving average
 * of the weights. Everything runs through eager ops, so it works on every
 * backend; only [1]-element scalars are ever read back to the host. */
#ifndef AG_TRAIN_H
#define AG_TRAIN_H

#include "runtime/graph/ag_params.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ag_optim_kind { AG_OPTIM_ADAMW, AG_OPTIM_SGD } ag_optim_kind;

typedef struct ag_optim_opts {
  ag_optim_kind kind;
  float lr;                /* base learning rate (ag_optimizer_step takes each step's own) */
  float weight_decay;      /* AdamW: decoupled; SGD: L2 added to the gradient */
  float beta1, beta2, eps; /* AdamW */
  float momentum, dampening;
  int nesterov;    /* SGD */
  float clip_norm; /* > 0: clip the global gradient norm to this before the update */
  int accum_steps; /* >= 1: micro-batches whose mean gradient makes one update */
} ag_optim_opts;

/* torch's defaults: AdamW lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay
 * 1e-2; SGD lr 1e-2 (torch has none), no momentum or decay. No clipping,
 * accum_steps 1. */
ag_optim_opts ag_optim_defaults(ag_optim_kind kind);

typedef struct ag_optimizer ag_optimizer;

/* params[i] and grads[i] must have the same shape, float dtype and backend,
 * one backend for all. The optimizer keeps the pointers (the caller owns the
 * tensors and refills the gradients) and allocates its state once, on the
 * params' backend. Every parameter starts with weight decay on. AdamW keeps
 * an f32 master copy of a 16-bit (bf16, f16) parameter and f32 moments: the
 * update runs on the master, the parameter gets it rounded (mixed precision:
 * 16-bit compute, f32 weights). */
ag_status ag_optimizer_new(const ag_optim_opts *o, int n, ag_tensor *const *params,
                           ag_tensor *const *grads, ag_optimizer **out);
/* An optimizer over a model's parameter set, each paired with its gradient
 * in `g` (after ag_backward): the usual setup, where vectors (biases, norm
 * weights) take no weight decay. Parameters the loss does not reach are an
 * error naming them. */
ag_status ag_optimizer_for_params(const ag_optim_opts *o, ag_params *p, const ag_graph *g,
                                  ag_optimizer **out);
void ag_optimizer_free(ag_optimizer *o);
/* decay 0 excludes parameter i from weight decay (biases, norm weights). */
ag_status ag_optimizer_set_decay(ag_optimizer *o, int i, int decay);

/* Call once per micro-batch, after the gradients were computed. With
 * accum_steps k the gradients of k calls are summed and the k-th call applies
 * one update with their mean; *stepped (may be NULL) says whether this call
 * updated the parameters. The (mean) gradient is clipped to clip_norm over all
 * parameters, like torch.nn.utils.clip_grad_norm_; with accum_steps 1 that
 * scales the caller's gradients in place, as torch does. lr is this update's
 * learning rate. */
ag_status ag_optimizer_step(ag_optimizer *o, float lr, int *stepped);
/* Global gradient norm of the last update, before clipping (0 before the
 * first; NaN if it could not be read back). */
float ag_optimizer_last_grad_norm(const ag_optimizer *o);
/* Updates applied so far. */
int64_t ag_optimizer_steps(const ag_optimizer *o);
/* Resuming: the count of updates already applied (AdamW's bias correction
 * and SGD's first momentum step follow it). */
void ag_optimizer_set_steps(ag_optimizer *o, int64_t steps);

/* The state of parameter i, which a checkpoint saves: AG_OPTIM_STATE_M (AdamW's
 * first moment, SGD's momentum buffer), AG_OPTIM_STATE_V (AdamW's second
 * moment) or AG_OPTIM_STATE_MASTER (AdamW's f32 copy of a 16-bit parameter);
 * NULL when the optimizer has none or i is out of range. */
typedef enum ag_optim_state {
  AG_OPTIM_STATE_M,
  AG_OPTIM_STATE_V,
  AG_OPTIM_STATE_MASTER,
  AG_OPTIM_STATE_COUNT
} ag_optim_state;
ag_tensor *ag_optimizer_state(const ag_optimizer *o, int i, ag_optim_state which);

/* Called with the f32 [1] sum of squares of this update's gradients before it
 * is used to clip or logged: an optimizer that holds one shard of the
 * parameters (ZeRO) adds the other ranks' sums here, so norm and clipping are
 * global. NULL removes it. */
typedef ag_status (*ag_optim_norm_hook)(void *user, ag_tensor *sq);
void ag_optimizer_set_norm_hook(ag_optimizer *o, ag_optim_norm_hook fn, void *user);

/* Linear warm-up from 0 at step 0 to `peak` at step `warmup`, then cosine
 * decay to `floor` at step `total`, and `floor` from then on. */
float ag_lr_warmup_cosine(int64_t step, int64_t warmup, int64_t total, float peak, float floor);

/* Exponential moving average of weights: ema = decay * ema + (1 - decay) *
 * param, starting as a copy of the params. */
typedef struct ag_ema ag_ema;
/* decay in [0, 1]. The params must stay alive while the EMA is used. */
ag_status ag_ema_new(int n, ag_tensor *const *params, float decay, ag_ema **out);
ag_status ag_ema_update(ag_ema *e);
/* The average of parameter i (owned by the EMA); NULL if i is out of range. */
ag_tensor *ag_ema_tensor(const ag_ema *e, int i);
/* Copies the averages into the params (before evaluation or saving). */
ag_status ag_ema_copy_to_params(ag_ema *e);
void ag_ema_free(ag_ema *e);

#ifdef __cplusplus
}
#endif

#endif
