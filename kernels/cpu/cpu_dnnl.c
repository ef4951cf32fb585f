/* oneDNN state of a CPU backend: engine, stream and the plan cache (see
 * cpu_dnnl.h). */
#include "cpu_dnnl.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A cached plan and the key it was built for; a singly linked list, newest
 * first. A process plans a few dozen shapes, so a list is fast enough and
 * keeps the cache obvious. */
typedef struct ag_dnnl_entry {
  struct ag_dnnl_entry *next;
  ag_dnnl_plan plan;
  size_t key_len;
  unsigned char key[]; /* key_len bytes */
} ag_dnnl_entry;

struct ag_dnnl {
  dnnl_engine_t engine;
  dnnl_stream_t stream;
  pthread_mutex_t lock; /* guards `plans` */
  ag_dnnl_entry *plans;
};

ag_status ag_dnnl_error(dnnl_status_t s, const char *kernel, const char *what) {
  if (s == dnnl_out_of_memory)
    return ag_set_error(AG_ERR_OOM, "cpu kernel %s: oneDNN %s: out of memory", kernel, what);
  return ag_set_error(s == dnnl_unimplemented ? AG_ERR_UNSUPPORTED : AG_ERR_INVALID,
                      "cpu kernel %s: oneDNN %s failed (status %d)", kernel, what, (int)s);
}

ag_status ag_cpu_dnnl_open(ag_kernel_ctx *ctx) {
  ag_dnnl *d = calloc(1, sizeof *d);
  if (!d) return ag_set_error(AG_ERR_OOM, "cpu backend: no memory for the oneDNN state");
  dnnl_status_t s = dnnl_engine_create(&d->engine, dnnl_cpu, 0);
  if (s == dnnl_success) s = dnnl_stream_create(&d->stream, d->engine, dnnl_stream_default_flags);
  if (s != dnnl_success) {
    if (d->engine) dnnl_engine_destroy(d->engine);
    free(d);
    return ag_dnnl_error(s, "(backend)", "engine");
  }
  pthread_mutex_init(&d->lock, NULL);
  ctx->onednn = d;
  return AG_OK;
}

static void plan_release(ag_dnnl_plan *p) {
  if (p->prim) dnnl_primitive_destroy(p->prim);
  for (int i = 0; i < p->n_args; i++) {
    if (p->args[i].reorder) dnnl_primitive_destroy(p->args[i].reorder);
    free(p->args[i].scratch);
  }
}

ag_status ag_cpu_dnnl_of(ag_kernel_ctx *ctx, const char *kernel, ag_dnnl **d) {
  *d = ctx ? ctx->onednn : NULL;
  if (*d) return AG_OK;
  return ag_set_error(AG_ERR_INVALID, "cpu kernel %s: the backend has no oneDNN state", kernel);
}

dnnl_engine_t ag_dnnl_engine(const ag_dnnl *d) { return d->engine; }

ag_dnnl_plan *ag_dnnl_find(ag_dnnl *d, const void *key, size_t key_len) {
  ag_dnnl_plan *found = NULL;
  pthread_mutex_lock(&d->lock);
  for (ag_dnnl_entry *e = d->plans; e && !found; e = e->next)
    if (e->key_len == key_len && memcmp(e->key, key, key_len) == 0) found = &e->plan;
  pthread_mutex_unlock(&d->lock);
  return found;
}

/* The layout the primitive wants for `arg`: queried by argument id, so it
 * works the same for forward and backward primitives. */
static const dnnl_memory_desc_t *wanted_md(const_dnnl_primitive_desc_t pd, int arg) {
  return dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, arg);
}

/* Fills in a reorder and its scratch buffer when the primitive wants
 * another layout than the caller's. */
static ag_status plan_arg(ag_dnnl *d, const_dnnl_primitive_desc_t pd, ag_dnnl_arg *a) {
  const dnnl_memory_desc_t *want = wanted_md(pd, a->arg);
  a->want = want ? *want : a->user;
  if (dnnl_memory_desc_equal(&a->want, &a->user)) return AG_OK;
  dnnl_primitive_desc_t rpd = NULL;
  const dnnl_memory_desc_t *from = a->output ? &a->want : &a->user;
  const dnnl_memory_desc_t *to = a->output ? &a->user : &a->want;
  dnnl_status_t s = dnnl_reorder_primitive_desc_create(&rpd, from, d->engine, to, d->engine, NULL);
  if (s == dnnl_success) s = dnnl_primitive_create(&a->reorder, rpd);
  if (rpd) dnnl_primitive_desc_destroy(rpd);
  if (s != dnnl_success) return ag_dnnl_error(s, "(plan)", "reorder");
  size_t bytes = dnnl_memory_desc_get_size(&a->want);
  a->scratch = malloc(bytes ? bytes : 1);
  if (!a->scratch) return ag_set_error(AG_ERR_OOM, "cpu kernel: no memory for a reorder buffer");
  return AG_OK;
}

ag_status ag_dnnl_add(ag_dnnl *d, const void *key, size_t key_len, const_dnnl_primitive_desc_t pd,
                      const ag_dnnl_arg *user_args, int n, ag_dnnl_plan **plan) {
  ag_dnnl_entry *e = calloc(1, sizeof *e + key_len);
  if (!e) return ag_set_error(AG_ERR_OOM, "cpu kernel: no memory for a oneDNN plan");
  memcpy(e->key, key, key_len);
  e->key_len = key_len;
  ag_status st = AG_OK;
  dnnl_status_t s = dnnl_primitive_create(&e->plan.prim, pd);
  if (s != dnnl_success) st = ag_dnnl_error(s, "(plan)", "primitive_create");
  for (int i = 0; i < n && st == AG_OK; i++) {
    e->plan.args[i] = user_args[i];
    e->plan.n_args = i + 1;
    st = plan_arg(d, pd, &e->plan.args[i]);
  }
  if (st != AG_OK) {
    plan_release(&e->plan);
    free(e);
    return st;
  }
  pthread_mutex_lock(&d->lock);
  e->next = d->plans;
  d->plans = e;
  pthread_mutex_unlock(&d->lock);
  *plan = &e->plan;
  return AG_OK;
}

