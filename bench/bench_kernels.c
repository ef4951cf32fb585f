/* `aigc-bench kernels`: each op timed on one device, with a peer measured in
 * the same run. Times are medians of repeated runs after a warm-up, taken
 * with backend events (CUDA events on a GPU); on a GPU the L2 cache is
 * flushed before every run so each starts cold, as in a real pipeline.
 *
 * Every row reports achieved TFLOP/s (compute-bound ops) or GB/s (memory-
 * bound ops, counting each input and output once) and a ratio against a
 * baseline:
 *   roofline  the device's copy bandwidth, measured here (D2D memcpy)
 *   1 thread  the same CPU kernel on one OpenMP thread (CPU only)
 *   <op>      another op doing the same work (e.g. math attention)
 * and the percentage of the device's peak: the spec sheet's on a GPU, the
 * peaks measured at start on the CPU (ag_bench_peaks). */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ag_bench.h"
#include "runtime/core/ag_info.h"
#include "runtime/ops/ag_ops.h"

#define AG_KB_MAX_IN 6

typedef struct kb_input {
  int ndim;
  int64_t dims[4];
  ag_dtype dtype; /* AG_DTYPE_COUNT: the case's dtype */
} kb_input;

typedef struct kb_case {
  const char *name;
  const char *op;
  /* NULL: roofline (GPU) or 1 thread (CPU); "math": the attention composed
   * of matmul + softmax + matmul, materialising the scores */
  const char *baseline_op;
  ag_dtype dtype;
  int backward;
  kb_input cpu[AG_KB_MAX_IN], gpu[AG_KB_MAX_IN];
  /* Writes the op's typed arguments into the call; NULL: the defaults. */
  void (*args)(ag_op_call *c);
  /* Floating-point work of one run (forward or backward); NULL for
   * memory-bound ops, which report GB/s instead. */
  double (*flops)(const ag_op_call *c, int backward);
} kb_case;

#define T AG_DTYPE_COUNT
#define D1(a) {1, {a}, T}
#define D2(a, b) {2, {a, b}, T}
#define D3(a, b, c) {3, {a, b, c}, T}
#define D4(a, b, c, d) {4, {a, b, c, d}, T}

static double matmul_flops(const ag_op_call *c, int backward) {
  const ag_tensor *a = c->in[0], *b = c->in[1];
  double batch = 1;
  for (int d = 0; d < a->ndim - 2; d++) batch *= (double)a->shape[d];
  const ag_matmul_args args = ag_matmul_args_decode(c);
  double m = (double)a->shape[a->ndim - (args.trans_a ? 1 : 2)];
  double k = (double)a->shape[a->ndim - (args.trans_a ? 2 : 1)];
  double n = (double)b->shape[b->ndim - (args.trans_b ? 2 : 1)];
  return (backward ? 4.0 : 2.0) * batch * m * n * k;
}

/* FlashAttention's convention: 4*B*H*Tq*Tk*D forward (two GEMMs), halved
 * when causal, and 2.5x that for the backward (five GEMMs of the same size,
 * of which one recomputes S). */
static double attention_flops(const ag_op_call *c, int backward) {
  const ag_tensor *q = c->in[0], *k = c->in[1];
  double f = 4.0 * (double)q->shape[0] * (double)q->shape[1] * (double)q->shape[2] *
             (double)k->shape[2] * (double)q->shape[3];
  if (ag_attention_args_decode(c).causal) f /= 2;
  return backward ? 2.5 * f : f;
}

static double conv2d_flops(const ag_op_call *c, int backward) {
  const ag_tensor *x = c->in[0], *w = c->in[1];
  const ag_conv2d_args args = ag_conv2d_args_decode(c);
  int64_t s = args.stride[0], p = args.padding[0];
  double ho = (double)((x->shape[2] + 2 * p - w->shape[2]) / s + 1);
  double wo = (double)((x->shape[3] + 2 * p - w->shape[3]) / s + 1);
  double f = 2.0 * (double)x->shape[0] * (double)w->shape[0] * ho * wo * (double)w->shape[1] *
             (double)w->shape[2] * (double)w->shape[3];
  return backward ? 2 * f : f;
}

