/* `aigc-bench pipelines`: full training steps of the real models (forward,
 * backward and the AdamW update through ag_dp) built by their own graph
 * functions, against PyTorch running the same models in the same
 * invocation; the same table also holds the generators' sampling rows
 * ("ddim50", group "diffusion", and "gan", group "gan": bench_generators.c)
 * and the NeRF rows (group "nerf": bench_nerf.c), which this file's
 * ag_bench_pipelines runs after its own and whose memory and peer they
 * measure with the same functions (ag_bench_memory_*, ag_bench_run_peer).
 * Training rows, all in the group "transformer":
 *   gpt-mini    ag_gpt_logits + cross-entropy, 6 layers, 384 wide, 6 heads,
 *               sequence 256, GPT-2's vocabulary of 50257; quick everywhere
 *   gpt2-small  the same at GPT-2 small's shape: 12 layers, 768 wide, 12
 *               heads, sequence 1024, vocabulary 50257 (untied head, so 163M
 *               parameters against GPT-2's 124M); by default on CUDA only,
 *               opt-in on the CPU (--full), where a step takes tens of seconds
 *   clip        ag_clip_image_embed + ag_clip_text_embed + ag_clip_loss at
 *               ag_clip_default_config(), the logit scale clamped after every
 *               update, as ag_clip_train does
 * Batches per rank: GPT 1 sequence on the CPU and 8 on CUDA; CLIP the
 * training default (ag_clip_default_train_opts: 256 pairs) everywhere. The
 * optimizer settings are each model's training defaults (lr, weight decay,
 * beta2, and GPT's gradient clipping at norm 1). Data is random, written
 * once, the same every step: the bench times the training step, not data
 * loading.
 *
 * Timing: ag_bench_median_ms over `steps` steps after 1 warm-up step on the
 * CPU, 2 on CUDA (the peer warms up and times the same counts). A step is
 * ag_sched_run + ag_dp_step (+ the clamp for CLIP).
 *
 * FLOPs and MFU (GPT rows), in llm.c's convention: per token 6 N + 6 L C T,
 * N = every parameter but the token and position embedding tables (pure
 * lookups; the untied head is counted). MFU is of the device's bf16 peak on
 * CUDA (the spec sheet), and on the CPU of both peaks the bench measures
 * (oneDNN's matmul on 2048^2, f32 and bf16), labelled.
 *
 * Precision: what training uses by default on each device (the CLI's
 * --dtype auto): bf16 compute over f32 master weights on CUDA, with the
 * peer under bf16 autocast; f32 on the CPU, both sides.
 *
 * Memory, per rank, from just before the model is created to the end of the
 * row: on the CPU the growth of the process's peak RSS, on CUDA of the
 * caching allocator's peak in use. Cached blocks are returned first. The
 * CPU's high-water mark is reset for the row through /proc/self/clear_refs;
 * where it cannot be, or on CUDA, where the allocator's peak is never reset,
 * a row whose peak stays under an earlier row's reports its resident growth
 * at the end instead, flagged as a lower bound (peak_exact = 0).
 *
 * Data parallel: under mpirun every rank runs the row's batch, so a step
 * processes world x batch items; the step time is the mean of the ranks'
 * medians and MFU is of the peaks summed over the ranks (measured by all of
 * them at the same time, so ranks sharing a CPU share its peak). The peer
 * runs only on a single rank. */
#include <cjson/cJSON.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "ag_bench.h"
#include "models/transformer/ag_clip.h"
#include "models/transformer/ag_gpt.h"
#include "runtime/core/ag_info.h"
#include "runtime/dist/ag_dp.h"
#include "runtime/ops/ag_ops.h"

#define BP_GROUP "transformer"
/* No kernel case's name contains a space, so ag_bench_kernels with this
 * filter measures the peaks alone. */
#define BP_PEAKS_ONLY "peaks only"

typedef enum bp_model { BP_GPT, BP_CLIP } bp_model;

