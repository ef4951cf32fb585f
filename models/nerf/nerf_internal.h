/* nerf_internal.h - what the NeRF trainer, renderer and checkpoints share:
 * the graph that renders a fixed number of rays, and the checkpoint's
 * parts a trainer writes and resumes from. */
#ifndef AG_NERF_INTERNAL_H
#define AG_NERF_INTERNAL_H

#include "ag_nerf.h"
#include "runtime/dist/ag_dp.h"

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

/* The config as JSON (malloc'ed), NULL when out of memory. */
char *nerf_config_json(const ag_nerf_config *c);
/* The model of an opened checkpoint at `path` (its kind, config, weights
 * and occupancy grid, the grid's update graph `occ_batch` cells wide). */
ag_status nerf_load_model(const char *path, const ag_safetensors *st, ag_backend *be,
                          int64_t occ_batch, ag_nerf_model *m);
/* A trainer's checkpoint (see ag_nerf.h): m, dp's optimizer state and the
 * next step's ray count. */
ag_status nerf_save_training(ag_dp *dp, const ag_nerf_model *m, int64_t next_rays,
                             const char *path);
/* That ray count; AG_ERR_INVALID naming path when it is missing. */
ag_status nerf_read_rays(const char *path, const ag_safetensors *st, int64_t *rays);

#endif
