/* nerf_internal.h - what the NeRF trainer and renderer share: the graph
 * that renders a fixed number of rays. */
#ifndef AG_NERF_INTERNAL_H
#define AG_NERF_INTERNAL_H

#include "ag_nerf.h"

/* A graph rendering `rays` rays: its inputs (origins, dirs, bg: [rays, 3])
 * and what it gives (color [rays, 3], opacity and depth [rays], the
 * march's per-ray (offset, count) [rays, 2] and its total [1]). */
typedef struct nerf_batch {
  int64_t rays, capacity;
  ag_tensor *origins, *dirs, *bg;
  ag_tensor *color, *opacity, *depth;
  ag_ray_samples samples;
} nerf_batch;

/* Records the batch's graph into g over parameters p and the occupancy
 * bitfield; the outputs are flagged as graph outputs. */
ag_status nerf_batch_build(ag_graph *g, ag_params *p, const ag_nerf_config *c, ag_tensor *bitfield,
                           int64_t rays, int64_t capacity, nerf_batch *b);

/* A ray that misses the box: no samples, its colour the background. */
void nerf_dead_ray(const ag_nerf_config *c, float o[3], float d[3]);

#endif
