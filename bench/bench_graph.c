/* `aigc-bench graph`: whole training steps (forward + backward, no
 * optimizer) run through the scheduler, for two graphs:
 *   classifier   the Fashion-MNIST classifier (models/ag_classifier.h),
 *                batch 128 of random 1x28x28 images with random labels
 *   transformer  4 pre-norm causal transformer blocks and a final layernorm (B=8, T=128, C=256,
 *                H=4) on random activations, a dense head to 256 classes
 *                and cross-entropy against random labels; B=4 on the CPU,
 *                so a step stays near half a second there. Shapes are
 *                fixed, so runs on one kind of device compare.
 * A step is timed with backend events around ag_sched_run (CUDA events on a
 * GPU): the median of `reps` runs after two warm-up runs. Each graph is
 * built and planned afresh for every plan it is timed under:
 *   default   ag_sched_defaults() with plain launches (cuda_graph = 0)
 *   no plan   reuse = 0 and inplace = 0: every intermediate in a block of
 *             its own, no op writing over its input
 *   replay    the defaults with cuda_graph = 1, where the backend can
 *             capture: the second warm-up run is captured and every timed
 *             run replays it
 * The scheduler's statistics (arena, kernels, streams) are the default
 * plan's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ag_bench.h"
#include "models/ag_classifier.h"
#include "models/ag_transformer.h"
#include "runtime/ops/ag_ops.h"

typedef struct gb_case {
  /* Adds the step's inputs (random images or activations, and labels) and
   * returns its loss. */
  ag_tensor *(*loss)(ag_graph *g, ag_params *p, const ag_bench_graph *r, ag_tensor **x,
                     ag_tensor **labels);
  ag_bench_graph shape; /* name, item and dimensions filled in */
  int64_t cpu_batch;    /* the batch on the CPU */
} gb_case;

static ag_tensor *classifier_loss(ag_graph *g, ag_params *p, const ag_bench_graph *r, ag_tensor **x,
                                  ag_tensor **labels) {
  ag_classifier_config c = ag_classifier_default_config();
  const int64_t xs[4] = {r->batch, 1, c.height, c.width};
  *x = ag_graph_input(g, "images", AG_F32, 4, xs);
  *labels = ag_graph_input(g, "labels", AG_I32, 1, &r->batch);
  return ag_cross_entropy(g, ag_classifier_forward(g, p, &c, *x, NULL), *labels);
}

static ag_tensor *transformer_loss(ag_graph *g, ag_params *p, const ag_bench_graph *r,
                                   ag_tensor **x, ag_tensor **labels) {
  const int64_t xs[3] = {r->batch, r->seq, r->channels}, n = r->batch * r->seq;
  const ag_transformer_config c = {r->layers, r->heads, r->classes, 1};
  *x = ag_graph_input(g, "x", AG_F32, 3, xs);
  *labels = ag_graph_input(g, "labels", AG_I32, 1, &n);
  return ag_cross_entropy(g, ag_transformer_logits(g, p, &c, *x), *labels);
}

static const gb_case gb_cases[] = {
    {classifier_loss,
     {.name = "classifier", .item = "img", .batch = 128, .channels = 1, .classes = 10},
     128},
    {transformer_loss,
     {.name = "transformer",
      .item = "tok",
      .batch = 8,
      .seq = 128,
      .channels = 256,
      .heads = 4,
      .layers = 4,
      .classes = 256},
     4},
};

typedef struct gb_step {
  ag_graph *g;
  ag_sched *s;
} gb_step;

static void gb_step_free(gb_step *st) {
  ag_sched_free(st->s);
  ag_graph_free(st->g);
  memset(st, 0, sizeof *st);
}

/* Labels uniform in [0, classes), from a small generator seeded per call so
 * every plan sees the same data. */
static ag_status gb_fill_labels(ag_tensor *labels, int64_t classes) {
  const int64_t n = ag_tensor_numel(labels);
  int32_t *host = malloc(sizeof *host * (size_t)n);
  if (!host) return ag_set_error(AG_ERR_OOM, "bench: out of host memory");
  uint64_t state = 0x9e3779b97f4a7c15ull;
  for (int64_t i = 0; i < n; i++) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    host[i] = (int32_t)((state >> 33) % (uint64_t)classes);
  }
  ag_status st = ag_tensor_write(labels, host, sizeof *host * (size_t)n);
  free(host);
  return st;
}

