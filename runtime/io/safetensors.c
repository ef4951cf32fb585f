/* safetensors read/write; see safetensors.h for the format and guarantees. */
#define _POSIX_C_SOURCE 200809L
#include "runtime/io/safetensors.h"

#include "runtime/ops/layout.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct st_entry {
  char *name;
  ag_dtype dtype;
  int ndim;
  int64_t shape[AG_MAX_DIMS];
  uint64_t begin, end; /* data_offsets, relative to the data section */
} st_entry;

struct ag_safetensors {
  char *path;
  uint8_t *file;       /* whole file image */
  const uint8_t *data; /* start of the data section inside `file` */
  uint64_t data_bytes;
  int n;
  st_entry *entries;
  int n_meta;
  char **meta_keys, **meta_values;
};

static const struct {
  const char *name;
  ag_dtype dtype;
} st_dtypes[] = {{"F32", AG_F32}, {"F16", AG_F16}, {"BF16", AG_BF16}, {"I32", AG_I32}, {"U8", AG_U8}};

#define ST_NDTYPES ((int)(sizeof st_dtypes / sizeof st_dtypes[0]))

/* One error line, always prefixed with the file so a message read far from
 * the call still says which checkpoint was bad. */
static ag_status st_fail(ag_status code, const char *path, const char *fmt, ...) {
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return ag_set_error(code, "safetensors '%s': %s", path, msg);
}

static int host_is_little_endian(void) {
  const uint16_t one = 1;
  return *(const uint8_t *)&one == 1;
}

static char *st_strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

/* "f32[2,3]"; the same spelling for file and model so mismatches line up. */
static const char *describe(ag_dtype dt, int ndim, const int64_t *shape, char *buf, size_t len) {
  size_t k = (size_t)snprintf(buf, len, "%s[", ag_dtype_name(dt));
  for (int i = 0; i < ndim && k < len; i++)
    k += (size_t)snprintf(buf + k, len - k, i ? ",%lld" : "%lld", (long long)shape[i]);
  if (k < len) snprintf(buf + k, len - k, "]");
  return buf;
}

/* ---------------------------------------------------------------- reading */

static ag_status read_whole_file(const char *path, uint8_t **out, uint64_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return st_fail(AG_ERR_IO, path, "cannot open: %s", strerror(errno));
  struct stat sb;
  if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
    fclose(f);
    return st_fail(AG_ERR_IO, path, "not a regular file");
  }
  uint8_t *buf = malloc(sb.st_size ? (size_t)sb.st_size : 1);
  if (!buf) {
    fclose(f);
    return st_fail(AG_ERR_OOM, path, "no host memory for %lld bytes", (long long)sb.st_size);
  }
  size_t got = fread(buf, 1, (size_t)sb.st_size, f);
  fclose(f);
  if (got != (size_t)sb.st_size) {
    free(buf);
    return st_fail(AG_ERR_IO, path, "read %zu of %lld bytes", got, (long long)sb.st_size);
  }
  *out = buf;
  *size = (uint64_t)sb.st_size;
  return AG_OK;
}

/* JSON numbers are doubles: accept only exact non-negative integers. */
static int json_u64(const cJSON *v, uint64_t *out) {
  if (!cJSON_IsNumber(v)) return 0;
  double d = v->valuedouble;
  if (!(d >= 0 && d <= 9007199254740992.0) || d != (double)(uint64_t)d) return 0;
  *out = (uint64_t)d;
  return 1;
}

static ag_status parse_dtype(const char *path, const char *name, const cJSON *v, ag_dtype *out) {
  if (!cJSON_IsString(v)) return st_fail(AG_ERR_IO, path, "tensor '%s': missing \"dtype\"", name);
  for (int i = 0; i < ST_NDTYPES; i++)
    if (strcmp(v->valuestring, st_dtypes[i].name) == 0) {
      *out = st_dtypes[i].dtype;
      return AG_OK;
    }
  return st_fail(AG_ERR_IO, path, "tensor '%s': dtype \"%.32s\" is unknown or unsupported "
                 "(aigc reads F32, F16, BF16, I32, U8)", name, v->valuestring);
}

