/* dp_check: data-parallel training of a small MLP regression, for
 * test_dp.sh, which runs it under `mpirun -np 1` and `-np 2` and compares.
 *   dp_check --device cpu|emu [--comm auto|single|mpi|nccl] [--zero 0|1]
 *            [--steps N] [--save FILE] [--resume FILE]
 * Rank 0 prints one line per step, "step <k> loss <global mean, %.9e>", and
 * nothing else on stdout. The global batch of step k is the same items
 * whatever the world size (rank r takes the r-th contiguous share), so every
 * world size must print the same losses. Exercised on purpose: several
 * gradient buckets (tiny bucket size), parameter counts that the world size
 * does not divide (ZeRO padding, parameters split between ranks), weight
 * decay, global-norm clipping, and checkpoints (written after the last step)
 * resumed on another world size. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/backends/ag_backend_emu.h"
#include "runtime/dist/ag_dp.h"
#include "runtime/graph/ag_params.h"

enum { IN = 13, HIDDEN = 37, OUT = 5, GLOBAL_BATCH = 8, DATA = 256 };

typedef struct check_opts {
  const char *device, *comm, *save, *resume;
  int zero, steps;
} check_opts;

typedef struct mlp {
  ag_graph *g;
  ag_sched *s;
  ag_tensor *x, *y, *loss;
} mlp;

/* Item i of the dataset: inputs in [-1, 1) and a smooth target of them. */
static void item(int64_t i, float *x, float *y) {
  uint64_t h = (uint64_t)i * 0x9E3779B97F4A7C15ull + 1;
  for (int k = 0; k < IN; k++) {
    h ^= h >> 29, h *= 0xBF58476D1CE4E5B9ull, h ^= h >> 32;
    x[k] = (float)((double)(h >> 11) / 9007199254740992.0 * 2.0 - 1.0);
  }
  for (int k = 0; k < OUT; k++) y[k] = sinf(x[k] + 2.0f * x[k + 1]) * x[k + 2];
}

static ag_status build(mlp *m, ag_params *p, int64_t batch) {
  m->g = ag_graph_new(ag_params_backend(p));
  const int64_t xs[2] = {batch, IN}, ys[2] = {batch, OUT};
  m->x = ag_graph_input(m->g, "x", AG_F32, 2, xs);
  m->y = ag_graph_input(m->g, "y", AG_F32, 2, ys);
  const int64_t w1[2] = {HIDDEN, IN}, w2[2] = {OUT, HIDDEN}, b1 = HIDDEN, b2 = OUT;
  const ag_init u = {AG_INIT_UNIFORM, 0.3f};
  ag_tensor *h = ag_linear(m->g, m->x, ag_param(m->g, p, "fc1.weight", AG_F32, 2, w1, u),
                           ag_param(m->g, p, "fc1.bias", AG_F32, 1, &b1, u), AG_MATMUL_EPI_GELU);
  ag_tensor *o = ag_linear(m->g, h, ag_param(m->g, p, "fc2.weight", AG_F32, 2, w2, u),
                           ag_param(m->g, p, "fc2.bias", AG_F32, 1, &b2, u), AG_MATMUL_EPI_NONE);
  m->loss = ag_graph_output(m->g, ag_mse_loss(m->g, o, m->y));
  if (ag_graph_status(m->g) == AG_OK) ag_backward(m->g, m->loss);
  AG_TRY(ag_graph_status(m->g));
  return ag_sched_new(m->g, NULL, &m->s);
}

/* This rank's share of global batch `step`. */
static ag_status write_batch(mlp *m, int64_t step, int rank, int world) {
  const int64_t b = GLOBAL_BATCH / world;
  float x[GLOBAL_BATCH * IN], y[GLOBAL_BATCH * OUT];
  for (int64_t i = 0; i < b; i++)
    item((step * GLOBAL_BATCH + rank * b + i) % DATA, x + i * IN, y + i * OUT);
  AG_TRY(ag_tensor_write(m->x, x, sizeof(float) * (size_t)(b * IN)));
  return ag_tensor_write(m->y, y, sizeof(float) * (size_t)(b * OUT));
}

