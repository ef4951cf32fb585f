/* encoding.h - typed arguments, graph builders and eager calls of the
 * NeRF input encodings: the multiresolution hash grid and the
 * spherical-harmonics direction encoding (kernels/common/ag_k_encoding.h
 * states the math). */
#ifndef AG_OPS_ENCODING_H
#define AG_OPS_ENCODING_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "ag_ops.h"

/* Inside extern "C": the kernel header declares the kernels too (its system
 * headers are included above, outside it). */
#ifdef __cplusplus
extern "C" {
#endif

#include "kernels/common/ag_k_encoding.h"

typedef struct ag_graph ag_graph;

/* HASH_GRID: `levels` levels of 2^log2_table rows of `features` values.
 * Level l has res_l = floor(base_res * per_level_scale^l) cells per axis
 * (Instant-NGP; ag_hash_grid_per_level_scale gives the scale for a finest
 * resolution). deterministic: the CUDA backward adds in fixed point, so
 * its result does not depend on the order of the atomics. */
typedef struct ag_hash_grid_args {
  int64_t levels, features, log2_table;
  float base_res, per_level_scale;
  int deterministic;
} ag_hash_grid_args;

/* Limits inference enforces: res_l <= AG_HASH_GRID_MAX_RES keeps p = x
 * (res - 1) + 1/2 exact to 2^-4 of a cell in f32; features 1, 2, 4 or 8. */
#define AG_HASH_GRID_MAX_RES (1 << 19)
#define AG_HASH_GRID_MAX_LOG2_TABLE 24

void ag_hash_grid_args_encode(ag_op_call *c, const ag_hash_grid_args *a);
ag_hash_grid_args ag_hash_grid_args_decode(const ag_op_call *c);

/* b = exp((ln max_res - ln base_res) / (levels - 1)), 1 for one level. */
float ag_hash_grid_per_level_scale(float base_res, float max_res, int64_t levels);
/* The kernels' view of valid arguments: T and every level's resolution. */
ag_hash_grid_geom ag_hash_grid_geom_of(const ag_hash_grid_args *a);

/* Eager calls on the backend of the output. pos f32 [N, 3] in [0, 1]^3,
 * table [levels, 2^log2_table, features] -> y [N, levels * features] in the
 * table's dtype; dirs [N, 3] -> y [N, 16] in dirs' dtype. */
ag_status ag_eager_hash_grid(const ag_tensor *pos, const ag_tensor *table, ag_tensor *y,
                             const ag_hash_grid_args *a);
ag_status ag_eager_sh_encode(const ag_tensor *dirs, ag_tensor *y);

/* Graph builders; NULL on error (the graph keeps it). The hash grid is
 * differentiable in the table only, SH in the directions. */
ag_tensor *ag_hash_grid(ag_graph *g, ag_tensor *pos, ag_tensor *table,
                        const ag_hash_grid_args *a);
ag_tensor *ag_sh_encode(ag_graph *g, ag_tensor *dirs);

#ifdef __cplusplus
}
#endif

#endif
