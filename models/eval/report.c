/* The report's files: a staging directory beside the target, the grids, the
 * JSON and the page written there, then moved into place. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report_internal.h"
#include "runtime/io/png.h"

/* ---- text buffer ------------------------------------------------------- */

static int sb_reserve(ag_strbuf *b, size_t extra) {
  if (b->oom) return 0;
  if (b->len + extra + 1 <= b->cap) return 1;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < b->len + extra + 1) cap *= 2;
  char *s = realloc(b->s, cap);
  if (!s) {
    b->oom = 1;
    return 0;
  }
  b->s = s;
  b->cap = cap;
  return 1;
}

void ag_sb_put(ag_strbuf *b, const char *s, size_t n) {
  if (!sb_reserve(b, n)) return;
  memcpy(b->s + b->len, s, n);
  b->len += n;
  b->s[b->len] = 0;
}

void ag_sb_printf(ag_strbuf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  const int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0 || !sb_reserve(b, (size_t)n)) return;
  va_start(ap, fmt);
  vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

void ag_sb_html(ag_strbuf *b, const char *s) {
  for (; *s; s++) {
    switch (*s) {
      case '&': ag_sb_put(b, "&amp;", 5); break;
      case '<': ag_sb_put(b, "&lt;", 4); break;
      case '>': ag_sb_put(b, "&gt;", 4); break;
      case '"': ag_sb_put(b, "&quot;", 6); break;
      default: ag_sb_put(b, s, 1);
    }
  }
}

void ag_sb_base64(ag_strbuf *b, const unsigned char *d, size_t n) {
  static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  if (!sb_reserve(b, 4 * ((n + 2) / 3))) return;
  char *o = b->s + b->len;
  for (size_t i = 0; i < n; i += 3) {
    const unsigned v = (unsigned)d[i] << 16 | (i + 1 < n ? (unsigned)d[i + 1] << 8 : 0) |
                       (i + 2 < n ? d[i + 2] : 0);
    *o++ = abc[v >> 18 & 63];
    *o++ = abc[v >> 12 & 63];
    *o++ = i + 1 < n ? abc[v >> 6 & 63] : '=';
    *o++ = i + 2 < n ? abc[v & 63] : '=';
  }
  b->len = (size_t)(o - b->s);
  b->s[b->len] = 0;
}

void ag_sb_free(ag_strbuf *b) {
  free(b->s);
  memset(b, 0, sizeof *b);
}

/* ---- JSON -------------------------------------------------------------- */

static void add_estimate(cJSON *o, const char *key, ag_estimate e) {
  cJSON *j = cJSON_AddObjectToObject(o, key);
  cJSON_AddNumberToObject(j, "value", e.value);
  cJSON_AddNumberToObject(j, "std", e.std);
}

static void add_classes(cJSON *o, const ag_class_coverage *c) {
  cJSON *j = cJSON_AddObjectToObject(o, "class_coverage");
  cJSON *h = cJSON_AddArrayToObject(j, "histogram");
  for (int64_t k = 0; k < c->classes; k++) cJSON_AddItemToArray(h, cJSON_CreateNumber((double)c->hist[k]));
  add_estimate(j, "kl_to_uniform", c->kl);
  cJSON_AddNumberToObject(j, "covered", (double)c->covered);
  cJSON_AddNumberToObject(j, "classes", (double)c->classes);
  if (c->label_accuracy.value >= 0) add_estimate(j, "label_accuracy", c->label_accuracy);
}

static void add_row(cJSON *rows, const ag_report_row *w, const char *grid) {
  cJSON *j = cJSON_CreateObject();
  cJSON_AddItemToArray(rows, j);
  cJSON_AddStringToObject(j, "name", w->name);
  cJSON_AddStringToObject(j, "kind", w->kind);
  cJSON_AddNumberToObject(j, "n", (double)w->n);
  add_estimate(j, "fid", w->fid);
  add_estimate(j, "kid", w->kid);
  add_estimate(j, "precision", w->prdc.precision);
  add_estimate(j, "recall", w->prdc.recall);
  add_estimate(j, "density", w->prdc.density);
  add_estimate(j, "coverage", w->prdc.coverage);
  add_classes(j, &w->classes);
  if (w->has_memo) {
    cJSON *m = cJSON_AddObjectToObject(j, "memorisation");
    cJSON_AddNumberToObject(m, "generated_median_nn", w->memo.gen_median);
    cJSON_AddNumberToObject(m, "test_median_nn", w->memo.test_median);
    add_estimate(m, "ratio", w->memo.ratio);
    cJSON_AddNumberToObject(m, "copy_fraction", w->memo.copy_fraction);
    cJSON_AddBoolToObject(m, "flagged", w->memo.flagged);
  }
  if (w->images_per_s > 0) cJSON_AddNumberToObject(j, "images_per_s", w->images_per_s);
  if (grid[0]) cJSON_AddStringToObject(j, "grid", grid);
}