/* The cases' op arguments, through each family's encoder. */
static void sum_rows_args(ag_op_call *c) {
  ag_reduce_args_encode(c, &(ag_reduce_args){.axis = -1, .keepdim = 1});
}
static void norm_args(ag_op_call *c) { ag_norm_args_encode(c, &(ag_norm_args){.eps = 1e-5f}); }
static void groupnorm_args(ag_op_call *c) {
  ag_groupnorm_args_encode(c, &(ag_groupnorm_args){.groups = 32, .eps = 1e-5f});
}
static void adamw_args(ag_op_call *c) {
  ag_adamw_args_encode(
      c, &(ag_adamw_args){.lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .step = 1});
}
static void linear_gelu_args(ag_op_call *c) {
  ag_matmul_args_encode(c, &(ag_matmul_args){.epilogue = AG_MATMUL_EPI_GELU});
}
static void conv3x3_args(ag_op_call *c) {
  ag_conv2d_args_encode(c, &(ag_conv2d_args){.stride = {1, 1}, .padding = {1, 1}});
}

static const kb_case kb_cases[] = {
    /* memory-bound: GB/s against the measured copy roofline */
    {"add", "add", NULL, AG_F32, 0, {D2(2048, 1024), D2(2048, 1024)},
     {D2(16384, 4096), D2(16384, 4096)}, NULL, NULL},
    {"add.bias", "add", NULL, AG_BF16, 0, {D2(2048, 1024), D1(1024)}, {D2(16384, 4096), D1(4096)},
     NULL, NULL},
    {"gelu", "gelu", NULL, AG_BF16, 0, {D2(2048, 1024)}, {D2(16384, 4096)}, NULL, NULL},
    {"gelu.bwd", "gelu", NULL, AG_BF16, 1, {D2(2048, 1024)}, {D2(16384, 4096)}, NULL, NULL},
    {"sum.rows", "sum", NULL, AG_F32, 0, {D2(2048, 1024)}, {D2(16384, 4096)}, sum_rows_args,
     NULL},
    {"layernorm", "layernorm", NULL, AG_BF16, 0, {D2(2048, 1024), D1(1024), D1(1024)},
     {D2(16384, 4096), D1(4096), D1(4096)}, norm_args, NULL},
    {"layernorm.bwd", "layernorm", NULL, AG_BF16, 1, {D2(2048, 1024), D1(1024), D1(1024)},
     {D2(16384, 4096), D1(4096), D1(4096)}, norm_args, NULL},
    {"rmsnorm", "rmsnorm", NULL, AG_BF16, 0, {D2(2048, 1024), D1(1024)},
     {D2(16384, 4096), D1(4096)}, norm_args, NULL},
    {"groupnorm", "groupnorm", NULL, AG_BF16, 0, {D4(4, 64, 32, 32), D1(64), D1(64)},
     {D4(16, 256, 64, 64), D1(256), D1(256)}, groupnorm_args, NULL},
    {"softmax", "softmax", NULL, AG_BF16, 0, {D2(2048, 1024)}, {D2(16384, 4096)}, NULL, NULL},
    {"softmax.bwd", "softmax", NULL, AG_BF16, 1, {D2(2048, 1024)}, {D2(16384, 4096)}, NULL,
     NULL},
    {"cross_entropy", "cross_entropy", NULL, AG_BF16, 0,
     {D2(256, 8192), {1, {256}, AG_I32}}, {D2(8192, 50304), {1, {8192}, AG_I32}}, NULL, NULL},
    {"adamw", "adamw", NULL, AG_F32, 0, {D1(1 << 22), D1(1 << 22), D1(1 << 22), D1(1 << 22)},
     {D1(1 << 26), D1(1 << 26), D1(1 << 26), D1(1 << 26)}, adamw_args, NULL},
    {"embedding", "embedding", NULL, AG_BF16, 0, {D2(8192, 256), {1, {4096}, AG_I32}},
     {D2(50304, 1024), {1, {65536}, AG_I32}}, NULL, NULL},
    /* compute-bound: TFLOP/s, % of the device's bf16 peak */
    {"matmul", "matmul", NULL, AG_BF16, 0, {D2(512, 512), D2(512, 512)},
     {D2(8192, 8192), D2(8192, 8192)}, NULL, matmul_flops},
    {"matmul.f32", "matmul", NULL, AG_F32, 0, {D2(512, 512), D2(512, 512)},
     {D2(4096, 4096), D2(4096, 4096)}, NULL, matmul_flops},
    {"linear.gelu", "matmul_bias", NULL, AG_BF16, 0, {D2(512, 768), D2(768, 3072), D1(3072)},
     {D2(8192, 4096), D2(4096, 16384), D1(16384)}, linear_gelu_args, matmul_flops},
    {"matmul.bwd", "matmul", NULL, AG_BF16, 1, {D2(512, 512), D2(512, 512)},
     {D2(8192, 8192), D2(8192, 8192)}, NULL, matmul_flops},
    {"conv2d", "conv2d", NULL, AG_BF16, 0, {D4(2, 32, 32, 32), D4(64, 32, 3, 3)},
     {D4(32, 128, 64, 64), D4(128, 128, 3, 3)}, conv3x3_args, conv2d_flops},
};

