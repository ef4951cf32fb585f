/* aigc demo: the README's first command, a short tour of every pipeline on
 * the chosen device, written as a report a person can open (OUT/index.html,
 * plus the images it shows):
 *   1. the build and the device (aigc info) and a kernel smoke run;
 *   2. CLIP: a small CLIP trained for about a minute on Fashion-MNIST, its
 *      zero-shot accuracy, retrieval recall and confusion table, and the
 *      test images nearest to a few captions;
 *   3. GPT: a byte-level GPT trained for under a minute on the GPL-3 text
 *      that Debian's base-files ships, and a few samples;
 *   4. diffusion vs GAN: a classifier (the feature extractor), a small
 *      class-conditional DDPM and a DCGAN trained for a few minutes, then
 *      `aigc compare`'s report on them (OUT/compare/), linked, its main table
 *      and sample grids shown;
 *   5. NeRF: a procedural scene made, an Instant-NGP-style NeRF trained on it
 *      for about a minute, its test PSNR and SSIM, an orbit rendered, and a
 *      test view beside its reference.
 * Everything is printed as it goes too. The report is written to a
 * temporary name and renamed when complete, so an interrupted demo leaves
 * the previous report (or none), never half of one. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aigc_cli.h"
#include "models/ag_classifier.h"
#include "models/diffusion/ag_ddpm.h"
#include "models/eval/ag_compare.h"
#include "models/gan/ag_gan.h"
#include "models/nerf/ag_nerf.h"
#include "models/nerf/ag_nerf_make_scene.h"
#include "models/transformer/ag_clip.h"
#include "models/transformer/ag_gpt.h"
#include "models/transformer/ag_tokenizer.h"
#include "runtime/backends/ag_smoke.h"
#include "runtime/core/ag_info.h"
#include "runtime/io/png.h"
#include "runtime/sched/ag_sched.h"

#define DEFAULT_OUT "aigc-demo"
#define DEFAULT_TEXT "/usr/share/common-licenses/GPL-3"

/* Sizes that keep each part near a minute on 2 CPU cores. */
enum {
  CLIP_STEPS = 600,
  CLIP_BATCH = 128,
  GPT_STEPS = 400,
  GALLERY = 1000, /* test images the retrieval examples search */
  SHOWN = 8,      /* images shown per query */
};

const char ag_cmd_demo_options[] =
    "  --out DIR                  the report's directory (" DEFAULT_OUT
    ")\n"
    "  --data fashion-mnist|DIR   Debian's Fashion-MNIST (default) or a dir of its IDX files\n"
    "  --text FILE                the text GPT trains on (" DEFAULT_TEXT ")\n";

typedef struct demo {
  const char *out, *data, *text;
  ag_backend *be;
  ag_comm *comm;
  FILE *html;
  char html_tmp[4096];
} demo;

/* ---- the report ------------------------------------------------------------ */

static void html_text(FILE *f, const char *s) {
  for (; *s; s++) {
    switch (*s) {
      case '<':
        fputs("&lt;", f);
        break;
      case '>':
        fputs("&gt;", f);
        break;
      case '&':
        fputs("&amp;", f);
        break;
      case '"':
        fputs("&quot;", f);
        break;
      default:
        fputc(*s, f);
    }
  }
}

static void html_pre(FILE *f, const char *s) {
  fputs("<pre>", f);
  html_text(f, s);
  fputs("</pre>\n", f);
}

static const char style[] =
    "body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
    "pre{background:#f4f4f4;padding:.6em;white-space:pre-wrap}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;"
    "text-align:right}img{image-rendering:pixelated;height:84px}img.grid{height:auto;width:28em}"
    "img.frame{height:128px}";

static int open_report(demo *d) {
  if (mkdir(d->out, 0755) != 0 && errno != EEXIST) {
    ag_set_error(AG_ERR_IO, "demo: cannot create %s: %s", d->out, strerror(errno));
    return AG_EXIT_RUNTIME;
  }
  snprintf(d->html_tmp, sizeof d->html_tmp, "%s/index.html.tmp.%ld", d->out, (long)getpid());
  if (!(d->html = fopen(d->html_tmp, "w"))) {
    ag_set_error(AG_ERR_IO, "demo: cannot write %s: %s", d->html_tmp, strerror(errno));
    return AG_EXIT_RUNTIME;
  }
  fprintf(d->html, "<!doctype html><meta charset=utf-8><title>aigc demo</title><style>%s</style>\n",
          style);
  fputs("<h1>aigc demo</h1>\n", d->html);
  return AG_EXIT_OK;
}