static ag_status parse_shape(const char *path, st_entry *e, const cJSON *v) {
  if (!cJSON_IsArray(v)) return st_fail(AG_ERR_IO, path, "tensor '%s': missing \"shape\"", e->name);
  int nd = cJSON_GetArraySize(v);
  if (nd > AG_MAX_DIMS)
    return st_fail(AG_ERR_IO, path, "tensor '%s': %d dims, aigc supports at most %d", e->name, nd,
                   AG_MAX_DIMS);
  e->ndim = nd;
  for (int i = 0; i < nd; i++) {
    uint64_t d;
    if (!json_u64(cJSON_GetArrayItem(v, i), &d) || d > (uint64_t)INT64_MAX)
      return st_fail(AG_ERR_IO, path, "tensor '%s': shape[%d] is not a non-negative integer",
                     e->name, i);
    e->shape[i] = (int64_t)d;
  }
  return AG_OK;
}

/* Byte size from dtype and shape, refusing overflow (a corrupt shape must not
 * wrap around to a size that happens to match the offsets). */
static int shape_bytes(const st_entry *e, uint64_t *out) {
  uint64_t b = ag_dtype_size(e->dtype);
  for (int i = 0; i < e->ndim; i++) {
    uint64_t d = (uint64_t)e->shape[i];
    if (d && b > UINT64_MAX / d) return 0;
    b *= d;
  }
  *out = b;
  return 1;
}

static ag_status parse_offsets(const char *path, st_entry *e, const cJSON *v, uint64_t data_bytes) {
  if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 2 ||
      !json_u64(cJSON_GetArrayItem(v, 0), &e->begin) || !json_u64(cJSON_GetArrayItem(v, 1), &e->end))
    return st_fail(AG_ERR_IO, path, "tensor '%s': \"data_offsets\" must be [begin, end]", e->name);
  if (e->end < e->begin)
    return st_fail(AG_ERR_IO, path, "tensor '%s': data_offsets [%llu, %llu] end before they begin",
                   e->name, (unsigned long long)e->begin, (unsigned long long)e->end);
  if (e->end > data_bytes)
    return st_fail(AG_ERR_IO, path, "tensor '%s': data_offsets [%llu, %llu] run past the data "
                   "section (%llu bytes): file truncated?", e->name, (unsigned long long)e->begin,
                   (unsigned long long)e->end, (unsigned long long)data_bytes);
  uint64_t want = 0;
  char d[96];
  if (!shape_bytes(e, &want))
    return st_fail(AG_ERR_IO, path, "tensor '%s': shape byte size overflows", e->name);
  if (want != e->end - e->begin)
    return st_fail(AG_ERR_IO, path, "tensor '%s': %s needs %llu bytes, data_offsets [%llu, %llu] "
                   "hold %llu", e->name, describe(e->dtype, e->ndim, e->shape, d, sizeof d),
                   (unsigned long long)want, (unsigned long long)e->begin,
                   (unsigned long long)e->end, (unsigned long long)(e->end - e->begin));
  return AG_OK;
}

static ag_status parse_entry(ag_safetensors *st, const cJSON *item, st_entry *e) {
  const char *path = st->path;
  e->name = st_strdup(item->string);
  if (!e->name) return st_fail(AG_ERR_OOM, path, "out of host memory");
  if (!cJSON_IsObject(item))
    return st_fail(AG_ERR_IO, path, "tensor '%s': entry is not a JSON object", e->name);
  AG_TRY(parse_dtype(path, e->name, cJSON_GetObjectItemCaseSensitive(item, "dtype"), &e->dtype));
  AG_TRY(parse_shape(path, e, cJSON_GetObjectItemCaseSensitive(item, "shape")));
  return parse_offsets(path, e, cJSON_GetObjectItemCaseSensitive(item, "data_offsets"),
                       st->data_bytes);
}