typedef struct bp_case {
  const char *name;
  bp_model model;
  ag_gpt_config gpt;            /* BP_GPT; context is the sequence length */
  int64_t cpu_batch, gpu_batch; /* BP_GPT; CLIP takes its training default */
  int large;                    /* default on CUDA only, opt-in on the CPU */
} bp_case;

static const bp_case bp_cases[] = {
    {.name = "gpt-mini",
     .model = BP_GPT,
     .gpt = {.vocab = 50257, .context = 256, .layers = 6, .width = 384, .heads = 6},
     .cpu_batch = 1,
     .gpu_batch = 8},
    {.name = "gpt2-small",
     .model = BP_GPT,
     .gpt = {.vocab = 50257, .context = 1024, .layers = 12, .width = 768, .heads = 12},
     .cpu_batch = 1,
     .gpu_batch = 8,
     .large = 1},
    {.name = "clip", .model = BP_CLIP},
};

/* A model's training optimizer settings, shared with the peer. */
typedef struct bp_optim {
  float lr, weight_decay, beta2, clip_norm;
} bp_optim;

/* As gpt_train.c and clip_train.c set them: their defaults, and the beta2
 * each fixes (0.95 GPT-2's, 0.98 CLIP's). */
static bp_optim bp_optim_of(bp_model m) {
  if (m == BP_GPT) {
    const ag_gpt_train_opts o = ag_gpt_default_train_opts();
    return (bp_optim){o.lr, o.weight_decay, 0.95f, o.clip_norm};
  }
  const ag_clip_train_opts o = ag_clip_default_train_opts();
  return (bp_optim){o.lr, o.weight_decay, 0.98f, 0.0f};
}

/* ---- memory ----------------------------------------------------------- */

/* VmRSS and VmHWM of this process in MiB; 0 where /proc has none. */
static void bp_rss(double *rss_mb, double *hwm_mb) {
  *rss_mb = *hwm_mb = 0;
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return;
  char line[256];
  long long kb;
  while (fgets(line, sizeof line, f)) {
    if (sscanf(line, "VmRSS: %lld kB", &kb) == 1) *rss_mb = (double)kb / 1024;
    if (sscanf(line, "VmHWM: %lld kB", &kb) == 1) *hwm_mb = (double)kb / 1024;
  }
  fclose(f);
}

/* Linux resets the peak RSS to the current RSS when "5" is written here. */
static int bp_reset_peak_rss(void) {
  FILE *f = fopen("/proc/self/clear_refs", "w");
  if (!f) return 0;
  int ok = fputs("5", f) >= 0;
  return fclose(f) == 0 && ok;
}

void ag_bench_memory_start(ag_backend *be, ag_bench_memory *m) {
  ag_allocator_release_cached(be->alloc);
  m->cpu = be->kind != AG_DEVICE_CUDA;
  if (m->cpu) {
    malloc_trim(0); /* heap freed by earlier rows goes back to the kernel, out of `base` */
    m->reset = bp_reset_peak_rss();
    bp_rss(&m->base_mb, &m->mark_mb);
    return;
  }
  const ag_alloc_stats s = ag_allocator_stats(be->alloc);
  m->base_mb = (double)s.in_use / (1 << 20);
  m->mark_mb = (double)s.peak / (1 << 20);
  m->reset = 0;
}

void ag_bench_memory_end(ag_backend *be, const ag_bench_memory *m, ag_bench_pipeline *r) {
  double now_mb, peak_mb;
  if (m->cpu) {
    bp_rss(&now_mb, &peak_mb);
  } else {
    const ag_alloc_stats s = ag_allocator_stats(be->alloc);
    now_mb = (double)s.in_use / (1 << 20);
    peak_mb = (double)s.peak / (1 << 20);
  }
  r->peak_exact = m->reset || peak_mb > m->mark_mb;
  r->peak_mb = (r->peak_exact ? peak_mb : now_mb) - m->base_mb;
  snprintf(r->memory, sizeof r->memory, "%s", m->cpu ? "rss" : "allocator");
}