static int close_report(demo *d, int rc) {
  char path[4096];
  snprintf(path, sizeof path, "%s/index.html", d->out);
  const int written = fclose(d->html) == 0;
  d->html = NULL;
  if (rc == AG_EXIT_OK && written && rename(d->html_tmp, path) == 0) {
    printf("\nreport: %s\n", path);
    return AG_EXIT_OK;
  }
  if (rc == AG_EXIT_OK) ag_set_error(AG_ERR_IO, "demo: cannot write %s: %s", path, strerror(errno));
  remove(d->html_tmp);
  return rc == AG_EXIT_OK ? AG_EXIT_RUNTIME : rc;
}

/* ---- 1. the device ---------------------------------------------------------- */

static int demo_device(demo *d, const char *note) {
  char *info = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&info, &len);
  if (!mem) return ag_set_error(AG_ERR_OOM, "demo: out of host memory"), AG_EXIT_RUNTIME;
  ag_cli_print_info(mem, d->be, note);
  fclose(mem);
  fputs(info, stdout);
  fputs("<h2>Build and device</h2>\n", d->html);
  html_pre(d->html, info);
  free(info);

  const int64_t n = d->be->kind == AG_DEVICE_CUDA ? (int64_t)1 << 26 : (int64_t)1 << 22;
  ag_smoke_row rows[AG_SMOKE_ROWS];
  printf("\nkernel smoke run on %s (f32, %lld elements, median of 10):\n", d->be->name,
         (long long)n);
  if (ag_smoke_run(d->be, n, 10, rows) != AG_OK) return AG_EXIT_RUNTIME;
  fprintf(d->html, "<h3>Kernel smoke run</h3>\n<table><tr><th>op<th>shape<th>ms<th>GB/s\n");
  printf("  %-12s %-18s %10s %10s\n", "op", "shape", "ms", "GB/s");
  for (int i = 0; i < AG_SMOKE_ROWS; i++) {
    printf("  %-12s %-18s %10.3f %10.1f\n", rows[i].op, rows[i].shape, rows[i].ms, rows[i].gbps);
    fprintf(d->html, "<tr><td>%s<td>%s<td>%.3f<td>%.1f\n", rows[i].op, rows[i].shape, rows[i].ms,
            rows[i].gbps);
  }
  fputs("</table>\n", d->html);
  return AG_EXIT_OK;
}

/* ---- 2. CLIP ------------------------------------------------------------------ */

typedef struct clip_run {
  ag_mnist train, test;
  ag_clip_config c;
  ag_params *p;
  ag_clip_thresholds t;
} clip_run;

static void clip_run_free(clip_run *r) {
  ag_params_free(r->p);
  ag_mnist_free(&r->train);
  ag_mnist_free(&r->test);
}

/* Normalised embeddings [n, E] of the first n test images, on the host. */
static ag_status embed_images(clip_run *r, int64_t n, float *emb) {
  ag_graph *g = ag_graph_new(ag_params_backend(r->p));
  if (!g) return AG_ERR_OOM;
  const int64_t hw = r->test.h * r->test.w, xs[4] = {n, 1, r->test.h, r->test.w};
  ag_tensor *x = ag_graph_input(g, "images", AG_F32, 4, xs);
  ag_tensor *e = ag_graph_output(g, ag_clip_image_embed(g, r->p, &r->c, x));
  ag_sched *s = NULL;
  float *pix = malloc(sizeof *pix * (size_t)(n * hw));
  ag_status st = pix ? ag_graph_status(g) : ag_set_error(AG_ERR_OOM, "demo: out of host memory");
  for (int64_t i = 0; st == AG_OK && i < n * hw; i++)
    pix[i] = (r->test.images[i] / 255.0f - r->c.norm_mean) / r->c.norm_std;
  if (st == AG_OK) st = ag_sched_new(g, NULL, &s);
  if (st == AG_OK) st = ag_tensor_write(x, pix, sizeof *pix * (size_t)(n * hw));
  if (st == AG_OK) st = ag_sched_run(s);
  if (st == AG_OK) st = ag_tensor_read(e, emb, sizeof *emb * (size_t)(n * r->c.embed_dim));
  free(pix);
  ag_sched_free(s);
  ag_graph_free(g);
  return st;
}

/* The `SHOWN` gallery images most similar to query q, best first. */
static void nearest(const float *img, const float *txt, int64_t n, int64_t dim, int best[SHOWN]) {
  float score[SHOWN];
  for (int k = 0; k < SHOWN; k++) best[k] = -1, score[k] = -2.0f;
  for (int64_t i = 0; i < n; i++) {
    float s = 0;
    for (int64_t j = 0; j < dim; j++) s += img[i * dim + j] * txt[j];
    int k = SHOWN;
    while (k > 0 && s > score[k - 1]) k--;
    if (k == SHOWN) continue;
    memmove(score + k + 1, score + k, sizeof *score * (SHOWN - 1 - k));
    memmove(best + k + 1, best + k, sizeof *best * (SHOWN - 1 - k));
    score[k] = s, best[k] = (int)i;
  }
}

