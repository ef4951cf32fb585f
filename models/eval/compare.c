/* The diffusion-vs-GAN comparison (ag_compare.h): load and check every
 * input, featurize the real references, sample and measure the main rows,
 * sweep the diffusion samplers, time both generators, write the report. */
#define _POSIX_C_SOURCE 200809L
#include "ag_compare.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ag_features.h"
#include "models/diffusion/ag_ddpm.h"
#include "models/gan/ag_gan.h"
#include "runtime/core/ag_info.h"

ag_compare_opts ag_compare_default_opts(void) {
  return (ag_compare_opts){.n = 256,
                           .sweep_n = 64,
                           .memo_ref = 10000,
                           .seed = 1,
                           .guidance = 3.0f,
                           .samplers = {"ddpm", "ddim", "dpmpp_2m"},
                           .n_samplers = 3,
                           .steps = {10, 25},
                           .n_steps = 2,
                           .batches = {16, 64, 128},
                           .n_batches = 3};
}

enum { ROW_REAL, ROW_DDPM, ROW_GAN, ROWS };

typedef struct compare {
  const ag_compare_opts *o;
  ag_backend *be;
  ag_ddpm *ddpm;
  ag_gan *gan;
  ag_params *cls;
  ag_classifier_config cc;
  ag_classifier_meta cm;
  ag_featurizer *feat;
  ag_mnist train, test;
  int64_t h, w, classes, dim, main_steps, main_batch, memo_q;
  double feat_scale; /* 1 / the RMS feature of the real test set */
  float *ref_feat;   /* every test image's features */
  float *real_feat;  /* the real test sample PRDC and KID compare with */
  float *memo_ref;   /* training images the memorisation check searches */
  double *test_nn;   /* real test images' distances to them */
  int32_t *labels;   /* balanced classes; NULL for unconditional generators */
  float *images[ROWS];
  ag_report_sweep sweep[AG_COMPARE_MAX_LIST * AG_COMPARE_MAX_LIST];
  ag_report_speed speed[2 * AG_COMPARE_MAX_LIST];
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

/* The generators' and the classifier's image sizes must agree. */
static ag_status check_sizes(compare *c, const ag_generator_info *d, const ag_generator_info *g) {
  if (d->height != g->height || d->width != g->width)
    return ag_set_error(AG_ERR_INVALID, "compare: the diffusion model makes %lldx%lld images, the GAN %lldx%lld",
                        (long long)d->height, (long long)d->width, (long long)g->height, (long long)g->width);
  if (c->cc.height != d->height || c->cc.width != d->width)
    return ag_set_error(AG_ERR_INVALID, "%s: the classifier takes %lldx%lld images, the generators make %lldx%lld",
                        c->o->classifier, (long long)c->cc.height, (long long)c->cc.width,
                        (long long)d->height, (long long)d->width);
  if (c->test.h != d->height || c->test.w != d->width)
    return ag_set_error(AG_ERR_INVALID, "%s: the data's images are %lldx%lld, the generators' %lldx%lld",
                        c->o->data, (long long)c->test.h, (long long)c->test.w, (long long)d->height,
                        (long long)d->width);
  if (c->cc.classes > AG_METRICS_MAX_CLASSES || (d->classes && d->classes != c->cc.classes) ||
      (g->classes && g->classes != c->cc.classes))
    return ag_set_error(AG_ERR_INVALID, "compare: classes: diffusion %lld, GAN %lld, classifier %lld",
                        (long long)d->classes, (long long)g->classes, (long long)c->cc.classes);
  return AG_OK;
}

static ag_status check_counts(compare *c) {
  const ag_compare_opts *o = c->o;
  const int64_t T = ag_ddpm_config_of(c->ddpm)->schedule.train_timesteps;
  for (int i = 0; i < o->n_steps; i++)
    if (o->steps[i] > T)
      return ag_set_error(AG_ERR_INVALID, "%s: %lld sampling steps, the model has %lld timesteps",
                          o->diffusion, (long long)o->steps[i], (long long)T);
  if (o->n > c->test.n || o->n > c->train.n || o->memo_ref > c->train.n)
    return ag_set_error(AG_ERR_INVALID, "%s: %lld test and %lld training images; %lld images per "
                        "source and a memorisation reference of %lld must fit", o->data,
                        (long long)c->test.n, (long long)c->train.n, (long long)o->n,
                        (long long)o->memo_ref);
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
  const ag_compare_opts *o = c->o;
  AG_TRY(ag_classifier_load(o->classifier, c->be, &c->cls, &c->cc, &c->cm));
  AG_TRY(ag_ddpm_load(o->diffusion, c->be, &c->ddpm));
  AG_TRY(ag_gan_load(o->gan, c->be, &c->gan));
  AG_TRY(ag_mnist_load(o->data, "t10k", &c->test));
  AG_TRY(ag_mnist_load(o->data, "train", &c->train));
  ag_generator_info d, g;
  ag_ddpm_info(c->ddpm, &d);
  ag_gan_info(c->gan, &g);
  AG_TRY(check_sizes(c, &d, &g));
  AG_TRY(check_counts(c));
  c->h = d.height;
  c->w = d.width;
  c->classes = d.classes ? d.classes : g.classes;
  c->dim = c->cc.hidden;
  c->main_steps = largest(o->steps, o->n_steps);
  c->main_batch = largest(o->batches, o->n_batches);
  c->memo_q = o->n < 500 ? o->n : 500;
  c->rep.generators[0] = (ag_report_generator){.info = d};
  c->rep.generators[1] = (ag_report_generator){.info = g};
  snprintf(c->rep.generators[0].path, sizeof c->rep.generators[0].path, "%s", o->diffusion);
  snprintf(c->rep.generators[1].path, sizeof c->rep.generators[1].path, "%s", o->gan);
  c->rep.n_generators = 2;
  return ag_featurizer_new(c->cls, &c->cc, 250, &c->feat);
}

static void say(const compare *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void say(const compare *c, const char *fmt, ...) {
  if (!c->o->log) return;
  va_list ap;
  va_start(ap, fmt);
  vfprintf(c->o->log, fmt, ap);
  va_end(ap);
  fflush(c->o->log);
}

/* Every metric sees the features divided by the RMS feature of the real
 * test set: one constant, so PRDC and the rankings do not change, but FID
 * is in units of that spread and KID's cubic kernel (x.y/d + 1)^3, made for
 * Inception features of order 1, sees dot products of order 1 instead of
 * the raw ReLU layer's, whose cube would drown the estimate in variance. */
static void unit_rms(compare *c) {
  const int64_t n = c->test.n * c->dim;
  double ss = 0;
  for (int64_t i = 0; i < n; i++) ss += (double)c->ref_feat[i] * c->ref_feat[i];
  c->feat_scale = ss > 0 ? 1.0 / sqrt(ss / (double)n) : 1.0;
  for (int64_t i = 0; i < n; i++) c->ref_feat[i] = (float)(c->ref_feat[i] * c->feat_scale);
}

/* The features of n generated images, scaled as the references. */
static ag_status featurize(compare *c, const float *images, int64_t n, float *f, int32_t *pred) {
  AG_TRY(ag_featurizer_run(c->feat, images, n, f, pred));
  for (int64_t i = 0; i < n * c->dim; i++) f[i] = (float)(f[i] * c->feat_scale);
  return AG_OK;
}

/* The first n of a seeded shuffle of the test set: their features are the
 * real sample PRDC and KID compare with, and the first memo_q of their
 * images the memorisation check's held-out real images. */
static ag_status real_sample(compare *c, const float *all, float *held) {
  const int64_t hw = c->h * c->w, n = c->o->n;
  int64_t *perm = host_alloc((size_t)c->test.n, sizeof(int64_t));
  if (!perm) return AG_ERR_OOM;
  for (int64_t i = 0; i < c->test.n; i++) perm[i] = i;
  uint64_t s = c->o->seed * 0x9e3779b97f4a7c15ull + 1;
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
  c->real_feat = host_alloc((size_t)(c->o->n * c->dim), sizeof(float));
  c->memo_ref = host_alloc((size_t)(c->o->memo_ref * hw), sizeof(float));
  c->test_nn = host_alloc((size_t)c->memo_q, sizeof(double));
  ag_status st = all && held && c->ref_feat && c->real_feat && c->memo_ref && c->test_nn ? AG_OK : AG_ERR_OOM;
  if (st == AG_OK) {
    ag_mnist_unit_images(&c->test, 0, c->test.n, all);
    st = ag_featurizer_run(c->feat, all, c->test.n, c->ref_feat, NULL);
  }
  if (st == AG_OK) unit_rms(c);
  if (st == AG_OK) st = real_sample(c, all, held);
  if (st == AG_OK) {
    ag_mnist_unit_images(&c->train, 0, c->o->memo_ref, c->memo_ref);
    const ag_feats q = {held, c->memo_q, hw}, ref = {c->memo_ref, c->o->memo_ref, hw};
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
  const ag_feats q = {images, c->memo_q, hw}, ref = {c->memo_ref, c->o->memo_ref, hw};
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
  ag_status st = f && pred ? featurize(c, images, n, f, pred) : AG_ERR_OOM;
  const ag_feats gen = {f, n, c->dim}, ref = {c->ref_feat, c->test.n, c->dim},
                 real = {c->real_feat, c->o->n, c->dim};
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
  o.seed = c->o->seed;
  o.batch = batch;
  if (c->o->guidance > 0) o.guidance = c->o->guidance;
  const double t0 = ag_now_seconds();
  AG_TRY(ag_ddpm_sample(c->ddpm, &o, n, c->labels, out));
  *seconds = ag_now_seconds() - t0;
  return AG_OK;
}

static ag_status sample_gan(compare *c, int64_t batch, int64_t n, float *out, double *seconds) {
  const double t0 = ag_now_seconds();
  AG_TRY(ag_gan_sample(c->gan, c->o->seed, 0, batch, n, c->labels, out));
  *seconds = ag_now_seconds() - t0;
  return AG_OK;
}

static void name_row(ag_report_row *row, const char *kind, const char *name) {
  snprintf(row->kind, sizeof row->kind, "%s", kind);
  snprintf(row->name, sizeof row->name, "%s", name);
}

/* The real-train anchor and both generators at their main settings. */
static ag_status main_rows(compare *c) {
  const ag_compare_opts *o = c->o;
  const int64_t n = o->n, hw = c->h * c->w, batch = c->main_batch;
  for (int i = 0; i < ROWS; i++)
    if (!(c->images[i] = host_alloc((size_t)(n * hw), sizeof(float)))) return AG_ERR_OOM;
  ag_report_row *rows = c->rep.rows;
  /* Training images the memorisation reference does not hold. */
  const int64_t first = c->train.n - n >= o->memo_ref ? o->memo_ref : c->train.n - n;
  ag_mnist_unit_images(&c->train, first, n, c->images[ROW_REAL]);
  name_row(&rows[ROW_REAL], "real", "real train images (anchor)");
  AG_TRY(evaluate(c, c->images[ROW_REAL], n, NULL, 0, &rows[ROW_REAL]));
  say(c, "anchor:            FID %.2f of %lld real training images\n", rows[ROW_REAL].fid.value, (long long)n);
  double sec = 0;
  AG_TRY(sample_ddpm(c, o->samplers[0], c->main_steps, batch, n, c->images[ROW_DDPM], &sec));
  char name[64];
  snprintf(name, sizeof name, "diffusion %s %lld steps", o->samplers[0], (long long)c->main_steps);
  name_row(&rows[ROW_DDPM], "ddpm", name);
  rows[ROW_DDPM].images_per_s = (double)n / sec;
  AG_TRY(evaluate(c, c->images[ROW_DDPM], n, c->labels, 1, &rows[ROW_DDPM]));
  say(c, "diffusion:         %lld images in %.1f s, FID %.2f\n", (long long)n, sec, rows[ROW_DDPM].fid.value);
  AG_TRY(sample_gan(c, batch, n, c->images[ROW_GAN], &sec));
  name_row(&rows[ROW_GAN], "gan", "GAN");
  rows[ROW_GAN].images_per_s = (double)n / sec;
  AG_TRY(evaluate(c, c->images[ROW_GAN], n, c->labels, 1, &rows[ROW_GAN]));
  say(c, "GAN:               %lld images in %.2f s, FID %.2f\n", (long long)n, sec, rows[ROW_GAN].fid.value);
  c->rep.n_rows = ROWS;
  return AG_OK;
}

static ag_status fid_of_images(compare *c, const float *images, int64_t n, ag_estimate *out) {
  float *f = host_alloc((size_t)(n * c->dim), sizeof(float));
  ag_status st = f ? featurize(c, images, n, f, NULL) : AG_ERR_OOM;
  const ag_feats gen = {f, n, c->dim}, ref = {c->ref_feat, c->test.n, c->dim};
  if (st == AG_OK) st = ag_fid(&ref, &gen, &c->rep.fid, out);
  free(f);
  return st;
}

/* FID and speed of every sampler x steps on sweep_n images; the main row's
 * setting reuses its first sweep_n images (image i depends only on the seed,
 * i and its label). The other rows at the same n are the references. */
static ag_status sampler_sweep(compare *c) {
  const ag_compare_opts *o = c->o;
  const int64_t n = o->sweep_n, most = largest(o->batches, o->n_batches);
  const int64_t batch = most < n ? most : n;
  float *buf = host_alloc((size_t)(n * c->h * c->w), sizeof(float));
  if (!buf) return AG_ERR_OOM;
  ag_status st = AG_OK;
  for (int s = 0; s < o->n_samplers && st == AG_OK; s++)
    for (int k = 0; k < o->n_steps && st == AG_OK; k++) {
      ag_report_sweep *p = &c->sweep[c->rep.n_sweep++];
      snprintf(p->sampler, sizeof p->sampler, "%s", o->samplers[s]);
      p->steps = o->steps[k];
      p->n = n;
      const int reuse = s == 0 && p->steps == c->main_steps;
      p->batch = reuse ? c->main_batch : batch;
      double sec = 0;
      if (!reuse) st = sample_ddpm(c, p->sampler, p->steps, batch, n, buf, &sec);
      p->images_per_s = reuse ? c->rep.rows[ROW_DDPM].images_per_s : (double)n / sec;
      if (st == AG_OK) st = fid_of_images(c, reuse ? c->images[ROW_DDPM] : buf, n, &p->fid);
      if (st == AG_OK)
        say(c, "sweep:             %-16s %3lld steps: FID %.2f, %.1f images/s\n", p->sampler,
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
    if (!strcmp(p->sampler, c->o->samplers[0]) && p->steps == steps && p->n == batch &&
        p->batch == batch && p->steps != c->main_steps)
      return p;
  }
  return NULL;
}

static ag_status time_ddpm(compare *c, int64_t steps, float *buf, ag_report_speed *p) {
  snprintf(p->sampler, sizeof p->sampler, "%s", c->o->samplers[0]);
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
  const ag_compare_opts *o = c->o;
  const int64_t steps = smallest(o->steps, o->n_steps), most = largest(o->batches, o->n_batches);
  float *buf = host_alloc((size_t)(most * c->h * c->w), sizeof(float));
  if (!buf) return AG_ERR_OOM;
  ag_status st = AG_OK;
  for (int g = 0; g < 2; g++)
    for (int i = 0; i < o->n_batches && st == AG_OK; i++) {
      ag_report_speed *p = &c->speed[c->rep.n_speed++];
      p->batch = p->images = o->batches[i];
      snprintf(p->generator, sizeof p->generator, "%s", g ? "gan" : "ddpm");
      st = g ? sample_gan(c, p->batch, p->images, buf, &p->seconds) : time_ddpm(c, steps, buf, p);
      p->images_per_s = (double)p->images / p->seconds;
      if (st == AG_OK)
        say(c, "throughput:        %-4s batch %4lld: %.1f images/s\n", p->generator, (long long)p->batch,
            p->images_per_s);
    }
  free(buf);
  return st;
}

static void fill_settings(compare *c) {
  ag_report *r = &c->rep;
  const ag_compare_opts *o = c->o;
  snprintf(r->title, sizeof r->title, "aigc compare: diffusion vs GAN");
  snprintf(r->classifier, sizeof r->classifier, "%s", o->classifier);
  r->classifier_accuracy = c->cm.test_accuracy;
  r->feature_dim = c->dim;
  snprintf(r->data, sizeof r->data, "%s", o->data);
  r->n_reference = c->test.n;
  r->n = o->n;
  r->seed = o->seed;
  snprintf(r->device, sizeof r->device, "%s", c->be->name);
  r->memo_reference = o->memo_ref;
  r->sweep = c->sweep;
  r->speed = c->speed;
}

void ag_compare_print_table(FILE *f, const ag_report_row *rows, int n_rows) {
  fprintf(f, "%-30s %15s %13s %6s %6s %6s %6s %7s %s\n", "source", "FID", "KIDx1e3", "prec",
          "recall", "dens", "cover", "classes", "memorisation");
  for (int i = 0; i < n_rows; i++) {
    const ag_report_row *w = &rows[i];
    char memo[48] = "-";
    if (w->has_memo)
      snprintf(memo, sizeof memo, "%s ratio %.2f", w->memo.flagged ? "FLAGGED" : "ok", w->memo.ratio.value);
    fprintf(f, "%-30s %7.2f +- %4.2f %5.2f +- %4.2f %6.3f %6.3f %6.3f %6.3f %4lld/%lld %s\n",
            w->name, w->fid.value, w->fid.std, 1e3 * w->kid.value, 1e3 * w->kid.std,
            w->prdc.precision.value, w->prdc.recall.value, w->prdc.density.value,
            w->prdc.coverage.value, (long long)w->classes.covered, (long long)w->classes.classes,
            memo);
  }
}

static ag_status run_compare(compare *c, const char *out_dir) {
  const double t0 = ag_now_seconds();
  AG_TRY(load_inputs(c));
  fill_settings(c);
  say(c, "classifier:        %s (%lld-d features, test accuracy %.2f%%)\n", c->o->classifier,
      (long long)c->dim, 100 * c->cm.test_accuracy);
  if (c->classes) {
    if (!(c->labels = host_alloc((size_t)c->o->n, sizeof(int32_t)))) return AG_ERR_OOM;
    for (int64_t i = 0; i < c->o->n; i++) c->labels[i] = (int32_t)(i % c->classes);
  }
  AG_TRY(real_references(c));
  AG_TRY(main_rows(c));
  AG_TRY(sampler_sweep(c));
  AG_TRY(throughput(c));
  c->rep.seconds = ag_now_seconds() - t0;
  return ag_report_write(&c->rep, out_dir);
}

/* Metric settings shared by every measurement, seeded from the options. */
static void metric_opts(compare *c) {
  c->rep.fid = ag_fid_default_opts();
  c->rep.kid = ag_kid_default_opts();
  /* Subsets as large as the sets would all be the same sets, and their
   * spread 0; half the sample keeps the std meaningful at small n. */
  if (c->rep.kid.subset_size > c->o->n / 2) c->rep.kid.subset_size = c->o->n / 2;
  c->rep.prdc = ag_prdc_default_opts();
  c->rep.memo = ag_memo_default_opts();
  c->rep.seed = c->rep.fid.seed = c->rep.kid.seed = c->rep.prdc.seed = c->rep.memo.seed = c->o->seed;
}

ag_status ag_compare_run(ag_backend *be, const ag_compare_opts *o, const char *out_dir,
                         ag_compare_summary *summary) {
  compare *c = host_alloc(1, sizeof *c);
  if (!c) return AG_ERR_OOM;
  c->o = o;
  c->be = be;
  metric_opts(c);
  const ag_status st = run_compare(c, out_dir);
  if (st == AG_OK && summary) {
    summary->n_rows = c->rep.n_rows;
    summary->seconds = c->rep.seconds;
    for (int i = 0; i < c->rep.n_rows; i++) {
      summary->rows[i] = c->rep.rows[i];
      summary->rows[i].grid_images = NULL;
    }
  }
  compare_free(c);
  free(c);
  return st;
}
