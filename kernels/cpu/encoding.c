/* Hash-grid and spherical-harmonics encodings on the CPU, with the per-point
 * math of kernels/common/ag_k_encoding.h. The hash-grid backward runs the
 * levels in parallel and each level's points in order, so every table entry
 * gets its contributions in the same order whatever the thread count. */
#include <string.h>

#include "kernels/common/ag_kernels.h"
#include "cpu_dtype.h"

/* Point i's features at level l, accumulated in f32 in corner order. */
static void grid_point_level(ag_dtype dt, const float *pos, const void *table, void *y, int64_t i,
                             int l, const ag_hash_grid_geom *g) {
  const int32_t res = g->res[l];
  const int64_t nf = g->features, level_rows = (int64_t)l * g->table_size;
  const ag_hash_grid_voxel v = ag_hash_grid_locate(pos + 3 * i, res);
  float acc[AG_HASH_GRID_MAX_FEATURES] = {0};
  for (int k = 0; k < 8; k++) {
    const float w = ag_hash_grid_weight(&v, k);
    const int64_t row = level_rows + ag_hash_grid_corner(&v, k, res, g->table_size);
    for (int64_t f = 0; f < nf; f++)
      acc[f] = AG_PX_ADD(acc[f], AG_PX_MUL(w, ag_cpu_load(dt, table, row * nf + f)));
  }
  const int64_t out = (i * g->levels + l) * nf;
  for (int64_t f = 0; f < nf; f++) ag_cpu_store(dt, y, out + f, acc[f]);
}

ag_status ag_cpu_hash_grid(ag_dtype dt, const float *pos, const void *table, void *y, int64_t n,
                           const ag_hash_grid_geom *g, void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("hash_grid", dt);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++)
    for (int l = 0; l < g->levels; l++) grid_point_level(dt, pos, table, y, i, l, g);
  return AG_OK;
}

/* Adds every point's share of gy at level l into acc, the level's [T, F]
 * slice, points in order. */
static void grid_level_backward(ag_dtype dt, const float *pos, const void *gy, float *acc,
                                int64_t n, int l, const ag_hash_grid_geom *g) {
  const int32_t res = g->res[l];
  const int64_t nf = g->features;
  for (int64_t i = 0; i < n; i++) {
    const ag_hash_grid_voxel v = ag_hash_grid_locate(pos + 3 * i, res);
    const int64_t in = (i * g->levels + l) * nf;
    for (int k = 0; k < 8; k++) {
      const float w = ag_hash_grid_weight(&v, k);
      float *row = acc + (int64_t)ag_hash_grid_corner(&v, k, res, g->table_size) * nf;
      for (int64_t f = 0; f < nf; f++)
        row[f] = AG_PX_ADD(row[f], AG_PX_MUL(w, ag_cpu_load(dt, gy, in + f)));
    }
  }
}

/* f32 gradients accumulate in place; bf16 and f16 ones in the f32 scratch,
 * rounded once at the end. */
size_t ag_cpu_hash_grid_scratch_bytes(ag_dtype dt, int64_t numel, int deterministic) {
  (void)deterministic;
  return dt == AG_F32 ? 0 : (size_t)numel * sizeof(float);
}

ag_status ag_cpu_hash_grid_backward(ag_dtype dt, const float *pos, const void *gy, void *gtable,
                                    void *scratch, int64_t n, const ag_hash_grid_geom *g,
                                    int deterministic, void *stream) {
  (void)stream, (void)deterministic;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("hash_grid_backward", dt);
  const int64_t level_numel = (int64_t)g->table_size * g->features;
  float *acc = dt == AG_F32 ? (float *)gtable : (float *)scratch;
  memset(acc, 0, (size_t)(level_numel * g->levels) * sizeof *acc);
#pragma omp parallel for schedule(static)
  for (int l = 0; l < g->levels; l++)
    grid_level_backward(dt, pos, gy, acc + l * level_numel, n, l, g);
  if (dt != AG_F32)
    for (int64_t j = 0; j < level_numel * g->levels; j++) ag_cpu_store(dt, gtable, j, acc[j]);
  return AG_OK;
}

ag_status ag_cpu_sh_encode(ag_dtype dt, const void *dirs, void *y, int64_t n, void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("sh_encode", dt);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) {
    float out[16];
    ag_sh_encode_eval(ag_cpu_load(dt, dirs, 3 * i), ag_cpu_load(dt, dirs, 3 * i + 1),
                      ag_cpu_load(dt, dirs, 3 * i + 2), out);
    for (int j = 0; j < 16; j++) ag_cpu_store(dt, y, 16 * i + j, out[j]);
  }
  return AG_OK;
}

ag_status ag_cpu_sh_encode_backward(ag_dtype dt, const void *dirs, const void *gy, void *gdirs,
                                    int64_t n, void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("sh_encode_backward", dt);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) {
    float g[16], d[3];
    for (int j = 0; j < 16; j++) g[j] = ag_cpu_load(dt, gy, 16 * i + j);
    ag_sh_encode_grad(ag_cpu_load(dt, dirs, 3 * i), ag_cpu_load(dt, dirs, 3 * i + 1),
                      ag_cpu_load(dt, dirs, 3 * i + 2), g, d);
    for (int k = 0; k < 3; k++) ag_cpu_store(dt, gdirs, 3 * i + k, d[k]);
  }
  return AG_OK;
}

const ag_encoding_kernels ag_cpu_encoding_kernels = {
    .hash_grid = ag_cpu_hash_grid,
    .hash_grid_backward = ag_cpu_hash_grid_backward,
    .hash_grid_scratch_bytes = ag_cpu_hash_grid_scratch_bytes,
    .sh_encode = ag_cpu_sh_encode,
    .sh_encode_backward = ag_cpu_sh_encode_backward,
};
