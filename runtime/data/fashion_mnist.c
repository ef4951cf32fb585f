/* fashion_mnist.c - the Fashion-MNIST IDX pair and its dataset. */
#define _POSIX_C_SOURCE 200809L
#include "ag_fashion_mnist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/io/idx.h"

static const char *const ag_fashion_names[AG_FASHION_MNIST_CLASSES] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

const char *ag_fashion_mnist_class_name(int label) {
  return label >= 0 && label < AG_FASHION_MNIST_CLASSES ? ag_fashion_names[label] : NULL;
}

/* ---- the IDX pair ---------------------------------------------------------- */

/* One of the two files, with the name it was found under. */
typedef struct idx_part {
  char path[4096];
  ag_idx idx;
} idx_part;

/* Puts "fashion-mnist <split>: " before the error just set (by the IDX
 * reader). The message is copied first: ag_set_error writes the buffer
 * ag_last_error reads. */
static ag_status name_split(ag_status st, const char *split) {
  char msg[1024];
  snprintf(msg, sizeof msg, "%s", ag_last_error());
  return ag_set_error(st, "fashion-mnist %s: %s", split, msg);
}

/* Reads <dir>/<split>-<kind>-idxN-ubyte, preferring the .gz name (Debian
 * ships gzip) but accepting an unpacked copy. */
static ag_status read_part(const char *dir, const char *split, const char *kind, int rank,
                           idx_part *out) {
  snprintf(out->path, sizeof out->path, "%s/%s-%s-idx%d-ubyte.gz", dir, split, kind, rank);
  FILE *probe = fopen(out->path, "rb");
  if (probe) fclose(probe);
  else snprintf(out->path, sizeof out->path, "%s/%s-%s-idx%d-ubyte", dir, split, kind, rank);
  ag_status st = ag_idx_read(out->path, &out->idx);
  if (st != AG_OK) return name_split(st, split);
  if (out->idx.type != AG_IDX_U8 || out->idx.rank != rank) {
    st = ag_set_error(AG_ERR_IO, "fashion-mnist %s: '%s' holds type 0x%02x rank %d, expected u8 rank %d",
                      split, out->path, out->idx.type, out->idx.rank, rank);
    ag_idx_free(&out->idx);
  }
  return st;
}

/* Cross-checks the two files: same N, labels in range. */
static ag_status check_pair(const char *split, const idx_part *img, const idx_part *lab) {
  if (img->idx.dims[0] != lab->idx.dims[0])
    return ag_set_error(AG_ERR_IO, "fashion-mnist %s: %lld images in '%s' but %lld labels in '%s'",
                        split, (long long)img->idx.dims[0], img->path,
                        (long long)lab->idx.dims[0], lab->path);
  const uint8_t *l = lab->idx.data;
  for (int64_t i = 0; i < lab->idx.count; i++)
    if (l[i] >= AG_FASHION_MNIST_CLASSES)
      return ag_set_error(AG_ERR_IO, "fashion-mnist %s: label %d at index %lld of '%s' outside 0..%d",
                          split, l[i], (long long)i, lab->path, AG_FASHION_MNIST_CLASSES - 1);
  return AG_OK;
}

ag_status ag_mnist_load(const char *dir, const char *split, ag_mnist *out) {
  if (!dir || !split || !out) return ag_set_error(AG_ERR_INVALID, "ag_mnist_load: NULL argument");
  memset(out, 0, sizeof(*out));
  idx_part *parts = calloc(2, sizeof *parts); /* 8 KiB of paths: off the stack */
  if (!parts) return ag_set_error(AG_ERR_OOM, "fashion-mnist %s: out of host memory", split);
  ag_status st = read_part(dir, split, "images", 3, &parts[0]);
  if (st == AG_OK) st = read_part(dir, split, "labels", 1, &parts[1]);
  if (st == AG_OK) st = check_pair(split, &parts[0], &parts[1]);
  if (st == AG_OK) {
    const ag_idx *img = &parts[0].idx;
    out->n = img->dims[0], out->h = img->dims[1], out->w = img->dims[2];
    out->images = img->data; /* ownership moves to `out` */
    out->labels = parts[1].idx.data;
  } else {
    ag_idx_free(&parts[0].idx);
    ag_idx_free(&parts[1].idx);
  }
  free(parts);
  return st;
}