/* A strip of the chosen test images, side by side. */
static ag_status write_strip(const clip_run *r, const int idx[SHOWN], const char *path) {
  const int h = (int)r->test.h, w = (int)r->test.w;
  uint8_t *pix = calloc((size_t)(h * w * SHOWN), 1);
  if (!pix) return ag_set_error(AG_ERR_OOM, "demo: out of host memory");
  for (int k = 0; k < SHOWN; k++)
    for (int y = 0; y < h; y++)
      memcpy(pix + (size_t)(y * w * SHOWN + k * w), r->test.images + ((size_t)idx[k] * h + y) * w,
             (size_t)w);
  const ag_status st = ag_png_write(path, pix, w * SHOWN, h, 1);
  free(pix);
  return st;
}

static const char *const queries[] = {"a photo of a dark ankle boot", "a light sneaker",
                                      "a large, patterned bag", "a small sandal",
                                      "a picture of a dress"};
enum { N_QUERIES = sizeof queries / sizeof queries[0] };

static ag_status clip_gallery(demo *d, clip_run *r) {
  const int64_t n = r->test.n < GALLERY ? r->test.n : GALLERY, dim = r->c.embed_dim;
  float *img = malloc(sizeof *img * (size_t)(n * dim)),
        *txt = malloc(sizeof *txt * (size_t)(N_QUERIES * dim));
  ag_clip_text_out tq = {0};
  ag_status st =
      img && txt ? embed_images(r, n, img) : ag_set_error(AG_ERR_OOM, "demo: out of host memory");
  if (st == AG_OK) st = ag_clip_encode_text(r->p, &r->c, queries, N_QUERIES, 0, &tq);
  if (st == AG_OK) st = ag_tensor_read(tq.embeddings, txt, sizeof *txt * (size_t)(N_QUERIES * dim));
  fprintf(d->html, "<h3>Retrieval: the %lld test images nearest to a caption</h3>\n", (long long)n);
  printf("  retrieval over %lld test images:\n", (long long)n);
  for (int q = 0; st == AG_OK && q < N_QUERIES; q++) {
    int best[SHOWN];
    char path[4096], file[32];
    nearest(img, txt + q * dim, n, dim, best);
    snprintf(file, sizeof file, "clip_query_%d.png", q);
    snprintf(path, sizeof path, "%s/%s", d->out, file);
    st = write_strip(r, best, path);
    printf("    \"%s\": %s", queries[q], ag_fashion_mnist_class_name(r->test.labels[best[0]]));
    for (int k = 1; k < SHOWN; k++)
      printf(", %s", ag_fashion_mnist_class_name(r->test.labels[best[k]]));
    printf("\n");
    fputs("<p>&ldquo;", d->html);
    html_text(d->html, queries[q]);
    fprintf(d->html, "&rdquo;<br><img src=\"%s\" alt=\"nearest images\">\n", file);
  }
  ag_clip_text_out_free(&tq);
  free(img);
  free(txt);
  return st;
}

static void clip_report(demo *d, const ag_clip_train_result *tr, const ag_clip_eval_result *e) {
  printf(
      "  zero-shot test accuracy %.2f%%; recall@1/@5 image->text %.1f%%/%.1f%%, "
      "text->image %.1f%%/%.1f%% (chunks of %lld)\n",
      100 * e->zero_shot, 100 * e->i2t_r1, 100 * e->i2t_r5, 100 * e->t2i_r1, 100 * e->t2i_r5,
      (long long)e->chunk);
  fprintf(d->html,
          "<p>%lld updates of %d image-caption pairs in %.0f s (final loss %.3f, logit scale "
          "%.2f). Zero-shot test accuracy <b>%.2f%%</b> over %lld images; retrieval within "
          "chunks of %lld test images: image&rarr;text recall@1 %.1f%%, @5 %.1f%%; "
          "text&rarr;image recall@1 %.1f%%, @5 %.1f%%.\n",
          (long long)tr->steps_done, CLIP_BATCH, tr->seconds, tr->last_loss, tr->logit_scale,
          100 * e->zero_shot, (long long)e->images, (long long)e->chunk, 100 * e->i2t_r1,
          100 * e->i2t_r5, 100 * e->t2i_r1, 100 * e->t2i_r5);
  fputs("<h3>Zero-shot confusion (rows: true class)</h3>\n<table><tr><th>", d->html);
  for (int k = 0; k < AG_FASHION_MNIST_CLASSES; k++)
    fprintf(d->html, "<th>%s", ag_fashion_mnist_class_name(k));
  for (int t = 0; t < AG_FASHION_MNIST_CLASSES; t++) {
    fprintf(d->html, "\n<tr><th>%s", ag_fashion_mnist_class_name(t));
    for (int k = 0; k < AG_FASHION_MNIST_CLASSES; k++)
      fprintf(d->html, "<td>%lld", (long long)e->confusion[t][k]);
  }
  fputs("</table>\n", d->html);
}