static void add_generator(cJSON *arr, const ag_report_generator *g) {
  cJSON *j = cJSON_CreateObject();
  cJSON_AddItemToArray(arr, j);
  cJSON_AddStringToObject(j, "checkpoint", g->path);
  cJSON_AddStringToObject(j, "kind", g->info.kind);
  cJSON_AddNumberToObject(j, "height", (double)g->info.height);
  cJSON_AddNumberToObject(j, "width", (double)g->info.width);
  cJSON_AddNumberToObject(j, "classes", (double)g->info.classes);
  cJSON_AddNumberToObject(j, "params", (double)g->info.params);
  cJSON_AddNumberToObject(j, "train_steps", (double)g->info.train_steps);
  cJSON_AddNumberToObject(j, "train_seconds", g->info.train_seconds);
  cJSON_AddNumberToObject(j, "train_peak_bytes", (double)g->info.train_peak_bytes);
  cJSON_AddStringToObject(j, "train_device", g->info.device);
  cJSON_AddStringToObject(j, "dataset", g->info.dataset);
}

static void add_sweep_and_speed(cJSON *root, const ag_report *r) {
  cJSON *sw = cJSON_AddArrayToObject(root, "sampler_sweep");
  for (int i = 0; i < r->n_sweep; i++) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddItemToArray(sw, j);
    cJSON_AddStringToObject(j, "sampler", r->sweep[i].sampler);
    cJSON_AddNumberToObject(j, "steps", (double)r->sweep[i].steps);
    cJSON_AddNumberToObject(j, "n", (double)r->sweep[i].n);
    cJSON_AddNumberToObject(j, "batch", (double)r->sweep[i].batch);
    add_estimate(j, "fid", r->sweep[i].fid);
    cJSON_AddNumberToObject(j, "images_per_s", r->sweep[i].images_per_s);
  }
  cJSON *sp = cJSON_AddArrayToObject(root, "throughput");
  for (int i = 0; i < r->n_speed; i++) {
    const ag_report_speed *s = &r->speed[i];
    cJSON *j = cJSON_CreateObject();
    cJSON_AddItemToArray(sp, j);
    cJSON_AddStringToObject(j, "generator", s->generator);
    if (s->steps) {
      cJSON_AddStringToObject(j, "sampler", s->sampler);
      cJSON_AddNumberToObject(j, "steps", (double)s->steps);
    }
    cJSON_AddNumberToObject(j, "batch", (double)s->batch);
    cJSON_AddNumberToObject(j, "images", (double)s->images);
    cJSON_AddNumberToObject(j, "seconds", s->seconds);
    cJSON_AddNumberToObject(j, "images_per_s", s->images_per_s);
  }
}

static void add_settings(cJSON *root, const ag_report *r) {
  cJSON *j = cJSON_AddObjectToObject(root, "settings");
  cJSON_AddStringToObject(j, "features",
                          "aigc's Fashion-MNIST classifier feature layer (not Inception)");
  cJSON_AddStringToObject(j, "classifier", r->classifier);
  if (r->classifier_accuracy >= 0)
    cJSON_AddNumberToObject(j, "classifier_test_accuracy", r->classifier_accuracy);
  cJSON_AddNumberToObject(j, "feature_dim", (double)r->feature_dim);
  cJSON_AddStringToObject(j, "data", r->data);
  cJSON_AddNumberToObject(j, "reference_images", (double)r->n_reference);
  cJSON_AddNumberToObject(j, "images_per_source", (double)r->n);
  cJSON_AddNumberToObject(j, "seed", (double)r->seed);
  cJSON_AddStringToObject(j, "device", r->device);
  cJSON_AddNumberToObject(j, "seconds", r->seconds);
  cJSON_AddNumberToObject(j, "fid_bootstrap_reps", r->fid.reps);
  cJSON_AddNumberToObject(j, "kid_subsets", (double)r->kid.subsets);
  cJSON_AddNumberToObject(j, "kid_subset_size", (double)r->kid.subset_size);
  cJSON_AddNumberToObject(j, "prdc_k", r->prdc.k);
  cJSON_AddNumberToObject(j, "prdc_half_samples", r->prdc.halves);
  cJSON_AddNumberToObject(j, "memorisation_reference_images", (double)r->memo_reference);
  cJSON_AddNumberToObject(j, "memorisation_ratio_flag", r->memo.ratio_flag);
  cJSON_AddNumberToObject(j, "memorisation_copy_flag", r->memo.copy_flag);
}

