/* The backend health check (ag_smoke.h): a handful of memory-bound ops,
 * timed, with the bandwidth each achieves. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ag_smoke.h"
#include "runtime/core/ag_info.h"
#include "runtime/ops/ag_ops.h"

static double now_ms(void) { return ag_now_seconds() * 1e3; }

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

typedef struct smoke_ctx {
  ag_backend *be;
  ag_tensor *a, *b, *y, *row_sums, *a_t, *y_t;
} smoke_ctx;

typedef ag_status (*smoke_fn)(smoke_ctx *s);

static ag_status run_fill(smoke_ctx *s) { return ag_eager_fill_normal(s->y, 7, 0, 0.0f, 1.0f); }
static ag_status run_add(smoke_ctx *s) { return ag_eager_add(s->y, s->a, s->b); }
static ag_status run_gelu(smoke_ctx *s) { return ag_eager_gelu(s->y, s->a); }
static ag_status run_sum(smoke_ctx *s) { return ag_eager_sum(s->row_sums, s->a); }
static ag_status run_transpose(smoke_ctx *s) {
  ag_op_call call = {.in = {s->a_t}, .out = {s->y_t}};
  return ag_op_forward(s->be, AG_OP_CONTIGUOUS, &call);
}

/* Median milliseconds of `reps` synchronised runs after one warm-up. */
static ag_status time_op(smoke_ctx *s, smoke_fn fn, int reps, double *ms) {
  double *t = malloc(sizeof *t * (size_t)reps);
  if (!t) return ag_set_error(AG_ERR_OOM, "smoke: out of host memory");
  ag_status st = fn(s);
  if (st == AG_OK) st = s->be->synchronize(s->be, NULL);
  for (int r = 0; r < reps && st == AG_OK; r++) {
    double t0 = now_ms();
    st = fn(s);
    if (st == AG_OK) st = s->be->synchronize(s->be, NULL);
    t[r] = now_ms() - t0;
  }
  if (st == AG_OK) {
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    *ms = t[reps / 2];
  }
  free(t);
  return st;
}

static void free_ctx(smoke_ctx *s) {
  ag_tensor_free(s->a);
  ag_tensor_free(s->b);
  ag_tensor_free(s->y);
  ag_tensor_free(s->row_sums);
  ag_tensor_free(s->a_t);
  ag_tensor_free(s->y_t);
}

static ag_status make_ctx(ag_backend *be, int64_t n, smoke_ctx *s) {
  int64_t cols = 1024, rows = n / cols;
  int64_t shape[2] = {rows, cols}, sums[2] = {rows, 1}, shape_t[2] = {cols, rows};
  memset(s, 0, sizeof *s);
  s->be = be;
  s->a = ag_tensor_new(be, AG_F32, 2, shape);
  s->b = ag_tensor_new(be, AG_F32, 2, shape);
  s->y = ag_tensor_new(be, AG_F32, 2, shape);
  s->row_sums = ag_tensor_new(be, AG_F32, 2, sums);
  s->y_t = ag_tensor_new(be, AG_F32, 2, shape_t);
  s->a_t = s->a ? ag_tensor_permute(s->a, (int[]){1, 0}) : NULL;
  if (!s->b || !s->y || !s->row_sums || !s->y_t || !s->a_t) return AG_ERR_OOM;
  AG_TRY(ag_eager_fill_normal(s->a, 1, 0, 0.0f, 1.0f));
  return ag_eager_fill_normal(s->b, 2, 0, 0.0f, 1.0f);
}

ag_status ag_smoke_run(ag_backend *be, int64_t n, int reps, ag_smoke_row rows[AG_SMOKE_ROWS]) {
  static const struct {
    const char *op;
    smoke_fn fn;
    int tensors_moved; /* n-element f32 tensors read + written */
  } cases[] = {{"fill_normal", run_fill, 1}, {"add", run_add, 3},   {"gelu", run_gelu, 2},
               {"sum", run_sum, 1},          {"transpose", run_transpose, 2}};
  _Static_assert(sizeof cases / sizeof cases[0] == AG_SMOKE_ROWS, "one row per case");
  if (n < 1024 || reps < 1)
    return ag_set_error(AG_ERR_INVALID, "smoke: %lld elements, %d runs (at least 1024 and 1)",
                        (long long)n, reps);
  smoke_ctx s;
  n = n / 1024 * 1024;
  ag_status st = make_ctx(be, n, &s);
  for (int i = 0; st == AG_OK && i < AG_SMOKE_ROWS; i++) {
    ag_smoke_row *r = &rows[i];
    memset(r, 0, sizeof *r);
    snprintf(r->op, sizeof r->op, "%s", cases[i].op);
    snprintf(r->dtype, sizeof r->dtype, "f32");
    snprintf(r->shape, sizeof r->shape, "f32[%lld,1024]", (long long)(n / 1024));
    r->bytes = (double)cases[i].tensors_moved * (double)n * 4.0;
    st = time_op(&s, cases[i].fn, reps, &r->ms);
    r->gbps = r->bytes / (r->ms * 1e6);
  }
  free_ctx(&s);
  return st;
}