static int demo_clip(demo *d) {
  printf("\nCLIP on Fashion-MNIST (%d updates of %d pairs):\n", CLIP_STEPS, CLIP_BATCH);
  fputs("<h2>CLIP: text and images in one space</h2>\n", d->html);
  clip_run r = {.c = ag_clip_default_config()};
  ag_clip_train_opts o = ag_clip_default_train_opts();
  o.steps = CLIP_STEPS, o.batch = CLIP_BATCH, o.warmup = CLIP_STEPS / 10;
  ag_clip_train_result tr = {0};
  ag_clip_eval_result e = {0};
  ag_status st = ag_mnist_load(ag_cli_dataset_dir(d->data), "train", &r.train);
  if (st == AG_OK) st = ag_mnist_load(ag_cli_dataset_dir(d->data), "t10k", &r.test);
  if (st == AG_OK) st = ag_clip_train(d->comm, &r.c, &o, &r.train, &r.p, &tr);
  if (st == AG_OK) st = ag_clip_fit_thresholds(&r.train, &r.t);
  if (st == AG_OK) st = ag_clip_evaluate(r.p, &r.c, &r.test, &r.t, o.seed, 1000, &e);
  if (st == AG_OK) clip_report(d, &tr, &e);
  if (st == AG_OK) st = clip_gallery(d, &r);
  clip_run_free(&r);
  return st == AG_OK ? AG_EXIT_OK : AG_EXIT_RUNTIME;
}

/* ---- 3. GPT ------------------------------------------------------------------- */

static ag_status read_text(const char *path, char **text, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return ag_set_error(AG_ERR_IO, "demo: cannot read %s: %s", path, strerror(errno));
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  for (size_t got = 1; buf && got > 0;) {
    if (len == cap) {
      char *grown = realloc(buf, cap *= 2);
      if (!grown) free(buf);
      buf = grown;
      if (!buf) break;
    }
    got = fread(buf + len, 1, cap - len, f);
    len += got;
  }
  const int failed = ferror(f);
  fclose(f);
  if (!buf || failed) {
    free(buf);
    return ag_set_error(AG_ERR_IO, "demo: cannot read %s", path);
  }
  *text = buf, *n = len;
  return AG_OK;
}

static const char *const prompts[] = {"This License", "The GNU General Public License ",
                                      "You may "};
enum { N_PROMPTS = sizeof prompts / sizeof prompts[0], MAX_CONTEXT = 4096 };

/* Each prompt continued to the end of the context. */
static ag_status gpt_samples(demo *d, ag_params *p, const ag_gpt_config *c) {
  ag_gpt_sample_opts so = ag_gpt_default_sample_opts();
  so.top_k = 20;
  fprintf(d->html, "<h3>Samples (temperature %.1f, top-%lld)</h3>\n", so.temperature,
          (long long)so.top_k);
  if (c->context > MAX_CONTEXT)
    return ag_set_error(AG_ERR_INVALID, "demo: a context of %lld", (long long)c->context);
  for (int k = 0; k < N_PROMPTS; k++) {
    int32_t prompt[64], ids[MAX_CONTEXT];
    const size_t len = strlen(prompts[k]);
    char text[MAX_CONTEXT + 1], sample[MAX_CONTEXT + 1];
    size_t used = 0;
    so.max_new = c->context - (int64_t)len;
    ag_tok_encode(prompts[k], len, prompt);
    AG_TRY(ag_gpt_sample(p, c, prompt, (int64_t)len, &so, ids));
    AG_TRY(ag_tok_decode(ids, so.max_new, sample, sizeof sample, &used));
    snprintf(text, sizeof text, "%s%s", prompts[k], sample);
    printf("  --- sample %d ---\n%s\n", k + 1, text);
    html_pre(d->html, text);
  }
  return AG_OK;
}

static int demo_gpt(demo *d) {
  printf("\nGPT on %s (%d steps):\n", d->text, GPT_STEPS);
  fputs("<h2>GPT: a byte-level language model</h2>\n", d->html);
  const ag_gpt_config c = ag_gpt_default_config();
  ag_gpt_train_opts o = ag_gpt_default_train_opts();
  double losses[GPT_STEPS];
  o.steps = GPT_STEPS, o.warmup = GPT_STEPS / 10, o.losses = losses;
  char *text = NULL;
  size_t n = 0;
  ag_params *p = NULL;
  const double t0 = ag_now_seconds();
  ag_status st = read_text(d->text, &text, &n);
  if (st == AG_OK) st = ag_gpt_train(d->comm, &c, &o, text, n, &p);
  if (st == AG_OK) {
    const double s = ag_now_seconds() - t0;
    printf("  loss %.3f -> %.3f nats per byte in %.0f s\n", losses[0], losses[GPT_STEPS - 1], s);
    fprintf(d->html,
            "<p>%lld layers, %lld wide, context %lld, trained for %d steps of %lld windows on "
            "<code>",
            (long long)c.layers, (long long)c.width, (long long)c.context, GPT_STEPS,
            (long long)o.batch);
    html_text(d->html, d->text);
    fprintf(d->html, "</code> (%zu bytes) in %.0f s: loss %.3f &rarr; %.3f nats per byte.\n", n, s,
            losses[0], losses[GPT_STEPS - 1]);
    st = gpt_samples(d, p, &c);
  }
  ag_params_free(p);
  free(text);
  return st == AG_OK ? AG_EXIT_OK : AG_EXIT_RUNTIME;
}

