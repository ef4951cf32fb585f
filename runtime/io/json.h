/* json.h - JSON objects read from files (scene transforms, render job files)
 * or from strings (the model configs in checkpoint metadata), and their
 * number fields read range-checked, with errors that name the file and the
 * field. */
#ifndef AG_IO_JSON_H
#define AG_IO_JSON_H

#include <cjson/cJSON.h>

#include "base/ag_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* *root (cJSON_Delete it) is the file's object; else AG_ERR_IO naming the
 * path: "cannot open (reason)", "not JSON (error near byte N)", "not a JSON
 * object". */
ag_status ag_json_read_object(const char *path, cJSON **root);

/* The same for `text` (NULL reads as missing), errors starting with `where`
 * ("m.safetensors: gpt config"): "is missing", "is not JSON (error near byte
 * N)", "is not a JSON object". */
ag_status ag_json_parse_object(const char *text, const char *where, cJSON **root);

/* The largest count a config's size field may give (dims, widths, layers):
 * real models are far smaller, and the products of such sizes are checked
 * where tensors are made (ag_shape_size). */
#define AG_JSON_MAX_COUNT 1000000000

/* Number field `key` of object `o`, checked against [lo, hi] before it is
 * converted, so a huge, fractional or non-finite value never reaches a cast.
 * AG_ERR_IO starting with `where` otherwise:
 *   "m.safetensors: gpt config: 'width' must be a whole number in 1..1000000 (got 1e+300)"
 *   "m.safetensors: gpt config: 'width' is missing"
 * An `o` that is NULL or not an object has no fields. */
ag_status ag_json_int(const cJSON *o, const char *where, const char *key, int64_t lo, int64_t hi,
                      int64_t *out);
ag_status ag_json_real(const cJSON *o, const char *where, const char *key, double lo, double hi,
                       double *out);
/* The same for a field that may be absent: *found says whether it is there
 * (*out is left alone when not). */
ag_status ag_json_int_opt(const cJSON *o, const char *where, const char *key, int64_t lo,
                          int64_t hi, int *found, int64_t *out);
/* Array field `key` of at most `max` whole numbers in [lo, hi]: *n of them
 * into out. */
ag_status ag_json_ints(const cJSON *o, const char *where, const char *key, int64_t lo, int64_t hi,
                       int max, int64_t *out, int *n);

#ifdef __cplusplus
}
#endif

#endif
