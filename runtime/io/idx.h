/* idx.h - reader for the IDX format (MNIST, Fashion-MNIST), plain or gzip.
 *
 * Layout: 2 zero bytes, an element-type byte, a rank byte, `rank` big-endian
 * u32 dims, then the elements (big-endian for multi-byte types).
 *
 * The reader returns a plain host struct rather than a tensor because IDX has
 * element types (i8, i16, f64) that ag_tensor does not; ag_idx_to_tensor
 * converts the ones that map (u8, i32, f32) to a CPU tensor. Elements in
 * `data` are already in host byte order. */
#ifndef AG_IO_IDX_H
#define AG_IO_IDX_H

#include "runtime/core/ag_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ag_idx_type {
  AG_IDX_U8 = 0x08,
  AG_IDX_I8 = 0x09,
  AG_IDX_I16 = 0x0B,
  AG_IDX_I32 = 0x0C,
  AG_IDX_F32 = 0x0D,
  AG_IDX_F64 = 0x0E
} ag_idx_type;

#define AG_IDX_MAX_RANK 8
/* Refuse files promising more than this many data bytes: real datasets are
 * far smaller, and a corrupt header must not trigger a huge allocation. */
#define AG_IDX_MAX_BYTES ((uint64_t)1 << 32)

typedef struct ag_idx {
  ag_idx_type type;
  int rank;
  int64_t dims[AG_IDX_MAX_RANK];
  int64_t count; /* product of dims */
  void *data;    /* count * ag_idx_type_size(type) bytes, host order */
} ag_idx;

/* Bytes per element of an IDX type; 0 for an unknown type byte. */
size_t ag_idx_type_size(int type);

/* Reads `path`: gzip when it starts with the gzip magic (1f 8b), else plain.
 * Gzip is accepted as Python's gzip module accepts it: one or more members,
 * zero padding after them; a cut stream, a bad CRC or ISIZE, or other bytes
 * after a member are refused. The content must be one IDX file exactly. On
 * error returns AG_ERR_IO (or AG_ERR_OOM) with a message naming the file and
 * the problem, and leaves *out zeroed. */
ag_status ag_idx_read(const char *path, ag_idx *out);
void ag_idx_free(ag_idx *idx);

/* A new contiguous CPU tensor holding the data (u8, i32 or f32 files of rank
 * 1..4); AG_ERR_UNSUPPORTED for other types or ranks. */
ag_status ag_idx_to_tensor(const ag_idx *idx, ag_tensor **out);

/* Writes an IDX file (gzip-compressed when `gzip` is non-zero); `data` in
 * host order. The file is written under a temporary name in the same
 * directory and renamed into place, so a failed write leaves no partial file
 * and keeps any previous one. Used by tests and tools to make small datasets. */
ag_status ag_idx_write(const char *path, ag_idx_type type, int rank, const int64_t *dims,
                       const void *data, int gzip);

#ifdef __cplusplus
}
#endif

#endif
