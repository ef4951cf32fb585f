/* idx.c - IDX reading and writing. Gzip is read through zlib's inflate
 * rather than gz*, because gzread hides what a strict reader must see: a cut
 * stream, a bad CRC or ISIZE, and bytes after the last member all look like a
 * plain end of file there. What is accepted follows Python's gzip module
 * (gzip.decompress): any number of members, zero padding between and after
 * them, anything else after a member refused. */
#define _POSIX_C_SOURCE 200809L
#include "runtime/io/idx.h"
#include "runtime/io/out_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

size_t ag_idx_type_size(int type) {
  switch (type) {
  case AG_IDX_U8:
  case AG_IDX_I8: return 1;
  case AG_IDX_I16: return 2;
  case AG_IDX_I32:
  case AG_IDX_F32: return 4;
  case AG_IDX_F64: return 8;
  default: return 0;
  }
}

/* The bytes of an IDX file, plain or gzip (told apart by the gzip magic,
 * 1f 8b, as gzopen did). Both read through `in`, so a plain file's first
 * bytes, read to look for the magic, are not lost. */
typedef struct idx_src {
  const char *path;
  FILE *f;
  int gzip;            /* 1: inflate members; 0: copy bytes */
  int gz_done;         /* gzip: every member read, checked, nothing after */
  int z_live;          /* inflateInit2 succeeded: inflateEnd is due */
  z_stream z;          /* next_in / avail_in also serve plain files */
  uint64_t file_bytes; /* bytes read from the file so far */
  uint64_t member_end; /* file offset just after the last complete member */
  unsigned char in[1 << 16];
} idx_src;

static uint64_t src_offset(const idx_src *s) { return s->file_bytes - s->z.avail_in; }

/* Tops up `in` when it is empty; at end of file avail_in stays 0. */
static ag_status src_refill(idx_src *s) {
  if (s->z.avail_in > 0) return AG_OK;
  size_t n = fread(s->in, 1, sizeof s->in, s->f);
  if (n == 0 && ferror(s->f))
    return ag_set_error(AG_ERR_IO, "idx '%s': read error: %s", s->path, strerror(errno));
  s->z.next_in = s->in;
  s->z.avail_in = (uInt)n;
  s->file_bytes += n;
  return AG_OK;
}

/* Makes `in` hold at least two bytes unless the file ends first. */
static ag_status src_fill2(idx_src *s) {
  if (s->z.avail_in >= 2) return AG_OK;
  if (s->z.avail_in == 1) s->in[0] = s->z.next_in[0];
  size_t have = s->z.avail_in;
  size_t n = fread(s->in + have, 1, sizeof s->in - have, s->f);
  if (n == 0 && ferror(s->f))
    return ag_set_error(AG_ERR_IO, "idx '%s': read error: %s", s->path, strerror(errno));
  s->z.next_in = s->in;
  s->z.avail_in = (uInt)(have + n);
  s->file_bytes += n;
  return AG_OK;
}

static ag_status src_open(const char *path, idx_src *s) {
  s->path = path;
  s->f = fopen(path, "rb");
  if (!s->f) return ag_set_error(AG_ERR_IO, "idx '%s': cannot open (missing or unreadable)", path);
  AG_TRY(src_fill2(s));
  s->gzip = s->z.avail_in >= 2 && s->in[0] == 0x1f && s->in[1] == 0x8b;
  if (!s->gzip) return AG_OK;
  /* 16 + MAX_WBITS: gzip wrapper only, its CRC-32 and ISIZE checked. */
  if (inflateInit2(&s->z, 16 + MAX_WBITS) != Z_OK)
    return ag_set_error(AG_ERR_OOM, "idx '%s': cannot start zlib", path);
  s->z_live = 1;
  return AG_OK;
}

static void src_close(idx_src *s) {
  if (s->z_live) inflateEnd(&s->z);
  if (s->f) fclose(s->f);
}