/* Builds the step (loss and its backward), plans it under `o` and fills
 * its inputs. */
static ag_status gb_build(ag_backend *be, ag_params *p, const gb_case *gc, const ag_bench_graph *r,
                          const ag_sched_opts *o, gb_step *st) {
  memset(st, 0, sizeof *st);
  st->g = ag_graph_new(be);
  if (!st->g) return ag_set_error(AG_ERR_OOM, "bench: out of host memory");
  ag_tensor *x = NULL, *labels = NULL;
  ag_tensor *loss = ag_graph_output(st->g, gc->loss(st->g, p, r, &x, &labels));
  ag_status s = ag_graph_status(st->g);
  if (s == AG_OK) s = ag_backward(st->g, loss);
  if (s == AG_OK) s = ag_graph_status(st->g);
  if (s != AG_OK) return ag_set_error(s, "graph %s: %s", gc->shape.name, ag_graph_error(st->g));
  AG_TRY(ag_sched_new(st->g, o, &st->s));
  AG_TRY(ag_eager_fill_normal(x, 7, 0, 0.0f, 1.0f));
  return gb_fill_labels(labels, r->classes);
}

static ag_status gb_step_run(void *sched) { return ag_sched_run(sched); }

/* Builds, plans and times the step under `o`; `stats` (may be NULL) gets
 * the plan's statistics after the runs. */
static ag_status gb_measure(ag_backend *be, ag_params *p, const gb_case *gc,
                            const ag_bench_graph *r, const ag_sched_opts *o, int warmup, int reps,
                            double *ms, ag_sched_stats *stats) {
  gb_step st;
  ag_status s = gb_build(be, p, gc, r, o, &st);
  if (s == AG_OK) s = ag_bench_median_ms(be, gb_step_run, st.s, warmup, reps, NULL, ms, NULL);
  if (s == AG_OK && stats) *stats = ag_sched_get_stats(st.s);
  gb_step_free(&st);
  return s;
}

static void gb_describe(ag_bench_graph *r) {
  if (r->seq)
    snprintf(r->shape, sizeof r->shape, "B=%lld T=%lld C=%lld H=%lld L=%lld V=%lld",
             (long long)r->batch, (long long)r->seq, (long long)r->channels, (long long)r->heads,
             (long long)r->layers, (long long)r->classes);
  else
    snprintf(r->shape, sizeof r->shape, "B=%lld %lldx28x28 classes=%lld", (long long)r->batch,
             (long long)r->channels, (long long)r->classes);
  r->items = r->batch * (r->seq ? r->seq : 1);
}

static ag_status gb_run_case(ag_backend *be, const gb_case *gc, int reps, ag_bench_graph *r) {
  ag_sched_opts plain = ag_sched_defaults(), no_plan, replay;
  plain.cuda_graph = 0;
  no_plan = plain;
  no_plan.reuse = 0;
  no_plan.inplace = 0;
  replay = plain;
  replay.cuda_graph = 1;
  *r = gc->shape;
  if (be->kind != AG_DEVICE_CUDA) r->batch = gc->cpu_batch;
  gb_describe(r);
  ag_params *p = ag_params_new(be, 1);
  if (!p) return ag_set_error(AG_ERR_OOM, "bench: out of host memory");
  ag_status st = gb_measure(be, p, gc, r, &plain, 2, reps, &r->ms, &r->stats);
  if (st == AG_OK)
    st = gb_measure(be, p, gc, r, &no_plan, 2, reps, &r->no_plan_ms, &r->no_plan_stats);
  if (st == AG_OK && be->capture_begin)
    st = gb_measure(be, p, gc, r, &replay, 2, reps, &r->replay_ms, &r->replay_stats);
  ag_params_free(p);
  if (st == AG_OK) r->items_per_s = (double)r->items / (r->ms * 1e-3);
  return st;
}

ag_status ag_bench_graphs(ag_backend *be, int reps, ag_bench_graph *out, int max, int *count) {
  *count = 0;
  for (size_t k = 0; k < sizeof gb_cases / sizeof gb_cases[0] && *count < max; k++) {
    AG_TRY(gb_run_case(be, &gb_cases[k], reps, &out[*count]));
    (*count)++;
  }
  return AG_OK;
}