static ag_status parse_metadata(ag_safetensors *st, const cJSON *meta) {
  if (!cJSON_IsObject(meta))
    return st_fail(AG_ERR_IO, st->path, "\"__metadata__\" is not a JSON object");
  int n = cJSON_GetArraySize(meta);
  st->meta_keys = calloc((size_t)n + 1, sizeof *st->meta_keys);
  st->meta_values = calloc((size_t)n + 1, sizeof *st->meta_values);
  if (!st->meta_keys || !st->meta_values) return st_fail(AG_ERR_OOM, st->path, "out of host memory");
  for (const cJSON *m = meta->child; m; m = m->next) {
    if (!cJSON_IsString(m))
      return st_fail(AG_ERR_IO, st->path, "metadata '%s': value is not a string", m->string);
    int i = st->n_meta++;
    st->meta_keys[i] = st_strdup(m->string);
    st->meta_values[i] = st_strdup(m->valuestring);
    if (!st->meta_keys[i] || !st->meta_values[i])
      return st_fail(AG_ERR_OOM, st->path, "out of host memory");
  }
  return AG_OK;
}

static ag_status parse_entries(ag_safetensors *st, const cJSON *root) {
  int total = cJSON_GetArraySize(root);
  st->entries = calloc((size_t)total + 1, sizeof *st->entries);
  if (!st->entries) return st_fail(AG_ERR_OOM, st->path, "out of host memory");
  for (const cJSON *item = root->child; item; item = item->next) {
    if (strcmp(item->string, "__metadata__") == 0) {
      if (st->meta_keys) return st_fail(AG_ERR_IO, st->path, "\"__metadata__\" appears twice");
      AG_TRY(parse_metadata(st, item));
      continue;
    }
    if (ag_st_find(st, item->string) >= 0)
      return st_fail(AG_ERR_IO, st->path, "tensor '%s' appears twice", item->string);
    AG_TRY(parse_entry(st, item, &st->entries[st->n++]));
  }
  return AG_OK;
}

static int by_begin(const void *a, const void *b) {
  const st_entry *x = *(const st_entry *const *)a, *y = *(const st_entry *const *)b;
  if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
  return x->end < y->end ? -1 : x->end > y->end;
}

/* The spec requires the tensors to tile the data section exactly: sorted by
 * offset, each one starts where the previous ended and the last ends at EOF. */
static ag_status check_coverage(ag_safetensors *st) {
  st_entry **order = malloc(((size_t)st->n + 1) * sizeof *order);
  if (!order) return st_fail(AG_ERR_OOM, st->path, "out of host memory");
  for (int i = 0; i < st->n; i++) order[i] = &st->entries[i];
  qsort(order, (size_t)st->n, sizeof *order, by_begin);
  uint64_t at = 0;
  ag_status s = AG_OK;
  for (int i = 0; i < st->n && s == AG_OK; i++) {
    const st_entry *e = order[i];
    if (e->begin < at)
      s = st_fail(AG_ERR_IO, st->path, "tensor '%s': data_offsets [%llu, %llu] overlap tensor '%s'",
                  e->name, (unsigned long long)e->begin, (unsigned long long)e->end,
                  order[i - 1]->name);
    else if (e->begin > at)
      s = st_fail(AG_ERR_IO, st->path, "tensor '%s': data_offsets [%llu, %llu] leave a hole of "
                  "%llu bytes before them", e->name, (unsigned long long)e->begin,
                  (unsigned long long)e->end, (unsigned long long)(e->begin - at));
    at = e->end;
  }
  if (s == AG_OK && at != st->data_bytes)
    s = st_fail(AG_ERR_IO, st->path, "the tensors cover %llu bytes but the data section holds %llu "
                "(trailing bytes)", (unsigned long long)at, (unsigned long long)st->data_bytes);
  free(order);
  return s;
}

/* JSON ends at `end`; the spec allows only trailing spaces (padding). */
static ag_status parse_header(ag_safetensors *st, const char *text, size_t len) {
  const char *end = NULL;
  if (len == 0 || text[0] != '{')
    return st_fail(AG_ERR_IO, st->path, "header does not start with '{': not a safetensors file?");
  cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
  if (!root) {
    const char *at = cJSON_GetErrorPtr();
    long off = at && at >= text && at <= text + len ? (long)(at - text) : -1;
    return st_fail(AG_ERR_IO, st->path, "header is not valid JSON (near byte %ld)", off);
  }
  ag_status s = AG_OK;
  for (const char *p = end; p && p < text + len && s == AG_OK; p++)
    if (*p != ' ' && *p != '\n' && *p != '\r' && *p != '\t' && *p != '\0')
      s = st_fail(AG_ERR_IO, st->path, "header has trailing bytes after the JSON object");
  if (s == AG_OK && !cJSON_IsObject(root))
    s = st_fail(AG_ERR_IO, st->path, "header is not a JSON object");
  if (s == AG_OK) s = parse_entries(st, root);
  cJSON_Delete(root);
  return s;
}

