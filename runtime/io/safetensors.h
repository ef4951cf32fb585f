/* safetensors.h - checkpoints in the safetensors format
 * (https://github.com/huggingface/safetensors), readable and writable by the
 * Python `safetensors` package.
 *
 * File layout: an 8-byte little-endian header length N, N bytes of JSON
 * (name -> {"dtype", "shape", "data_offsets": [begin, end]} plus an optional
 * "__metadata__" object of string -> string), then the raw little-endian data;
 * offsets are relative to the start of the data section.
 *
 * Writing: tensors are written in the order given (header and data alike;
 * nothing is sorted), "__metadata__" first, the header padded with spaces so
 * the data starts on an 8-byte boundary. The file is written to
 * "<path>.tmp.<pid>", fsync'ed and renamed over <path>, so a crash or an error
 * never leaves a half-written file and never damages an existing one; on
 * error the temporary file is removed.
 *
 * Reading: ag_st_open reads the whole file into host memory and validates it
 * before returning, accepting exactly the files the reference (Python's
 * `safetensors` 0.8) accepts (tests/io/test_safetensors_diff.cpp checks it):
 * header length (at most AG_ST_MAX_HEADER), the header's JSON as strictly as
 * the reference parses it (runtime/io/safetensors_header.h: UTF-8, integers
 * written as integers, only whitespace after the object), dtypes, shapes
 * against data_offsets, and that the tensors cover the data section exactly
 * (no overlap, no hole, no truncation, no trailing bytes). aigc refuses a few
 * files the reference reads, for limits of its own: dtypes other than F32 F16
 * BF16 I32 U8, more than AG_MAX_DIMS dims, repeated tensor names or metadata
 * keys, NUL characters in names or metadata, and serde's alternative spellings
 * of entries and dtypes (the list is in safetensors_header.h). Any violation
 * is AG_ERR_IO with one message naming the file and the tensor or field.
 *
 * Status codes: AG_ERR_IO for unreadable, corrupt or unsupported files and
 * failed writes; AG_ERR_INVALID for bad arguments and for checkpoints that do
 * not match the model (names, shapes, dtypes). Messages via ag_last_error().
 * Host byte order must be little-endian (checked at run time). */
#ifndef AG_SAFETENSORS_H
#define AG_SAFETENSORS_H

#include "runtime/core/ag_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Headers larger than this are rejected as corrupt ("oversized header"). */
#define AG_ST_MAX_HEADER ((uint64_t)100 * 1000 * 1000)

typedef struct ag_safetensors ag_safetensors;

typedef struct ag_st_tensor_info {
  const char *name; /* owned by the ag_safetensors */
  ag_dtype dtype;
  int ndim;
  int64_t shape[AG_MAX_DIMS];
  size_t bytes; /* data_offsets[1] - data_offsets[0] */
} ag_st_tensor_info;

/* Opens and validates a file; NULL on error (see ag_last_error). */
ag_safetensors *ag_st_open(const char *path);
/* NULL is a no-op. */
void ag_st_close(ag_safetensors *st);

/* Tensors in header order (for files written by aigc, the order given to
 * ag_st_save). */
int ag_st_count(const ag_safetensors *st);
const char *ag_st_name(const ag_safetensors *st, int i);
/* Index of `name`, or -1. */
int ag_st_find(const ag_safetensors *st, const char *name);
/* Info of tensor i (0 <= i < ag_st_count); AG_ERR_INVALID when out of range. */
ag_status ag_st_info(const ag_safetensors *st, int i, ag_st_tensor_info *out);
/* Raw little-endian bytes of tensor i inside the file image (valid until
 * ag_st_close), or NULL when out of range. */
const void *ag_st_data(const ag_safetensors *st, int i);

/* "__metadata__" entries: the value of `key`, or NULL when absent. */
const char *ag_st_metadata(const ag_safetensors *st, const char *key);
int ag_st_metadata_count(const ag_safetensors *st);
const char *ag_st_metadata_key(const ag_safetensors *st, int i);

/* Copies tensor `name` into `dst` (contiguous, any backend). AG_ERR_INVALID,
 * and nothing copied, when the name is absent or dtype/shape differ:
 *   "checkpoint tensor 'fc1.weight' is f32[128,784], model expects f32[256,784]" */
ag_status ag_st_load_into(const ag_safetensors *st, const char *name, ag_tensor *dst);

/* Tensors named "optim/..." are training state saved beside the parameters
 * (runtime/dist/ag_dp.h), not parameters. */
#define AG_ST_STATE_PREFIX "optim/"

/* Loads a whole parameter list. Everything is checked first and every problem
 * reported in one message (missing names, unexpected names in the file other
 * than training state, each dtype/shape mismatch); on any problem nothing is
 * loaded (AG_ERR_INVALID). */
ag_status ag_st_load_params(const ag_safetensors *st, const char *const *names,
                            ag_tensor *const *tensors, int n);

/* Writes n tensors (any backend, any view) and n_meta metadata string pairs.
 * Names must be non-empty, unique and not "__metadata__". meta_keys and
 * meta_values may be NULL when n_meta is 0. */
ag_status ag_st_save(const char *path, const char *const *names, const ag_tensor *const *tensors,
                     int n, const char *const *meta_keys, const char *const *meta_values,
                     int n_meta);

#ifdef __cplusplus
}
#endif

#endif
