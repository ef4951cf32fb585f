/* ag_dataset.h - the main header of runtime/data/, which owns datasets, their
 * pixel normalisation and the batch loader (ag_loader.h).
 *
 * A dataset as an interface: a number of items, each made of the same named
 * fields (an "image" f32[1,28,28] and a "label" i32[], a caption's tokens, a
 * ray's origin and direction), and a way to write any set of items into
 * host buffers. Each kind (Fashion-MNIST, image-caption
 * pairs, posed images) is one static const ag_dataset_ops table and a state
 * of its own; the batch loader (ag_loader.h) works with any of them.
 *
 * Buffer layout: for a fill of n items, field f has one contiguous host
 * buffer of n * ag_field_item_bytes(f) bytes, item i at offset
 * i * ag_field_item_bytes(f), elements row-major in the field's dtype. */
#ifndef AG_DATA_DATASET_H
#define AG_DATA_DATASET_H

#include "runtime/core/ag_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Fields per item, so a batch's buffer table has a fixed size. */
#define AG_DATASET_MAX_FIELDS 8

/* One field of every item. item.ndim is at most AG_MAX_DIMS - 1 so that a
 * batch of it, [count, item dims...], is a tensor shape; ndim 0 is a
 * scalar per item (a label). */
typedef struct ag_field {
  const char *name; /* unique within the dataset */
  ag_shape item;    /* dtype and per-item dims, each > 0 */
} ag_field;

int64_t ag_field_item_numel(const ag_field *f);
size_t ag_field_item_bytes(const ag_field *f);

typedef struct ag_dataset ag_dataset;

/* The operations of one dataset kind. The loader calls fill from its
 * prefetch thread, so fill must not depend on the thread that opened the
 * dataset; calls on one dataset are never concurrent. */
typedef struct ag_dataset_ops {
  int64_t (*length)(const ag_dataset *ds);
  /* The fields, in buffer order; the array lives as long as the dataset. */
  const ag_field *(*fields)(const ag_dataset *ds, int *count);
  /* Writes items indices[0..n) into buffers[0..field count), laid out as
   * above. Indices are already checked to be in range. An error is set with
   * ag_set_error naming the dataset (ds->name), the file and the problem. */
  ag_status (*fill)(ag_dataset *ds, const int64_t *indices, int n, void *const *buffers);
  /* Releases ctx (not the ag_dataset itself, which ag_dataset_free owns). */
  void (*free)(void *ctx);
} ag_dataset_ops;

struct ag_dataset {
  const ag_dataset_ops *ops; /* a static const table */
  void *ctx;                 /* the kind's own state */
  char name[96];             /* e.g. "fashion-mnist t10k": starts every error */
};

/* Wraps `ctx` of a kind into a dataset named `name` and checks the fields
 * it declares (1..AG_DATASET_MAX_FIELDS, named, unique, valid shapes). On
 * any error ops->free(ctx) is called, so the caller never frees ctx. */
ag_status ag_dataset_new(const ag_dataset_ops *ops, void *ctx, const char *name,
                         ag_dataset **out);
/* Calls the kind's free, then frees the dataset. NULL is a no-op. */
void ag_dataset_free(ag_dataset *ds);

int64_t ag_dataset_length(const ag_dataset *ds);
const ag_field *ag_dataset_fields(const ag_dataset *ds, int *count);
/* Index of the field called `name`, or -1. */
int ag_dataset_find_field(const ag_dataset *ds, const char *name);

/* Checks n >= 0 and every index against the length, then calls the kind's
 * fill. Out-of-range indices are AG_ERR_INVALID naming the dataset. */
ag_status ag_dataset_fill(ag_dataset *ds, const int64_t *indices, int n, void *const *buffers);

#ifdef __cplusplus
}
#endif

#endif
