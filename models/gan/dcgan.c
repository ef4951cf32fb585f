/* The DCGAN's graphs (see ag_gan.h): generator, discriminator, the three
 * losses, the R1 penalty, and the generator's standing statistics. */
#include "ag_gan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/ag_layers.h"
#include "runtime/sched/ag_sched.h"

#define LEAK 0.2f
#define BN_EPS 1e-5f
/* DCGAN's initialisation of convolution weights: N(0, 0.02). */
#define CONV_INIT ((ag_init){AG_INIT_NORMAL, 0.02f})

ag_gan_config ag_gan_default_config(void) {
  return (ag_gan_config){.height = 28,
                         .width = 28,
                         .zdim = 64,
                         .g_channels = 64,
                         .d_channels = 64,
                         .classes = 0,
                         .embed_dim = 16};
}

ag_status ag_gan_check(const ag_gan_config *c) {
  const struct {
    const char *name;
    int64_t v, lo, hi;
  } f[] = {{"height", c->height, 4, 4096},
           {"width", c->width, 4, 4096},
           {"zdim", c->zdim, 1, 65536},
           {"g_channels", c->g_channels, 1, 65536},
           {"d_channels", c->d_channels, 1, 65536},
           {"classes", c->classes, 0, 65536},
           {"embed_dim", c->embed_dim, 1, 65536}};
  for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
    if (f[i].v < f[i].lo || f[i].v > f[i].hi)
      return ag_set_error(AG_ERR_INVALID, "gan config: %s %lld is outside %lld..%lld", f[i].name,
                          (long long)f[i].v, (long long)f[i].lo, (long long)f[i].hi);
  if (c->height % 4 || c->width % 4)
    return ag_set_error(AG_ERR_INVALID, "gan config: images %lldx%lld; both sides must divide by 4",
                        (long long)c->height, (long long)c->width);
  return AG_OK;
}

/* ---- layers the shared ones do not cover -------------------------------- */

static const char *sub(char *buf, size_t len, const char *name, const char *part) {
  snprintf(buf, len, "%s.%s", name, part);
  return buf;
}

/* 4x4 kernels at stride 2 and padding 1: conv halves the size, the
 * transpose doubles it. No bias: batchnorm or tanh follows (DCGAN). */
static const ag_conv2d_args k4s2 = {{2, 2}, {1, 1}, {1, 1}, 1, 0};

static ag_tensor *conv_down(ag_graph *g, ag_params *p, const char *name, ag_tensor *x,
                            int64_t cout) {
  char n[96];
  if (!x) return NULL;
  const int64_t ws[4] = {cout, x->shape[1], 4, 4};
  ag_tensor *w = ag_param(g, p, sub(n, sizeof n, name, "weight"), x->dtype, 4, ws, CONV_INIT);
  return ag_conv2d(g, x, w, NULL, &k4s2);
}

static ag_tensor *conv_up(ag_graph *g, ag_params *p, const char *name, ag_tensor *x, int64_t cout) {
  char n[96];
  if (!x) return NULL;
  const int64_t ws[4] = {x->shape[1], cout, 4, 4};
  ag_tensor *w = ag_param(g, p, sub(n, sizeof n, name, "weight"), x->dtype, 4, ws, CONV_INIT);
  return ag_conv_transpose2d(g, x, w, &k4s2);
}

/* A statistic of `stats` as a graph constant. */
static ag_tensor *statistic(ag_graph *g, ag_params *stats, const char *name, int64_t c,
                            ag_init_kind init) {
  if (ag_graph_status(g) != AG_OK) return NULL;
  ag_tensor *t = ag_params_get(stats, name, AG_F32, 1, &c, (ag_init){init, 0});
  if (!t) return ag_graph_set_error(g, AG_ERR_INVALID, ag_last_error()), NULL;
  return ag_graph_const(g, t);
}

/* BatchNorm over x's channels. Training normalises with the batch's
 * statistics; momentum 1 makes `running` (when asked for) exactly them. */
static ag_tensor *batchnorm(ag_graph *g, ag_params *p, ag_params *stats, const char *name,
                            ag_tensor *x, int training, ag_tensor **running) {
  char n[96];
  if (!x) return NULL;
  const int64_t c = x->shape[1];
  ag_tensor *w =
      ag_param(g, p, sub(n, sizeof n, name, "weight"), x->dtype, 1, &c, (ag_init){AG_INIT_ONES, 0});
  ag_tensor *b =
      ag_param(g, p, sub(n, sizeof n, name, "bias"), x->dtype, 1, &c, (ag_init){AG_INIT_ZEROS, 0});
  ag_tensor *mean = statistic(g, stats, sub(n, sizeof n, name, "running_mean"), c, AG_INIT_ZEROS);
  ag_tensor *var = statistic(g, stats, sub(n, sizeof n, name, "running_var"), c, AG_INIT_ONES);
  const ag_batchnorm_args a = {.training = training, .eps = BN_EPS, .momentum = 1.0f};
  return ag_batchnorm(g, x, w, b, mean, var, a, running);
}