static ag_status st_load(ag_safetensors *st) {
  uint64_t size = 0;
  AG_TRY(read_whole_file(st->path, &st->file, &size));
  if (size < 8)
    return st_fail(AG_ERR_IO, st->path, "file is %llu bytes, shorter than the 8-byte header length",
                   (unsigned long long)size);
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; i--) hlen = hlen << 8 | st->file[i];
  if (hlen > AG_ST_MAX_HEADER)
    return st_fail(AG_ERR_IO, st->path, "oversized header: %llu bytes (limit %llu)",
                   (unsigned long long)hlen, (unsigned long long)AG_ST_MAX_HEADER);
  if (hlen > size - 8)
    return st_fail(AG_ERR_IO, st->path, "header length %llu is larger than the file (%llu bytes): "
                   "truncated?", (unsigned long long)hlen, (unsigned long long)size);
  st->data = st->file + 8 + hlen;
  st->data_bytes = size - 8 - hlen;
  AG_TRY(parse_header(st, (const char *)st->file + 8, (size_t)hlen));
  return check_coverage(st);
}

ag_safetensors *ag_st_open(const char *path) {
  if (!path) {
    ag_set_error(AG_ERR_INVALID, "ag_st_open: path is NULL");
    return NULL;
  }
  if (!host_is_little_endian()) {
    ag_set_error(AG_ERR_UNSUPPORTED, "safetensors: big-endian hosts are not supported");
    return NULL;
  }
  ag_safetensors *st = calloc(1, sizeof *st);
  if (!st || !(st->path = st_strdup(path))) {
    free(st);
    ag_set_error(AG_ERR_OOM, "safetensors '%s': out of host memory", path);
    return NULL;
  }
  if (st_load(st) != AG_OK) {
    ag_st_close(st);
    return NULL;
  }
  return st;
}

void ag_st_close(ag_safetensors *st) {
  if (!st) return;
  for (int i = 0; st->entries && st->entries[i].name; i++) free(st->entries[i].name);
  for (int i = 0; i < st->n_meta; i++) {
    free(st->meta_keys[i]);
    free(st->meta_values[i]);
  }
  free(st->entries);
  free(st->meta_keys);
  free(st->meta_values);
  free(st->file);
  free(st->path);
  free(st);
}

/* ------------------------------------------------------------- accessors */

int ag_st_count(const ag_safetensors *st) { return st ? st->n : 0; }

const char *ag_st_name(const ag_safetensors *st, int i) {
  return st && i >= 0 && i < st->n ? st->entries[i].name : NULL;
}

int ag_st_find(const ag_safetensors *st, const char *name) {
  for (int i = 0; st && name && i < st->n; i++)
    if (strcmp(st->entries[i].name, name) == 0) return i;
  return -1;
}

ag_status ag_st_info(const ag_safetensors *st, int i, ag_st_tensor_info *out) {
  if (!st || !out || i < 0 || i >= st->n)
    return ag_set_error(AG_ERR_INVALID, "ag_st_info: no tensor %d", i);
  const st_entry *e = &st->entries[i];
  memset(out, 0, sizeof *out);
  out->name = e->name;
  out->dtype = e->dtype;
  out->ndim = e->ndim;
  memcpy(out->shape, e->shape, sizeof e->shape);
  out->bytes = (size_t)(e->end - e->begin);
  return AG_OK;
}

const void *ag_st_data(const ag_safetensors *st, int i) {
  return st && i >= 0 && i < st->n ? st->data + st->entries[i].begin : NULL;
}

const char *ag_st_metadata(const ag_safetensors *st, const char *key) {
  for (int i = 0; st && key && i < st->n_meta; i++)
    if (strcmp(st->meta_keys[i], key) == 0) return st->meta_values[i];
  return NULL;
}

int ag_st_metadata_count(const ag_safetensors *st) { return st ? st->n_meta : 0; }

const char *ag_st_metadata_key(const ag_safetensors *st, int i) {
  return st && i >= 0 && i < st->n_meta ? st->meta_keys[i] : NULL;
}