/* Plain file: copies up to `n` bytes; *got short only at end of file. */
static ag_status plain_read(idx_src *s, unsigned char *dst, size_t n, size_t *got) {
  for (*got = 0; *got < n;) {
    AG_TRY(src_refill(s));
    if (s->z.avail_in == 0) break;
    size_t k = n - *got < s->z.avail_in ? n - *got : s->z.avail_in;
    memcpy(dst + *got, s->z.next_in, k);
    s->z.next_in += k, s->z.avail_in -= (uInt)k, *got += k;
  }
  return AG_OK;
}

/* After a member's end: zero bytes are padding; another member must start
 * with the magic; anything else is garbage (Python's gzip refuses it too). */
static ag_status gz_next_member(idx_src *s) {
  s->member_end = src_offset(s);
  for (;;) {
    AG_TRY(src_refill(s));
    if (s->z.avail_in == 0) {
      s->gz_done = 1;
      return AG_OK;
    }
    if (s->z.next_in[0] != 0) break;
    s->z.next_in++, s->z.avail_in--;
  }
  AG_TRY(src_fill2(s));
  if (s->z.avail_in < 2 || s->z.next_in[0] != 0x1f || s->z.next_in[1] != 0x8b) {
    struct stat sb;
    uint64_t size = fstat(fileno(s->f), &sb) == 0 ? (uint64_t)sb.st_size : s->file_bytes;
    return ag_set_error(AG_ERR_IO, "idx '%s': %llu bytes of garbage after the gzip stream", s->path,
                        (unsigned long long)(size - s->member_end));
  }
  inflateReset(&s->z);
  return AG_OK;
}

/* zlib tells a bad trailer only by its message text, which has been the same
 * since zlib 1.2; anything else is reported as zlib words it. */
static ag_status gz_data_error(const idx_src *s) {
  const char *m = s->z.msg ? s->z.msg : "corrupt data";
  if (strcmp(m, "incorrect data check") == 0)
    return ag_set_error(AG_ERR_IO, "idx '%s': gzip CRC mismatch", s->path);
  if (strcmp(m, "incorrect length check") == 0)
    return ag_set_error(AG_ERR_IO, "idx '%s': gzip length (ISIZE) mismatch", s->path);
  return ag_set_error(AG_ERR_IO, "idx '%s': corrupt gzip stream (%s) at byte %llu", s->path, m,
                      (unsigned long long)src_offset(s));
}

/* Gzip: inflates up to `n` bytes across members; *got short only when the
 * last member ended cleanly. avail_out is a uInt, hence the chunks. */
static ag_status gz_read(idx_src *s, unsigned char *dst, size_t n, size_t *got) {
  *got = 0;
  while (*got < n && !s->gz_done) {
    AG_TRY(src_refill(s));
    if (s->z.avail_in == 0)
      return ag_set_error(AG_ERR_IO,
                          "idx '%s': gzip stream ends early (cut short after %llu bytes)", s->path,
                          (unsigned long long)s->file_bytes);
    size_t want = n - *got > (1u << 30) ? (1u << 30) : n - *got;
    s->z.next_out = dst + *got;
    s->z.avail_out = (uInt)want;
    int r = inflate(&s->z, Z_NO_FLUSH);
    *got += want - s->z.avail_out;
    if (r == Z_STREAM_END)
      AG_TRY(gz_next_member(s));
    else if (r == Z_DATA_ERROR)
      return gz_data_error(s);
    else if (r == Z_MEM_ERROR)
      return ag_set_error(AG_ERR_OOM, "idx '%s': zlib out of memory", s->path);
    else if (r != Z_OK && r != Z_BUF_ERROR)
      return ag_set_error(AG_ERR_IO, "idx '%s': zlib error %d", s->path, r);
  }
  return AG_OK;
}