#undef T

/* The attention grid: head dims 64 and 128, sequences 1k to 16k, causal and
 * not, forward (against math attention) and backward, bf16. As in
 * FlashAttention-2's benchmark, every GPU row holds 16k tokens
 * (batch = 16384 / seq) at a model width of 2048 (heads = 2048 / head dim),
 * so rows differ in the attention's length, not in the tokens processed. The
 * CPU (and the emulator) run a sixteenth of each: seq 64 to 1024, 1024
 * tokens, width 128. */
static const int64_t kb_attn_head_dims[] = {64, 128};
static const int64_t kb_attn_gpu_seqs[] = {1024, 2048, 4096, 8192, 16384};
enum { KB_ATTN_TOKENS = 16384, KB_ATTN_WIDTH = 2048, KB_ATTN_CPU_SHRINK = 16 };

static void attention_causal_args(ag_op_call *c) {
  ag_attention_args_encode(c, &(ag_attention_args){.causal = 1});
}

/* q, k and v of one grid row: [tokens / seq, width / dim, seq, dim]. */
static void kb_attention_inputs(kb_input *in, int64_t tokens, int64_t width, int64_t seq,
                                int64_t dim) {
  for (int k = 0; k < 3; k++)
    in[k] = (kb_input){4, {tokens / seq, width / dim, seq, dim}, AG_DTYPE_COUNT};
}

/* "1k" for 1024, "64" for 64. */
static void kb_seq_text(int64_t seq, char *buf, size_t len) {
  if (seq % 1024 == 0)
    snprintf(buf, len, "%lldk", (long long)(seq / 1024));
  else
    snprintf(buf, len, "%lld", (long long)seq);
}

/* Grid row `index` (dims slowest, then seqs, causal, backward fastest),
 * named for the shapes it runs on this device, e.g. attention.d128.s4k.causal.bwd. */
static void kb_attention_case(size_t index, int gpu, kb_case *kc, char *name, size_t len) {
  const size_t n_seq = sizeof kb_attn_gpu_seqs / sizeof kb_attn_gpu_seqs[0];
  const int backward = (int)(index % 2), causal = (int)(index / 2 % 2);
  const int64_t seq = kb_attn_gpu_seqs[index / 4 % n_seq],
                dim = kb_attn_head_dims[index / 4 / n_seq];
  const int64_t shrink = KB_ATTN_CPU_SHRINK;
  char seq_text[16];
  kb_seq_text(gpu ? seq : seq / shrink, seq_text, sizeof seq_text);
  snprintf(name, len, "attention.d%lld.s%s%s%s", (long long)dim, seq_text, causal ? ".causal" : "",
           backward ? ".bwd" : "");
  *kc = (kb_case){.name = name,
                  .op = "attention",
                  .baseline_op = backward ? NULL : "math",
                  .dtype = AG_BF16,
                  .backward = backward,
                  .args = causal ? attention_causal_args : NULL,
                  .flops = attention_flops};
  kb_attention_inputs(kc->gpu, KB_ATTN_TOKENS, KB_ATTN_WIDTH, seq, dim);
  kb_attention_inputs(kc->cpu, KB_ATTN_TOKENS / shrink, KB_ATTN_WIDTH / shrink, seq / shrink, dim);
}

static size_t kb_attention_rows(void) {
  return 4 * (sizeof kb_attn_head_dims / sizeof kb_attn_head_dims[0]) *
         (sizeof kb_attn_gpu_seqs / sizeof kb_attn_gpu_seqs[0]);
}

