/* ag_batch.h - a batch of dataset items in host memory: one contiguous
 * buffer per field (the layout of ag_dataset.h), and the one copy that moves
 * a field into a tensor (a graph input, on any backend). */
#ifndef AG_DATA_BATCH_H
#define AG_DATA_BATCH_H

#include "ag_dataset.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ag_batch {
  int64_t count;          /* items held, <= capacity */
  int64_t capacity;       /* items each buffer has room for */
  uint64_t epoch;         /* where the loader took it from */
  int64_t index;          /* batch number within the epoch */
  int n_fields;
  const ag_field *fields; /* the dataset's, n_fields of them */
  void *data[AG_DATASET_MAX_FIELDS]; /* field f: capacity * item bytes */
} ag_batch;

/* Buffers for `capacity` items of every field of `ds` (count 0). On error
 * nothing stays allocated. */
ag_status ag_batch_alloc(ag_batch *b, const ag_dataset *ds, int64_t capacity);
void ag_batch_free(ag_batch *b);

/* Shape of field f over the batch: [count, item dims...]. */
ag_shape ag_batch_field_shape(const ag_batch *b, int field);

/* Copies field `field` into dst, which must have exactly the batch field's
 * dtype and shape (AG_ERR_INVALID naming the field and both shapes). */
ag_status ag_batch_write_field(const ag_batch *b, int field, ag_tensor *dst);

#ifdef __cplusplus
}
#endif

#endif