static char *report_json(const ag_report *r, const ag_report_grid *grids) {
  cJSON *root = cJSON_CreateObject();
  if (!root) return NULL;
  cJSON_AddStringToObject(root, "title", r->title);
  add_settings(root, r);
  cJSON *gens = cJSON_AddArrayToObject(root, "generators");
  for (int i = 0; i < r->n_generators; i++) add_generator(gens, &r->generators[i]);
  cJSON *rows = cJSON_AddArrayToObject(root, "rows");
  for (int i = 0; i < r->n_rows; i++) add_row(rows, &r->rows[i], grids[i].file);
  add_sweep_and_speed(root, r);
  char *s = cJSON_Print(root);
  cJSON_Delete(root);
  return s;
}

/* ---- files ------------------------------------------------------------- */

#define MAX_FILES (8 + 2)

/* The staging directory and what has been written into it, in order. */
typedef struct staging {
  char dir[4000], stage[4096]; /* room for ".staging.<pid>" */
  char files[MAX_FILES][96];
  int n_files;
} staging;

static ag_status path_join(char *out, size_t len, const char *dir, const char *file) {
  const int k = snprintf(out, len, "%s/%s", dir, file);
  if (k < 0 || (size_t)k >= len) return ag_set_error(AG_ERR_INVALID, "report: path '%s/%s' is too long", dir, file);
  return AG_OK;
}

static ag_status staging_open(staging *s, const char *dir) {
  memset(s, 0, sizeof *s);
  size_t n = strlen(dir);
  while (n > 1 && dir[n - 1] == '/') n--;
  if (n == 0 || n >= sizeof s->dir)
    return ag_set_error(AG_ERR_INVALID, "report: output directory '%s' is empty or too long", dir);
  memcpy(s->dir, dir, n);
  snprintf(s->stage, sizeof s->stage, "%s.staging.%ld", s->dir, (long)getpid());
  if (mkdir(s->stage, 0755) != 0)
    return ag_set_error(AG_ERR_IO, "report: cannot create '%s': %s", s->stage, strerror(errno));
  return AG_OK;
}

static void staging_abort(staging *s) {
  char p[4200];
  for (int i = 0; i < s->n_files; i++)
    if (path_join(p, sizeof p, s->stage, s->files[i]) == AG_OK) remove(p);
  rmdir(s->stage);
}

static ag_status staging_add(staging *s, const char *file) {
  const size_t n = strlen(file);
  if (s->n_files == MAX_FILES || n >= sizeof s->files[0])
    return ag_set_error(AG_ERR_INVALID, "report: too many files or too long a name '%s'", file);
  memcpy(s->files[s->n_files++], file, n + 1);
  return AG_OK;
}

static ag_status write_text(staging *s, const char *file, const char *text, size_t len) {
  char p[4200];
  AG_TRY(path_join(p, sizeof p, s->stage, file));
  AG_TRY(staging_add(s, file));
  FILE *f = fopen(p, "wb");
  if (!f) return ag_set_error(AG_ERR_IO, "report: cannot create '%s': %s", p, strerror(errno));
  const int ok = fwrite(text, 1, len, f) == len;
  if (fclose(f) != 0 || !ok) return ag_set_error(AG_ERR_IO, "report: cannot write '%s'", p);
  return AG_OK;
}

/* Moves the staged files into the target: the whole directory at once when
 * the target does not exist, else file by file with index.html (staged
 * last) last, so a page never links a file that is not there yet. */
