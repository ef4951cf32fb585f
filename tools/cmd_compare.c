/* aigc compare: the diffusion model and the GAN side by side on quality and
 * cost. Both are sampled (classes balanced), measured against the real test
 * set on the features of aigc's Fashion-MNIST classifier (models/eval), timed
 * at several batch sizes, samplers and step counts, and written up as
 * compare.json, sample grids and one HTML page (models/eval/ag_report.h).
 * Every input is loaded and checked before the first image is sampled, and
 * the report is staged and moved into place at the end, so a bad input or a
 * failure leaves nothing half-written. */
#define _POSIX_C_SOURCE 200809L
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aigc_cli.h"
#include "models/diffusion/ag_ddpm.h"
#include "models/eval/ag_features.h"
#include "models/eval/ag_report.h"
#include "models/gan/ag_gan.h"
#include "runtime/core/ag_info.h"

#define MAX_LIST 8

const char ag_cmd_compare_options[] =
    "  --diffusion FILE           the diffusion checkpoint (aigc train ddpm)\n"
    "  --gan FILE                 the GAN checkpoint (aigc train gan)\n"
    "  --classifier FILE          the classifier whose features are measured (aigc train\n"
    "                             classifier; classifier.safetensors)\n"
    "  --out DIR                  the report: index.html, compare.json, grids (report)\n"
    "  --n N                      images per source in the main table (256)\n"
    "  --sweep-n N                images per sampler x steps point (64)\n"
    "  --samplers LIST            diffusion samplers swept, the first in the main table\n"
    "                             (ddim,dpmpp_2m)\n"
    "  --steps LIST               step counts swept, the largest in the main table (10,25)\n"
    "  --batches LIST             batch sizes timed for each generator; the largest\n"
    "                             samples the tables (16,64,128)\n"
    "  --guidance X               classifier-free guidance of the diffusion model (3)\n"
    "  --memo-ref N               training images the memorisation check searches (10000)\n"
    "  --seed N                   sampling seed and the resampling seeds (1)\n"
    "  --data fashion-mnist|DIR   Debian's Fashion-MNIST (default) or a dir of its IDX files\n"
    "With the defaults, sampling the diffusion model dominates: about 1 minute on 2 CPU\n"
    "cores for a base-16 UNet with guidance; the base-32 default UNet takes a few times that.\n";

typedef struct compare_args {
  const char *diffusion, *gan, *classifier, *out, *data;
  long long n, sweep_n, memo_ref, seed;
  float guidance;
  char samplers[MAX_LIST][32];
  int64_t steps[MAX_LIST], batches[MAX_LIST];
  int n_samplers, n_steps, n_batches;
} compare_args;

/* ---- options ----------------------------------------------------------- */

/* "10,25,50" into out[]: each a positive integer, at most MAX_LIST. */
static int parse_ints(const ag_cli *cli, const char *opt, const char *text, int64_t *out, int *n) {
  *n = 0;
  for (const char *p = text;;) {
    char *end;
    const long long v = strtoll(p, &end, 10);
    if (end == p || v < 1 || v > INT_MAX || (*end && *end != ',') || *n == MAX_LIST)
      return ag_cli_usage_error(cli, "%s '%s': up to %d positive integers, comma-separated", opt,
                                text, MAX_LIST);
    out[(*n)++] = v;
    if (!*end) return AG_EXIT_OK;
    p = end + 1;
  }
}

static int parse_samplers(const ag_cli *cli, const char *text, compare_args *a) {
  a->n_samplers = 0;
  for (const char *p = text;;) {
    const size_t len = strcspn(p, ",");
    if (len == 0 || len >= sizeof a->samplers[0] || a->n_samplers == MAX_LIST)
      return ag_cli_usage_error(cli, "--samplers '%s': up to %d sampler names, comma-separated",
                                text, MAX_LIST);
    char *name = a->samplers[a->n_samplers++];
    memcpy(name, p, len);
    name[len] = 0;
    ag_sampler_config sc;
    if (ag_sampler_config_named(name, &sc) != AG_OK)
      return ag_cli_usage_error(cli, "--samplers: unknown sampler '%s' (one of %s)", name,
                                ag_sampler_names());
    if (!p[len]) return AG_EXIT_OK;
    p += len + 1;
  }
}