/* ---- 4. diffusion vs GAN ------------------------------------------------------ */

/* What the comparison trains and measures: a few minutes in all on 2 CPU
 * cores; on a GPU the default models, trained longer. */
typedef struct gen_plan {
  int classifier_epochs;
  int64_t unet_base, ddpm_steps, ddpm_batch, gan_steps, gan_batch;
  int64_t n, sweep_n; /* images per source, per sweep point */
} gen_plan;

static gen_plan gen_plan_for(const ag_backend *be) {
  if (be->kind == AG_DEVICE_CUDA)
    return (gen_plan){.classifier_epochs = 5,
                      .unet_base = 32,
                      .ddpm_steps = 4000,
                      .ddpm_batch = 128,
                      .gan_steps = 3000,
                      .gan_batch = 64,
                      .n = 1000,
                      .sweep_n = 256};
  return (gen_plan){.classifier_epochs = 3,
                    .unet_base = 16,
                    .ddpm_steps = 800,
                    .ddpm_batch = 64,
                    .gan_steps = 1000,
                    .gan_batch = 64,
                    .n = 128,
                    .sweep_n = 32};
}

typedef struct gen_run {
  gen_plan plan;
  char classifier[4096], ddpm[4096], gan[4096], report[4096];
  double classifier_accuracy, classifier_seconds;
  ag_ddpm_train_result dr;
  ag_gan_train_result gr;
  ag_compare_summary cmp;
} gen_run;

/* The classifier whose features the comparison measures, saved to r->classifier. */
static ag_status train_feature_classifier(demo *d, const ag_mnist *train, const ag_mnist *test,
                                          gen_run *r) {
  const ag_classifier_config c = ag_classifier_default_config();
  ag_classifier_train_opts o = ag_classifier_default_train_opts();
  o.epochs = r->plan.classifier_epochs;
  ag_classifier_run run;
  AG_TRY(ag_classifier_train_and_save(d->be, &c, &o, train, test, d->data, r->classifier, &run));
  r->classifier_seconds = run.train_seconds + run.eval_seconds;
  r->classifier_accuracy = run.accuracy;
  printf("  classifier: %d epochs in %.0f s, test accuracy %.2f%%\n", o.epochs,
         r->classifier_seconds, 100 * r->classifier_accuracy);
  return AG_OK;
}

static ag_status train_diffusion(demo *d, const ag_mnist *train, gen_run *r) {
  ag_ddpm_config c = ag_ddpm_default_config();
  c.unet.base = r->plan.unet_base;
  ag_ddpm_train_opts o = ag_ddpm_default_train_opts();
  o.steps = r->plan.ddpm_steps;
  o.batch = r->plan.ddpm_batch;
  o.out = r->ddpm;
  o.dataset = d->data;
  AG_TRY(ag_ddpm_train(d->comm, &c, &o, train, &r->dr));
  printf("  diffusion: %lld updates of %lld in %.0f s, last loss %.4f\n",
         (long long)r->dr.steps_done, (long long)o.batch, r->dr.seconds, (double)r->dr.last_loss);
  return AG_OK;
}

static ag_status train_gan(demo *d, const ag_mnist *train, gen_run *r) {
  ag_gan_config c = ag_gan_default_config();
  c.classes = AG_FASHION_MNIST_CLASSES;
  ag_gan_train_opts o = ag_gan_default_train_opts();
  o.steps = r->plan.gan_steps;
  o.batch = r->plan.gan_batch;
  o.ema_decay = 0.995f;
  o.out = r->gan;
  AG_TRY(ag_gan_train(d->be, &c, &o, train, &r->gr));
  printf("  GAN: %lld updates of %lld in %.0f s, losses D %.3f G %.3f\n",
         (long long)r->gr.steps_done, (long long)o.batch, r->gr.seconds, (double)r->gr.d_loss,
         (double)r->gr.g_loss);
  return AG_OK;
}

static ag_status compare_generators(demo *d, gen_run *r) {
  ag_compare_opts o = ag_compare_default_opts();
  o.diffusion = r->ddpm, o.gan = r->gan, o.classifier = r->classifier;
  o.data = ag_cli_dataset_dir(d->data);
  o.n = r->plan.n, o.sweep_n = r->plan.sweep_n;
  o.batches[0] = r->plan.sweep_n, o.batches[1] = r->plan.n, o.n_batches = 2;
  o.log = stdout;
  return ag_compare_run(d->be, &o, r->report, &r->cmp);
}

