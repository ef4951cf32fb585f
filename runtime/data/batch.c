/* batch.c - batch buffers and their copy into tensors. */
#include "ag_batch.h"

#include <stdlib.h>
#include <string.h>

ag_status ag_batch_alloc(ag_batch *b, const ag_dataset *ds, int64_t capacity) {
  memset(b, 0, sizeof *b);
  if (capacity <= 0)
    return ag_set_error(AG_ERR_INVALID, "batch of '%s': capacity %lld must be > 0", ds->name,
                        (long long)capacity);
  b->fields = ag_dataset_fields(ds, &b->n_fields);
  b->capacity = capacity;
  for (int f = 0; f < b->n_fields; f++) {
    b->data[f] = malloc(ag_field_item_bytes(&b->fields[f]) * (size_t)capacity);
    if (!b->data[f]) {
      ag_batch_free(b);
      return ag_set_error(AG_ERR_OOM, "batch of '%s': out of host memory for %lld items",
                          ds->name, (long long)capacity);
    }
  }
  return AG_OK;
}

void ag_batch_free(ag_batch *b) {
  if (!b) return;
  for (int f = 0; f < AG_DATASET_MAX_FIELDS; f++) free(b->data[f]);
  memset(b, 0, sizeof *b);
}

ag_shape ag_batch_field_shape(const ag_batch *b, int field) {
  const ag_shape *item = &b->fields[field].item;
  ag_shape s = {item->dtype, item->ndim + 1, {b->count}};
  memcpy(s.dims + 1, item->dims, sizeof(int64_t) * (size_t)item->ndim);
  return s;
}

ag_status ag_batch_write_field(const ag_batch *b, int field, ag_tensor *dst) {
  if (field < 0 || field >= b->n_fields)
    return ag_set_error(AG_ERR_INVALID, "batch: field %d outside 0..%d", field, b->n_fields - 1);
  const ag_shape want = ag_batch_field_shape(b, field), have = ag_shape_of(dst);
  if (!ag_shape_equal(&want, &have)) {
    char w[96], h[96];
    return ag_set_error(AG_ERR_INVALID, "batch field '%s' is %s but the tensor is %s",
                        b->fields[field].name, ag_shape_describe(&want, w, sizeof w),
                        ag_shape_describe(&have, h, sizeof h));
  }
  return ag_tensor_write(dst, b->data[field],
                         ag_field_item_bytes(&b->fields[field]) * (size_t)b->count);
}