typedef struct kb_run kb_run;
struct kb_run {
  ag_backend *be;
  ag_op op;
  ag_status (*launch)(kb_run *r); /* NULL: the op's forward or backward */
  ag_tensor *scores, *probs, *math_out; /* for the math-attention baseline */
  ag_op_call call;       /* forward call */
  ag_op_call bwd;        /* backward call when timing the backward */
  ag_tensor *owned[3 * AG_OP_MAX_ARGS];
  int n_owned;
  double bytes;
};

static ag_tensor *kb_new(kb_run *r, ag_dtype dt, int ndim, const int64_t *dims) {
  ag_tensor *t = ag_tensor_new(r->be, dt, ndim, dims);
  if (t) r->owned[r->n_owned++] = t;
  return t;
}

/* Float tensors get normal values, integer ones zeros (valid indices). */
static ag_status kb_fill(kb_run *r, ag_tensor *t, uint64_t seed) {
  if (t->dtype == AG_F32 || t->dtype == AG_BF16 || t->dtype == AG_F16)
    return ag_eager_fill_normal(t, seed, 0, 0.0f, 1.0f);
  return r->be->memset(r->be, ag_tensor_data(t), 0, ag_tensor_nbytes(t), NULL);
}

static void kb_release(kb_run *r) {
  for (int k = 0; k < r->n_owned; k++) ag_tensor_free(r->owned[k]);
  r->n_owned = 0;
}

static ag_status kb_prepare(kb_run *r, const kb_case *kc, const kb_input *ins) {
  const ag_op_info *info = ag_op_get_info(r->op);
  ag_shape shapes[AG_OP_MAX_ARGS];
  memset(&r->call, 0, sizeof r->call);
  if (kc->args) kc->args(&r->call);
  r->bytes = 0;
  for (int k = 0; k < info->n_in; k++) {
    ag_dtype dt = ins[k].dtype == AG_DTYPE_COUNT ? kc->dtype : ins[k].dtype;
    ag_tensor *t = kb_new(r, dt, ins[k].ndim, ins[k].dims);
    if (!t) return AG_ERR_OOM;
    AG_TRY(kb_fill(r, t, 10 + (uint64_t)k));
    r->call.in[k] = t;
    r->bytes += (double)ag_tensor_nbytes(t);
  }
  AG_TRY(ag_op_infer(r->op, &r->call, shapes));
  for (int k = 0; k < info->n_out; k++) {
    ag_tensor *t = kb_new(r, shapes[k].dtype, shapes[k].ndim, shapes[k].dims);
    if (!t) return AG_ERR_OOM;
    r->call.out[k] = t;
    r->bytes += (double)ag_tensor_nbytes(t);
  }
  if (!kc->backward) return AG_OK;
  /* The backward reads the inputs, outputs and output gradients and writes
   * the input gradients; count them all. */
  AG_TRY(ag_op_forward(r->be, r->op, &r->call));
  r->bwd = r->call;
  memset(r->bwd.out, 0, sizeof r->bwd.out);
  for (int k = 0; k < info->n_out; k++) {
    const ag_tensor *y = r->call.out[k];
    r->bwd.in[info->n_in + k] = y;
    ag_tensor *g = kb_new(r, y->dtype, y->ndim, y->shape);
    if (!g) return AG_ERR_OOM;
    AG_TRY(kb_fill(r, g, 50 + (uint64_t)k));
    r->bwd.in[info->n_in + info->n_out + k] = g;
    r->bytes += (double)ag_tensor_nbytes(g);
  }
  for (int k = 0; k < info->n_in; k++) {
    const ag_tensor *x = r->call.in[k];
    if (x->dtype == AG_I32 || x->dtype == AG_U8) continue;
    ag_tensor *g = kb_new(r, x->dtype, x->ndim, x->shape);
    if (!g) return AG_ERR_OOM;
    r->bwd.out[k] = g;
    r->bytes += (double)ag_tensor_nbytes(g);
  }
  return AG_OK;
}

static ag_status kb_launch(kb_run *r, int backward) {
  if (r->launch) return r->launch(r);
  return backward ? ag_op_backward(r->be, r->op, &r->bwd) : ag_op_forward(r->be, r->op, &r->call);
}

