/* dataset.c - the dataset interface's checked entry points. The checks live
 * here, once, so each kind only implements its format. */
#include "ag_dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int64_t ag_field_item_numel(const ag_field *f) {
  int64_t n = 1;
  for (int i = 0; i < f->item.ndim; i++) n *= f->item.dims[i];
  return n;
}

size_t ag_field_item_bytes(const ag_field *f) {
  return (size_t)ag_field_item_numel(f) * ag_dtype_size(f->item.dtype);
}

/* A field the loader and tensors can carry: named, a known dtype, at most
 * AG_MAX_DIMS - 1 positive dims. */
static ag_status check_field(const char *ds_name, const ag_field *f, int index) {
  if (!f->name || !f->name[0])
    return ag_set_error(AG_ERR_INVALID, "dataset '%s': field %d has no name", ds_name, index);
  if ((unsigned)f->item.dtype >= AG_DTYPE_COUNT)
    return ag_set_error(AG_ERR_INVALID, "dataset '%s': field '%s' has unknown dtype %d", ds_name,
                        f->name, (int)f->item.dtype);
  if (f->item.ndim < 0 || f->item.ndim > AG_MAX_DIMS - 1)
    return ag_set_error(AG_ERR_INVALID, "dataset '%s': field '%s' has %d dims, at most %d fit a batch",
                        ds_name, f->name, f->item.ndim, AG_MAX_DIMS - 1);
  for (int i = 0; i < f->item.ndim; i++)
    if (f->item.dims[i] <= 0)
      return ag_set_error(AG_ERR_INVALID, "dataset '%s': field '%s' dim %d is %lld, must be > 0",
                          ds_name, f->name, i, (long long)f->item.dims[i]);
  return AG_OK;
}

static ag_status check_fields(const ag_dataset *ds) {
  int count = 0;
  const ag_field *f = ds->ops->fields(ds, &count);
  if (!f || count < 1 || count > AG_DATASET_MAX_FIELDS)
    return ag_set_error(AG_ERR_INVALID, "dataset '%s': %d fields, need 1..%d", ds->name, count,
                        AG_DATASET_MAX_FIELDS);
  for (int i = 0; i < count; i++) {
    AG_TRY(check_field(ds->name, &f[i], i));
    for (int j = 0; j < i; j++)
      if (strcmp(f[i].name, f[j].name) == 0)
        return ag_set_error(AG_ERR_INVALID, "dataset '%s': two fields named '%s'", ds->name,
                            f[i].name);
  }
  return AG_OK;
}

ag_status ag_dataset_new(const ag_dataset_ops *ops, void *ctx, const char *name,
                         ag_dataset **out) {
  *out = NULL;
  const char *nm = name && name[0] ? name : "(unnamed)";
  if (!ops || !ops->length || !ops->fields || !ops->fill || !ops->free) {
    if (ops && ops->free) ops->free(ctx);
    return ag_set_error(AG_ERR_INVALID, "dataset '%s': incomplete ops table", nm);
  }
  ag_dataset *ds = calloc(1, sizeof *ds);
  if (!ds) {
    ops->free(ctx);
    return ag_set_error(AG_ERR_OOM, "dataset '%s': out of host memory", nm);
  }
  ds->ops = ops, ds->ctx = ctx;
  snprintf(ds->name, sizeof ds->name, "%s", nm);
  ag_status st = check_fields(ds);
  if (st == AG_OK && ag_dataset_length(ds) < 0)
    st = ag_set_error(AG_ERR_INVALID, "dataset '%s': negative length %lld", ds->name,
                      (long long)ag_dataset_length(ds));
  if (st != AG_OK) {
    ag_dataset_free(ds);
    return st;
  }
  *out = ds;
  return AG_OK;
}

void ag_dataset_free(ag_dataset *ds) {
  if (!ds) return;
  ds->ops->free(ds->ctx);
  free(ds);
}

int64_t ag_dataset_length(const ag_dataset *ds) { return ds->ops->length(ds); }

const ag_field *ag_dataset_fields(const ag_dataset *ds, int *count) {
  return ds->ops->fields(ds, count);
}

int ag_dataset_find_field(const ag_dataset *ds, const char *name) {
  int count = 0;
  const ag_field *f = ag_dataset_fields(ds, &count);
  for (int i = 0; i < count; i++)
    if (strcmp(f[i].name, name) == 0) return i;
  return -1;
}

ag_status ag_dataset_fill(ag_dataset *ds, const int64_t *indices, int n, void *const *buffers) {
  if (n < 0 || (n > 0 && (!indices || !buffers)))
    return ag_set_error(AG_ERR_INVALID, "dataset '%s': fill of %d items without indices or buffers",
                        ds->name, n);
  const int64_t len = ag_dataset_length(ds);
  for (int i = 0; i < n; i++)
    if (indices[i] < 0 || indices[i] >= len)
      return ag_set_error(AG_ERR_INVALID, "dataset '%s': index %lld outside 0..%lld", ds->name,
                          (long long)indices[i], (long long)len - 1);
  return n ? ds->ops->fill(ds, indices, n, buffers) : AG_OK;
}