/* -------------------------------------------------------------- loading */

/* Writes into `msg` why entry e cannot go into dst; returns 0 when it can. */
static int mismatch(const st_entry *e, const ag_tensor *dst, char *msg, size_t len) {
  int same = e->dtype == dst->dtype && e->ndim == dst->ndim;
  for (int i = 0; same && i < e->ndim; i++) same = e->shape[i] == dst->shape[i];
  if (same) return 0;
  char a[96], b[96];
  snprintf(msg, len, "checkpoint tensor '%s' is %s, model expects %s", e->name,
           describe(e->dtype, e->ndim, e->shape, a, sizeof a),
           describe(dst->dtype, dst->ndim, dst->shape, b, sizeof b));
  return 1;
}

static ag_status copy_entry(const ag_safetensors *st, const st_entry *e, ag_tensor *dst) {
  if (!ag_tensor_is_contiguous(dst))
    return st_fail(AG_ERR_INVALID, st->path, "tensor '%s': destination is not contiguous", e->name);
  return ag_tensor_write(dst, st->data + e->begin, (size_t)(e->end - e->begin));
}

ag_status ag_st_load_into(const ag_safetensors *st, const char *name, ag_tensor *dst) {
  if (!st || !name || !dst) return ag_set_error(AG_ERR_INVALID, "ag_st_load_into: NULL argument");
  int i = ag_st_find(st, name);
  if (i < 0) return st_fail(AG_ERR_INVALID, st->path, "no tensor '%s' in the checkpoint", name);
  char msg[512];
  if (mismatch(&st->entries[i], dst, msg, sizeof msg))
    return st_fail(AG_ERR_INVALID, st->path, "%s", msg);
  return copy_entry(st, &st->entries[i], dst);
}

/* Appends to a bounded report; the error buffer holds ~1 KB, so a long list
 * ends in "..." rather than being cut mid-word. */
typedef struct report {
  char text[680];
  size_t len;
  int problems;
  int full;
} report;