/* Up to `n` bytes of content; *got < n means the content ended there. */
static ag_status src_read(idx_src *s, void *dst, size_t n, size_t *got) {
  return s->gzip ? gz_read(s, dst, n, got) : plain_read(s, dst, n, got);
}

static uint32_t be32(const unsigned char *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* IDX stores multi-byte elements big-endian; swap them in place on a
 * little-endian host. */
static void to_host_order(void *data, int64_t count, size_t esize) {
  const uint16_t probe = 1;
  if (esize == 1 || *(const unsigned char *)&probe == 0) return;
  unsigned char *p = data;
  for (int64_t i = 0; i < count; i++, p += esize)
    for (size_t a = 0, b = esize - 1; a < b; a++, b--) {
      unsigned char t = p[a];
      p[a] = p[b];
      p[b] = t;
    }
}

/* "[a, b, c]" for messages. */
static void format_dims(const int64_t *dims, int rank, char *buf, size_t cap) {
  size_t k = (size_t)snprintf(buf, cap, "[");
  for (int i = 0; i < rank && k < cap; i++)
    k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? ", " : "", (long long)dims[i]);
  if (k < cap) snprintf(buf + k, cap - k, "]");
}

/* Reads exactly `n` content bytes, or says what came short. */
static ag_status read_exact(idx_src *s, void *dst, size_t n, const char *what) {
  size_t got;
  AG_TRY(src_read(s, dst, n, &got));
  if (got == n) return AG_OK;
  return ag_set_error(AG_ERR_IO, "idx '%s': %s: %zu of %zu bytes", s->path, what, got, n);
}

/* Parses and validates the header: magic, type, rank, dims, size cap. */
static ag_status read_header(idx_src *s, ag_idx *out) {
  unsigned char magic[4], dimb[4 * AG_IDX_MAX_RANK];
  AG_TRY(read_exact(s, magic, 4, "truncated header (shorter than 4 bytes)"));
  size_t esize = ag_idx_type_size(magic[2]);
  if (magic[0] != 0 || magic[1] != 0 || esize == 0)
    return ag_set_error(AG_ERR_IO, "idx '%s': bad magic %02x %02x %02x %02x (not an IDX file)",
                        s->path, magic[0], magic[1], magic[2], magic[3]);
  if (magic[3] < 1 || magic[3] > AG_IDX_MAX_RANK)
    return ag_set_error(AG_ERR_IO, "idx '%s': rank %d outside 1..%d", s->path, magic[3],
                        AG_IDX_MAX_RANK);
  out->type = (ag_idx_type)magic[2];
  out->rank = magic[3];
  AG_TRY(read_exact(s, dimb, 4u * (size_t)out->rank, "truncated header (dims missing)"));
  for (int i = 0; i < out->rank; i++) out->dims[i] = be32(dimb + 4 * i);
  /* The cap applies to the non-zero dims too: a zero dim must not let a
   * header through whose other dims are absurd. */
  size_t count;
  if (!ag_shape_size(out->dims, out->rank, esize, AG_IDX_MAX_BYTES, &count, NULL)) {
    char dims[160];
    format_dims(out->dims, out->rank, dims, sizeof dims);
    return ag_set_error(AG_ERR_IO,
                        "idx '%s': dims promise more than %llu bytes: %s of %zu-byte elements "
                        "(zero dims not counted; corrupt header?)",
                        s->path, (unsigned long long)AG_IDX_MAX_BYTES, dims, esize);
  }
  out->count = (int64_t)count;
  return AG_OK;
}

/* Deflate expands a byte into at most 1032; a header promising more data
 * than the rest of the file could hold is refused before the allocation (a
 * 12-byte file must not reserve gigabytes). */
#define IDX_MAX_INFLATE_RATIO 1032

