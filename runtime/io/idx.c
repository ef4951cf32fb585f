/* idx.c - IDX reading through zlib's gz* calls, which read gzip and plain
 * files alike, so one code path serves both. */
#include "runtime/io/idx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* Reads exactly `n` bytes; returns the count actually read (short on EOF or
 * a gzip error), never -1, so callers compare with `n`. gzread takes an
 * unsigned int, hence the chunking. */
static size_t gz_read_full(gzFile f, void *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    size_t chunk = n - got > (1u << 30) ? (1u << 30) : n - got;
    int r = gzread(f, (char *)buf + got, (unsigned)chunk);
    if (r <= 0) break;
    got += (size_t)r;
  }
  return got;
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

/* Parses and validates the header: magic, type, rank, dims, size cap. */
static ag_status read_header(gzFile f, const char *path, ag_idx *out) {
  unsigned char magic[4], dimb[4 * AG_IDX_MAX_RANK];
  if (gz_read_full(f, magic, 4) != 4)
    return ag_set_error(AG_ERR_IO, "idx '%s': truncated header (file shorter than 4 bytes)", path);
  size_t esize = ag_idx_type_size(magic[2]);
  if (magic[0] != 0 || magic[1] != 0 || esize == 0)
    return ag_set_error(AG_ERR_IO, "idx '%s': bad magic %02x %02x %02x %02x (not an IDX file)",
                        path, magic[0], magic[1], magic[2], magic[3]);
  if (magic[3] < 1 || magic[3] > AG_IDX_MAX_RANK)
    return ag_set_error(AG_ERR_IO, "idx '%s': rank %d outside 1..%d", path, magic[3],
                        AG_IDX_MAX_RANK);
  out->type = (ag_idx_type)magic[2];
  out->rank = magic[3];
  if (gz_read_full(f, dimb, 4u * (size_t)out->rank) != 4u * (size_t)out->rank)
    return ag_set_error(AG_ERR_IO, "idx '%s': truncated header (dims missing)", path);
  /* Each dim < 2^32 and the running byte count is checked against the cap
   * after every multiply, so the product cannot overflow int64. */
  uint64_t bytes = esize;
  out->count = 1;
  for (int i = 0; i < out->rank; i++) {
    out->dims[i] = be32(dimb + 4 * i);
    bytes *= (uint64_t)out->dims[i];
    out->count *= out->dims[i];
    if (bytes > AG_IDX_MAX_BYTES)
      return ag_set_error(AG_ERR_IO, "idx '%s': dims promise more than %llu bytes (corrupt header?)",
                          path, (unsigned long long)AG_IDX_MAX_BYTES);
  }
  return AG_OK;
}

/* Reads the elements and insists the file ends right after them. */
static ag_status read_body(gzFile f, const char *path, ag_idx *out) {
  size_t esize = ag_idx_type_size(out->type);
  size_t bytes = (size_t)out->count * esize;
  out->data = malloc(bytes ? bytes : 1);
  if (!out->data)
    return ag_set_error(AG_ERR_OOM, "idx '%s': cannot allocate %zu bytes", path, bytes);
  size_t got = gz_read_full(f, out->data, bytes);
  if (got != bytes)
    return ag_set_error(AG_ERR_IO, "idx '%s': truncated data: %zu of %zu bytes%s", path, got,
                        bytes, gzeof(f) ? "" : " (gzip stream corrupt)");
  unsigned char extra;
  if (gz_read_full(f, &extra, 1) != 0)
    return ag_set_error(AG_ERR_IO, "idx '%s': trailing bytes after %zu data bytes", path, bytes);
  to_host_order(out->data, out->count, esize);
  return AG_OK;
}

ag_status ag_idx_read(const char *path, ag_idx *out) {
  if (!out || !path) return ag_set_error(AG_ERR_INVALID, "ag_idx_read: NULL argument");
  memset(out, 0, sizeof(*out));
  gzFile f = gzopen(path, "rb");
  if (!f) return ag_set_error(AG_ERR_IO, "idx '%s': cannot open (missing or unreadable)", path);
  ag_status st = read_header(f, path, out);
  if (st == AG_OK) st = read_body(f, path, out);
  gzclose(f);
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
  for (int i = 0; i < rank; i++) {
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

ag_status ag_idx_write(const char *path, ag_idx_type type, int rank, const int64_t *dims,
                       const void *data, int gzip) {
  if (ag_idx_type_size(type) == 0 || rank < 1 || rank > AG_IDX_MAX_RANK)
    return ag_set_error(AG_ERR_INVALID, "ag_idx_write '%s': bad type 0x%02x or rank %d", path,
                        type, rank);
  int64_t count = 1;
  for (int i = 0; i < rank; i++) {
    if (dims[i] < 0 || dims[i] > 0xFFFFFFFFll)
      return ag_set_error(AG_ERR_INVALID, "ag_idx_write '%s': dim %d = %lld out of range", path,
                          i, (long long)dims[i]);
    count *= dims[i];
  }
  void *fh = gzip ? (void *)gzopen(path, "wb") : (void *)fopen(path, "wb");
  if (!fh) return ag_set_error(AG_ERR_IO, "idx '%s': cannot create", path);
  ag_status st = write_all(fh, gzip, type, rank, dims, data, count);
  int closed = gzip ? gzclose((gzFile)fh) == Z_OK : fclose((FILE *)fh) == 0;
  if (st != AG_OK || !closed) return ag_set_error(AG_ERR_IO, "idx '%s': write failed", path);
  return AG_OK;
}