static void generators_report(demo *d, const gen_run *r) {
  fprintf(d->html,
          "<p>A class-conditional DDPM (UNet base %lld) trained for %lld updates of %lld images "
          "in %.0f s and a class-conditional DCGAN for %lld updates of %lld in %.0f s, both on "
          "the Fashion-MNIST training set, then compared on the features of a classifier "
          "trained for %d epochs in %.0f s (%.2f%% test accuracy). The full report, with the "
          "sampler sweep and the throughput, is <a href=\"compare/index.html\">compare/"
          "index.html</a>.\n",
          (long long)r->plan.unet_base, (long long)r->dr.steps_done, (long long)r->plan.ddpm_batch,
          r->dr.seconds, (long long)r->gr.steps_done, (long long)r->plan.gan_batch, r->gr.seconds,
          r->plan.classifier_epochs, r->classifier_seconds, 100 * r->classifier_accuracy);
  fputs(
      "<table><tr><th>source<th>images<th>FID<th>KID&times;10<sup>3</sup><th>precision"
      "<th>recall<th>classes<th>images/s\n",
      d->html);
  for (int i = 0; i < r->cmp.n_rows; i++) {
    const ag_report_row *w = &r->cmp.rows[i];
    fprintf(d->html, "<tr><td>%s<td>%lld<td>%.2f<td>%.2f<td>%.3f<td>%.3f<td>%lld/%lld<td>", w->name,
            (long long)w->n, w->fid.value, 1e3 * w->kid.value, w->prdc.precision.value,
            w->prdc.recall.value, (long long)w->classes.covered, (long long)w->classes.classes);
    if (w->images_per_s > 0) fprintf(d->html, "%.1f", w->images_per_s);
    fputc('\n', d->html);
  }
  fputs("</table>\n", d->html);
  for (int i = 1; i < r->cmp.n_rows; i++) {
    char file[128];
    ag_report_grid_name(i, r->cmp.rows[i].name, file, sizeof file);
    fprintf(d->html, "<p>%s<br><img class=grid src=\"compare/%s\" alt=\"%s samples\">\n",
            r->cmp.rows[i].name, file, r->cmp.rows[i].name);
  }
}

static int demo_generators(demo *d) {
  gen_run r = {.plan = gen_plan_for(d->be)};
  printf("\nDiffusion vs GAN on Fashion-MNIST:\n");
  fputs("<h2>Diffusion vs GAN</h2>\n", d->html);
  snprintf(r.classifier, sizeof r.classifier, "%s/classifier.safetensors", d->out);
  snprintf(r.ddpm, sizeof r.ddpm, "%s/ddpm.safetensors", d->out);
  snprintf(r.gan, sizeof r.gan, "%s/gan.safetensors", d->out);
  snprintf(r.report, sizeof r.report, "%s/compare", d->out);
  ag_mnist train = {0}, test = {0};
  ag_status st = ag_mnist_load(ag_cli_dataset_dir(d->data), "train", &train);
  if (st == AG_OK) st = ag_mnist_load(ag_cli_dataset_dir(d->data), "t10k", &test);
  if (st == AG_OK) st = train_feature_classifier(d, &train, &test, &r);
  if (st == AG_OK) st = train_diffusion(d, &train, &r);
  if (st == AG_OK) st = train_gan(d, &train, &r);
  if (st == AG_OK) st = compare_generators(d, &r);
  if (st == AG_OK) {
    ag_compare_print_table(stdout, r.cmp.rows, r.cmp.n_rows);
    generators_report(d, &r);
  }
  ag_mnist_free(&train);
  ag_mnist_free(&test);
  return st == AG_OK ? AG_EXIT_OK : AG_EXIT_RUNTIME;
}

/* ---- 5. NeRF ------------------------------------------------------------------ */

#define NERF_SCENE "solid"

/* About a minute of training on 2 CPU cores; on a GPU the scene at twice the
 * resolution and three times the steps, still seconds. */
typedef struct nerf_plan {
  int res, steps, frames;
} nerf_plan;

static nerf_plan nerf_plan_for(const ag_backend *be) {
  if (be->kind == AG_DEVICE_CUDA) return (nerf_plan){.res = 128, .steps = 3000, .frames = 8};
  return (nerf_plan){.res = 64, .steps = 1000, .frames = 8};
}

typedef struct nerf_run {
  nerf_plan plan;
  char dir[4096], scene[4200], checkpoint[4200];
  ag_nerf_scene train, val, test;
  ag_nerf_model m;
  ag_nerf_train_result tr;
  ag_nerf_eval ev;
} nerf_run;

