/* ag_nerf_mesh.h - a NeRF's surface as an indexed triangle mesh with vertex
 * colours, written as a binary PLY.
 *
 * The density is sampled on an N^3 lattice over the box [-bound, bound]^3
 * and its iso-surface at a threshold extracted by marching tetrahedra: each
 * lattice cube is cut into the 6 tetrahedra around its main diagonal (the
 * cut of every face matches its neighbour's, so the surface has no cracks),
 * and each tetrahedron the surface crosses gives one triangle or two. A
 * vertex lies on a lattice edge, linearly interpolated, and is shared by
 * every triangle that crosses that edge; triangles wind counter-clockwise
 * seen from outside (the low-density side). Where the surface stays inside
 * the lattice the mesh is closed: every edge in exactly two triangles.
 *
 * The extraction (ag_mesh_extract) takes any grid of values, so it runs
 * without a model; the mesh and its PLY writer are runtime/io/ply.h. */
#ifndef AG_NERF_MESH_H
#define AG_NERF_MESH_H

#include "models/nerf/ag_nerf.h"
#include "runtime/io/ply.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Values at an n^3 lattice, x fastest: values[x + n (y + n z)] at the
 * point lo + (x, y, z) (hi - lo) / (n - 1). */
typedef struct ag_mesh_grid {
  const float *values;
  int64_t n; /* >= 2 */
  float lo, hi;
} ag_mesh_grid;

/* The surface where the values cross `iso` (inside: value > iso) into
 * *out (colours NULL). AG_ERR_INVALID for a bad lattice or a value that is
 * not finite (naming its index). */
ag_status ag_mesh_extract(const ag_mesh_grid *grid, float iso, ag_mesh *out);

/* ---- a NeRF's mesh ---------------------------------------------------------- */

typedef struct ag_nerf_mesh_opts {
  int64_t res;     /* N: lattice points per axis (>= 2) */
  float threshold; /* the iso-density */
  int all_cells;   /* 0: density 0 in cells the occupancy grid marks empty */
  int64_t batch;   /* points per graph run */
} ag_nerf_mesh_opts;

/* N 128, threshold 10 (torch-ngp's; Instant-NGP's GUI starts at 2.5), the
 * occupied cells only (what the renderer marches), batches of 2^15. */
ag_nerf_mesh_opts ag_nerf_mesh_default_opts(void);

/* The density at every lattice point of the box, values [res^3] (x
 * fastest), through one planned graph of o->batch points. */
ag_status ag_nerf_density_grid(const ag_nerf_model *m, const ag_nerf_mesh_opts *o, float *values);

/* Colours every vertex of mesh by the colour MLP at its position, seen
 * along -normal (from outside), rounded to bytes; allocates mesh->rgb. */
ag_status ag_nerf_mesh_colors(const ag_nerf_model *m, int64_t batch, ag_mesh *mesh);

/* The model's coloured surface: the density grid, the extraction, the
 * colours. */
ag_status ag_nerf_mesh(const ag_nerf_model *m, const ag_nerf_mesh_opts *o, ag_mesh *out);

#ifdef __cplusplus
}
#endif

#endif
