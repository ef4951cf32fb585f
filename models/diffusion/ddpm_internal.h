/* ddpm_internal.h - what the DDPM's training, checkpoint and sampling files
 * share (see ag_ddpm.h); not part of the public API. */
#ifndef AG_DDPM_INTERNAL_H
#define AG_DDPM_INTERNAL_H

#include "ag_ddpm.h"
#include "runtime/dist/ag_dp.h"

#define AG_DDPM_KIND "ddpm"
/* The weight averages' names in a checkpoint: training state to
 * ag_params_load (skipped), the weights sampling uses. */
#define AG_DDPM_EMA_PREFIX AG_ST_STATE_PREFIX "ema/"

struct ag_ddpm {
  ag_ddpm_config c;
  ag_params *p; /* the averaged weights */
  ag_generator_info info;
};

/* The config as JSON (malloc'ed), and back from a checkpoint's metadata:
 * another model kind, or a config that does not parse or check, is an error
 * naming `path`. */
char *ag_ddpm_config_json(const ag_ddpm_config *c);
ag_status ag_ddpm_read_config(const char *path, const ag_safetensors *st, ag_ddpm_config *c);

/* What a checkpoint records about its training besides the config. */
typedef struct ag_ddpm_train_record {
  double seconds;     /* over every run */
  int64_t peak_bytes; /* the largest of the runs' high-water marks */
  const char *device, *dataset;
} ag_ddpm_train_record;
/* The record of an opened checkpoint (zeros and "" where absent); the
 * strings point into st. */
ag_ddpm_train_record ag_ddpm_read_record(const ag_safetensors *st);

/* "optim/ema/<name>" into buf. */
const char *ag_ddpm_ema_name(char *buf, size_t len, const char *name);

/* Writes the checkpoint of ag_ddpm.h: ag_dp's parameters and optimizer
 * state, the averages ema[i] of p's parameter i, the config and the record.
 * Collective; rank 0 writes, atomically, and every rank returns its status. */
ag_status ag_ddpm_save(ag_dp *dp, const char *path, const ag_ddpm_config *c, ag_params *p,
                       ag_tensor *const *ema, const ag_ddpm_train_record *r);

#endif