/* ---- the step ------------------------------------------------------------ */

typedef struct bp_step {
  ag_params *p;
  ag_graph *g;
  ag_sched *s;
  ag_dp *dp;
  ag_tensor *in[3]; /* GPT: ids, targets; CLIP: images, ids, eot_rows */
  float lr;
  int clamp_logit_scale;
} bp_step;

static void bp_step_free(bp_step *st) {
  ag_dp_free(st->dp);
  ag_sched_free(st->s);
  ag_graph_free(st->g);
  ag_params_free(st->p);
  memset(st, 0, sizeof *st);
}

static ag_status bp_step_run(void *ctx) {
  bp_step *st = ctx;
  AG_TRY(ag_sched_run(st->s));
  AG_TRY(ag_dp_step(st->dp, st->lr));
  return st->clamp_logit_scale ? ag_clip_clamp_logit_scale(st->p, NULL) : AG_OK;
}

/* The GPT training loss of gpt_train.c: cross-entropy of ag_gpt_logits. */
static ag_tensor *bp_gpt_loss(bp_step *st, const ag_gpt_config *c, int64_t batch) {
  const int64_t shape[2] = {batch, c->context}, tokens = batch * c->context;
  st->in[0] = ag_graph_input(st->g, "ids", AG_I32, 2, shape);
  st->in[1] = ag_graph_input(st->g, "targets", AG_I32, 1, &tokens);
  return ag_cross_entropy(st->g, ag_gpt_logits(st->g, st->p, c, st->in[0]), st->in[1]);
}

/* The CLIP training loss of clip_train.c over this rank's `batch` pairs. */
static ag_tensor *bp_clip_loss(bp_step *st, const ag_clip_config *c, int64_t batch, int world) {
  const int64_t is[4] = {batch, 1, c->vision.height, c->vision.width};
  const int64_t ts[2] = {batch, c->text.context};
  st->in[0] = ag_graph_input(st->g, "images", AG_F32, 4, is);
  st->in[1] = ag_graph_input(st->g, "ids", AG_I32, 2, ts);
  st->in[2] = ag_graph_input(st->g, "eot_rows", AG_I32, 1, &batch);
  ag_tensor *img = ag_clip_image_embed(st->g, st->p, c, st->in[0]);
  ag_tensor *txt = ag_clip_text_embed(st->g, st->p, c, st->in[1], st->in[2], NULL);
  return ag_clip_loss(st->g, st->p, img, txt, world);
}

/* i32 values: element i is i * stride + a draw in [lo, hi) (stride 0:
 * plain draws). A fixed generator, so every run and every rank sees the
 * same data. */
static ag_status bp_fill_ints(ag_tensor *t, int64_t stride, int64_t lo, int64_t hi) {
  const int64_t n = ag_tensor_numel(t);
  int32_t *host = malloc(sizeof *host * (size_t)n);
  if (!host) return ag_set_error(AG_ERR_OOM, "bench: out of host memory");
  uint64_t state = 0x9e3779b97f4a7c15ull;
  for (int64_t i = 0; i < n; i++) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    host[i] = (int32_t)(i * stride + lo + (int64_t)((state >> 33) % (uint64_t)(hi - lo)));
  }
  ag_status s = ag_tensor_write(t, host, sizeof *host * (size_t)n);
  free(host);
  return s;
}

/* Random data of the GPT step: ids and targets in [0, vocab). */
static ag_status bp_gpt_fill(bp_step *st, const ag_gpt_config *c) {
  AG_TRY(bp_fill_ints(st->in[0], 0, 0, c->vocab));
  return bp_fill_ints(st->in[1], 0, 0, c->vocab);
}

/* Random data of the CLIP step: normal pixels, ids in [0, vocab), each
 * caption's end-of-text at a position in [1, context). */
