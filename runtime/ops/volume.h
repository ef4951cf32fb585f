/* volume.h - typed arguments, graph builders and eager calls of the volume
 * rendering ops (runtime/ops/volume.list): the occupancy grid, ray marching
 * into packed samples and compositing. The march's argument struct and the
 * per-ray math are kernels/common/ag_k_volume.h. */
#ifndef AG_OPS_VOLUME_H
#define AG_OPS_VOLUME_H

#include "ag_ops.h"
#include "kernels/common/ag_k_volume.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ag_graph ag_graph;

/* OCC_UPDATE: the factor every cell is multiplied by first, in [0, 1]. */
typedef struct ag_occ_update_args {
  float decay;
} ag_occ_update_args;

/* OCC_BITFIELD: a cell is occupied when its density exceeds
 * min(mean density, threshold). */
typedef struct ag_occ_bitfield_args {
  float threshold;
} ag_occ_bitfield_args;

/* RAY_MARCH's six outputs. */
typedef struct ag_ray_samples {
  ag_tensor *positions, *dirs, *t, *dt, *rays, *total;
} ag_ray_samples;

void ag_occ_update_args_encode(ag_op_call *c, const ag_occ_update_args *a);
ag_occ_update_args ag_occ_update_args_decode(const ag_op_call *c);
void ag_occ_bitfield_args_encode(ag_op_call *c, const ag_occ_bitfield_args *a);
ag_occ_bitfield_args ag_occ_bitfield_args_decode(const ag_op_call *c);
void ag_ray_march_args_encode(ag_op_call *c, const ag_ray_march_args *a);
ag_ray_march_args ag_ray_march_args_decode(const ag_op_call *c);

/* Eager calls on the backend of the first output. `out` may be `grid`. */
ag_status ag_eager_occ_update(const ag_tensor *grid, const ag_tensor *idx, const ag_tensor *density,
                              ag_tensor *out, float decay);
ag_status ag_eager_occ_bitfield(const ag_tensor *grid, ag_tensor *bitfield, float threshold);
ag_status ag_eager_ray_march(const ag_tensor *origins, const ag_tensor *dirs,
                             const ag_tensor *bitfield, const ag_ray_march_args *a,
                             const ag_ray_samples *out);
ag_status ag_eager_composite(const ag_tensor *sigma, const ag_tensor *rgb, const ag_tensor *dt,
                             const ag_tensor *t, const ag_tensor *rays, const ag_tensor *bg,
                             ag_tensor *color, ag_tensor *depth, ag_tensor *opacity);

/* Graph builders; NULL on error (the graph keeps it). ag_ray_march fills
 * `out` and returns the positions; ag_composite returns the color and gives
 * depth and opacity through the pointers that are not NULL. */
ag_tensor *ag_occ_update(ag_graph *g, ag_tensor *grid, ag_tensor *idx, ag_tensor *density,
                         float decay);
ag_tensor *ag_occ_bitfield(ag_graph *g, ag_tensor *grid, float threshold);
ag_tensor *ag_ray_march(ag_graph *g, ag_tensor *origins, ag_tensor *dirs, ag_tensor *bitfield,
                        const ag_ray_march_args *a, ag_ray_samples *out);
ag_tensor *ag_composite(ag_graph *g, ag_tensor *sigma, ag_tensor *rgb, ag_tensor *dt, ag_tensor *t,
                        ag_tensor *rays, ag_tensor *bg, ag_tensor **depth, ag_tensor **opacity);

#ifdef __cplusplus
}
#endif

#endif