static void report_add(report *r, const char *fmt, ...) {
  char item[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(item, sizeof item, fmt, ap);
  va_end(ap);
  r->problems++;
  if (r->full) return;
  const char *sep = r->len ? "; " : "";
  size_t need = strlen(sep) + strlen(item);
  if (r->len + need + 4 >= sizeof r->text) {
    r->len += (size_t)snprintf(r->text + r->len, sizeof r->text - r->len, "%s...", sep);
    r->full = 1;
    return;
  }
  r->len += (size_t)snprintf(r->text + r->len, sizeof r->text - r->len, "%s%s", sep, item);
}

static int listed(const char *const *names, int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (names[i] && strcmp(names[i], name) == 0) return 1;
  return 0;
}

static void check_params(const ag_safetensors *st, const char *const *names,
                         ag_tensor *const *tensors, int n, report *r) {
  char msg[512];
  for (int i = 0; i < n; i++) {
    if (!names[i] || !tensors[i]) {
      report_add(r, "parameter %d has a NULL name or tensor", i);
      continue;
    }
    int k = ag_st_find(st, names[i]);
    if (listed(names, i, names[i])) report_add(r, "'%s' is listed twice", names[i]);
    else if (k < 0) report_add(r, "missing '%s'", names[i]);
    else if (mismatch(&st->entries[k], tensors[i], msg, sizeof msg)) report_add(r, "%s", msg);
  }
  for (int k = 0; k < st->n; k++) {
    const char *name = st->entries[k].name;
    const int state = strncmp(name, AG_ST_STATE_PREFIX, strlen(AG_ST_STATE_PREFIX)) == 0;
    if (!state && !listed(names, n, name)) report_add(r, "unexpected '%s'", name);
  }
}

ag_status ag_st_load_params(const ag_safetensors *st, const char *const *names,
                            ag_tensor *const *tensors, int n) {
  if (!st || n < 0 || (n > 0 && (!names || !tensors)))
    return ag_set_error(AG_ERR_INVALID, "ag_st_load_params: bad arguments");
  report r = {.len = 0};
  check_params(st, names, tensors, n, &r);
  if (r.problems)
    return st_fail(AG_ERR_INVALID, st->path, "checkpoint does not match the model (%d problem%s): %s",
                   r.problems, r.problems == 1 ? "" : "s", r.text);
  for (int i = 0; i < n; i++)
    AG_TRY(copy_entry(st, &st->entries[ag_st_find(st, names[i])], tensors[i]));
  return AG_OK;
}

/* --------------------------------------------------------------- writing */

static const char *st_dtype_name(ag_dtype dt) {
  for (int i = 0; i < ST_NDTYPES; i++)
    if (st_dtypes[i].dtype == dt) return st_dtypes[i].name;
  return NULL;
}

static ag_status check_save_args(const char *path, const char *const *names,
                                 const ag_tensor *const *tensors, int n,
                                 const char *const *keys, const char *const *values, int n_meta) {
  if (!path || n < 0 || n_meta < 0 || (n && (!names || !tensors)) ||
      (n_meta && (!keys || !values)))
    return ag_set_error(AG_ERR_INVALID, "ag_st_save: bad arguments");
  for (int i = 0; i < n; i++) {
    if (!names[i] || !names[i][0] || strcmp(names[i], "__metadata__") == 0)
      return st_fail(AG_ERR_INVALID, path, "tensor %d: name is NULL, empty or reserved", i);
    if (!tensors[i] || !st_dtype_name(tensors[i]->dtype))
      return st_fail(AG_ERR_INVALID, path, "tensor '%s': NULL or invalid dtype", names[i]);
    if (listed(names, i, names[i]))
      return st_fail(AG_ERR_INVALID, path, "tensor '%s' is given twice", names[i]);
  }
  for (int i = 0; i < n_meta; i++) {
    if (!keys[i] || !values[i])
      return st_fail(AG_ERR_INVALID, path, "metadata %d: NULL key or value", i);
    if (listed(keys, i, keys[i]))
      return st_fail(AG_ERR_INVALID, path, "metadata '%s' is given twice", keys[i]);
  }
  return AG_OK;
}

/* Integers go in as raw JSON text: cJSON prints doubles with 15 significant
 * digits, which would corrupt offsets of very large files. */
static int add_raw_int(cJSON *arr, uint64_t v) {
  char num[32];
  snprintf(num, sizeof num, "%llu", (unsigned long long)v);
  cJSON *item = cJSON_CreateRaw(num);
  return item && cJSON_AddItemToArray(arr, item);
}

static int add_tensor_json(cJSON *root, const char *name, const ag_tensor *t, uint64_t *at) {
  cJSON *e = cJSON_AddObjectToObject(root, name);
  if (!e || !cJSON_AddStringToObject(e, "dtype", st_dtype_name(t->dtype))) return 0;
  cJSON *shape = cJSON_AddArrayToObject(e, "shape");
  cJSON *offs = cJSON_AddArrayToObject(e, "data_offsets");
  if (!shape || !offs) return 0;
  for (int d = 0; d < t->ndim; d++)
    if (!add_raw_int(shape, (uint64_t)t->shape[d])) return 0;
  uint64_t end = *at + ag_tensor_nbytes(t);
  if (!add_raw_int(offs, *at) || !add_raw_int(offs, end)) return 0;
  *at = end;
  return 1;
}

/* The header JSON, padded with spaces so 8 + length is a multiple of 8. */
static char *build_header(const char *const *names, const ag_tensor *const *tensors, int n,
                          const char *const *keys, const char *const *values, int n_meta,
                          size_t *len) {
  cJSON *root = cJSON_CreateObject();
  int ok = root != NULL;
  if (ok && n_meta > 0) {
    cJSON *meta = cJSON_AddObjectToObject(root, "__metadata__");
    ok = meta != NULL;
    for (int i = 0; ok && i < n_meta; i++) ok = cJSON_AddStringToObject(meta, keys[i], values[i]) != NULL;
  }
  uint64_t at = 0;
  for (int i = 0; ok && i < n; i++) ok = add_tensor_json(root, names[i], tensors[i], &at);
  char *json = ok ? cJSON_PrintUnformatted(root) : NULL;
  cJSON_Delete(root);
  if (!json) return NULL;
  size_t raw = strlen(json), padded = (raw + 7) / 8 * 8;
  char *out = realloc(json, padded + 1);
  if (!out) {
    free(json);
    return NULL;
  }
  memset(out + raw, ' ', padded - raw);
  out[padded] = '\0';
  *len = padded;
  return out;
}

/* Tensor bytes via the host: works for any backend and any view. */
static ag_status write_tensor(FILE *f, const char *path, const char *name, const ag_tensor *t) {
  size_t bytes = ag_tensor_nbytes(t);
  if (bytes == 0) return AG_OK;
  const ag_tensor *src = ag_tensor_is_contiguous(t) ? t : ag_tensor_contiguous(t);
  void *host = src ? malloc(bytes) : NULL;
  ag_status s = !src ? st_fail(AG_ERR_INVALID, path, "tensor '%s': %s", name, ag_last_error())
                : !host ? st_fail(AG_ERR_OOM, path, "tensor '%s': no host memory", name)
                        : ag_tensor_read(src, host, bytes);
  if (s == AG_OK && fwrite(host, 1, bytes, f) != bytes)
    s = st_fail(AG_ERR_IO, path, "writing tensor '%s': %s", name, strerror(errno));
  free(host);
  if (src && src != t) ag_tensor_free((ag_tensor *)src);
  return s;
}

static ag_status write_body(FILE *f, const char *path, const char *header, size_t hlen,
                            const char *const *names, const ag_tensor *const *tensors, int n) {
  uint8_t le[8];
  for (int i = 0; i < 8; i++) le[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
  if (fwrite(le, 1, 8, f) != 8 || fwrite(header, 1, hlen, f) != hlen)
    return st_fail(AG_ERR_IO, path, "writing the header: %s", strerror(errno));
  for (int i = 0; i < n; i++) AG_TRY(write_tensor(f, path, names[i], tensors[i]));
  if (fflush(f) != 0 || fsync(fileno(f)) != 0)
    return st_fail(AG_ERR_IO, path, "flushing to disk: %s", strerror(errno));
  return AG_OK;
}

/* Makes the rename itself durable; best effort (some filesystems refuse). */
static void sync_parent_dir(const char *path) {
  char dir[4096];
  const char *slash = strrchr(path, '/');
  if (!slash) snprintf(dir, sizeof dir, ".");
  else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path) + (slash == path), path);
  int fd = open(dir, O_RDONLY);
  if (fd < 0) return;
  (void)fsync(fd);
  close(fd);
}