/* A class embedding table [classes, dim] looked up at labels. */
static ag_tensor *embed(ag_graph *g, ag_params *p, const char *name, ag_tensor *labels,
                        int64_t classes, int64_t dim, float std) {
  const int64_t ts[2] = {classes, dim};
  ag_tensor *t = ag_param(g, p, name, AG_F32, 2, ts, (ag_init){AG_INIT_NORMAL, std});
  if (!labels)
    return ag_graph_set_error(g, AG_ERR_INVALID, "gan: a conditional model needs labels"), NULL;
  return ag_embedding(g, t, labels);
}

/* ---- the networks ------------------------------------------------------- */

#define GEN_BN 2 /* batchnorm layers of the generator */

static ag_tensor *generator(ag_graph *g, ag_params *p, ag_params *stats, const ag_gan_config *c,
                            ag_tensor *z, ag_tensor *labels, int training,
                            ag_tensor *running[GEN_BN]) {
  if (!z) return NULL;
  const int64_t n = z->shape[0], h4 = c->height / 4, w4 = c->width / 4;
  ag_tensor *in =
      c->classes
          ? ag_concat(g, z, embed(g, p, "gen.embed", labels, c->classes, c->embed_dim, 1.0f), 1)
          : z;
  ag_tensor *h = ag_nn_linear(g, p, "gen.fc", in, 2 * c->g_channels * h4 * w4, 0, 0);
  const int64_t s[4] = {n, 2 * c->g_channels, h4, w4};
  h = ag_relu(g, batchnorm(g, p, stats, "gen.bn0", h ? ag_reshape(g, h, 4, s) : NULL, training,
                           running ? &running[0] : NULL));
  h = ag_relu(g, batchnorm(g, p, stats, "gen.bn1", conv_up(g, p, "gen.up1", h, c->g_channels),
                           training, running ? &running[1] : NULL));
  return ag_unary(g, AG_OP_TANH, conv_up(g, p, "gen.up2", h, 1));
}

ag_tensor *ag_gan_generator(ag_graph *g, ag_params *p, ag_params *stats, const ag_gan_config *c,
                            ag_tensor *z, ag_tensor *labels, int training) {
  return generator(g, p, stats, c, z, labels, training, NULL);
}

ag_tensor *ag_gan_discriminator(ag_graph *g, ag_params *p, ag_params *stats, const ag_gan_config *c,
                                ag_tensor *x, ag_tensor *labels) {
  if (!x) return NULL;
  const int64_t n = x->shape[0];
  const int64_t features = 2 * c->d_channels * (c->height / 4) * (c->width / 4);
  ag_tensor *h = ag_leaky_relu(g, conv_down(g, p, "disc.conv1", x, c->d_channels), LEAK);
  h = conv_down(g, p, "disc.conv2", h, 2 * c->d_channels);
  h = ag_leaky_relu(g, batchnorm(g, p, stats, "disc.bn2", h, 1, NULL), LEAK);
  const int64_t flat[2] = {n, features};
  ag_tensor *phi = h ? ag_reshape(g, h, 2, flat) : NULL;
  ag_tensor *logit = ag_nn_linear(g, p, "disc.head", phi, 1, 0, 1);
  if (!c->classes) return logit;
  ag_tensor *proj = ag_mul(g, embed(g, p, "disc.embed", labels, c->classes, features, 0.02f), phi);
  return ag_add(g, logit, ag_sum(g, proj, 1, 1));
}

/* Parameters are created by building a throwaway two-image graph (batch
 * statistics need more than one). */
ag_status ag_gan_init(ag_params *gen, ag_params *disc, ag_params *stats, const ag_gan_config *c) {
  AG_TRY(ag_gan_check(c));
  ag_graph *g = ag_graph_new(ag_params_backend(gen));
  if (!g) return ag_set_error(AG_ERR_OOM, "gan: out of memory");
  const int64_t two = 2, zs[2] = {2, c->zdim};
  ag_tensor *labels = c->classes ? ag_graph_input(g, "labels", AG_I32, 1, &two) : NULL;
  ag_tensor *z = ag_graph_input(g, "z", AG_F32, 2, zs);
  ag_tensor *x = ag_gan_generator(g, gen, stats, c, z, labels, 1);
  if (disc) ag_gan_discriminator(g, disc, stats, c, x, labels);
  ag_status st = ag_graph_status(g);
  if (st != AG_OK) ag_set_error(st, "gan: %s", ag_graph_error(g));
  ag_graph_free(g);
  return st;
}