static ag_status make_nerf_scene(nerf_run *r) {
  ag_nerf_make_opts o = ag_nerf_make_default_opts();
  o.res = r->plan.res;
  o.views[0] = 50, o.views[1] = 1, o.views[2] = 4;
  const double t0 = ag_now_seconds();
  if (mkdir(r->dir, 0755) != 0 && errno != EEXIST)
    return ag_set_error(AG_ERR_IO, "demo: cannot create %s: %s", r->dir, strerror(errno));
  AG_TRY(ag_nerf_make_scene(NERF_SCENE, r->scene, &o));
  AG_TRY(ag_nerf_scene_load(r->scene, "train", &r->train));
  AG_TRY(ag_nerf_scene_load(r->scene, "val", &r->val));
  AG_TRY(ag_nerf_scene_load(r->scene, "test", &r->test));
  printf("  scene '%s': %d train / %d test views of %dx%d in %.1f s\n", NERF_SCENE, o.views[0],
         o.views[2], o.res, o.res, ag_now_seconds() - t0);
  return AG_OK;
}

static ag_status train_nerf(demo *d, nerf_run *r) {
  const ag_nerf_config c = ag_nerf_default_config(1.5f, d->be->kind == AG_DEVICE_CUDA);
  ag_nerf_train_opts o = ag_nerf_default_train_opts(d->be->kind == AG_DEVICE_CUDA);
  o.steps = r->plan.steps;
  o.out = r->checkpoint;
  AG_TRY(ag_nerf_train(d->be, &c, &o, &r->train, &r->val, &r->m, &r->tr));
  AG_TRY(ag_nerf_evaluate(&r->m, &r->test, 1, &r->ev));
  printf("  trained: %lld steps in %.0f s (%.0f rays/s), loss %.4f -> %.4f\n",
         (long long)r->tr.steps, r->tr.seconds, (double)r->tr.rays / r->tr.seconds,
         r->tr.first_loss, r->tr.last_loss);
  printf("  test PSNR %.2f dB, SSIM %.4f over %d views (white background, sRGB)\n", r->ev.psnr,
         r->ev.ssim, r->ev.views);
  return AG_OK;
}

/* rgb [n * 3] over black and its opacity as an RGBA PNG. */
static ag_status write_render(const char *path, const float *rgb, const float *opacity, int w,
                              int h) {
  uint8_t *rgba = malloc(4 * (size_t)w * (size_t)h);
  if (!rgba) return ag_set_error(AG_ERR_OOM, "demo: out of host memory");
  ag_nerf_to_rgba(rgb, opacity, (int64_t)w * h, rgba);
  const ag_status st = ag_png_write(path, rgba, w, h, 4);
  free(rgba);
  return st;
}

/* One camera rendered over black to dir/name. */
static ag_status render_to(ag_nerf_renderer *rn, const ag_nerf_camera *cam, const char *dir,
                           const char *name) {
  char path[4400];
  const size_t n = (size_t)cam->w * (size_t)cam->h;
  const float black[3] = {0, 0, 0};
  float *rgb = malloc(sizeof(float) * 3 * n), *opacity = malloc(sizeof(float) * n);
  ag_status st = rgb && opacity ? AG_OK : ag_set_error(AG_ERR_OOM, "demo: out of host memory");
  if (st == AG_OK) st = ag_nerf_render_view(rn, cam, black, rgb, opacity, NULL, NULL);
  snprintf(path, sizeof path, "%s/%s", dir, name);
  if (st == AG_OK) st = write_render(path, rgb, opacity, cam->w, cam->h);
  free(rgb), free(opacity);
  return st;
}

/* The orbit frames and test view 0 beside its reference, in r->dir. */
static ag_status render_nerf(nerf_run *r) {
  ag_nerf_camera *cams = calloc((size_t)r->plan.frames, sizeof *cams);
  ag_nerf_renderer *rn = NULL;
  char name[64], path[4400];
  const double t0 = ag_now_seconds();
  ag_status st = cams ? AG_OK : ag_set_error(AG_ERR_OOM, "demo: out of host memory");
  if (st == AG_OK) st = ag_nerf_renderer_new(r->m.p, &r->m.c, r->m.occ.bitfield, 4096, &rn);
  if (st == AG_OK) ag_nerf_orbit(r->plan.frames, 128, 128, 4.0f, 0.5235988f, cams);
  for (int f = 0; st == AG_OK && f < r->plan.frames; f++) {
    snprintf(name, sizeof name, "frame_%04d.png", f);
    st = render_to(rn, &cams[f], r->dir, name);
  }
  if (st == AG_OK) {
    printf("  orbit: %d frames of 128x128 in %.1f s\n", r->plan.frames, ag_now_seconds() - t0);
    st = render_to(rn, &r->test.cameras.cams[0], r->dir, "test_0000.png");
  }
  const ag_image *ref = &r->test.images[0];
  snprintf(path, sizeof path, "%s/reference_0000.png", r->dir);
  if (st == AG_OK) st = ag_png_write(path, ref->pixels, ref->w, ref->h, 4);
  ag_nerf_renderer_free(rn);
  free(cams);
  return st;
}

