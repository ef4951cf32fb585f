/* The strict safetensors header parser; see safetensors_header.h for what it
 * accepts and why it does not use cJSON. */
#include "runtime/io/safetensors_header.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* serde_json's recursion limit: the 128th nested array or object is refused. */
#define ST_MAX_DEPTH 127

/* Every dtype name of the format (safetensors 0.8), so that a valid file with
 * a dtype aigc does not read is told apart from a corrupt one. */
static const char *const st_format_dtypes[] = {
    "BOOL",    "F4",          "F6_E2M3",     "F6_E3M2", "U8",  "I8",  "F8_E5M2", "F8_E4M3",
    "F8_E8M0", "F8_E4M3FNUZ", "F8_E5M2FNUZ", "I16",     "U16", "F16", "BF16",    "I32",
    "U32",     "F32",         "C64",         "F64",     "I64", "U64"};

typedef struct cursor {
  const char *start, *p, *end;
  int depth;
  char *buf; /* decoded strings and number tokens: never longer than the text */
  char *err;
  size_t err_len;
} cursor;

typedef ag_status (*member_fn)(cursor *c, const char *key, size_t key_len, void *ctx);
typedef ag_status (*element_fn)(cursor *c, int index, void *ctx);

static ag_status vfail(cursor *c, ag_status code, const char *fmt, va_list ap) {
  vsnprintf(c->err, c->err_len, fmt, ap);
  return code;
}

/* A schema problem: the JSON is fine, its content is not. */
static ag_status fail(cursor *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ag_status s = vfail(c, AG_ERR_IO, fmt, ap);
  va_end(ap);
  return s;
}

/* A grammar problem, with where it is (header bytes count from 0). */
static ag_status syntax(cursor *c, const char *what) {
  return fail(c, "header is not valid JSON: %s at header byte %ld", what, (long)(c->p - c->start));
}

static ag_status oom(cursor *c) {
  snprintf(c->err, c->err_len, "out of host memory parsing the header");
  return AG_ERR_OOM;
}

/* Offset of the first byte that is not valid UTF-8 (overlong forms,
 * surrogates and code points past U+10FFFF included), or -1. */
static long utf8_error(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned b = s[i];
    size_t k = b < 0x80                 ? 0
               : b >= 0xC2 && b <= 0xDF ? 1
               : b >= 0xE0 && b <= 0xEF ? 2
               : b >= 0xF0 && b <= 0xF4 ? 3
                                        : 4;
    if (k == 4 || (k && i + k >= n)) return (long)i;
    /* the second byte's range excludes overlongs, surrogates and > U+10FFFF */
    unsigned lo = b == 0xE0 ? 0xA0 : b == 0xF0 ? 0x90 : 0x80;
    unsigned hi = b == 0xED ? 0x9F : b == 0xF4 ? 0x8F : 0xBF;
    for (size_t j = 1; j <= k; j++) {
      unsigned x = s[i + j];
      if (x < (j == 1 ? lo : 0x80) || x > (j == 1 ? hi : 0xBF)) return (long)i;
    }
    i += k + 1;
  }
  return -1;
}