/* ---- losses ------------------------------------------------------------- */

static const char *const loss_names[] = {"ns", "hinge", "ragan"};

const char *ag_gan_loss_name(ag_gan_loss l) {
  return (unsigned)l < sizeof loss_names / sizeof loss_names[0] ? loss_names[l] : NULL;
}

ag_status ag_gan_loss_parse(const char *name, ag_gan_loss *out) {
  for (int i = 0; i < (int)(sizeof loss_names / sizeof loss_names[0]); i++)
    if (strcmp(name, loss_names[i]) == 0) return *out = (ag_gan_loss)i, AG_OK;
  return ag_set_error(AG_ERR_INVALID, "gan: unknown loss '%s' (ns, hinge or ragan)", name);
}

static ag_tensor *neg(ag_graph *g, ag_tensor *x) { return ag_scale(g, x, -1.0f); }
static ag_tensor *softplus(ag_graph *g, ag_tensor *x) { return ag_unary(g, AG_OP_SOFTPLUS, x); }

/* mean(a(x)) + mean(b(y)) for the two halves of a loss. */
static ag_tensor *two_means(ag_graph *g, ag_tensor *a, ag_tensor *b) {
  return ag_add(g, ag_mean_all(g, a), ag_mean_all(g, b));
}

/* relu(1 + s * x): hinge's margin terms. */
static ag_tensor *margin(ag_graph *g, ag_tensor *x, float s) {
  ag_tensor *one = x ? ag_full(g, x->dtype, x->ndim, x->shape, 1.0f) : NULL;
  return ag_relu(g, ag_add(g, one, ag_scale(g, x, s)));
}

ag_tensor *ag_gan_d_loss(ag_graph *g, ag_gan_loss l, ag_tensor *r, ag_tensor *f) {
  switch (l) {
    case AG_GAN_LOSS_NS:
      return two_means(g, softplus(g, neg(g, r)), softplus(g, f));
    case AG_GAN_LOSS_HINGE:
      return two_means(g, margin(g, r, -1.0f), margin(g, f, 1.0f));
    case AG_GAN_LOSS_RAGAN: {
      ag_tensor *rt = ag_sub(g, r, ag_mean_all(g, f)), *ft = ag_sub(g, f, ag_mean_all(g, r));
      return two_means(g, softplus(g, neg(g, rt)), softplus(g, ft));
    }
  }
  return ag_graph_set_error(g, AG_ERR_INVALID, "gan: unknown loss"), NULL;
}

ag_tensor *ag_gan_g_loss(ag_graph *g, ag_gan_loss l, ag_tensor *r, ag_tensor *f) {
  switch (l) {
    case AG_GAN_LOSS_NS:
      return ag_mean_all(g, softplus(g, neg(g, f)));
    case AG_GAN_LOSS_HINGE:
      return neg(g, ag_mean_all(g, f));
    case AG_GAN_LOSS_RAGAN: {
      if (!r) return ag_graph_set_error(g, AG_ERR_INVALID, "gan: ragan needs real logits"), NULL;
      ag_tensor *rt = ag_sub(g, r, ag_mean_all(g, f)), *ft = ag_sub(g, f, ag_mean_all(g, r));
      return two_means(g, softplus(g, rt), softplus(g, neg(g, ft)));
    }
  }
  return ag_graph_set_error(g, AG_ERR_INVALID, "gan: unknown loss"), NULL;
}

ag_tensor *ag_gan_r1(ag_graph *g, ag_gan_critic d, void *ctx, ag_tensor *x, ag_tensor *v, float h) {
  ag_tensor *hv = ag_scale(g, v, h);
  ag_tensor *up = d(ctx, g, ag_add(g, x, hv)), *down = d(ctx, g, ag_sub(g, x, hv));
  ag_tensor *slope = ag_scale(g, ag_sub(g, up, down), 0.5f / h);
  return ag_mean_all(g, ag_mul(g, slope, slope));
}

/* ---- standing statistics ------------------------------------------------ */

typedef struct stats_graph {
  ag_graph *g;
  ag_sched *s;
  ag_tensor *z, *labels, *running[GEN_BN];
} stats_graph;