static int parse_args(const ag_cli *cli, int argc, char **argv, compare_args *a) {
  const char *samplers = "ddim,dpmpp_2m", *steps = "5,10", *batches = "16,64,128";
  ag_cli_args w = ag_cli_args_of(cli, argc, argv);
  while (ag_cli_next(&w)) {
    ag_cli_text(&w, "--diffusion", &a->diffusion);
    ag_cli_text(&w, "--gan", &a->gan);
    ag_cli_text(&w, "--classifier", &a->classifier);
    ag_cli_text(&w, "--out", &a->out);
    ag_cli_text(&w, "--data", &a->data);
    ag_cli_text(&w, "--samplers", &samplers);
    ag_cli_text(&w, "--steps", &steps);
    ag_cli_text(&w, "--batches", &batches);
    ag_cli_int(&w, "--n", 8192, &a->n);
    ag_cli_int(&w, "--sweep-n", 8192, &a->sweep_n);
    ag_cli_int(&w, "--memo-ref", 1 << 20, &a->memo_ref);
    ag_cli_int(&w, "--seed", LLONG_MAX, &a->seed);
    ag_cli_float(&w, "--guidance", &a->guidance);
  }
  if (w.rc) return w.rc;
  if (!a->diffusion || !a->gan)
    return ag_cli_usage_error(cli, "both --diffusion and --gan checkpoints are needed");
  if (a->n < 16 || a->sweep_n < 16 || a->sweep_n > a->n)
    return ag_cli_usage_error(cli, "--n %lld, --sweep-n %lld: each at least 16, the sweep's no "
                                   "more than --n", a->n, a->sweep_n);
  int rc = parse_samplers(cli, samplers, a);
  if (!rc) rc = parse_ints(cli, "--steps", steps, a->steps, &a->n_steps);
  if (!rc) rc = parse_ints(cli, "--batches", batches, a->batches, &a->n_batches);
  return rc;
}

/* ---- the comparison ---------------------------------------------------- */

enum { ROW_REAL, ROW_DDPM, ROW_GAN, ROWS };

typedef struct compare {
  const compare_args *a;
  ag_backend *be;
  ag_ddpm *ddpm;
  ag_gan *gan;
  ag_params *cls;
  ag_classifier_config cc;
  ag_classifier_meta cm;
  ag_featurizer *feat;
  ag_mnist train, test;
  int64_t h, w, classes, dim, main_steps, main_batch, memo_q;
  float *ref_feat;   /* every test image's features */
  float *real_feat;  /* the real test sample PRDC and KID compare with */
  float *memo_ref;   /* training images the memorisation check searches */
  double *test_nn;   /* real test images' distances to them */
  int32_t *labels;   /* balanced classes; NULL for unconditional generators */
  float *images[ROWS];
  ag_report_sweep sweep[MAX_LIST * MAX_LIST];
  ag_report_speed speed[2 * MAX_LIST];
  ag_report rep;
} compare;

static void compare_free(compare *c) {
  ag_ddpm_free(c->ddpm);
  ag_gan_free(c->gan);
  ag_featurizer_free(c->feat);
  ag_params_free(c->cls);
  ag_mnist_free(&c->train);
  ag_mnist_free(&c->test);
  free(c->ref_feat);
  free(c->real_feat);
  free(c->memo_ref);
  free(c->test_nn);
  free(c->labels);
  for (int i = 0; i < ROWS; i++) free(c->images[i]);
}

static void *host_alloc(size_t count, size_t size) {
  void *p = calloc(count ? count : 1, size);
  if (!p) ag_set_error(AG_ERR_OOM, "compare: out of host memory");
  return p;
}

static const char *dataset_dir(const char *data) {
  return strcmp(data, "fashion-mnist") == 0 ? AG_FASHION_MNIST_DIR : data;
}