static ag_status write_atomically(const char *path, const char *header, size_t hlen,
                                  const char *const *names, const ag_tensor *const *tensors, int n) {
  char *tmp = malloc(strlen(path) + 32);
  if (!tmp) return st_fail(AG_ERR_OOM, path, "out of host memory");
  sprintf(tmp, "%s.tmp.%ld", path, (long)getpid());
  FILE *f = fopen(tmp, "wb");
  ag_status s = AG_OK;
  if (!f) s = st_fail(AG_ERR_IO, path, "cannot create '%s': %s", tmp, strerror(errno));
  if (s == AG_OK) s = write_body(f, path, header, hlen, names, tensors, n);
  if (f && fclose(f) != 0 && s == AG_OK)
    s = st_fail(AG_ERR_IO, path, "closing '%s': %s", tmp, strerror(errno));
  if (s == AG_OK && rename(tmp, path) != 0)
    s = st_fail(AG_ERR_IO, path, "cannot rename '%s' into place: %s", tmp, strerror(errno));
  if (s != AG_OK && f) remove(tmp);
  if (s == AG_OK) sync_parent_dir(path);
  free(tmp);
  return s;
}

ag_status ag_st_save(const char *path, const char *const *names, const ag_tensor *const *tensors,
                     int n, const char *const *meta_keys, const char *const *meta_values,
                     int n_meta) {
  AG_TRY(check_save_args(path, names, tensors, n, meta_keys, meta_values, n_meta));
  if (!host_is_little_endian())
    return ag_set_error(AG_ERR_UNSUPPORTED, "safetensors: big-endian hosts are not supported");
  size_t hlen = 0;
  char *header = build_header(names, tensors, n, meta_keys, meta_values, n_meta, &hlen);
  if (!header) return st_fail(AG_ERR_OOM, path, "out of host memory building the header");
  ag_status s = write_atomically(path, header, hlen, names, tensors, n);
  free(header);
  return s;
}
