/* Named parameters: creation with seeded initialisation, lookup, checkpoints. */
#include "ag_params.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ag_param_entry {
  char name[64];
  ag_tensor *t;
} ag_param_entry;

struct ag_params {
  ag_backend *be;
  uint64_t seed;
  ag_dtype compute; /* what graphs over these weights compute in (ag_params.h) */
  ag_param_entry *items;
  int n, cap;
};

ag_params *ag_params_new(ag_backend *be, uint64_t seed) {
  ag_params *p = calloc(1, sizeof *p);
  if (!p) {
    ag_set_error(AG_ERR_OOM, "params: out of host memory");
    return NULL;
  }
  p->be = be;
  p->seed = seed;
  p->compute = AG_F32;
  return p;
}

void ag_params_free(ag_params *p) {
  if (!p) return;
  for (int i = 0; i < p->n; i++) ag_tensor_free(p->items[i].t);
  free(p->items);
  free(p);
}

ag_backend *ag_params_backend(const ag_params *p) { return p->be; }
ag_dtype ag_params_compute_dtype(const ag_params *p) { return p->compute; }

ag_status ag_params_set_compute_dtype(ag_params *p, ag_dtype dt) {
  if (dt != AG_F32 && dt != AG_BF16 && dt != AG_F16)
    return ag_set_error(AG_ERR_INVALID, "params: compute dtype %s is not f32, bf16 or f16",
                        ag_dtype_name(dt));
  p->compute = dt;
  return AG_OK;
}
int ag_params_count(const ag_params *p) { return p->n; }
const char *ag_params_name(const ag_params *p, int i) { return p->items[i].name; }
ag_tensor *ag_params_tensor(const ag_params *p, int i) { return p->items[i].t; }

ag_tensor *ag_params_find(const ag_params *p, const char *name) {
  for (int i = 0; i < p->n; i++)
    if (strcmp(p->items[i].name, name) == 0) return p->items[i].t;
  return NULL;
}

int64_t ag_params_numel(const ag_params *p) {
  int64_t n = 0;
  for (int i = 0; i < p->n; i++) n += ag_tensor_numel(p->items[i].t);
  return n;
}

/* FNV-1a: a parameter's random stream depends on its name only. */
static uint64_t name_hash(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static ag_status initialise(const ag_params *p, ag_tensor *t, const char *name, ag_init init) {
  const uint64_t seed = p->seed ^ name_hash(name);
  switch (init.kind) {
    case AG_INIT_ZEROS:
      return ag_eager_fill(t, 0.0f);
    case AG_INIT_ONES:
      return ag_eager_fill(t, 1.0f);
    case AG_INIT_NORMAL:
      return ag_eager_fill_normal(t, seed, 0, 0.0f, init.scale);
    case AG_INIT_UNIFORM:
      return ag_eager_fill_uniform(t, seed, 0, -init.scale, init.scale);
  }
  return ag_set_error(AG_ERR_INVALID, "params: %s: unknown initialisation %d", name, init.kind);
}

static ag_tensor *create(ag_params *p, const char *name, ag_dtype dt, int ndim,
                         const int64_t *shape, ag_init init) {
  if (strlen(name) >= sizeof p->items[0].name) {
    ag_set_error(AG_ERR_INVALID, "params: name '%s' is longer than %zu characters", name,
                 sizeof p->items[0].name - 1);
    return NULL;
  }
  if (p->n == p->cap) {
    int cap = p->cap ? p->cap * 2 : 32;
    ag_param_entry *items = realloc(p->items, sizeof *items * (size_t)cap);
    if (!items) {
      ag_set_error(AG_ERR_OOM, "params: out of host memory");
      return NULL;
    }
    p->items = items;
    p->cap = cap;
  }
  ag_tensor *t = ag_tensor_new(p->be, dt, ndim, shape);
  if (!t) return NULL;
  snprintf(t->name, sizeof t->name, "%s", name);
  if (initialise(p, t, name, init) != AG_OK) {
    ag_tensor_free(t);
    return NULL;
  }
  snprintf(p->items[p->n].name, sizeof p->items[0].name, "%s", name);
  p->items[p->n++].t = t;
  return t;
}

ag_tensor *ag_params_get(ag_params *p, const char *name, ag_dtype dt, int ndim,
                         const int64_t *shape, ag_init init) {
  ag_tensor *t = ag_params_find(p, name);
  if (!t) return create(p, name, dt, ndim, shape, init);
  ag_shape want = {dt, ndim, {0}}, have = ag_shape_of(t);
  memcpy(want.dims, shape, sizeof(int64_t) * (size_t)ndim);
  int same = have.dtype == dt && have.ndim == ndim &&
             memcmp(have.dims, want.dims, sizeof(int64_t) * (size_t)ndim) == 0;
  if (same) return t;
  char dh[64], dw[64];
  ag_set_error(AG_ERR_INVALID, "params: '%s' exists as %s, asked for as %s", name,
               ag_shape_describe(&have, dh, sizeof dh), ag_shape_describe(&want, dw, sizeof dw));
  return NULL;
}

ag_tensor *ag_param(ag_graph *g, ag_params *p, const char *name, ag_dtype dt, int ndim,
                    const int64_t *shape, ag_init init) {
  if (ag_graph_status(g) != AG_OK) return NULL;
  ag_tensor *t = ag_params_get(p, name, dt, ndim, shape, init);
  if (!t) {
    ag_graph_set_error(g, AG_ERR_INVALID, ag_last_error());
    return NULL;
  }
  return ag_graph_param(g, t);
}

/* Name and tensor arrays in creation order, for the safetensors calls. */
static ag_status list(const ag_params *p, const char ***names, ag_tensor ***tensors) {
  *names = malloc(sizeof **names * (size_t)(p->n + 1));
  *tensors = malloc(sizeof **tensors * (size_t)(p->n + 1));
  if (!*names || !*tensors) {
    free(*names);
    free(*tensors);
    return ag_set_error(AG_ERR_OOM, "params: out of host memory");
  }
  for (int i = 0; i < p->n; i++) {
    (*names)[i] = p->items[i].name;
    (*tensors)[i] = p->items[i].t;
  }
  return AG_OK;
}

ag_status ag_params_save(const ag_params *p, const char *path, const char *const *keys,
                         const char *const *values, int n_meta) {
  const char **names;
  ag_tensor **tensors;
  AG_TRY(list(p, &names, &tensors));
  ag_status st =
      ag_st_save(path, names, (const ag_tensor *const *)tensors, p->n, keys, values, n_meta);
  free(names);
  free(tensors);
  return st;
}

ag_status ag_params_load(ag_params *p, const ag_safetensors *st) {
  const char **names;
  ag_tensor **tensors;
  AG_TRY(list(p, &names, &tensors));
  ag_status s = ag_st_load_params(st, names, tensors, p->n);
  free(names);
  free(tensors);
  return s;
}

ag_status ag_params_check_kind(const ag_safetensors *st, const char *path, const char *kind,
                               const char *what) {
  const char *saved = ag_st_metadata(st, "aigc.model");
  if (saved && strcmp(saved, kind) == 0) return AG_OK;
  if (!saved)
    return ag_set_error(AG_ERR_INVALID,
                        "%s is not an aigc checkpoint (no aigc.model metadata), not a %s one", path,
                        what);
  return ag_set_error(AG_ERR_INVALID, "%s is a '%s' checkpoint, not a %s checkpoint", path, saved,
                      what);
}