/* The generators' and the classifier's image sizes must agree. */
static ag_status check_sizes(compare *c, const ag_generator_info *d, const ag_generator_info *g) {
  if (d->height != g->height || d->width != g->width)
    return ag_set_error(AG_ERR_INVALID, "compare: the diffusion model makes %lldx%lld images, the GAN %lldx%lld",
                        (long long)d->height, (long long)d->width, (long long)g->height, (long long)g->width);
  if (c->cc.height != d->height || c->cc.width != d->width)
    return ag_set_error(AG_ERR_INVALID, "%s: the classifier takes %lldx%lld images, the generators make %lldx%lld",
                        c->a->classifier, (long long)c->cc.height, (long long)c->cc.width,
                        (long long)d->height, (long long)d->width);
  if (c->test.h != d->height || c->test.w != d->width)
    return ag_set_error(AG_ERR_INVALID, "%s: the data's images are %lldx%lld, the generators' %lldx%lld",
                        c->a->data, (long long)c->test.h, (long long)c->test.w, (long long)d->height,
                        (long long)d->width);
  if (c->cc.classes > AG_METRICS_MAX_CLASSES || (d->classes && d->classes != c->cc.classes) ||
      (g->classes && g->classes != c->cc.classes))
    return ag_set_error(AG_ERR_INVALID, "compare: classes: diffusion %lld, GAN %lld, classifier %lld",
                        (long long)d->classes, (long long)g->classes, (long long)c->cc.classes);
  return AG_OK;
}

static ag_status check_counts(compare *c) {
  const compare_args *a = c->a;
  const int64_t T = ag_ddpm_config_of(c->ddpm)->schedule.train_timesteps;
  for (int i = 0; i < a->n_steps; i++)
    if (a->steps[i] > T)
      return ag_set_error(AG_ERR_INVALID, "%s: --steps %lld, the model has %lld timesteps",
                          a->diffusion, (long long)a->steps[i], (long long)T);
  if (a->n > c->test.n || a->n > c->train.n || a->memo_ref > c->train.n)
    return ag_set_error(AG_ERR_INVALID, "%s: %lld test and %lld training images; --n %lld and "
                        "--memo-ref %lld must fit", dataset_dir(a->data), (long long)c->test.n,
                        (long long)c->train.n, a->n, a->memo_ref);
  return AG_OK;
}

static int64_t largest(const int64_t *v, int n) {
  int64_t m = v[0];
  for (int i = 1; i < n; i++) m = v[i] > m ? v[i] : m;
  return m;
}

static int64_t smallest(const int64_t *v, int n) {
  int64_t m = v[0];
  for (int i = 1; i < n; i++) m = v[i] < m ? v[i] : m;
  return m;
}

static ag_status load_inputs(compare *c) {
  const compare_args *a = c->a;
  AG_TRY(ag_classifier_load(a->classifier, c->be, &c->cls, &c->cc, &c->cm));
  AG_TRY(ag_ddpm_load(a->diffusion, c->be, &c->ddpm));
  AG_TRY(ag_gan_load(a->gan, c->be, &c->gan));
  AG_TRY(ag_mnist_load(dataset_dir(a->data), "t10k", &c->test));
  AG_TRY(ag_mnist_load(dataset_dir(a->data), "train", &c->train));
  ag_generator_info d, g;
  ag_ddpm_info(c->ddpm, &d);
  ag_gan_info(c->gan, &g);
  AG_TRY(check_sizes(c, &d, &g));
  AG_TRY(check_counts(c));
  c->h = d.height;
  c->w = d.width;
  c->classes = d.classes ? d.classes : g.classes;
  c->dim = c->cc.hidden;
  c->main_steps = largest(a->steps, a->n_steps);
  c->main_batch = largest(a->batches, a->n_batches);
  c->memo_q = a->n < 500 ? a->n : 500;
  c->rep.generators[0] = (ag_report_generator){.info = d};
  c->rep.generators[1] = (ag_report_generator){.info = g};
  snprintf(c->rep.generators[0].path, sizeof c->rep.generators[0].path, "%s", a->diffusion);
  snprintf(c->rep.generators[1].path, sizeof c->rep.generators[1].path, "%s", a->gan);
  c->rep.n_generators = 2;
  return ag_featurizer_new(c->cls, &c->cc, 250, &c->feat);
}