static ag_status stats_graph_build(stats_graph *sg, ag_params *p, ag_params *stats,
                                   const ag_gan_config *c, int64_t batch) {
  sg->g = ag_graph_new(ag_params_backend(p));
  if (!sg->g) return ag_set_error(AG_ERR_OOM, "gan: out of memory");
  const int64_t zs[2] = {batch, c->zdim};
  sg->z = ag_graph_input(sg->g, "z", AG_F32, 2, zs);
  if (c->classes) sg->labels = ag_graph_input(sg->g, "labels", AG_I32, 1, &batch);
  generator(sg->g, p, stats, c, sg->z, sg->labels, 1, sg->running);
  for (int k = 0; k < GEN_BN; k++) ag_graph_output(sg->g, sg->running[k]);
  if (ag_graph_status(sg->g) != AG_OK)
    return ag_set_error(ag_graph_status(sg->g), "gan: %s", ag_graph_error(sg->g));
  return ag_sched_new(sg->g, NULL, &sg->s);
}

/* Runs batch k of latents and adds its statistics to sums[layer]. */
static ag_status stats_batch(stats_graph *sg, const ag_gan_config *c, uint64_t seed, int64_t k,
                             int32_t *labels, double *const sums[GEN_BN], float *row) {
  const int64_t batch = sg->z->shape[0];
  AG_TRY(ag_eager_fill_normal(sg->z, seed, (uint64_t)(k * batch * c->zdim), 0.0f, 1.0f));
  if (sg->labels) {
    for (int64_t i = 0; i < batch; i++) labels[i] = (int32_t)((k * batch + i) % c->classes);
    AG_TRY(ag_tensor_write(sg->labels, labels, sizeof *labels * (size_t)batch));
  }
  AG_TRY(ag_sched_run(sg->s));
  for (int l = 0; l < GEN_BN; l++) {
    const int64_t n = ag_tensor_numel(sg->running[l]);
    AG_TRY(ag_tensor_read(sg->running[l], row, sizeof *row * (size_t)n));
    for (int64_t i = 0; i < n; i++) sums[l][i] += row[i];
  }
  return AG_OK;
}

/* Writes sums / batches into the statistics (row 0 means, row 1 variances). */
static ag_status stats_store(const stats_graph *sg, ag_params *stats, double *const sums[GEN_BN],
                             int batches, float *row) {
  static const char *const layers[GEN_BN] = {"gen.bn0", "gen.bn1"};
  static const char *const kinds[2] = {"running_mean", "running_var"};
  for (int l = 0; l < GEN_BN; l++) {
    const int64_t ch = sg->running[l]->shape[1];
    for (int k = 0; k < 2; k++) {
      char name[96];
      ag_tensor *t = ag_params_find(stats, sub(name, sizeof name, layers[l], kinds[k]));
      if (!t || ag_tensor_numel(t) != ch)
        return ag_set_error(AG_ERR_INVALID, "gan: no statistic '%s' of %lld channels", name,
                            (long long)ch);
      for (int64_t i = 0; i < ch; i++) row[i] = (float)(sums[l][k * ch + i] / batches);
      AG_TRY(ag_tensor_write(t, row, sizeof *row * (size_t)ch));
    }
  }
  return AG_OK;
}

ag_status ag_gan_standing_stats(ag_params *p, ag_params *stats, const ag_gan_config *c,
                                uint64_t seed, int64_t batch, int batches) {
  if (batch < 2 || batches < 1)
    return ag_set_error(AG_ERR_INVALID, "gan: standing statistics over %d batches of %lld", batches,
                        (long long)batch);
  stats_graph sg = {0};
  const int64_t most = 2 * (2 * c->g_channels > batch ? 2 * c->g_channels : batch);
  double *sums[GEN_BN] = {calloc((size_t)most, sizeof(double)),
                          calloc((size_t)most, sizeof(double))};
  float *row = malloc(sizeof(float) * (size_t)most);
  int32_t *labels = malloc(sizeof(int32_t) * (size_t)batch);
  ag_status st = sums[0] && sums[1] && row && labels
                     ? stats_graph_build(&sg, p, stats, c, batch)
                     : ag_set_error(AG_ERR_OOM, "gan: out of host memory");
  for (int k = 0; k < batches && st == AG_OK; k++)
    st = stats_batch(&sg, c, seed, k, labels, sums, row);
  if (st == AG_OK) st = stats_store(&sg, stats, sums, batches, row);
  ag_sched_free(sg.s);
  ag_graph_free(sg.g);
  free(sums[0]), free(sums[1]), free(row), free(labels);
  return st;
}