static void skip_ws(cursor *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static int peek(const cursor *c) { return c->p < c->end ? (unsigned char)*c->p : -1; }

static ag_status expect(cursor *c, char ch, const char *what) {
  skip_ws(c);
  if (peek(c) != (unsigned char)ch) return syntax(c, what);
  c->p++;
  return AG_OK;
}

static int hex4(const char *p, const char *end, unsigned *out) {
  unsigned v = 0;
  for (int i = 0; i < 4; i++, p++) {
    if (p >= end) return 0;
    int d = *p >= '0' && *p <= '9'   ? *p - '0'
            : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
            : *p >= 'A' && *p <= 'F' ? *p - 'A' + 10
                                     : -1;
    if (d < 0) return 0;
    v = v << 4 | (unsigned)d;
  }
  *out = v;
  return 1;
}

static size_t put_utf8(char *o, unsigned cp) {
  if (cp < 0x80) {
    o[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    o[0] = (char)(0xC0 | cp >> 6);
    o[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (char)(0xE0 | cp >> 12);
    o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
    o[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  o[0] = (char)(0xF0 | cp >> 18);
  o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
  o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
  o[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* \uXXXX at c->p (past the backslash and 'u'), a surrogate pair as one. */
static ag_status unicode_escape(cursor *c, unsigned *cp) {
  if (!hex4(c->p, c->end, cp)) return syntax(c, "bad \\u escape");
  c->p += 4;
  if (*cp >= 0xDC00 && *cp <= 0xDFFF) return syntax(c, "lone low surrogate in a \\u escape");
  if (*cp < 0xD800 || *cp > 0xDBFF) return AG_OK;
  unsigned lo = 0;
  if (c->end - c->p < 6 || c->p[0] != '\\' || c->p[1] != 'u' || !hex4(c->p + 2, c->end, &lo) ||
      lo < 0xDC00 || lo > 0xDFFF)
    return syntax(c, "high surrogate without its low half in a \\u escape");
  c->p += 6;
  *cp = 0x10000 + ((*cp - 0xD800) << 10) + (lo - 0xDC00);
  return AG_OK;
}

/* The string at c->p, decoded into c->buf (valid until the next string). */
static ag_status parse_string(cursor *c, const char **out, size_t *len) {
  AG_TRY(expect(c, '"', "expected a string"));
  size_t n = 0;
  for (;;) {
    if (c->p >= c->end) return syntax(c, "unterminated string");
    unsigned char ch = (unsigned char)*c->p;
    if (ch == '"') break;
    if (ch < 0x20) return syntax(c, "control character in a string");
    c->p++;
    if (ch != '\\') {
      c->buf[n++] = (char)ch;
      continue;
    }
    const char *simple = "\"\\/bfnrt", *as = "\"\\/\b\f\n\r\t";
    const char *hit = c->p < c->end && *c->p ? strchr(simple, *c->p) : NULL;
    if (hit) {
      c->buf[n++] = as[hit - simple];
      c->p++;
    } else if (c->p < c->end && *c->p == 'u') {
      c->p++;
      unsigned cp = 0;
      AG_TRY(unicode_escape(c, &cp));
      n += put_utf8(c->buf + n, cp);
    } else {
      return syntax(c, "invalid escape in a string");
    }
  }
  c->p++;
  c->buf[n] = '\0';
  *out = c->buf;
  *len = n;
  return AG_OK;
}

static int is_digit(int ch) { return ch >= '0' && ch <= '9'; }

/* A number token at c->p, copied NUL-terminated into c->buf; *integer says
 * whether it is a plain non-negative integer (no sign, fraction, exponent). */
static ag_status scan_number(cursor *c, size_t *len, int *integer) {
  const char *s = c->p;
  int neg = peek(c) == '-';
  if (neg) c->p++;
  if (peek(c) == '0')
    c->p++;
  else if (is_digit(peek(c))) {
    while (is_digit(peek(c))) c->p++;
  } else {
    return syntax(c, "invalid number");
  }
  int frac = peek(c) == '.', exp = 0;
  if (frac) {
    c->p++;
    if (!is_digit(peek(c))) return syntax(c, "invalid number");
    while (is_digit(peek(c))) c->p++;
  }
  if (peek(c) == 'e' || peek(c) == 'E') {
    exp = 1;
    c->p++;
    if (peek(c) == '+' || peek(c) == '-') c->p++;
    if (!is_digit(peek(c))) return syntax(c, "invalid number");
    while (is_digit(peek(c))) c->p++;
  }
  *len = (size_t)(c->p - s);
  memcpy(c->buf, s, *len);
  c->buf[*len] = '\0';
  *integer = !neg && !frac && !exp;
  return AG_OK;
}

static ag_status enter(cursor *c) {
  if (++c->depth > ST_MAX_DEPTH) return syntax(c, "arrays or objects nested too deep");
  return AG_OK;
}

/* {"key": value, ...}: fn consumes each value (the key lives in c->buf, so
 * fn copies it before parsing the value if it needs it afterwards). */
static ag_status members(cursor *c, member_fn fn, void *ctx) {
  AG_TRY(expect(c, '{', "expected an object"));
  AG_TRY(enter(c));
  skip_ws(c);
  if (peek(c) == '}') {
    c->p++;
    c->depth--;
    return AG_OK;
  }
  for (;;) {
    const char *key;
    size_t key_len;
    AG_TRY(parse_string(c, &key, &key_len));
    AG_TRY(expect(c, ':', "expected ':' after a key"));
    skip_ws(c);
    AG_TRY(fn(c, key, key_len, ctx));
    skip_ws(c);
    if (peek(c) == '}') break;
    if (peek(c) != ',') return syntax(c, "expected ',' or '}' in an object");
    c->p++;
    skip_ws(c);
  }
  c->p++;
  c->depth--;
  return AG_OK;
}

/* [value, ...]: fn consumes each value. */
static ag_status elements(cursor *c, element_fn fn, void *ctx) {
  AG_TRY(expect(c, '[', "expected an array"));
  AG_TRY(enter(c));
  skip_ws(c);
  if (peek(c) == ']') {
    c->p++;
    c->depth--;
    return AG_OK;
  }
  for (int i = 0;; i++) {
    skip_ws(c);
    AG_TRY(fn(c, i, ctx));
    skip_ws(c);
    if (peek(c) == ']') break;
    if (peek(c) != ',') return syntax(c, "expected ',' or ']' in an array");
    c->p++;
  }
  c->p++;
  c->depth--;
  return AG_OK;
}

static ag_status skip_value(cursor *c);

static ag_status skip_member(cursor *c, const char *key, size_t key_len, void *ctx) {
  (void)key, (void)key_len, (void)ctx;
  return skip_value(c);
}

static ag_status skip_element(cursor *c, int index, void *ctx) {
  (void)index, (void)ctx;
  return skip_value(c);
}

static ag_status skip_literal(cursor *c, const char *word) {
  size_t n = strlen(word);
  if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
    return syntax(c, "expected a value");
  c->p += n;
  return AG_OK;
}

/* Any JSON value, checked and thrown away (the fields the format ignores). */
static ag_status skip_value(cursor *c) {
  skip_ws(c);
  int ch = peek(c);
  if (ch == '{') return members(c, skip_member, NULL);
  if (ch == '[') return elements(c, skip_element, NULL);
  if (ch == '"') {
    const char *s;
    size_t n;
    return parse_string(c, &s, &n);
  }
  if (ch == 't') return skip_literal(c, "true");
  if (ch == 'f') return skip_literal(c, "false");
  if (ch == 'n') return skip_literal(c, "null");
  if (ch != '-' && !is_digit(ch)) return syntax(c, "expected a value");
  size_t len;
  int integer;
  const char *at = c->p;
  AG_TRY(scan_number(c, &len, &integer));
  if (isinf(strtod(c->buf, NULL))) {
    c->p = at;
    return syntax(c, "number out of range");
  }
  return AG_OK;
}

/* A JSON integer in 0..SIZE_MAX, as serde_json reads a usize. */
static ag_status parse_size(cursor *c, const char *tensor, const char *field, int index,
                            size_t *out) {
  size_t len;
  int integer;
  if (peek(c) != '-' && !is_digit(peek(c)))
    return fail(c, "tensor '%.200s': %s[%d] is not a number", tensor, field, index);
  AG_TRY(scan_number(c, &len, &integer));
  if (!integer)
    return fail(c, "tensor '%.200s': %s[%d] is %.40s, not a non-negative JSON integer", tensor,
                field, index, c->buf);
  size_t v = 0;
  for (size_t i = 0; i < len; i++)
    if (!ag_size_mul(v, 10, &v) || !ag_size_add(v, (size_t)(c->buf[i] - '0'), &v))
      return fail(c, "tensor '%.200s': %s[%d] = %.40s does not fit in 64 bits", tensor, field,
                  index, c->buf);
  *out = v;
  return AG_OK;
}

typedef struct entry_ctx {
  ag_st_entry *e;
  int seen_dtype, seen_shape, seen_offsets, n_offsets;
} entry_ctx;

static ag_status shape_element(cursor *c, int index, void *ctx) {
  ag_st_entry *e = ((entry_ctx *)ctx)->e;
  size_t d;
  AG_TRY(parse_size(c, e->name, "shape", index, &d));
  if (index >= AG_MAX_DIMS)
    return fail(c, "tensor '%.200s': more than %d dims, aigc supports at most %d", e->name,
                AG_MAX_DIMS, AG_MAX_DIMS);
  if ((uint64_t)d > (uint64_t)INT64_MAX)
    return fail(c, "tensor '%.200s': shape[%d] = %zu is above aigc's limit of 2^63 - 1", e->name,
                index, d);
  e->shape[index] = (int64_t)d;
  e->ndim = index + 1;
  return AG_OK;
}

static ag_status offset_element(cursor *c, int index, void *ctx) {
  entry_ctx *x = ctx;
  size_t v;
  AG_TRY(parse_size(c, x->e->name, "data_offsets", index, &v));
  if (index == 0) x->e->begin = v;
  if (index == 1) x->e->end = v;
  x->n_offsets = index + 1;
  return AG_OK;
}

static ag_status parse_dtype(cursor *c, ag_st_entry *e) {
  if (peek(c) != '"')
    return fail(c, "tensor '%.200s': \"dtype\" is not a string (aigc reads only the string form)",
                e->name);
  const char *s;
  size_t n;
  AG_TRY(parse_string(c, &s, &n));
  for (size_t i = 0; i < sizeof st_format_dtypes / sizeof st_format_dtypes[0]; i++)
    if (strlen(st_format_dtypes[i]) == n && memcmp(st_format_dtypes[i], s, n) == 0) {
      e->dtype_name = st_format_dtypes[i];
      return AG_OK;
    }
  const char *nul = memchr(s, '\0', n) ? "\\u0000" : ""; /* the name ends at a NUL */
  return fail(c, "tensor '%.200s': dtype \"%.32s%s\" is unknown (not a safetensors dtype)", e->name,
              s, nul);
}

static int field_is(const char *key, size_t len, const char *name) {
  return len == strlen(name) && memcmp(key, name, len) == 0;
}

static ag_status entry_member(cursor *c, const char *key, size_t len, void *ctx) {
  entry_ctx *x = ctx;
  int *seen = field_is(key, len, "dtype")          ? &x->seen_dtype
              : field_is(key, len, "shape")        ? &x->seen_shape
              : field_is(key, len, "data_offsets") ? &x->seen_offsets
                                                   : NULL;
  if (!seen) return skip_value(c);
  if (*seen) return fail(c, "tensor '%.200s': field \"%s\" appears twice", x->e->name, key);
  *seen = 1;
  if (seen == &x->seen_dtype) return parse_dtype(c, x->e);
  const char *field = seen == &x->seen_shape ? "shape" : "data_offsets";
  if (peek(c) != '[') return fail(c, "tensor '%.200s': \"%s\" is not an array", x->e->name, field);
  if (seen == &x->seen_shape) return elements(c, shape_element, x);
  AG_TRY(elements(c, offset_element, x));
  if (x->n_offsets != 2)
    return fail(c, "tensor '%.200s': \"data_offsets\" must be [begin, end] (2 numbers, not %d)",
                x->e->name, x->n_offsets);
  return AG_OK;
}

static ag_status parse_entry(cursor *c, ag_st_entry *e) {
  if (peek(c) == '[')
    return fail(c, "tensor '%.200s': entry is an array (aigc reads only the object form)", e->name);
  if (peek(c) != '{') return fail(c, "tensor '%.200s': entry is not a JSON object", e->name);
  entry_ctx x = {.e = e};
  AG_TRY(members(c, entry_member, &x));
  const char *missing = !x.seen_dtype     ? "dtype"
                        : !x.seen_shape   ? "shape"
                        : !x.seen_offsets ? "data_offsets"
                                          : NULL;
  if (missing) return fail(c, "tensor '%.200s': missing \"%s\"", e->name, missing);
  return AG_OK;
}

static char *dup_bytes(const char *s, size_t n) {
  char *d = malloc(n + 1);
  if (d) {
    memcpy(d, s, n);
    d[n] = '\0';
  }
  return d;
}

/* Doubles *cap (from 16) and the array behind *items of `size`-byte items. */
static int grow(void **items, int *cap, size_t size) {
  size_t n = *cap ? (size_t)*cap * 2 : 16, bytes;
  if (n > INT32_MAX || !ag_size_mul(n, size, &bytes)) return 0;
  void *p = realloc(*items, bytes);
  if (!p) return 0;
  *items = p;
  *cap = (int)n;
  return 1;
}

static ag_status meta_member(cursor *c, const char *key, size_t len, void *ctx) {
  ag_st_header *h = ctx;
  if (memchr(key, '\0', len))
    return fail(c,
                "metadata key \"%.200s\\u0000...\" holds a NUL character, which aigc cannot "
                "represent",
                key);
  if (h->n_meta == h->meta_cap) {
    int cap = h->meta_cap;
    if (!grow((void **)&h->meta_keys, &cap, sizeof *h->meta_keys) ||
        !grow((void **)&h->meta_values, &h->meta_cap, sizeof *h->meta_values))
      return oom(c);
  }
  char **k = &h->meta_keys[h->n_meta], **v = &h->meta_values[h->n_meta];
  *v = NULL;
  if (!(*k = dup_bytes(key, len))) return oom(c);
  h->n_meta++;
  if (peek(c) != '"') return fail(c, "metadata '%.200s': value is not a string", *k);
  const char *s;
  size_t n;
  AG_TRY(parse_string(c, &s, &n));
  if (memchr(s, '\0', n))
    return fail(c, "metadata '%.200s': value holds a NUL character, which aigc cannot represent",
                *k);
  if (!(*v = dup_bytes(s, n))) return oom(c);
  return AG_OK;
}

typedef struct root_ctx {
  ag_st_header *h;
  int seen_meta;
} root_ctx;

static ag_status root_member(cursor *c, const char *key, size_t len, void *ctx) {
  root_ctx *r = ctx;
  ag_st_header *h = r->h;
  if (field_is(key, len, "__metadata__")) {
    if (r->seen_meta) return fail(c, "\"__metadata__\" appears twice");
    r->seen_meta = 1;
    if (peek(c) == 'n') return skip_literal(c, "null");
    if (peek(c) != '{') return fail(c, "\"__metadata__\" is not a JSON object");
    return members(c, meta_member, h);
  }
  if (memchr(key, '\0', len))
    return fail(c,
                "tensor name \"%.200s\\u0000...\" holds a NUL character, which aigc cannot "
                "represent",
                key);
  if (h->n == h->cap && !grow((void **)&h->entries, &h->cap, sizeof *h->entries)) return oom(c);
  ag_st_entry *e = &h->entries[h->n];
  memset(e, 0, sizeof *e);
  if (!(e->name = dup_bytes(key, len))) return oom(c);
  h->n++;
  return parse_entry(c, e);
}

static int by_string(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The first of `n` strings that appears twice, or NULL; sorting keeps a header
 * of many names from costing n^2 comparisons. */
static const char *first_repeat(const char *const *items, size_t stride, int n, int *oom_out) {
  const char **sorted = malloc(((size_t)n + 1) * sizeof *sorted);
  *oom_out = !sorted;
  if (!sorted) return NULL;
  for (int i = 0; i < n; i++) sorted[i] = *(const char *const *)((const char *)items + i * stride);
  qsort(sorted, (size_t)n, sizeof *sorted, by_string);
  const char *dup = NULL;
  for (int i = 1; i < n && !dup; i++)
    if (strcmp(sorted[i - 1], sorted[i]) == 0) dup = sorted[i];
  free(sorted);
  return dup;
}

/* The reference keeps the last of repeated names without a word; aigc
 * refuses, since which tensor was meant is unknowable. */
static ag_status check_unique(cursor *c, const ag_st_header *h) {
  int no_mem = 0;
  const char *d = h->n ? first_repeat((const char *const *)&h->entries[0].name, sizeof *h->entries,
                                      h->n, &no_mem)
                       : NULL;
  if (no_mem) return oom(c);
  if (d) return fail(c, "tensor '%.200s' appears twice", d);
  d = h->n_meta ? first_repeat((const char *const *)h->meta_keys, sizeof *h->meta_keys, h->n_meta,
                               &no_mem)
                : NULL;
  if (no_mem) return oom(c);
  if (d) return fail(c, "metadata key '%.200s' appears twice", d);
  return AG_OK;
}

ag_status ag_st_header_parse(const char *text, size_t len, ag_st_header *h, char *err,
                             size_t err_len) {
  memset(h, 0, sizeof *h);
  cursor c = {.start = text, .p = text, .end = text + len, .err = err, .err_len = err_len};
  long bad = utf8_error((const unsigned char *)text, len);
  if (bad >= 0) return fail(&c, "header is not valid UTF-8 (header byte %ld)", bad);
  skip_ws(&c);
  if (peek(&c) != '{') return fail(&c, "header does not start with '{': not a safetensors file?");
  if (!(c.buf = malloc(len + 1))) return oom(&c);
  /* The grammar first, over the whole text, so that a truncated or garbled
   * header is reported as such rather than by the first field it cut short. */
  ag_status s = skip_value(&c);
  skip_ws(&c);
  if (s == AG_OK && c.p < c.end)
    s = fail(&c,
             "header has trailing bytes after the JSON object (header byte %ld is 0x%02x; "
             "only spaces may pad it)",
             (long)(c.p - c.start), (unsigned char)*c.p);
  root_ctx r = {.h = h};
  c.p = text;
  if (s == AG_OK) s = members(&c, root_member, &r);
  if (s == AG_OK) s = check_unique(&c, h);
  free(c.buf);
  return s;
}

void ag_st_header_free(ag_st_header *h) {
  for (int i = 0; i < h->n; i++) free(h->entries[i].name);
  for (int i = 0; i < h->n_meta; i++) {
    free(h->meta_keys[i]);
    free(h->meta_values[i]);
  }
  free(h->entries);
  free(h->meta_keys);
  free(h->meta_values);
  memset(h, 0, sizeof *h);
}
