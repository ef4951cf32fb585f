/* ag_params.h - a model's named parameters. A parameter is created the first
 * time a layer asks for it by name and found again afterwards, so the graphs
 * a model builds (training, evaluation) share one set of weights. Creation
 * initialises it from the set's seed and its name alone (Philox), so the
 * same model starts from the same weights on every backend and whatever the
 * order its layers are built in. Checkpoints are safetensors files holding
 * every parameter under its name plus metadata. */
#ifndef AG_PARAMS_H
#define AG_PARAMS_H

#include "ag_graph.h"
#include "runtime/io/safetensors.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ag_init_kind {
  AG_INIT_ZEROS,
  AG_INIT_ONES,
  AG_INIT_NORMAL,  /* mean 0, std = scale */
  AG_INIT_UNIFORM, /* in [-scale, scale] */
} ag_init_kind;

typedef struct ag_init {
  ag_init_kind kind;
  float scale;
} ag_init;

typedef struct ag_params ag_params;

ag_params *ag_params_new(ag_backend *be, uint64_t seed);
/* Frees the parameters too. NULL is a no-op. */
void ag_params_free(ag_params *p);
ag_backend *ag_params_backend(const ag_params *p);

/* Mixed precision. The dtype graphs over these parameters compute in: f32
 * (the default), bf16 or f16. The parameters themselves, their optimizer
 * state and their checkpoints stay f32 (the master weights): models cast
 * their input activations to this dtype and the shared layers cast each
 * weight to the dtype of the activation it meets (ag_nn_weight), so the
 * rounded copy is made in the graph every step and its gradient flows back
 * to the f32 master through the cast, as PyTorch's autocast does. */
ag_status ag_params_set_compute_dtype(ag_params *p, ag_dtype dt);
ag_dtype ag_params_compute_dtype(const ag_params *p);

/* The parameter `name`, created and initialised on first use. Asking again
 * with another dtype or shape is an error naming both. */
ag_tensor *ag_params_get(ag_params *p, const char *name, ag_dtype dt, int ndim,
                         const int64_t *shape, ag_init init);
/* ag_params_get, wrapped as a parameter of graph g (which records the
 * error, so graph building can go on unchecked). */
ag_tensor *ag_param(ag_graph *g, ag_params *p, const char *name, ag_dtype dt, int ndim,
                    const int64_t *shape, ag_init init);

int ag_params_count(const ag_params *p);
const char *ag_params_name(const ag_params *p, int i);
ag_tensor *ag_params_tensor(const ag_params *p, int i);
/* The parameter called `name`, or NULL. */
ag_tensor *ag_params_find(const ag_params *p, const char *name);
int64_t ag_params_numel(const ag_params *p);

/* Saves every parameter, in creation order, with metadata pairs. */
ag_status ag_params_save(const ag_params *p, const char *path, const char *const *keys,
                         const char *const *values, int n_meta);
/* Loads every parameter from an opened checkpoint. Names, dtypes and shapes
 * must match exactly; otherwise nothing is loaded and the error lists every
 * difference. */
ag_status ag_params_load(ag_params *p, const ag_safetensors *st);
/* AG_OK when the checkpoint at `path` says it holds a model of `kind` (its
 * "aigc.model" metadata); else AG_ERR_INVALID: "PATH is a 'gpt' checkpoint,
 * not a WHAT checkpoint", or that it is not an aigc checkpoint at all. */
ag_status ag_params_check_kind(const ag_safetensors *st, const char *path, const char *kind,
                               const char *what);

#ifdef __cplusplus
}
#endif

#endif