static ag_status bp_clip_fill(bp_step *st, const ag_clip_config *c) {
  AG_TRY(ag_eager_fill_normal(st->in[0], 7, 0, 0.0f, 1.0f));
  AG_TRY(bp_fill_ints(st->in[1], 0, 0, c->text.vocab));
  return bp_fill_ints(st->in[2], c->text.context, 1, c->text.context);
}

/* ---- rows ---------------------------------------------------------------- */

typedef struct bp_env {
  ag_backend *be;
  ag_comm *comm;
  const ag_bench_pipeline_opts *o;
  const ag_bench_pipeline_peaks *peaks;
  int rank, world, cuda;
} bp_env;

static void bp_describe(const bp_case *bc, const ag_clip_config *clip, ag_bench_pipeline *r) {
  if (bc->model == BP_GPT) {
    snprintf(r->shape, sizeof r->shape, "B=%lld T=%lld L=%lld C=%lld H=%lld V=%lld",
             (long long)r->batch, (long long)r->seq, (long long)r->layers, (long long)r->width,
             (long long)r->heads, (long long)r->vocab);
    return;
  }
  const ag_vit_config *v = &clip->vision;
  const ag_clip_text_config *t = &clip->text;
  snprintf(r->shape, sizeof r->shape,
           "B=%lld %lldx%lld/%lld vit %lldx%lld text %lldx%lld T=%lld E=%lld", (long long)r->batch,
           (long long)v->height, (long long)v->width, (long long)v->patch, (long long)v->layers,
           (long long)v->dim, (long long)t->layers, (long long)t->dim, (long long)t->context,
           (long long)clip->embed_dim);
}

/* The row's identity and shape, before anything runs. */
static void bp_row_init(const bp_env *env, const bp_case *bc, const ag_clip_config *clip,
                        ag_bench_pipeline *r) {
  memset(r, 0, sizeof *r);
  snprintf(r->name, sizeof r->name, "%s", bc->name);
  snprintf(r->group, sizeof r->group, "%s", BP_GROUP);
  snprintf(r->item, sizeof r->item, "%s", bc->model == BP_GPT ? "tok" : "img");
  r->world = env->world;
  r->warmup = env->cuda ? 2 : 1;
  r->steps = env->o->steps > 0 ? env->o->steps : env->cuda ? 10 : 3;
  if (bc->model == BP_GPT) {
    r->batch = env->cuda ? bc->gpu_batch : bc->cpu_batch;
    r->seq = bc->gpt.context;
    r->layers = bc->gpt.layers;
    r->width = bc->gpt.width;
    r->heads = bc->gpt.heads;
    r->vocab = bc->gpt.vocab;
  } else {
    r->batch = ag_clip_default_train_opts().batch;
  }
  r->items = r->batch * (r->seq ? r->seq : 1) * r->world;
  bp_describe(bc, clip, r);
  const size_t n = strlen(r->shape);
  snprintf(r->shape + n, sizeof r->shape - n, " %s", env->cuda ? "bf16" : "f32");
}

/* Builds the step's graph, plans it, sets up data parallelism and writes
 * the data. */
static ag_status bp_build(const bp_env *env, const bp_case *bc, const ag_clip_config *clip,
                          const ag_bench_pipeline *r, bp_step *st) {
  const bp_optim opt = bp_optim_of(bc->model);
  st->p = ag_params_new(env->be, 1);
  st->g = st->p ? ag_graph_new(env->be) : NULL;
  if (!st->g) return ag_set_error(AG_ERR_OOM, "bench: out of host memory");
  AG_TRY(ag_params_set_compute_dtype(st->p, env->cuda ? AG_BF16 : AG_F32));
  ag_tensor *loss = bc->model == BP_GPT ? bp_gpt_loss(st, &bc->gpt, r->batch)
                                        : bp_clip_loss(st, clip, r->batch, env->world);
  ag_graph_output(st->g, loss);
  if (ag_graph_status(st->g) == AG_OK) ag_backward(st->g, loss);
  if (ag_graph_status(st->g) != AG_OK)
    return ag_set_error(ag_graph_status(st->g), "pipelines %s: %s", bc->name,
                        ag_graph_error(st->g));
  AG_TRY(ag_sched_new(st->g, NULL, &st->s));
  ag_optim_opts oo = ag_optim_defaults(AG_OPTIM_ADAMW);
  oo.lr = opt.lr;
  oo.weight_decay = opt.weight_decay;
  oo.beta2 = opt.beta2;
  oo.clip_norm = opt.clip_norm;
  const ag_dp_opts dpo = {0};
  AG_TRY(ag_dp_new(env->comm, &oo, &dpo, st->p, st->g, st->s, &st->dp));
  st->lr = opt.lr;
  st->clamp_logit_scale = bc->model == BP_CLIP;
  return bc->model == BP_GPT ? bp_gpt_fill(st, &bc->gpt) : bp_clip_fill(st, clip);
}