static ag_status check_file_holds(const idx_src *s, size_t bytes) {
  struct stat sb;
  if (fstat(fileno(s->f), &sb) != 0 || !S_ISREG(sb.st_mode)) return AG_OK; /* a pipe: read on */
  const uint64_t left = (uint64_t)sb.st_size - src_offset(s);
  const uint64_t most = s->gzip ? left * IDX_MAX_INFLATE_RATIO : left;
  if (bytes <= most) return AG_OK;
  if (!s->gzip)
    return ag_set_error(AG_ERR_IO, "idx '%s': truncated data: %llu of %zu bytes", s->path,
                        (unsigned long long)left, bytes);
  return ag_set_error(AG_ERR_IO,
                      "idx '%s': dims promise %zu data bytes, more than the %llu compressed "
                      "bytes left can inflate to (truncated, or a corrupt header)",
                      s->path, bytes, (unsigned long long)left);
}

/* Reads the elements and insists the content ends right after them; for
 * gzip the extra read also checks the last CRC and what follows it. */
static ag_status read_body(idx_src *s, ag_idx *out) {
  size_t esize = ag_idx_type_size(out->type);
  size_t bytes = (size_t)out->count * esize; /* within the cap: checked by read_header */
  AG_TRY(check_file_holds(s, bytes));
  out->data = malloc(bytes ? bytes : 1);
  if (!out->data)
    return ag_set_error(AG_ERR_OOM, "idx '%s': cannot allocate %zu bytes", s->path, bytes);
  AG_TRY(read_exact(s, out->data, bytes, "truncated data"));
  unsigned char extra;
  size_t got;
  AG_TRY(src_read(s, &extra, 1, &got));
  if (got != 0)
    return ag_set_error(AG_ERR_IO, "idx '%s': trailing bytes after %zu data bytes", s->path, bytes);
  to_host_order(out->data, out->count, esize);
  return AG_OK;
}

ag_status ag_idx_read(const char *path, ag_idx *out) {
  if (!out || !path) return ag_set_error(AG_ERR_INVALID, "ag_idx_read: NULL argument");
  memset(out, 0, sizeof(*out));
  idx_src *s = calloc(1, sizeof *s);
  if (!s) return ag_set_error(AG_ERR_OOM, "idx '%s': out of host memory", path);
  ag_status st = src_open(path, s);
  if (st == AG_OK) st = read_header(s, out);
  if (st == AG_OK) st = read_body(s, out);
  src_close(s);
  free(s);
  if (st != AG_OK) ag_idx_free(out);
  return st;
}

void ag_idx_free(ag_idx *idx) {
  if (!idx) return;
  free(idx->data);
  memset(idx, 0, sizeof(*idx));
}

ag_status ag_idx_to_tensor(const ag_idx *idx, ag_tensor **out) {
  *out = NULL;
  ag_dtype dt;
  switch (idx->type) {
  case AG_IDX_U8: dt = AG_U8; break;
  case AG_IDX_I32: dt = AG_I32; break;
  case AG_IDX_F32: dt = AG_F32; break;
  default:
    return ag_set_error(AG_ERR_UNSUPPORTED, "idx type 0x%02x has no tensor dtype", idx->type);
  }
  if (idx->rank > AG_MAX_DIMS)
    return ag_set_error(AG_ERR_UNSUPPORTED, "idx rank %d exceeds tensor max %d", idx->rank,
                        AG_MAX_DIMS);
  ag_tensor *t = ag_tensor_new(ag_backend_cpu(), dt, idx->rank, idx->dims);
  if (!t) return AG_ERR_OOM;
  ag_status st = ag_tensor_write(t, idx->data, ag_tensor_nbytes(t));
  if (st != AG_OK) {
    ag_tensor_free(t);
    return st;
  }
  *out = t;
  return AG_OK;
}

/* gzip output goes through gzwrite, plain output through stdio (zlib's
 * transparent-write mode is version dependent). */