static ag_status staging_commit(staging *s) {
  struct stat st;
  if (stat(s->dir, &st) != 0) {
    if (rename(s->stage, s->dir) == 0) return AG_OK;
    return ag_set_error(AG_ERR_IO, "report: cannot move '%s' to '%s': %s", s->stage, s->dir,
                        strerror(errno));
  }
  if (!S_ISDIR(st.st_mode))
    return ag_set_error(AG_ERR_IO, "report: '%s' exists and is not a directory", s->dir);
  char from[4200], to[4200];
  for (int i = 0; i < s->n_files; i++) {
    AG_TRY(path_join(from, sizeof from, s->stage, s->files[i]));
    AG_TRY(path_join(to, sizeof to, s->dir, s->files[i]));
    if (rename(from, to) != 0)
      return ag_set_error(AG_ERR_IO, "report: cannot move '%s' to '%s': %s", from, to, strerror(errno));
  }
  rmdir(s->stage);
  return AG_OK;
}

void ag_report_grid_name(int i, const char *row, char *out, size_t len) {
  int k = snprintf(out, len, "grid_%d_", i);
  for (const char *c = row; *c && (size_t)k + 5 < len; c++) {
    const char ch = *c;
    const int keep = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
    out[k++] = keep ? ch : (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : '_';
  }
  snprintf(out + k, len - (size_t)k, ".png");
}

static ag_status read_file(const char *path, unsigned char **data, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return ag_set_error(AG_ERR_IO, "report: cannot read back '%s'", path);
  fseek(f, 0, SEEK_END);
  const long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  *data = n > 0 ? malloc((size_t)n) : NULL;
  const int ok = *data && fread(*data, 1, (size_t)n, f) == (size_t)n;
  fclose(f);
  if (!ok) {
    free(*data);
    *data = NULL;
    return ag_set_error(AG_ERR_IO, "report: cannot read back '%s'", path);
  }
  *len = (size_t)n;
  return AG_OK;
}

/* The row's images as a grid PNG in the staging directory, kept in memory
 * for the page. At most 64 images, 8 to a row. */
static ag_status write_grid(staging *s, int i, const ag_report_row *w, ag_report_grid *g) {
  ag_report_grid_name(i, w->name, g->file, sizeof g->file);
  ag_grid_opts o = ag_grid_default_opts();
  o.signed_range = 0;
  o.cols = 8;
  o.pad_value = 255;
  ag_image img = {0};
  const int64_t n = w->grid_n < 64 ? w->grid_n : 64;
  AG_TRY(ag_image_grid(w->grid_images, n, 1, w->grid_h, w->grid_w, &o, &img));
  char p[4200];
  ag_status st = path_join(p, sizeof p, s->stage, g->file);
  if (st == AG_OK) st = staging_add(s, g->file);
  if (st == AG_OK) st = ag_png_write(p, img.pixels, img.w, img.h, img.c);
  ag_image_free(&img);
  return st == AG_OK ? read_file(p, &g->png, &g->png_len) : st;
}

static ag_status write_all(staging *s, const ag_report *r, ag_report_grid *grids) {
  for (int i = 0; i < r->n_rows; i++)
    if (r->rows[i].grid_images && r->rows[i].grid_n > 0) AG_TRY(write_grid(s, i, &r->rows[i], &grids[i]));
  char *json = report_json(r, grids);
  if (!json) return ag_set_error(AG_ERR_OOM, "report: out of host memory for the JSON");
  ag_status st = write_text(s, "compare.json", json, strlen(json));
  free(json);
  AG_TRY(st);
  ag_strbuf page = {0};
  ag_report_html(r, grids, &page);
  st = page.oom ? ag_set_error(AG_ERR_OOM, "report: out of host memory for the page")
                : write_text(s, "index.html", page.s, page.len);
  ag_sb_free(&page);
  return st;
}

ag_status ag_report_write(const ag_report *r, const char *dir) {
  if (r->n_rows > 8 || r->n_generators > 2)
    return ag_set_error(AG_ERR_INVALID, "report: %d rows and %d generators (at most 8 and 2)",
                        r->n_rows, r->n_generators);
  staging s;
  AG_TRY(staging_open(&s, dir));
  ag_report_grid grids[8];
  memset(grids, 0, sizeof grids);
  ag_status st = write_all(&s, r, grids);
  if (st == AG_OK) st = staging_commit(&s);
  if (st != AG_OK) staging_abort(&s);
  for (int i = 0; i < 8; i++) free(grids[i].png);
  return st;
}