static int64_t bp_numel_of(const ag_params *p, const char *name) {
  const ag_tensor *t = ag_params_find(p, name);
  return t ? ag_tensor_numel(t) : 0;
}

/* Parameter counts, and llm.c's FLOPs per token for GPT rows. */
static void bp_count(const bp_case *bc, const ag_params *p, ag_bench_pipeline *r) {
  r->params = ag_params_numel(p);
  if (bc->model != BP_GPT) return;
  r->flop_params = r->params - bp_numel_of(p, "wte.weight") - bp_numel_of(p, "wpe.weight");
  r->flops_per_item = 6.0 * (double)r->flop_params + 6.0 * (double)(r->layers * r->width * r->seq);
}

static void bp_rates(const bp_env *env, ag_bench_pipeline *r) {
  r->items_per_s = (double)r->items / (r->ms * 1e-3);
  r->tflops = r->flops_per_item * r->items_per_s * 1e-12;
  if (env->peaks->bf16_tflops > 0) r->mfu_bf16 = 100.0 * r->tflops / env->peaks->bf16_tflops;
  if (env->peaks->f32_tflops > 0) r->mfu_f32 = 100.0 * r->tflops / env->peaks->f32_tflops;
}

/* Builds and times the row's step on every rank. */
static ag_status bp_measure(const bp_env *env, const bp_case *bc, const ag_clip_config *clip,
                            ag_bench_pipeline *r) {
  ag_bench_memory mem;
  bp_step st = {0};
  ag_bench_memory_start(env->be, &mem);
  ag_status s = bp_build(env, bc, clip, r, &st);
  if (s == AG_OK)
    s = ag_bench_median_ms(env->be, bp_step_run, &st, r->warmup, r->steps, NULL, &r->ms, NULL);
  if (s == AG_OK) {
    bp_count(bc, st.p, r);
    ag_bench_memory_end(env->be, &mem, r);
  }
  bp_step_free(&st);
  if (s != AG_OK) return s;
  AG_TRY(ag_comm_sum_host(env->comm, &r->ms));
  r->ms /= env->world;
  bp_rates(env, r);
  return AG_OK;
}

/* ---- the PyTorch peer ---------------------------------------------------- */

/* The peer's arguments for row r: the model, its shapes, the optimizer and
 * the step counts. */