static ag_status write_bytes(void *fh, int gzip, const void *p, size_t n) {
  if (!gzip) return fwrite(p, 1, n, (FILE *)fh) == n ? AG_OK : AG_ERR_IO;
  for (size_t done = 0; done < n;) { /* gzwrite takes an unsigned int */
    unsigned chunk = (unsigned)(n - done > (1u << 30) ? (1u << 30) : n - done);
    if (gzwrite((gzFile)fh, (const char *)p + done, chunk) != (int)chunk) return AG_ERR_IO;
    done += chunk;
  }
  return AG_OK;
}

static ag_status write_all(void *fh, int gzip, ag_idx_type type, int rank, const int64_t *dims,
                           const void *data, int64_t count) {
  unsigned char hdr[4 + 4 * AG_IDX_MAX_RANK] = {0, 0, (unsigned char)type, (unsigned char)rank};
  for (int i = 0; i < rank && i < AG_IDX_MAX_RANK; i++) {
    uint32_t d = (uint32_t)dims[i];
    unsigned char *p = hdr + 4 + 4 * i;
    p[0] = (unsigned char)(d >> 24), p[1] = (unsigned char)(d >> 16);
    p[2] = (unsigned char)(d >> 8), p[3] = (unsigned char)d;
  }
  AG_TRY(write_bytes(fh, gzip, hdr, 4 + 4 * (size_t)rank));
  size_t esize = ag_idx_type_size(type);
  if (esize == 1) return write_bytes(fh, gzip, data, (size_t)count);
  unsigned char tmp[8];
  const unsigned char *src = data;
  for (int64_t i = 0; i < count; i++, src += esize) {
    memcpy(tmp, src, esize);
    to_host_order(tmp, 1, esize); /* the swap is its own inverse */
    AG_TRY(write_bytes(fh, gzip, tmp, esize));
  }
  return AG_OK;
}

/* Writes the whole file through ag_out_file (out_file.h): a failure or a kill
 * mid-write leaves any previous file intact. gzip goes through a gzFile on a
 * duplicate of the temporary's descriptor, closed (flushing the stream)
 * before the temporary is committed. */
static ag_status write_atomically(const char *path, int gzip, ag_idx_type type, int rank,
                                  const int64_t *dims, const void *data, int64_t count) {
  ag_out_file o;
  AG_TRY(ag_out_open(&o, path, "idx"));
  if (!gzip) return ag_out_commit(&o, write_all(o.f, 0, type, rank, dims, data, count) == AG_OK);
  const int fd = dup(fileno(o.f));
  gzFile gz = fd >= 0 ? gzdopen(fd, "wb") : NULL;
  if (!gz && fd >= 0) close(fd);
  int ok = gz && write_all(gz, 1, type, rank, dims, data, count) == AG_OK;
  if (gz) ok = gzclose(gz) == Z_OK && ok;
  return ag_out_commit(&o, ok);
}

ag_status ag_idx_write(const char *path, ag_idx_type type, int rank, const int64_t *dims,
                       const void *data, int gzip) {
  size_t esize = ag_idx_type_size(type);
  if (esize == 0 || rank < 1 || rank > AG_IDX_MAX_RANK)
    return ag_set_error(AG_ERR_INVALID, "ag_idx_write '%s': bad type 0x%02x or rank %d", path, type,
                        rank);
  for (int i = 0; i < rank; i++)
    if (dims[i] < 0 || dims[i] > 0xFFFFFFFFll)
      return ag_set_error(AG_ERR_INVALID, "ag_idx_write '%s': dim %d = %lld out of range", path, i,
                          (long long)dims[i]);
  /* The reader's cap: never write a file ag_idx_read would refuse. */
  size_t count;
  if (!ag_shape_size(dims, rank, esize, AG_IDX_MAX_BYTES, &count, NULL))
    return ag_set_error(AG_ERR_INVALID, "ag_idx_write '%s': dims promise more than %llu bytes",
                        path, (unsigned long long)AG_IDX_MAX_BYTES);
  return write_atomically(path, gzip, type, rank, dims, data, (int64_t)count);
}