void ag_mnist_free(ag_mnist *ds) {
  if (!ds) return;
  free(ds->images);
  free(ds->labels);
  memset(ds, 0, sizeof(*ds));
}

/* ---- the dataset ----------------------------------------------------------- */

enum { FIELD_IMAGE, FIELD_LABEL, FIELD_COUNT };

typedef struct fmnist {
  const ag_mnist *raw; /* borrowed, or &owned */
  ag_mnist owned;      /* zero for a view */
  float scale, shift;  /* pixel normalisation */
  ag_field fields[FIELD_COUNT];
} fmnist;

static int64_t fmnist_length(const ag_dataset *ds) {
  return ((const fmnist *)ds->ctx)->raw->n;
}

static const ag_field *fmnist_fields(const ag_dataset *ds, int *count) {
  *count = FIELD_COUNT;
  return ((const fmnist *)ds->ctx)->fields;
}

/* Gathers and normalises: the per-batch cost the loader's prefetch hides. */
static ag_status fmnist_fill(ag_dataset *ds, const int64_t *indices, int n,
                             void *const *buffers) {
  const fmnist *m = ds->ctx;
  const int64_t hw = m->raw->h * m->raw->w;
  float *images = buffers[FIELD_IMAGE];
  int32_t *labels = buffers[FIELD_LABEL];
  for (int i = 0; i < n; i++) {
    const int64_t k = indices[i];
    ag_u8_to_f32(m->raw->images + k * hw, images + i * hw, (size_t)hw, m->scale, m->shift);
    labels[i] = m->raw->labels[k];
  }
  return AG_OK;
}

static void fmnist_free(void *ctx) {
  fmnist *m = ctx;
  if (!m) return;
  ag_mnist_free(&m->owned);
  free(m);
}

static const ag_dataset_ops fmnist_ops = {fmnist_length, fmnist_fields, fmnist_fill, fmnist_free};

ag_fashion_mnist_opts ag_fashion_mnist_default_opts(void) {
  return (ag_fashion_mnist_opts){.norm = AG_PIXEL_UNIT, .mean = 0.0f, .std = 1.0f};
}

/* A context reading `raw`; ag_fashion_mnist_open then moves the data into
 * `owned` and points `raw` there. */
static ag_status fmnist_ctx_new(const ag_mnist *raw, const ag_fashion_mnist_opts *opts,
                                fmnist **out) {
  *out = NULL;
  const ag_fashion_mnist_opts o = opts ? *opts : ag_fashion_mnist_default_opts();
  if (!raw || !raw->images || !raw->labels || raw->n < 0 || raw->h <= 0 || raw->w <= 0)
    return ag_set_error(AG_ERR_INVALID, "fashion-mnist: no images to make a dataset of");
  float scale, shift;
  AG_TRY(ag_pixel_norm_coeffs(o.norm, o.mean, o.std, &scale, &shift));
  fmnist *m = calloc(1, sizeof *m);
  if (!m) return ag_set_error(AG_ERR_OOM, "fashion-mnist: out of host memory");
  m->raw = raw, m->scale = scale, m->shift = shift;
  m->fields[FIELD_IMAGE] = (ag_field){"image", {AG_F32, 3, {1, raw->h, raw->w}}};
  m->fields[FIELD_LABEL] = (ag_field){"label", {AG_I32, 0, {0}}};
  *out = m;
  return AG_OK;
}

ag_status ag_fashion_mnist_view(const ag_mnist *raw, const ag_fashion_mnist_opts *opts,
                                ag_dataset **out) {
  *out = NULL;
  fmnist *m;
  AG_TRY(fmnist_ctx_new(raw, opts, &m));
  return ag_dataset_new(&fmnist_ops, m, "fashion-mnist", out);
}

ag_status ag_fashion_mnist_open(const char *dir, const char *split,
                                const ag_fashion_mnist_opts *opts, ag_dataset **out) {
  *out = NULL;
  ag_mnist raw;
  AG_TRY(ag_mnist_load(dir, split, &raw));
  fmnist *m;
  ag_status st = fmnist_ctx_new(&raw, opts, &m);
  if (st != AG_OK) {
    ag_mnist_free(&raw);
    return st;
  }
  m->owned = raw;
  m->raw = &m->owned;
  char name[96];
  snprintf(name, sizeof name, "fashion-mnist %s", split);
  return ag_dataset_new(&fmnist_ops, m, name, out);
}