static void bp_peer_args(const bp_env *env, const bp_case *bc, const ag_clip_config *c,
                         const ag_bench_pipeline *r, char *buf, size_t len) {
  const bp_optim opt = bp_optim_of(bc->model);
  size_t n = (size_t)snprintf(
      buf, len,
      "%s --device %s%s --threads %d --batch %lld --warmup %d --steps %d --lr %g "
      "--weight-decay %g --beta2 %g --clip-norm %g",
      bc->model == BP_GPT ? "gpt" : "clip", env->cuda ? "cuda" : "cpu", env->cuda ? " --bf16" : "",
      ag_cpu_threads(), (long long)r->batch, r->warmup, r->steps, (double)opt.lr,
      (double)opt.weight_decay, (double)opt.beta2, (double)opt.clip_norm);
  if (n >= len) return;
  if (bc->model == BP_GPT) {
    snprintf(buf + n, len - n, " --seq %lld --layers %lld --width %lld --heads %lld --vocab %lld",
             (long long)r->seq, (long long)r->layers, (long long)r->width, (long long)r->heads,
             (long long)r->vocab);
    return;
  }
  snprintf(buf + n, len - n,
           " --image %lld --patch %lld --vision-dim %lld --vision-layers %lld "
           "--vision-heads %lld --text-vocab %lld --context %lld --text-dim %lld "
           "--text-layers %lld --text-heads %lld --embed-dim %lld",
           (long long)c->vision.height, (long long)c->vision.patch, (long long)c->vision.dim,
           (long long)c->vision.layers, (long long)c->vision.heads, (long long)c->text.vocab,
           (long long)c->text.context, (long long)c->text.dim, (long long)c->text.layers,
           (long long)c->text.heads, (long long)c->embed_dim);
}

/* Everything the peer printed on stdout (NUL-terminated, at most cap - 1
 * bytes) and its exit status as pclose gives it; -1 when it did not start. */
static int bp_capture(const char *cmd, char *out, size_t cap) {
  fflush(NULL); /* our buffered output first, the peer's stderr after it */
  FILE *f = popen(cmd, "r");
  out[0] = '\0';
  if (!f) return -1;
  size_t used = 0, got;
  while (used + 1 < cap && (got = fread(out + used, 1, cap - 1 - used, f)) > 0) used += got;
  out[used] = '\0';
  return pclose(f);
}

/* One peer result object into p: available with its time, or a note. */
static void bp_peer_from_json(const cJSON *j, ag_bench_peer *p) {
  const cJSON *avail = cJSON_GetObjectItemCaseSensitive(j, "available");
  const cJSON *why = cJSON_GetObjectItemCaseSensitive(j, "why");
  const cJSON *ms = cJSON_GetObjectItemCaseSensitive(j, "ms");
  if (!cJSON_IsTrue(avail)) {
    snprintf(p->note, sizeof p->note, "%s", cJSON_IsString(why) ? why->valuestring : "no reason");
    return;
  }
  if (!cJSON_IsNumber(ms) || !(ms->valuedouble > 0)) {
    snprintf(p->note, sizeof p->note, "the peer reported no step time");
    return;
  }
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "torch");
  const cJSON *mode = cJSON_GetObjectItemCaseSensitive(j, "mode");
  const cJSON *th = cJSON_GetObjectItemCaseSensitive(j, "threads");
  const cJSON *mb = cJSON_GetObjectItemCaseSensitive(j, "peak_mb");
  const cJSON *params = cJSON_GetObjectItemCaseSensitive(j, "params");
  p->available = 1;
  p->ms = ms->valuedouble;
  snprintf(p->version, sizeof p->version, "%s", cJSON_IsString(v) ? v->valuestring : "?");
  snprintf(p->mode, sizeof p->mode, "%s", cJSON_IsString(mode) ? mode->valuestring : "?");
  p->threads = cJSON_IsNumber(th) ? th->valueint : 0;
  p->peak_mb = cJSON_IsNumber(mb) ? mb->valuedouble : 0;
  p->params = cJSON_IsNumber(params) ? (int64_t)params->valuedouble : 0;
}

/* The peer's JSON line (the last line starting with '{') into r->torch, and
 * its "compile" object, where it has one, into r->torch_compile. */
static void bp_peer_parse(char *out, ag_bench_pipeline *r) {
  char *line = NULL;
  for (char *s = strtok(out, "\n"); s; s = strtok(NULL, "\n"))
    if (s[0] == '{') line = s;
  cJSON *j = line ? cJSON_Parse(line) : NULL;
  if (!j) {
    snprintf(r->torch.note, sizeof r->torch.note, "the peer printed no JSON result");
    return;
  }
  bp_peer_from_json(j, &r->torch);
  const cJSON *compile = cJSON_GetObjectItemCaseSensitive(j, "compile");
  if (cJSON_IsObject(compile)) bp_peer_from_json(compile, &r->torch_compile);
  cJSON_Delete(j);
}