/* softmax(scale * q k^T, causal) v, with the scores in memory. */
static ag_status math_attention(kb_run *r) {
  const ag_tensor *q = r->call.in[0], *k = r->call.in[1], *v = r->call.in[2];
  const ag_attention_args args = ag_attention_args_decode(&r->call);
  float scale = args.scale != 0.0f ? args.scale : 1.0f / sqrtf((float)q->shape[3]);
  AG_TRY(ag_eager_matmul(r->scores, q, k, (ag_matmul_args){0, 1, 0}));
  AG_TRY(ag_eager_softmax(r->probs, r->scores, scale, args.causal));
  return ag_eager_matmul(r->math_out, r->probs, v, (ag_matmul_args){0, 0, 0});
}

/* Turns a prepared attention run into its math-attention twin. */
static ag_status kb_make_math_attention(kb_run *r) {
  const ag_tensor *q = r->call.in[0], *k = r->call.in[1];
  int64_t s[4] = {q->shape[0], q->shape[1], q->shape[2], k->shape[2]};
  r->scores = kb_new(r, q->dtype, 4, s);
  r->probs = kb_new(r, q->dtype, 4, s);
  r->math_out = kb_new(r, q->dtype, 4, q->shape);
  if (!r->scores || !r->probs || !r->math_out) return AG_ERR_OOM;
  r->launch = math_attention;
  return AG_OK;
}

