/* Measured-attribute captions for Fashion-MNIST (see ag_clip_captions.h). */
#include "ag_clip_captions.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ag_tokenizer.h"

ag_clip_measures ag_clip_measure(const uint8_t *pixels, int64_t h, int64_t w) {
  double count = 0, sum = 0, sq = 0;
  for (int64_t i = 0; i < h * w; i++) {
    if (pixels[i] <= AG_CLIP_GARMENT_LEVEL) continue;
    count += 1;
    sum += pixels[i];
    sq += (double)pixels[i] * pixels[i];
  }
  const double mean = count > 0 ? sum / count : 0;
  const double var = count > 0 ? sq / count - mean * mean : 0;
  ag_clip_measures m;
  m.v[AG_CLIP_SIZE] = (float)count;
  m.v[AG_CLIP_BRIGHTNESS] = (float)mean;
  m.v[AG_CLIP_TEXTURE] = (float)sqrt(var > 0 ? var : 0);
  return m;
}

static int compare_floats(const void *a, const void *b) {
  const float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

ag_status ag_clip_fit_thresholds(const ag_mnist *train, ag_clip_thresholds *out) {
  if (train->n < 3)
    return ag_set_error(AG_ERR_INVALID, "clip captions: %lld training images, terciles need 3",
                        (long long)train->n);
  float *v = malloc(sizeof(float) * (size_t)train->n * AG_CLIP_ATTRS);
  if (!v) return ag_set_error(AG_ERR_OOM, "clip captions: out of host memory");
  const int64_t hw = train->h * train->w;
  for (int64_t i = 0; i < train->n; i++) {
    const ag_clip_measures m = ag_clip_measure(train->images + i * hw, train->h, train->w);
    for (int a = 0; a < AG_CLIP_ATTRS; a++) v[a * train->n + i] = m.v[a];
  }
  for (int a = 0; a < AG_CLIP_ATTRS; a++) {
    float *col = v + a * train->n;
    qsort(col, (size_t)train->n, sizeof *col, compare_floats);
    out->lo[a] = col[train->n / 3];
    out->hi[a] = col[2 * train->n / 3];
  }
  free(v);
  return AG_OK;
}

ag_clip_levels ag_clip_levels_of(const ag_clip_measures *m, const ag_clip_thresholds *t) {
  ag_clip_levels l;
  for (int a = 0; a < AG_CLIP_ATTRS; a++)
    l.level[a] = m->v[a] < t->lo[a]    ? AG_CLIP_LOW
                 : m->v[a] >= t->hi[a] ? AG_CLIP_HIGH
                                       : AG_CLIP_MIDDLE;
  return l;
}

/* ---- caption text ---------------------------------------------------------- */

static const char *const nouns[AG_FASHION_MNIST_CLASSES] = {
    "t-shirt", "trouser", "pullover", "dress", "coat",
    "sandal",  "shirt",   "sneaker",  "bag",   "ankle boot"};

/* Words of the low and high level of each attribute, in caption order. */
static const char *const words[AG_CLIP_ATTRS][2] = {
    {"small", "large"}, {"dark", "light"}, {"plain", "patterned"}};

/* Templates: %s is the article + adjectives + noun phrase, or for the last
 * one the article + noun and then the adjectives as a predicate. */
enum { T_PHOTO, T_PICTURE, T_BARE, T_IMAGE, T_PREDICATE, N_TEMPLATES };
static const char *const prefixes[N_TEMPLATES] = {"a photo of ", "a picture of ", "",
                                                  "an image of ", ""};

static uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

static const char *article(const char *next) {
  return strchr("aeiou", next[0]) && next[0] ? "an" : "a";
}

/* The adjectives a caption names: *n of them into adj. Each level that is
 * not the middle is named with probability 3/4, two bits of `bits` each. */
static int pick_adjectives(ag_clip_levels l, uint64_t bits, const char *adj[AG_CLIP_ATTRS]) {
  int n = 0;
  for (int a = 0; a < AG_CLIP_ATTRS; a++, bits >>= 2)
    if (l.level[a] != AG_CLIP_MIDDLE && (bits & 3) != 0)
      adj[n++] = words[a][l.level[a] == AG_CLIP_HIGH];
  return n;
}

/* "x", "x and y", "x, y and z" (predicate) or "x", "x, y", "x, y, z". */
static size_t join(const char *const *adj, int n, int predicate, char *out, size_t cap) {
  size_t w = 0;
  out[0] = '\0';
  for (int i = 0; i < n && w < cap; i++) {
    const char *sep = i == 0 ? "" : predicate && i == n - 1 ? " and " : ", ";
    w += (size_t)snprintf(out + w, cap - w, "%s%s", sep, adj[i]);
  }
  return w;
}

static size_t compose(int label, int template_, const char *const *adj, int n, char *out,
                      size_t cap) {
  char list[64];
  const char *noun = nouns[label];
  if (n == 0 || template_ != T_PREDICATE) {
    join(adj, n, 0, list, sizeof list);
    const char *first = n ? list : noun;
    const int t = template_ == T_PREDICATE ? T_PHOTO : template_;
    return (size_t)snprintf(out, cap, "%s%s %s%s%s", prefixes[t], article(first), list,
                            n ? " " : "", noun);
  }
  join(adj, n, 1, list, sizeof list);
  return (size_t)snprintf(out, cap, "%s %s that is %s", article(noun), noun, list);
}

size_t ag_clip_caption(int label, ag_clip_levels levels, uint64_t seed, int64_t index,
                       uint64_t epoch, char *out, size_t cap) {
  const uint64_t h =
      splitmix64(splitmix64(splitmix64(seed) ^ (uint64_t)index) ^ (epoch * 0xD1B54A32D192ED03ull));
  const char *adj[AG_CLIP_ATTRS];
  const int n = pick_adjectives(levels, h, adj);
  return compose(label, (int)((h >> 8) % N_TEMPLATES), adj, n, out, cap);
}

size_t ag_clip_prompt(int label, int t, char *out, size_t cap) {
  return compose(label, t % AG_CLIP_PROMPTS, NULL, 0, out, cap);
}

/* ---- the dataset ----------------------------------------------------------- */

enum { F_IMAGE, F_LABEL, F_INDEX, F_IDS, F_EOT, F_COUNT };

typedef struct clip_data {
  const ag_mnist *raw;
  ag_clip_levels *levels; /* per image */
  ag_clip_data_opts o;
  float scale, shift;
  ag_field fields[F_COUNT];
} clip_data;

static int64_t data_length(const ag_dataset *ds) { return ((const clip_data *)ds->ctx)->raw->n; }

static const ag_field *data_fields(const ag_dataset *ds, int *count) {
  *count = F_COUNT;
  return ((const clip_data *)ds->ctx)->fields;
}

/* Item i's caption row for `epoch` into ids [context] and *eot. */
static ag_status write_caption(const clip_data *d, int64_t i, uint64_t epoch, int32_t *ids,
                               int32_t *eot) {
  char text[AG_CLIP_CAPTION_MAX + 8];
  const size_t n =
      ag_clip_caption(d->raw->labels[i], d->levels[i], d->o.seed, i, epoch, text, sizeof text);
  int64_t used = 0;
  AG_TRY(ag_tok_encode_padded(text, n, d->o.context, ids, &used));
  *eot = (int32_t)(used - 1);
  return AG_OK;
}

static ag_status data_fill(ag_dataset *ds, const int64_t *indices, int n, void *const *buffers) {
  const clip_data *d = ds->ctx;
  const int64_t hw = d->raw->h * d->raw->w, t = d->o.context;
  for (int k = 0; k < n; k++) {
    const int64_t i = indices[k];
    ag_u8_to_f32(d->raw->images + i * hw, (float *)buffers[F_IMAGE] + k * hw, (size_t)hw, d->scale,
                 d->shift);
    ((int32_t *)buffers[F_LABEL])[k] = d->raw->labels[i];
    ((int32_t *)buffers[F_INDEX])[k] = (int32_t)i;
    AG_TRY(
        write_caption(d, i, 0, (int32_t *)buffers[F_IDS] + k * t, (int32_t *)buffers[F_EOT] + k));
  }
  return AG_OK;
}

static void data_free(void *ctx) {
  clip_data *d = ctx;
  if (!d) return;
  free(d->levels);
  free(d);
}

static const ag_dataset_ops data_ops = {data_length, data_fields, data_fill, data_free};

static ag_status measure_all(clip_data *d) {
  const int64_t hw = d->raw->h * d->raw->w;
  d->levels = malloc(sizeof *d->levels * (size_t)(d->raw->n ? d->raw->n : 1));
  if (!d->levels) return ag_set_error(AG_ERR_OOM, "clip captions: out of host memory");
  for (int64_t i = 0; i < d->raw->n; i++) {
    const ag_clip_measures m = ag_clip_measure(d->raw->images + i * hw, d->raw->h, d->raw->w);
    d->levels[i] = ag_clip_levels_of(&m, &d->o.thresholds);
  }
  return AG_OK;
}

ag_status ag_clip_dataset_open(const ag_mnist *raw, const ag_clip_data_opts *o, ag_dataset **out) {
  *out = NULL;
  if (o->context < AG_CLIP_CAPTION_MAX + 2)
    return ag_set_error(AG_ERR_INVALID, "clip captions: a context of %lld ids is below %d",
                        (long long)o->context, AG_CLIP_CAPTION_MAX + 2);
  if (raw->n > INT32_MAX)
    return ag_set_error(AG_ERR_INVALID, "clip captions: %lld images do not fit i32 indices",
                        (long long)raw->n);
  clip_data *d = calloc(1, sizeof *d);
  if (!d) return ag_set_error(AG_ERR_OOM, "clip captions: out of host memory");
  d->raw = raw;
  d->o = *o;
  ag_status st =
      ag_pixel_norm_coeffs(AG_PIXEL_MEAN_STD, o->norm_mean, o->norm_std, &d->scale, &d->shift);
  if (st == AG_OK) st = measure_all(d);
  if (st != AG_OK) {
    data_free(d);
    return st;
  }
  d->fields[F_IMAGE] = (ag_field){"image", {AG_F32, 3, {1, raw->h, raw->w}}};
  d->fields[F_LABEL] = (ag_field){"label", {AG_I32, 0, {0}}};
  d->fields[F_INDEX] = (ag_field){"index", {AG_I32, 0, {0}}};
  d->fields[F_IDS] = (ag_field){"ids", {AG_I32, 1, {o->context}}};
  d->fields[F_EOT] = (ag_field){"eot", {AG_I32, 0, {0}}};
  return ag_dataset_new(&data_ops, d, "fashion-mnist captions", out);
}

ag_status ag_clip_recaption(void *ctx, ag_batch *b) {
  const clip_data *d = ((const ag_dataset *)ctx)->ctx;
  const int32_t *index = b->data[F_INDEX];
  for (int64_t k = 0; k < b->count; k++)
    AG_TRY(write_caption(d, index[k], b->epoch, (int32_t *)b->data[F_IDS] + k * d->o.context,
                         (int32_t *)b->data[F_EOT] + k));
  return AG_OK;
}
