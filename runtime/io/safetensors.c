/* safetensors read/write; see safetensors.h for the format and guarantees. */
#define _POSIX_C_SOURCE 200809L
#include "runtime/io/safetensors.h"

#include "runtime/io/out_file.h"
#include "runtime/io/safetensors_header.h"
#include "runtime/ops/layout.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct ag_safetensors {
  char *path;
  uint8_t *file;       /* whole file image */
  const uint8_t *data; /* start of the data section inside `file` */
  size_t data_bytes;
  ag_st_header h;
};

static const struct {
  const char *name;
  ag_dtype dtype;
} st_dtypes[] = {
    {"F32", AG_F32}, {"F16", AG_F16}, {"BF16", AG_BF16}, {"I32", AG_I32}, {"U8", AG_U8}};

#define ST_NDTYPES ((int)(sizeof st_dtypes / sizeof st_dtypes[0]))

/* One error line, always prefixed with the file so a message read far from
 * the call still says which checkpoint was bad. Names come from the file and
 * may hold any character: control characters are shown as \u00XX escapes, so
 * the message stays one line. */
static ag_status st_fail(ag_status code, const char *path, const char *fmt, ...) {
  char msg[768], line[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  size_t k = 0;
  for (const unsigned char *c = (const unsigned char *)msg; *c && k + 7 < sizeof line; c++)
    if (*c < 0x20)
      k += (size_t)snprintf(line + k, sizeof line - k, "\\u%04x", *c);
    else
      line[k++] = (char)*c;
  line[k] = '\0';
  return ag_set_error(code, "safetensors '%s': %s", path, line);
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

static ag_status read_whole_file(const char *path, uint8_t **out, size_t *size) {
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
  *size = (size_t)sb.st_size;
  return AG_OK;
}

/* The dtype of an entry, which the header parser knows to be one of the
 * format's: aigc reads a few of them, and says so of the others. */
static ag_status check_dtype(const char *path, ag_st_entry *e) {
  for (int i = 0; i < ST_NDTYPES; i++)
    if (strcmp(e->dtype_name, st_dtypes[i].name) == 0) {
      e->dtype = st_dtypes[i].dtype;
      return AG_OK;
    }
  return st_fail(AG_ERR_IO, path,
                 "tensor '%s': dtype %s is valid safetensors but unsupported "
                 "(aigc reads F32, F16, BF16, I32, U8)",
                 e->name, e->dtype_name);
}

/* Offsets inside the data section, holding exactly the bytes the dtype and
 * shape need. The byte size goes through ag_shape_size with the limit
 * ag_tensor_new applies, so an entry accepted here always loads, and a corrupt
 * shape cannot wrap around to a size that happens to match the offsets. */
static ag_status check_extent(const char *path, const ag_st_entry *e, size_t data_bytes) {
  if (e->end < e->begin)
    return st_fail(AG_ERR_IO, path, "tensor '%s': data_offsets [%zu, %zu] end before they begin",
                   e->name, e->begin, e->end);
  if (e->end > data_bytes)
    return st_fail(AG_ERR_IO, path,
                   "tensor '%s': data_offsets end %zu is beyond the %zu-byte "
                   "data section (file truncated?)",
                   e->name, e->end, data_bytes);
  size_t want = 0;
  char d[128];
  if (!ag_shape_size(e->shape, e->ndim, ag_dtype_size(e->dtype), INT64_MAX, NULL, &want))
    return st_fail(AG_ERR_IO, path,
                   "tensor '%s': %s is too large for aigc (its non-zero dims "
                   "span over 2^63 bytes)",
                   e->name, describe(e->dtype, e->ndim, e->shape, d, sizeof d));
  if (want != e->end - e->begin)
    return st_fail(AG_ERR_IO, path,
                   "tensor '%s': %s needs %zu bytes, data_offsets [%zu, %zu] "
                   "hold %zu",
                   e->name, describe(e->dtype, e->ndim, e->shape, d, sizeof d), want, e->begin,
                   e->end, e->end - e->begin);
  return AG_OK;
}

static int by_begin(const void *a, const void *b) {
  const ag_st_entry *x = *(const ag_st_entry *const *)a, *y = *(const ag_st_entry *const *)b;
  if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
  return x->end < y->end ? -1 : x->end > y->end;
}

/* The spec requires the tensors to tile the data section exactly: sorted by
 * offset, each one starts where the previous ended and the last ends at EOF. */
static ag_status check_coverage(ag_safetensors *st) {
  const int n = st->h.n;
  ag_st_entry **order = malloc(((size_t)n + 1) * sizeof *order);
  if (!order) return st_fail(AG_ERR_OOM, st->path, "out of host memory");
  for (int i = 0; i < n; i++) order[i] = &st->h.entries[i];
  qsort(order, (size_t)n, sizeof *order, by_begin);
  size_t at = 0;
  ag_status s = AG_OK;
  for (int i = 0; i < n && s == AG_OK; i++) {
    const ag_st_entry *e = order[i];
    if (e->begin < at)
      s = st_fail(AG_ERR_IO, st->path, "tensor '%s': data_offsets [%zu, %zu] overlap tensor '%s'",
                  e->name, e->begin, e->end, order[i - 1]->name);
    else if (e->begin > at)
      s = st_fail(AG_ERR_IO, st->path,
                  "tensor '%s': data_offsets [%zu, %zu] leave a hole of %zu "
                  "bytes before them",
                  e->name, e->begin, e->end, e->begin - at);
    at = e->end;
  }
  if (s == AG_OK && at != st->data_bytes)
    s = st_fail(AG_ERR_IO, st->path,
                "the tensors cover %zu bytes but the data section holds %zu "
                "(trailing bytes)",
                at, st->data_bytes);
  free(order);
  return s;
}

static ag_status parse_header(ag_safetensors *st, const char *text, size_t len) {
  char err[640];
  ag_status s = ag_st_header_parse(text, len, &st->h, err, sizeof err);
  if (s != AG_OK) return st_fail(s, st->path, "%s", err);
  for (int i = 0; i < st->h.n; i++) {
    AG_TRY(check_dtype(st->path, &st->h.entries[i]));
    AG_TRY(check_extent(st->path, &st->h.entries[i], st->data_bytes));
  }
  return AG_OK;
}

static ag_status st_load(ag_safetensors *st) {
  size_t size = 0, data_at = 0;
  AG_TRY(read_whole_file(st->path, &st->file, &size));
  if (size < 8)
    return st_fail(AG_ERR_IO, st->path, "file is %zu bytes, shorter than the 8-byte header length",
                   size);
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; i--) hlen = hlen << 8 | st->file[i];
  if (hlen > AG_ST_MAX_HEADER)
    return st_fail(AG_ERR_IO, st->path, "oversized header: %llu bytes (limit %llu)",
                   (unsigned long long)hlen, (unsigned long long)AG_ST_MAX_HEADER);
  if (!ag_size_add(8, (size_t)hlen, &data_at) || data_at > size)
    return st_fail(AG_ERR_IO, st->path,
                   "header length %llu is larger than the file (%zu bytes): "
                   "truncated?",
                   (unsigned long long)hlen, size);
  st->data = st->file + data_at;
  st->data_bytes = size - data_at;
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
  ag_st_header_free(&st->h);
  free(st->file);
  free(st->path);
  free(st);
}

/* ------------------------------------------------------------- accessors */

int ag_st_count(const ag_safetensors *st) { return st ? st->h.n : 0; }

const char *ag_st_name(const ag_safetensors *st, int i) {
  return st && i >= 0 && i < st->h.n ? st->h.entries[i].name : NULL;
}

int ag_st_find(const ag_safetensors *st, const char *name) {
  for (int i = 0; st && name && i < st->h.n; i++)
    if (strcmp(st->h.entries[i].name, name) == 0) return i;
  return -1;
}

ag_status ag_st_info(const ag_safetensors *st, int i, ag_st_tensor_info *out) {
  if (!st || !out || i < 0 || i >= st->h.n)
    return ag_set_error(AG_ERR_INVALID, "ag_st_info: no tensor %d", i);
  const ag_st_entry *e = &st->h.entries[i];
  memset(out, 0, sizeof *out);
  out->name = e->name;
  out->dtype = e->dtype;
  out->ndim = e->ndim;
  memcpy(out->shape, e->shape, sizeof e->shape);
  out->bytes = (size_t)(e->end - e->begin);
  return AG_OK;
}

const void *ag_st_data(const ag_safetensors *st, int i) {
  return st && i >= 0 && i < st->h.n ? st->data + st->h.entries[i].begin : NULL;
}

const char *ag_st_metadata(const ag_safetensors *st, const char *key) {
  for (int i = 0; st && key && i < st->h.n_meta; i++)
    if (strcmp(st->h.meta_keys[i], key) == 0) return st->h.meta_values[i];
  return NULL;
}

int ag_st_metadata_count(const ag_safetensors *st) { return st ? st->h.n_meta : 0; }

const char *ag_st_metadata_key(const ag_safetensors *st, int i) {
  return st && i >= 0 && i < st->h.n_meta ? st->h.meta_keys[i] : NULL;
}

/* -------------------------------------------------------------- loading */

/* Writes into `msg` why entry e cannot go into dst; returns 0 when it can. */
static int mismatch(const ag_st_entry *e, const ag_tensor *dst, char *msg, size_t len) {
  int same = e->dtype == dst->dtype && e->ndim == dst->ndim;
  for (int i = 0; same && i < e->ndim; i++) same = e->shape[i] == dst->shape[i];
  if (same) return 0;
  char a[96], b[96];
  snprintf(msg, len, "checkpoint tensor '%s' is %s, model expects %s", e->name,
           describe(e->dtype, e->ndim, e->shape, a, sizeof a),
           describe(dst->dtype, dst->ndim, dst->shape, b, sizeof b));
  return 1;
}

static ag_status copy_entry(const ag_safetensors *st, const ag_st_entry *e, ag_tensor *dst) {
  if (!ag_tensor_is_contiguous(dst))
    return st_fail(AG_ERR_INVALID, st->path, "tensor '%s': destination is not contiguous", e->name);
  return ag_tensor_write(dst, st->data + e->begin, (size_t)(e->end - e->begin));
}

ag_status ag_st_load_into(const ag_safetensors *st, const char *name, ag_tensor *dst) {
  if (!st || !name || !dst) return ag_set_error(AG_ERR_INVALID, "ag_st_load_into: NULL argument");
  int i = ag_st_find(st, name);
  if (i < 0) return st_fail(AG_ERR_INVALID, st->path, "no tensor '%s' in the checkpoint", name);
  char msg[512];
  if (mismatch(&st->h.entries[i], dst, msg, sizeof msg))
    return st_fail(AG_ERR_INVALID, st->path, "%s", msg);
  return copy_entry(st, &st->h.entries[i], dst);
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
    if (listed(names, i, names[i]))
      report_add(r, "'%s' is listed twice", names[i]);
    else if (k < 0)
      report_add(r, "missing '%s'", names[i]);
    else if (mismatch(&st->h.entries[k], tensors[i], msg, sizeof msg))
      report_add(r, "%s", msg);
  }
  for (int k = 0; k < st->h.n; k++) {
    const char *name = st->h.entries[k].name;
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
    return st_fail(AG_ERR_INVALID, st->path,
                   "checkpoint does not match the model (%d problem%s): %s", r.problems,
                   r.problems == 1 ? "" : "s", r.text);
  for (int i = 0; i < n; i++)
    AG_TRY(copy_entry(st, &st->h.entries[ag_st_find(st, names[i])], tensors[i]));
  return AG_OK;
}

/* --------------------------------------------------------------- writing */

static const char *st_dtype_name(ag_dtype dt) {
  for (int i = 0; i < ST_NDTYPES; i++)
    if (st_dtypes[i].dtype == dt) return st_dtypes[i].name;
  return NULL;
}

static ag_status check_save_args(const char *path, const char *const *names,
                                 const ag_tensor *const *tensors, int n, const char *const *keys,
                                 const char *const *values, int n_meta) {
  if (!path || n < 0 || n_meta < 0 || (n && (!names || !tensors)) || (n_meta && (!keys || !values)))
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

static int add_tensor_json(cJSON *root, const char *name, const ag_tensor *t, size_t *at) {
  cJSON *e = cJSON_AddObjectToObject(root, name);
  if (!e || !cJSON_AddStringToObject(e, "dtype", st_dtype_name(t->dtype))) return 0;
  cJSON *shape = cJSON_AddArrayToObject(e, "shape");
  cJSON *offs = cJSON_AddArrayToObject(e, "data_offsets");
  if (!shape || !offs) return 0;
  for (int d = 0; d < t->ndim; d++)
    if (!add_raw_int(shape, (uint64_t)t->shape[d])) return 0;
  size_t end;
  if (!ag_size_add(*at, ag_tensor_nbytes(t), &end)) return 0;
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
    for (int i = 0; ok && i < n_meta; i++)
      ok = cJSON_AddStringToObject(meta, keys[i], values[i]) != NULL;
  }
  size_t at = 0;
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
  ag_status s = !src    ? st_fail(AG_ERR_INVALID, path, "tensor '%s': %s", name, ag_last_error())
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
  return AG_OK;
}

static ag_status write_atomically(const char *path, const char *header, size_t hlen,
                                  const char *const *names, const ag_tensor *const *tensors,
                                  int n) {
  ag_out_file o;
  AG_TRY(ag_out_open(&o, path, "safetensors"));
  const ag_status s = write_body(o.f, path, header, hlen, names, tensors, n);
  if (s == AG_OK) return ag_out_commit(&o, 1);
  ag_out_abandon(&o);
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