/* qsort order of float milliseconds. */
static int cmp_ms(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

ag_status ag_bench_median_ms(ag_backend *be, ag_status (*run)(void *ctx), void *ctx, int warmup,
                             int reps, ag_tensor *flush, double *ms, double *best) {
  void *e0 = NULL, *e1 = NULL;
  float *t = calloc((size_t)reps, sizeof *t);
  ag_status st = t ? AG_OK : ag_set_error(AG_ERR_OOM, "bench: out of host memory");
  if (st == AG_OK) st = be->event_create(be, &e0, 1);
  if (st == AG_OK) st = be->event_create(be, &e1, 1);
  for (int k = 0; k < warmup && st == AG_OK; k++) st = run(ctx);
  for (int k = 0; k < reps && st == AG_OK; k++) {
    if (flush) st = be->memset(be, ag_tensor_data(flush), k & 0xff, ag_tensor_nbytes(flush), NULL);
    if (st == AG_OK) st = be->event_record(be, e0, NULL);
    if (st == AG_OK) st = run(ctx);
    if (st == AG_OK) st = be->event_record(be, e1, NULL);
    if (st == AG_OK) st = be->event_elapsed_ms(be, e0, e1, &t[k]);
  }
  if (st == AG_OK) {
    qsort(t, (size_t)reps, sizeof *t, cmp_ms);
    *ms = t[reps / 2];
    if (best) *best = t[0];
  }
  if (e0) be->event_destroy(be, e0);
  if (e1) be->event_destroy(be, e1);
  free(t);
  return st;
}

/* An op run to time, in one direction. */
typedef struct kb_timed {
  kb_run *r;
  int backward;
} kb_timed;

static ag_status kb_timed_launch(void *ctx) {
  const kb_timed *t = ctx;
  return kb_launch(t->r, t->backward);
}

/* Median of `reps` timed runs after a warm-up; `flush` (GPU only) is
 * overwritten before each run to evict the L2 cache. */
static ag_status kb_time(kb_run *r, int backward, int reps, ag_tensor *flush, double *ms) {
  kb_timed t = {r, backward};
  return ag_bench_median_ms(r->be, kb_timed_launch, &t, 1, reps, flush, ms, NULL);
}

/* A device-to-device copy of all of `src` into `dst`. */
typedef struct kb_copy {
  ag_backend *be;
  ag_tensor *src, *dst;
} kb_copy;

static ag_status kb_copy_run(void *ctx) {
  const kb_copy *c = ctx;
  return c->be->copy(c->be, ag_tensor_data(c->dst), ag_tensor_data(c->src),
                     ag_tensor_nbytes(c->src), AG_COPY_D2D, NULL);
}

/* Device copy bandwidth (read + write) of the fastest run, the roofline for
 * memory-bound ops. */
static ag_status kb_copy_bandwidth(ag_backend *be, int reps, double *gbps) {
  int64_t n = be->kind == AG_DEVICE_CUDA ? (int64_t)1 << 28 : (int64_t)1 << 25;
  ag_tensor *a = ag_tensor_new(be, AG_U8, 1, &n), *b = ag_tensor_new(be, AG_U8, 1, &n);
  ag_status st = a && b ? AG_OK : AG_ERR_OOM;
  kb_copy c = {be, a, b};
  double ms = 0;
  if (st == AG_OK) st = be->memset(be, ag_tensor_data(a), 1, (size_t)n, NULL);
  double best = 0;
  if (st == AG_OK) st = ag_bench_median_ms(be, kb_copy_run, &c, 0, reps, NULL, &ms, &best);
  if (st == AG_OK) *gbps = 2.0 * (double)n / (best * 1e6);
  ag_tensor_free(a);
  ag_tensor_free(b);
  return st;
}

static void kb_shape_text(const ag_op_call *c, int n_in, char *buf, size_t len) {
  size_t used = 0;
  buf[0] = '\0';
  for (int k = 0; k < n_in && used < len; k++) {
    char d[64];
    used += (size_t)snprintf(buf + used, len - used, "%s%s", k ? " " : "",
                             ag_tensor_describe(c->in[k], d, sizeof d));
  }
}

typedef struct kb_env {
  ag_backend *be;
  ag_device_info dev;
  int have_dev;
  ag_bench_peaks peaks;
  ag_tensor *flush;
  int reps;
} kb_env;

/* The peak a row is measured against, in its own unit; 0 when unknown. */
static double kb_peak(const kb_env *env, const kb_case *kc) {
  if (env->be->kind != AG_DEVICE_CPU) {
    if (!env->have_dev) return 0;
    return kc->flops ? env->dev.peak_bf16_tflops : env->dev.peak_mem_gbps;
  }
  if (!kc->flops) return env->peaks.copy_gbps;
  return kc->dtype == AG_F32 ? env->peaks.gemm_f32_tflops : env->peaks.gemm_bf16_tflops;
}

/* Times `kc` and, for its baseline, the peer; fills one row. */
static ag_status kb_run_case(kb_env *env, const kb_case *kc, ag_bench_row *row) {
  int gpu = env->be->kind == AG_DEVICE_CUDA;
  kb_run r = {.be = env->be, .op = ag_op_by_name(kc->op)};
  const ag_op_info *info = ag_op_get_info(r.op);
  double ms = 0;
  ag_status st = kb_prepare(&r, kc, gpu ? kc->gpu : kc->cpu);
  if (st == AG_OK) st = kb_time(&r, kc->backward, env->reps, env->flush, &ms);
  memset(row, 0, sizeof *row);
  snprintf(row->op, sizeof row->op, "%s", kc->name);
  snprintf(row->kernel, sizeof row->kernel, "%s", kc->op);
  row->backward = kc->backward;
  /* The call's argument storage, for peers that rerun the op by slot. */
  memcpy(row->f, r.call.f, sizeof row->f);
  memcpy(row->i, r.call.i, sizeof row->i);
  snprintf(row->dtype, sizeof row->dtype, "%s", ag_dtype_name(kc->dtype));
  if (st == AG_OK) kb_shape_text(&r.call, info->n_in, row->shape, sizeof row->shape);
  row->ms = ms;
  row->bytes = r.bytes;
  const double peak = kb_peak(env, kc);
  if (st == AG_OK && kc->flops) row->tflops = kc->flops(&r.call, kc->backward) / (ms * 1e9);
  else if (st == AG_OK) row->gbps = r.bytes / (ms * 1e6);
  if (st == AG_OK && peak > 0) row->pct_peak = 100.0 * (kc->flops ? row->tflops : row->gbps) / peak;
  kb_release(&r);
  if (st != AG_OK) return st;
  if (kc->baseline_op) {
    int math = strcmp(kc->baseline_op, "math") == 0;
    kb_run b = {.be = env->be, .op = math ? r.op : ag_op_by_name(kc->baseline_op)};
    double bms = 0;
    snprintf(row->baseline, sizeof row->baseline, "%s", kc->baseline_op);
    if (b.op == AG_OP_COUNT) return AG_OK;
    st = kb_prepare(&b, kc, gpu ? kc->gpu : kc->cpu);
    if (st == AG_OK && math) st = kb_make_math_attention(&b);
    if (st == AG_OK) st = kb_time(&b, kc->backward, env->reps, env->flush, &bms);
    kb_release(&b);
    row->ratio = bms / ms;
  } else if (!gpu) {
    /* The same kernel on one thread: the parallel speedup. */
    kb_run one = {.be = env->be, .op = r.op};
    double one_ms = 0;
    int threads = omp_get_max_threads();
    snprintf(row->baseline, sizeof row->baseline, "1 thread");
    omp_set_num_threads(1);
    st = kb_prepare(&one, kc, kc->cpu);
    if (st == AG_OK) st = kb_time(&one, kc->backward, env->reps, NULL, &one_ms);
    omp_set_num_threads(threads);
    kb_release(&one);
    row->ratio = one_ms / ms;
  } else if (!kc->flops) {
    snprintf(row->baseline, sizeof row->baseline, "roofline");
    row->ratio = row->gbps / env->peaks.copy_gbps;
  }
  return st;
}

/* TFLOP/s of the matmul op's fastest run on a square product of side
 * `size` in `dt`. */
static ag_status kb_gemm_peak(ag_backend *be, ag_dtype dt, int64_t size, int reps, double *tflops) {
  const kb_case kc = {.name = "peak", .op = "matmul", .dtype = dt,
                      .cpu = {{2, {size, size}, dt}, {2, {size, size}, dt}},
                      .flops = matmul_flops};
  kb_run r = {.be = be, .op = ag_op_by_name("matmul")};
  kb_timed t = {&r, 0};
  double ms = 0, best = 0;
  ag_status st = kb_prepare(&r, &kc, kc.cpu);
  if (st == AG_OK) st = ag_bench_median_ms(be, kb_timed_launch, &t, 1, reps, NULL, &ms, &best);
  if (st == AG_OK) *tflops = matmul_flops(&r.call, 0) / (best * 1e9);
  kb_release(&r);
  return st;
}

/* The CPU's peaks, measured: a product large enough that oneDNN runs at
 * its best, in each dtype the rows use. */
static ag_status kb_cpu_peaks(ag_backend *be, int reps, ag_bench_peaks *p) {
  p->gemm_size = 2048;
  AG_TRY(kb_gemm_peak(be, AG_BF16, p->gemm_size, reps, &p->gemm_bf16_tflops));
  return kb_gemm_peak(be, AG_F32, p->gemm_size, reps, &p->gemm_f32_tflops);
}

/* Runs `kc` into the next row when its name matches `filter` (NULL: all)
 * and its op exists. */
static ag_status kb_run_listed(kb_env *env, const kb_case *kc, const char *filter,
                               ag_bench_row *rows, int max, int *count) {
  if (filter && !strstr(kc->name, filter)) return AG_OK;
  if (ag_op_by_name(kc->op) == AG_OP_COUNT || *count == max) return AG_OK;
  AG_TRY(kb_run_case(env, kc, &rows[*count]));
  (*count)++;
  return AG_OK;
}

ag_status ag_bench_kernels(ag_backend *be, const char *filter, int reps, ag_bench_row *rows,
                           int max, int *count, ag_bench_peaks *peaks) {
  kb_env env = {.be = be, .reps = reps};
  *count = 0;
  env.have_dev = be->kind == AG_DEVICE_CUDA && ag_cuda_device_info(be->device, &env.dev) == AG_OK;
  AG_TRY(kb_copy_bandwidth(be, reps, &env.peaks.copy_gbps));
  if (be->kind == AG_DEVICE_CPU) AG_TRY(kb_cpu_peaks(be, reps, &env.peaks));
  *peaks = env.peaks;
  if (env.have_dev && env.dev.l2_bytes) {
    int64_t n = (int64_t)env.dev.l2_bytes * 2;
    env.flush = ag_tensor_new(be, AG_U8, 1, &n);
    if (!env.flush) return AG_ERR_OOM;
  }
  ag_status st = AG_OK;
  for (size_t k = 0; k < sizeof kb_cases / sizeof kb_cases[0] && st == AG_OK; k++)
    st = kb_run_listed(&env, &kb_cases[k], filter, rows, max, count);
  for (size_t k = 0; k < kb_attention_rows() && st == AG_OK; k++) {
    kb_case kc;
    char name[32];
    kb_attention_case(k, be->kind == AG_DEVICE_CUDA, &kc, name, sizeof name);
    st = kb_run_listed(&env, &kc, filter, rows, max, count);
  }
  ag_tensor_free(env.flush);
  return st;
}