/* Runs the peer and parses what it printed; notes on r->torch say why not. */
static void bp_peer_call(ag_backend *be, const ag_bench_pipeline_opts *o, int world,
                         const char *script, const char *args, ag_bench_pipeline *r) {
  ag_bench_peer *p = &r->torch;
  const char *python = o->python;
  if (!python) return (void)snprintf(p->note, sizeof p->note, "not run (--torch none)");
  if (world > 1)
    return (void)snprintf(p->note, sizeof p->note,
                          "not run under %d ranks (run the one-rank command for it)", world);
  if (be->kind == AG_DEVICE_EMU)
    return (void)snprintf(p->note, sizeof p->note, "no PyTorch peer for the emu backend");
  if (strchr(python, '\''))
    return (void)snprintf(p->note, sizeof p->note, "interpreter path has a quote: %s", python);
  char cmd[1024];
  static char out[1 << 16];
  ag_allocator_release_cached(be->alloc); /* the device's memory is the peer's now */
  snprintf(cmd, sizeof cmd, "'%s' '%s/%s' %s", python, AG_BENCH_PEER_DIR, script, args);
  const int status = bp_capture(cmd, out, sizeof out);
  if (status == -1 || (WIFEXITED(status) && WEXITSTATUS(status) == 127))
    return (void)snprintf(p->note, sizeof p->note, "cannot run %s", python);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return (void)snprintf(p->note, sizeof p->note, "the peer failed (exit status %d)",
                          WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  bp_peer_parse(out, r);
}

/* p's ratio to r (torch ms / aigc ms), with its items/s; 0, and a note,
 * when p's model has another parameter count than r's. */
static double bp_peer_ratio(const ag_bench_pipeline *r, ag_bench_peer *p) {
  if (!p->available) return 0;
  if (p->params && r->params && p->params != r->params) {
    p->available = 0;
    snprintf(p->note, sizeof p->note,
             "not the same architecture: torch has %lld parameters, aigc %lld",
             (long long)p->params, (long long)r->params);
    return 0;
  }
  p->items_per_s = (double)r->items / (p->ms * 1e-3);
  return p->ms / r->ms;
}

void ag_bench_run_peer(ag_backend *be, const ag_bench_pipeline_opts *o, int world,
                       const char *script, const char *args, ag_bench_pipeline *r) {
  bp_peer_call(be, o, world, script, args, r);
  r->ratio = bp_peer_ratio(r, &r->torch);
  r->ratio_compile = bp_peer_ratio(r, &r->torch_compile);
}

/* Runs bench/torch_peer_pipelines.py for training row r. */
static void bp_run_peer(const bp_env *env, const bp_case *bc, const ag_clip_config *clip,
                        ag_bench_pipeline *r) {
  char args[640];
  bp_peer_args(env, bc, clip, r, args, sizeof args);
  ag_bench_run_peer(env->be, env->o, env->world, "torch_peer_pipelines.py", args, r);
}

/* ---- peaks and the table --------------------------------------------------- */

/* Every rank measures at once, after a barrier, and the sums are the job's. */
static ag_status bp_peaks(ag_backend *be, ag_comm *comm, ag_bench_pipeline_peaks *pk) {
  memset(pk, 0, sizeof *pk);
  AG_TRY(ag_comm_barrier(comm));
  ag_device_info dev;
  if (be->kind == AG_DEVICE_CUDA && ag_cuda_device_info(be->device, &dev) == AG_OK) {
    pk->bf16_tflops = dev.peak_bf16_tflops;
    snprintf(pk->source, sizeof pk->source, "%.40s bf16 dense, %.40s", dev.name,
             dev.peak_source ? dev.peak_source : "spec sheet");
  } else if (be->kind == AG_DEVICE_CPU) {
    ag_bench_peaks p;
    int none = 0;
    AG_TRY(ag_bench_kernels(be, BP_PEAKS_ONLY, 3, NULL, 0, &none, &p));
    pk->bf16_tflops = p.gemm_bf16_tflops;
    pk->f32_tflops = p.gemm_f32_tflops;
    snprintf(pk->source, sizeof pk->source, "oneDNN matmul %lld^2, measured (fastest of 3)",
             (long long)p.gemm_size);
  }
  AG_TRY(ag_comm_sum_host(comm, &pk->bf16_tflops));
  return ag_comm_sum_host(comm, &pk->f32_tflops);
}

int ag_bench_full_shapes(const ag_backend *be, const ag_bench_pipeline_opts *o) {
  return be->kind == AG_DEVICE_CUDA || o->full;
}

int ag_bench_row_matches(const char *name, const char *group, const char *filter) {
  return !filter || strstr(name, filter) || strstr(group, filter);
}

size_t ag_bench_name_append(char *names, size_t len, size_t used, const char *name) {
  if (used >= len) return used;
  return used + (size_t)snprintf(names + used, len - used, "%s%s", used ? ", " : "", name);
}

static int bp_matches(const bp_case *bc, const char *filter) {
  return ag_bench_row_matches(bc->name, BP_GROUP, filter);
}

/* Why the row does not run here; NULL when it does. */
static const char *bp_skip_reason(const bp_env *env, const bp_case *bc) {
  if (!bc->large) return NULL;
  if (env->o->small) return "a large row (--small)";
  if (!env->cuda && !env->o->full) return "opt-in on the CPU (--full): tens of seconds a step";
  return NULL;
}

static ag_status bp_run_case(const bp_env *env, const bp_case *bc, ag_bench_pipeline *r) {
  const ag_clip_config clip = ag_clip_default_config();
  bp_row_init(env, bc, &clip, r);
  const char *skip = bp_skip_reason(env, bc);
  if (skip) {
    snprintf(r->skipped, sizeof r->skipped, "%s", skip);
    return AG_OK;
  }
  AG_TRY(bp_measure(env, bc, &clip, r));
  if (env->rank == 0) bp_run_peer(env, bc, &clip, r);
  return AG_OK;
}

ag_status ag_bench_pipelines(ag_backend *be, ag_comm *comm, const ag_bench_pipeline_opts *o,
                             ag_bench_pipeline *rows, int max, int *count,
                             ag_bench_pipeline_peaks *peaks) {
  const size_t n_cases = sizeof bp_cases / sizeof bp_cases[0];
  *count = 0;
  memset(peaks, 0, sizeof *peaks);
  size_t matched = 0;
  for (size_t k = 0; k < n_cases; k++) matched += (size_t)bp_matches(&bp_cases[k], o->filter);
  char sampling[64], nerf[64];
  const int sampled = ag_bench_generators_matching(be, o, sampling, sizeof sampling);
  if (!matched && !sampled && !ag_bench_nerf_matching(o, nerf, sizeof nerf))
    return ag_set_error(AG_ERR_INVALID,
                        "pipelines: no row matches --filter '%s' (rows gpt-mini, gpt2-small, "
                        "clip, %s, %s; groups %s, nerf, diffusion, gan)",
                        o->filter, nerf, sampling, BP_GROUP);
  if (matched) AG_TRY(bp_peaks(be, comm, peaks));
  const bp_env env = {
      be, comm, o, peaks, ag_comm_rank(comm), ag_comm_world(comm), be->kind == AG_DEVICE_CUDA};
  for (size_t k = 0; k < n_cases && *count < max; k++) {
    if (!bp_matches(&bp_cases[k], o->filter)) continue;
    AG_TRY(bp_run_case(&env, &bp_cases[k], &rows[*count]));
    (*count)++;
  }
  AG_TRY(ag_bench_generators(be, comm, o, rows, max, count));
  return ag_bench_nerf(be, comm, o, rows, max, count);
}