static ag_status train(const check_opts *o, ag_comm *c, ag_params *p) {
  const int rank = ag_comm_rank(c), world = ag_comm_world(c);
  if (GLOBAL_BATCH % world)
    return ag_set_error(AG_ERR_INVALID, "dp_check: batch %d, %d ranks", GLOBAL_BATCH, world);
  mlp m = {0};
  ag_dp *dp = NULL;
  ag_optim_opts oo = ag_optim_defaults(AG_OPTIM_ADAMW);
  oo.lr = 3e-2f;
  oo.clip_norm = 0.5f;
  const ag_dp_opts dpo = {.zero = o->zero, .bucket_bytes = 600};
  ag_status st = build(&m, p, GLOBAL_BATCH / world);
  if (st == AG_OK) st = ag_dp_new(c, &oo, &dpo, p, m.g, m.s, &dp);
  ag_safetensors *ck = NULL;
  if (st == AG_OK && o->resume) {
    ck = ag_st_open(o->resume);
    st = ck ? ag_params_load(p, ck) : AG_ERR_IO;
    if (st == AG_OK) st = ag_dp_load(dp, ck);
    ag_st_close(ck);
  }
  for (int64_t k = st == AG_OK ? ag_dp_steps(dp) : 0; st == AG_OK && k < o->steps; k++) {
    float loss = 0;
    st = write_batch(&m, k, rank, world);
    if (st == AG_OK) st = ag_sched_run(m.s);
    if (st == AG_OK) st = ag_dp_step(dp, oo.lr);
    if (st == AG_OK) st = ag_tensor_read(m.loss, &loss, sizeof loss);
    double mean = loss;
    if (st == AG_OK) st = ag_dp_mean_host(dp, &mean);
    if (st == AG_OK && rank == 0) printf("step %lld loss %.9e\n", (long long)k, mean);
  }
  if (st == AG_OK && o->save) st = ag_dp_save(dp, o->save, NULL, NULL, 0);
  ag_dp_free(dp);
  ag_sched_free(m.s);
  ag_graph_free(m.g);
  return st;
}

static int parse(int argc, char **argv, check_opts *o) {
  *o = (check_opts){.device = "cpu", .comm = "auto", .steps = 20};
  for (int i = 1; i + 1 < argc; i += 2) {
    const char *k = argv[i], *v = argv[i + 1];
    if (!strcmp(k, "--device")) o->device = v;
    else if (!strcmp(k, "--comm")) o->comm = v;
    else if (!strcmp(k, "--zero")) o->zero = atoi(v);
    else if (!strcmp(k, "--steps")) o->steps = atoi(v);
    else if (!strcmp(k, "--save")) o->save = v;
    else if (!strcmp(k, "--resume")) o->resume = v;
    else return fprintf(stderr, "dp_check: unknown option %s\n", k), 0;
  }
  return argc % 2 == 1;
}

int main(int argc, char **argv) {
  check_opts o;
  if (!parse(argc, argv, &o)) return 2;
  ag_backend *be = strcmp(o.device, "emu") == 0 ? ag_backend_emu() : ag_backend_cpu();
  const int kind = ag_comm_kind_parse(o.comm);
  ag_comm *c = NULL;
  ag_params *p = NULL;
  ag_status st = be && kind >= 0 ? AG_OK : ag_set_error(AG_ERR_INVALID, "bad --device or --comm");
  if (st == AG_OK) st = ag_comm_open(be, &(ag_comm_opts){.kind = (ag_comm_kind)kind}, &c);
  /* Each rank initialises from its own seed: ag_dp_new must broadcast. */
  if (st == AG_OK && !(p = ag_params_new(be, 7 + (uint64_t)ag_comm_rank(c)))) st = AG_ERR_OOM;
  if (st == AG_OK) st = train(&o, c, p);
  ag_params_free(p);
  if (st != AG_OK) {
    fprintf(stderr, "dp_check: error: %s\n", ag_last_error());
    return 1;
  }
  ag_comm_close(c);
  return 0;
}