static void nerf_report(demo *d, const nerf_run *r) {
  fprintf(d->html,
          "<p>The procedural scene '%s' (a shaded torus) made at %dx%d, an Instant-NGP-style "
          "NeRF (hash grid %lld levels &times; %lld features, 2<sup>%lld</sup> rows; occupancy "
          "grid %lld<sup>3</sup>) trained on its %d train views for %lld steps in %.0f s "
          "(%.0f rays/s, %.0f samples/s). On the %d test views it never saw: <b>PSNR %.2f dB, "
          "SSIM %.4f</b> (white background, sRGB). The checkpoint is <code>nerf/nerf.safetensors"
          "</code>; <code>aigc render --checkpoint nerf/nerf.safetensors --orbit 60 --res "
          "400x400 --out DIR</code> renders more.\n<p>",
          NERF_SCENE, r->plan.res, r->plan.res, (long long)r->m.c.grid.levels,
          (long long)r->m.c.grid.features, (long long)r->m.c.grid.log2_table,
          (long long)r->m.c.occ_res, r->train.cameras.n, (long long)r->tr.steps, r->tr.seconds,
          (double)r->tr.rays / r->tr.seconds, (double)r->tr.samples / r->tr.seconds, r->ev.views,
          r->ev.psnr, r->ev.ssim);
  for (int f = 0; f < r->plan.frames; f++)
    fprintf(d->html, "<img class=frame src=\"nerf/frame_%04d.png\" alt=\"orbit frame %d\">", f, f);
  fputs(
      "\n<p>Test view 0, reference and render:<br>"
      "<img class=frame src=\"nerf/reference_0000.png\" alt=\"reference\">"
      "<img class=frame src=\"nerf/test_0000.png\" alt=\"render\">\n",
      d->html);
}

static int demo_nerf(demo *d) {
  nerf_run r = {.plan = nerf_plan_for(d->be)};
  printf("\nNeRF on a procedural scene:\n");
  fputs("<h2>NeRF</h2>\n", d->html);
  snprintf(r.dir, sizeof r.dir, "%s/nerf", d->out);
  snprintf(r.scene, sizeof r.scene, "%s/scene", r.dir);
  snprintf(r.checkpoint, sizeof r.checkpoint, "%s/nerf.safetensors", r.dir);
  ag_status st = make_nerf_scene(&r);
  if (st == AG_OK) st = train_nerf(d, &r);
  if (st == AG_OK) st = render_nerf(&r);
  if (st == AG_OK) nerf_report(d, &r);
  ag_nerf_model_free(&r.m);
  ag_nerf_scene_free(&r.train);
  ag_nerf_scene_free(&r.val);
  ag_nerf_scene_free(&r.test);
  return st == AG_OK ? AG_EXIT_OK : AG_EXIT_RUNTIME;
}

/* ---- the command ---------------------------------------------------------------- */

static int parse_demo(const ag_cli *cli, int argc, char **argv, demo *d) {
  *d = (demo){.out = DEFAULT_OUT, .data = "fashion-mnist", .text = DEFAULT_TEXT};
  ag_cli_args a = ag_cli_args_of(cli, argc, argv);
  while (ag_cli_next(&a)) {
    ag_cli_text(&a, "--out", &d->out);
    ag_cli_text(&a, "--data", &d->data);
    ag_cli_text(&a, "--text", &d->text);
  }
  return a.rc;
}

static int run_demo(demo *d, const char *note) {
  int rc = demo_device(d, note);
  if (rc == AG_EXIT_OK) rc = demo_clip(d);
  if (rc == AG_EXIT_OK) rc = demo_gpt(d);
  if (rc == AG_EXIT_OK) rc = demo_generators(d);
  if (rc == AG_EXIT_OK) rc = demo_nerf(d);
  return rc;
}

int ag_cmd_demo(const ag_cli *cli, int argc, char **argv) {
  demo d;
  char note[512];
  /* Each line as it is printed, also into a pipe or a log: the tour takes
   * minutes. */
  setvbuf(stdout, NULL, _IOLBF, 0);
  int rc = parse_demo(cli, argc, argv, &d);
  if (rc == AG_EXIT_OK) rc = ag_cli_open_device(cli, &d.be, note, sizeof note);
  if (rc != AG_EXIT_OK) return rc;
  if (ag_comm_open(d.be, &(ag_comm_opts){.kind = AG_COMM_SINGLE}, &d.comm) != AG_OK)
    return AG_EXIT_RUNTIME;
  rc = open_report(&d);
  if (rc == AG_EXIT_OK) rc = close_report(&d, run_demo(&d, note));
  ag_comm_close(d.comm);
  return rc;
}