static void say(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
static void say(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  fflush(stdout);
}

/* The first n of a seeded shuffle of the test set: their features are the
 * real sample PRDC and KID compare with, and the first memo_q of their
 * images the memorisation check's held-out real images. */
static ag_status real_sample(compare *c, const float *all, float *held) {
  const int64_t hw = c->h * c->w, n = c->a->n;
  int64_t *perm = host_alloc((size_t)c->test.n, sizeof(int64_t));
  if (!perm) return AG_ERR_OOM;
  for (int64_t i = 0; i < c->test.n; i++) perm[i] = i;
  uint64_t s = (uint64_t)c->a->seed * 0x9e3779b97f4a7c15ull + 1;
  for (int64_t i = 0; i < n; i++) { /* Fisher-Yates over xorshift64 */
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    const int64_t j = i + (int64_t)(s % (uint64_t)(c->test.n - i)), t = perm[i];
    perm[i] = perm[j], perm[j] = t;
    memcpy(c->real_feat + i * c->dim, c->ref_feat + perm[i] * c->dim, sizeof(float) * (size_t)c->dim);
    if (i < c->memo_q) memcpy(held + i * hw, all + perm[i] * hw, sizeof(float) * (size_t)hw);
  }
  free(perm);
  return AG_OK;
}

/* Every test image's features (the FID reference), the real sample, and the
 * held-out images' distances to the memorisation reference. */
static ag_status real_references(compare *c) {
  const int64_t hw = c->h * c->w;
  float *all = host_alloc((size_t)(c->test.n * hw), sizeof(float));
  float *held = host_alloc((size_t)(c->memo_q * hw), sizeof(float));
  c->ref_feat = host_alloc((size_t)(c->test.n * c->dim), sizeof(float));
  c->real_feat = host_alloc((size_t)(c->a->n * c->dim), sizeof(float));
  c->memo_ref = host_alloc((size_t)(c->a->memo_ref * hw), sizeof(float));
  c->test_nn = host_alloc((size_t)c->memo_q, sizeof(double));
  ag_status st = all && held && c->ref_feat && c->real_feat && c->memo_ref && c->test_nn ? AG_OK : AG_ERR_OOM;
  if (st == AG_OK) {
    ag_mnist_unit_images(&c->test, 0, c->test.n, all);
    st = ag_featurizer_run(c->feat, all, c->test.n, c->ref_feat, NULL);
  }
  if (st == AG_OK) st = real_sample(c, all, held);
  if (st == AG_OK) {
    ag_mnist_unit_images(&c->train, 0, c->a->memo_ref, c->memo_ref);
    const ag_feats q = {held, c->memo_q, hw}, ref = {c->memo_ref, c->a->memo_ref, hw};
    st = ag_nearest_distances(&q, &ref, c->test_nn);
  }
  free(held);
  free(all);
  return st;
}

static ag_status evaluate_memo(compare *c, const float *images, ag_report_row *row) {
  const int64_t hw = c->h * c->w;
  double *nn = host_alloc((size_t)c->memo_q, sizeof(double));
  if (!nn) return AG_ERR_OOM;
  const ag_feats q = {images, c->memo_q, hw}, ref = {c->memo_ref, c->a->memo_ref, hw};
  ag_status st = ag_nearest_distances(&q, &ref, nn);
  if (st == AG_OK) st = ag_memorisation_compute(nn, c->memo_q, c->test_nn, c->memo_q, &c->rep.memo, &row->memo);
  row->has_memo = st == AG_OK;
  free(nn);
  return st;
}

/* Every metric of n images against the real references. */
static ag_status evaluate(compare *c, const float *images, int64_t n, const int32_t *requested,
                          int memo, ag_report_row *row) {
  float *f = host_alloc((size_t)(n * c->dim), sizeof(float));
  int32_t *pred = host_alloc((size_t)n, sizeof(int32_t));
  ag_status st = f && pred ? ag_featurizer_run(c->feat, images, n, f, pred) : AG_ERR_OOM;
  const ag_feats gen = {f, n, c->dim}, ref = {c->ref_feat, c->test.n, c->dim},
                 real = {c->real_feat, c->a->n, c->dim};
  if (st == AG_OK) st = ag_fid(&ref, &gen, &c->rep.fid, &row->fid);
  if (st == AG_OK) st = ag_kid(&real, &gen, &c->rep.kid, &row->kid);
  if (st == AG_OK) st = ag_prdc_compute(&real, &gen, &c->rep.prdc, &row->prdc);
  if (st == AG_OK)
    st = ag_class_coverage_compute(pred, requested, n, c->cc.classes, 200, c->rep.seed, &row->classes);
  if (st == AG_OK && memo) st = evaluate_memo(c, images, row);
  row->n = n;
  row->grid_images = images;
  row->grid_n = n < 64 ? n : 64;
  row->grid_h = c->h;
  row->grid_w = c->w;
  free(f);
  free(pred);
  return st;
}

static ag_status sample_ddpm(compare *c, const char *sampler, int64_t steps, int64_t batch,
                             int64_t n, float *out, double *seconds) {
  ag_ddpm_sample_opts o = ag_ddpm_default_sample_opts();
  o.sampler = sampler;
  o.steps = steps;
  o.seed = (uint64_t)c->a->seed;
  o.batch = batch;
  if (c->a->guidance > 0) o.guidance = c->a->guidance;
  const double t0 = ag_now_seconds();
  AG_TRY(ag_ddpm_sample(c->ddpm, &o, n, c->labels, out));
  *seconds = ag_now_seconds() - t0;
  return AG_OK;
}

static ag_status sample_gan(compare *c, int64_t batch, int64_t n, float *out, double *seconds) {
  const double t0 = ag_now_seconds();
  AG_TRY(ag_gan_sample(c->gan, (uint64_t)c->a->seed, 0, batch, n, c->labels, out));
  *seconds = ag_now_seconds() - t0;
  return AG_OK;
}

static void name_row(ag_report_row *row, const char *kind, const char *name) {
  snprintf(row->kind, sizeof row->kind, "%s", kind);
  snprintf(row->name, sizeof row->name, "%s", name);
}

/* The real-train anchor and both generators at their main settings. */
static ag_status main_rows(compare *c) {
  const compare_args *a = c->a;
  const int64_t n = a->n, hw = c->h * c->w, batch = c->main_batch;
  for (int i = 0; i < ROWS; i++)
    if (!(c->images[i] = host_alloc((size_t)(n * hw), sizeof(float)))) return AG_ERR_OOM;
  ag_report_row *rows = c->rep.rows;
  /* Training images the memorisation reference does not hold. */
  const int64_t first = c->train.n - n >= a->memo_ref ? a->memo_ref : c->train.n - n;
  ag_mnist_unit_images(&c->train, first, n, c->images[ROW_REAL]);
  name_row(&rows[ROW_REAL], "real", "real train images (anchor)");
  AG_TRY(evaluate(c, c->images[ROW_REAL], n, NULL, 0, &rows[ROW_REAL]));
  say("anchor:            FID %.2f of %lld real training images\n", rows[ROW_REAL].fid.value, (long long)n);
  double sec = 0;
  AG_TRY(sample_ddpm(c, a->samplers[0], c->main_steps, batch, n, c->images[ROW_DDPM], &sec));
  char name[64];
  snprintf(name, sizeof name, "diffusion %s %lld steps", a->samplers[0], (long long)c->main_steps);
  name_row(&rows[ROW_DDPM], "ddpm", name);
  rows[ROW_DDPM].images_per_s = (double)n / sec;
  AG_TRY(evaluate(c, c->images[ROW_DDPM], n, c->labels, 1, &rows[ROW_DDPM]));
  say("diffusion:         %lld images in %.1f s, FID %.2f\n", (long long)n, sec, rows[ROW_DDPM].fid.value);
  AG_TRY(sample_gan(c, batch, n, c->images[ROW_GAN], &sec));
  name_row(&rows[ROW_GAN], "gan", "GAN");
  rows[ROW_GAN].images_per_s = (double)n / sec;
  AG_TRY(evaluate(c, c->images[ROW_GAN], n, c->labels, 1, &rows[ROW_GAN]));
  say("GAN:               %lld images in %.2f s, FID %.2f\n", (long long)n, sec, rows[ROW_GAN].fid.value);
  c->rep.n_rows = ROWS;
  return AG_OK;
}

static ag_status fid_of_images(compare *c, const float *images, int64_t n, ag_estimate *out) {
  float *f = host_alloc((size_t)(n * c->dim), sizeof(float));
  ag_status st = f ? ag_featurizer_run(c->feat, images, n, f, NULL) : AG_ERR_OOM;
  const ag_feats gen = {f, n, c->dim}, ref = {c->ref_feat, c->test.n, c->dim};
  if (st == AG_OK) st = ag_fid(&ref, &gen, &c->rep.fid, out);
  free(f);
  return st;
}

/* FID and speed of every sampler x steps on sweep_n images; the main row's
 * setting reuses its first sweep_n images (image i depends only on the seed,
 * i and its label). The other rows at the same n are the references. */
static ag_status sampler_sweep(compare *c) {
  const compare_args *a = c->a;
  const int64_t n = a->sweep_n, most = largest(a->batches, a->n_batches);
  const int64_t batch = most < n ? most : n;
  float *buf = host_alloc((size_t)(n * c->h * c->w), sizeof(float));
  if (!buf) return AG_ERR_OOM;
  ag_status st = AG_OK;
  for (int s = 0; s < a->n_samplers && st == AG_OK; s++)
    for (int k = 0; k < a->n_steps && st == AG_OK; k++) {
      ag_report_sweep *p = &c->sweep[c->rep.n_sweep++];
      snprintf(p->sampler, sizeof p->sampler, "%s", a->samplers[s]);
      p->steps = a->steps[k];
      p->n = n;
      const int reuse = s == 0 && p->steps == c->main_steps;
      p->batch = reuse ? c->main_batch : batch;
      double sec = 0;
      if (!reuse) st = sample_ddpm(c, p->sampler, p->steps, batch, n, buf, &sec);
      p->images_per_s = reuse ? c->rep.rows[ROW_DDPM].images_per_s : (double)n / sec;
      if (st == AG_OK) st = fid_of_images(c, reuse ? c->images[ROW_DDPM] : buf, n, &p->fid);
      if (st == AG_OK)
        say("sweep:             %-16s %3lld steps: FID %.2f, %.1f images/s\n", p->sampler,
            (long long)p->steps, p->fid.value, p->images_per_s);
    }
  const int refs[2] = {ROW_GAN, ROW_REAL};
  for (int i = 0; i < 2 && st == AG_OK; i++) {
    const ag_report_row *row = &c->rep.rows[refs[i]];
    snprintf(c->rep.sweep_refs[i].name, sizeof c->rep.sweep_refs[i].name, "%s (n %lld)", row->name,
             (long long)n);
    c->rep.sweep_refs[i].images_per_s = row->images_per_s;
    st = fid_of_images(c, c->images[refs[i]], n, &c->rep.sweep_refs[i].fid);
    c->rep.n_sweep_refs = i + 1;
  }
  free(buf);
  return st;
}

/* A sweep entry that already sampled one batch of `batch` images with the
 * first sampler at `steps` (its own sampling, not the main row's), or NULL. */
static const ag_report_sweep *timed_in_sweep(const compare *c, int64_t steps, int64_t batch) {
  for (int i = 0; i < c->rep.n_sweep; i++) {
    const ag_report_sweep *p = &c->sweep[i];
    if (!strcmp(p->sampler, c->a->samplers[0]) && p->steps == steps && p->n == batch &&
        p->batch == batch && p->steps != c->main_steps)
      return p;
  }
  return NULL;
}

static ag_status time_ddpm(compare *c, int64_t steps, float *buf, ag_report_speed *p) {
  snprintf(p->sampler, sizeof p->sampler, "%s", c->a->samplers[0]);
  p->steps = steps;
  const ag_report_sweep *done = timed_in_sweep(c, steps, p->batch);
  if (done) {
    p->seconds = (double)done->n / done->images_per_s;
    return AG_OK;
  }
  return sample_ddpm(c, p->sampler, steps, p->batch, p->images, buf, &p->seconds);
}

/* One batch of each size from each generator; the diffusion model with the
 * first sampler at the fewest steps. Each call plans its graph, as a user's
 * call would; a batch the sweep already timed is not sampled again. */
static ag_status throughput(compare *c) {
  const compare_args *a = c->a;
  const int64_t steps = smallest(a->steps, a->n_steps), most = largest(a->batches, a->n_batches);
  float *buf = host_alloc((size_t)(most * c->h * c->w), sizeof(float));
  if (!buf) return AG_ERR_OOM;
  ag_status st = AG_OK;
  for (int g = 0; g < 2; g++)
    for (int i = 0; i < a->n_batches && st == AG_OK; i++) {
      ag_report_speed *p = &c->speed[c->rep.n_speed++];
      p->batch = p->images = a->batches[i];
      snprintf(p->generator, sizeof p->generator, "%s", g ? "gan" : "ddpm");
      st = g ? sample_gan(c, p->batch, p->images, buf, &p->seconds) : time_ddpm(c, steps, buf, p);
      p->images_per_s = (double)p->images / p->seconds;
      if (st == AG_OK)
        say("throughput:        %-4s batch %4lld: %.1f images/s\n", p->generator, (long long)p->batch,
            p->images_per_s);
    }
  free(buf);
  return st;
}

static void fill_settings(compare *c) {
  ag_report *r = &c->rep;
  const compare_args *a = c->a;
  snprintf(r->title, sizeof r->title, "aigc compare: diffusion vs GAN");
  snprintf(r->classifier, sizeof r->classifier, "%s", a->classifier);
  r->classifier_accuracy = c->cm.test_accuracy;
  r->feature_dim = c->dim;
  snprintf(r->data, sizeof r->data, "%s", dataset_dir(a->data));
  r->n_reference = c->test.n;
  r->n = a->n;
  r->seed = (uint64_t)a->seed;
  snprintf(r->device, sizeof r->device, "%s", c->be->name);
  r->memo_reference = a->memo_ref;
  r->sweep = c->sweep;
  r->speed = c->speed;
}

static void print_table(const ag_report *r) {
  printf("\n%-30s %15s %13s %6s %6s %6s %6s %7s %s\n", "source", "FID", "KIDx1e3", "prec",
         "recall", "dens", "cover", "classes", "memorisation");
  for (int i = 0; i < r->n_rows; i++) {
    const ag_report_row *w = &r->rows[i];
    char memo[48] = "-";
    if (w->has_memo)
      snprintf(memo, sizeof memo, "%s ratio %.2f", w->memo.flagged ? "FLAGGED" : "ok", w->memo.ratio.value);
    printf("%-30s %7.2f +- %4.2f %5.2f +- %4.2f %6.3f %6.3f %6.3f %6.3f %4lld/%lld %s\n", w->name,
           w->fid.value, w->fid.std, 1e3 * w->kid.value, 1e3 * w->kid.std, w->prdc.precision.value,
           w->prdc.recall.value, w->prdc.density.value, w->prdc.coverage.value,
           (long long)w->classes.covered, (long long)w->classes.classes, memo);
  }
}

static ag_status run_compare(compare *c) {
  const double t0 = ag_now_seconds();
  AG_TRY(load_inputs(c));
  fill_settings(c);
  say("classifier:        %s (%lld-d features, test accuracy %.2f%%)\n", c->a->classifier,
      (long long)c->dim, 100 * c->cm.test_accuracy);
  if (c->classes) {
    if (!(c->labels = host_alloc((size_t)c->a->n, sizeof(int32_t)))) return AG_ERR_OOM;
    for (int64_t i = 0; i < c->a->n; i++) c->labels[i] = (int32_t)(i % c->classes);
  }
  AG_TRY(real_references(c));
  AG_TRY(main_rows(c));
  AG_TRY(sampler_sweep(c));
  AG_TRY(throughput(c));
  c->rep.seconds = ag_now_seconds() - t0;
  AG_TRY(ag_report_write(&c->rep, c->a->out));
  print_table(&c->rep);
  say("\nreport:            %s/index.html (%.0f s)\n", c->a->out, c->rep.seconds);
  return AG_OK;
}

int ag_cmd_compare(const ag_cli *cli, int argc, char **argv) {
  compare_args a = {.classifier = "classifier.safetensors", .out = "report", .data = "fashion-mnist",
                    .n = 256, .sweep_n = 64, .memo_ref = 10000, .seed = 1};
  int rc = parse_args(cli, argc, argv, &a);
  ag_backend *be = NULL;
  if (rc == AG_EXIT_OK) rc = ag_cli_use_device(cli, &be);
  if (rc == AG_EXIT_OK) rc = ag_cli_check_writable_dir(a.out);
  if (rc != AG_EXIT_OK) return rc;
  compare c = {.a = &a, .be = be};
  c.rep.fid = ag_fid_default_opts();
  c.rep.kid = ag_kid_default_opts();
  /* Subsets as large as the sets would all be the same sets, and their
   * spread 0; half the sample keeps the std meaningful at small --n. */
  if (c.rep.kid.subset_size > a.n / 2) c.rep.kid.subset_size = a.n / 2;
  c.rep.prdc = ag_prdc_default_opts();
  c.rep.memo = ag_memo_default_opts();
  c.rep.seed = c.rep.fid.seed = c.rep.kid.seed = c.rep.prdc.seed = c.rep.memo.seed = (uint64_t)a.seed;
  const ag_status st = run_compare(&c);
  compare_free(&c);
  return st == AG_OK ? AG_EXIT_OK : AG_EXIT_RUNTIME;
}
