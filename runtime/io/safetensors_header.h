/* safetensors_header.h - the JSON header of a safetensors file, parsed as
 * strictly as the reference implementation (serde_json, behind the Python
 * `safetensors` package) parses it. Internal to runtime/io/safetensors.c.
 *
 * Why a parser of its own rather than cJSON: cJSON is lax where the reference
 * is strict and loses what the checks need. It skips every byte <= 0x20 as
 * whitespace (NUL padding, form feeds), takes "+2", "02", "1." and raw control
 * characters in strings, keeps duplicate keys (lookups find the first), ends
 * a string at an escaped NUL ("__metadata__\u0000zz" reads as "__metadata__")
 * and hands numbers over as doubles, so 2.0 and 2e0 read as the integer 2.
 * Here the grammar is checked on the raw text, where the number tokens and the
 * decoded string lengths are still at hand.
 *
 * Grammar (RFC 8259, as serde_json): the header is UTF-8; whitespace is
 * space, tab, LF and CR only, allowed before and after the object (so space
 * padding is fine, NUL padding is not); at most 127 arrays or objects nested;
 * a number too large for a double is refused even in an ignored field.
 * Schema: the object maps tensor names to entries, plus at most one
 * "__metadata__" that is null or an object of strings. An entry is an object
 * with "dtype" (a safetensors dtype name), "shape" (integers) and
 * "data_offsets" ([begin, end]), each exactly once; other fields are ignored.
 * Integers are JSON integer tokens (no sign, fraction or exponent).
 *
 * Refused here although the reference accepts them (aigc's own limits; the
 * differential test tests/io/safetensors_diff.py lists each one): duplicate
 * tensor names or metadata keys (the reference silently keeps the last),
 * NUL characters in names and metadata (aigc's strings are C strings), more
 * than AG_MAX_DIMS dims or a dim above INT64_MAX (aigc's tensors), and serde's
 * alternative spellings: an entry written as an array, a dtype as {"F32": null}.
 *
 * The byte sizes, offsets against the data section and coverage are checked by
 * the caller. */
#ifndef AG_SAFETENSORS_HEADER_H
#define AG_SAFETENSORS_HEADER_H

#include "runtime/core/ag_tensor.h"

typedef struct ag_st_entry {
  char *name;
  const char *dtype_name; /* a static string: one of the format's dtypes */
  ag_dtype dtype;         /* set by the caller, which knows the ones aigc reads */
  int ndim;
  int64_t shape[AG_MAX_DIMS];
  size_t begin, end; /* data_offsets, relative to the data section */
} ag_st_entry;

typedef struct ag_st_header {
  int n, cap;
  ag_st_entry *entries; /* in header order */
  int n_meta, meta_cap;
  char **meta_keys, **meta_values;
} ag_st_header;

/* Parses `len` bytes of header text into *h (zeroed first). On error the
 * problem is written to `err` (one line, no file name: the caller adds it)
 * and AG_ERR_IO (malformed) or AG_ERR_OOM is returned; *h then holds what was
 * parsed so far, for ag_st_header_free. */
ag_status ag_st_header_parse(const char *text, size_t len, ag_st_header *h, char *err,
                             size_t err_len);
void ag_st_header_free(ag_st_header *h);

#endif