/* Memory objects wrapping caller buffers: created per call (cheap, no
 * allocation of data) so that a plan holds no pointer between calls. */
typedef struct exec_mem {
  dnnl_memory_t m[2 * AG_DNNL_MAX_ARGS];
  int n;
} exec_mem;

static dnnl_status_t wrap(ag_dnnl *d, exec_mem *em, const dnnl_memory_desc_t *md, void *ptr,
                          dnnl_memory_t *out) {
  dnnl_status_t s = dnnl_memory_create(out, md, d->engine, ptr);
  if (s == dnnl_success) em->m[em->n++] = *out;
  return s;
}

static dnnl_status_t run_reorder(ag_dnnl *d, dnnl_primitive_t r, dnnl_memory_t from,
                                 dnnl_memory_t to) {
  dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
  return dnnl_primitive_execute(r, d->stream, 2, args);
}

ag_status ag_dnnl_execute(ag_dnnl *d, const ag_dnnl_plan *plan, void *const *ptrs) {
  exec_mem em = {.n = 0};
  dnnl_exec_arg_t args[AG_DNNL_MAX_ARGS];
  dnnl_memory_t user[AG_DNNL_MAX_ARGS] = {0};
  dnnl_status_t s = dnnl_success;
  for (int i = 0; i < plan->n_args && s == dnnl_success; i++) {
    const ag_dnnl_arg *a = &plan->args[i];
    s = wrap(d, &em, &a->user, ptrs[i], &user[i]);
    args[i] = (dnnl_exec_arg_t){a->arg, user[i]};
    if (s != dnnl_success || !a->reorder) continue;
    s = wrap(d, &em, &a->want, a->scratch, &args[i].memory);
    if (s == dnnl_success && !a->output) s = run_reorder(d, a->reorder, user[i], args[i].memory);
  }
  if (s == dnnl_success) s = dnnl_primitive_execute(plan->prim, d->stream, plan->n_args, args);
  for (int i = 0; i < plan->n_args && s == dnnl_success; i++)
    if (plan->args[i].reorder && plan->args[i].output)
      s = run_reorder(d, plan->args[i].reorder, args[i].memory, user[i]);
  if (s == dnnl_success) s = dnnl_stream_wait(d->stream);
  for (int i = 0; i < em.n; i++) dnnl_memory_destroy(em.m[i]);
  return s == dnnl_success ? AG_OK : ag_dnnl_error(s, "(execute)", "primitive_execute");
}

dnnl_data_type_t ag_dnnl_dtype(ag_dtype dt) {
  switch (dt) {
  case AG_F32: return dnnl_f32;
  case AG_BF16: return dnnl_bf16;
  case AG_F16: return dnnl_f16;
  default: return dnnl_data_type_undef;
  }
}

dnnl_memory_desc_t ag_dnnl_md(ag_dtype dt, int ndim, const int64_t *dims, const int64_t *strides) {
  dnnl_memory_desc_t md;
  memset(&md, 0, sizeof md); /* stays the zero (invalid) desc if init fails */
  dnnl_dims_t dd, ss;
  /* A broadcast dim has size 1; its stride is then irrelevant to the data
   * but not to oneDNN's layout matching, which takes a dense one (the span
   * of the dims inside it) for a plain layout and anything else for an
   * exotic one with only reference kernels. */
  for (int i = ndim - 1; i >= 0; i--) {
    int64_t span = 1;
    for (int j = i + 1; j < ndim; j++)
      if (dd[j] * ss[j] > span) span = dd[j] * ss[j];
    dd[i] = strides[i] == 0 ? 1 : dims[i];
    ss[i] = strides[i] == 0 ? span : strides[i];
  }
  dnnl_memory_desc_init_by_strides(&md, ndim, dd, ag_dnnl_dtype(dt), ss);
  return md;
}

dnnl_memory_desc_t ag_dnnl_md_tag(ag_dtype dt, int ndim, const int64_t *dims,
                                  dnnl_format_tag_t tag) {
  dnnl_memory_desc_t md;
  memset(&md, 0, sizeof md);
  dnnl_dims_t dd;
  for (int i = 0; i < ndim; i++) dd[i] = dims[i];
  dnnl_memory_desc_init_by_tag(&md, ndim, dd, ag_dnnl_dtype(dt), tag);
  return md;
}

void ag_cpu_sgemm(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                  int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
  dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

const char *ag_dnnl_isa_name(void) {
  switch (dnnl_get_effective_cpu_isa()) {
  case dnnl_cpu_isa_sse41: return "sse41";
  case dnnl_cpu_isa_avx: return "avx";
  case dnnl_cpu_isa_avx2: return "avx2";
  case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
  case dnnl_cpu_isa_avx512_core: return "avx512_core";
  case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
  case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
  case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
  default: return "generic";
  }
}

void ag_dnnl_version(char *buf, size_t len) {
  const dnnl_version_t *v = dnnl_version();
  snprintf(buf, len, "%d.%d.%d", v->major, v->minor, v->patch);
}
