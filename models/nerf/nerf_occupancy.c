/* The occupancy grid (see ag_nerf.h): a density per cell, kept as a decayed
 * max of the field's densities, and the bitfield the ray march skips empty
 * cells with. */
#include <stdlib.h>
#include <string.h>

#include "ag_nerf.h"
#include "kernels/common/ag_philox.h"

static int64_t cell_count(const ag_nerf_config *c) { return c->occ_res * c->occ_res * c->occ_res; }

void ag_nerf_occupancy_free(ag_nerf_occupancy *o) {
  ag_sched_free(o->s);
  ag_graph_free(o->g);
  ag_tensor_free(o->density);
  ag_tensor_free(o->bitfield);
  ag_tensor_free(o->cells);
  free(o->host_points);
  free(o->host_cells);
  memset(o, 0, sizeof *o);
}

/* Every cell occupied, densities zero: the first steps march everywhere. */
static ag_status clear(ag_nerf_occupancy *o, const ag_nerf_config *c) {
  const int64_t cells = cell_count(c), bytes = (cells + 7) / 8;
  uint8_t *ones = malloc((size_t)bytes);
  float *zeros = calloc((size_t)cells, sizeof *zeros);
  ag_status st = ones && zeros ? AG_OK : ag_set_error(AG_ERR_OOM, "nerf: out of host memory");
  if (st == AG_OK) memset(ones, 0xff, (size_t)bytes);
  if (st == AG_OK) st = ag_tensor_write(o->bitfield, ones, (size_t)bytes);
  if (st == AG_OK) st = ag_tensor_write(o->density, zeros, sizeof *zeros * (size_t)cells);
  free(ones);
  free(zeros);
  return st;
}

static ag_status density_graph(ag_nerf_occupancy *o, ag_params *p, const ag_nerf_config *c) {
  const int64_t shape[2] = {o->batch, 3};
  if (!(o->g = ag_graph_new(ag_params_backend(p))))
    return ag_set_error(AG_ERR_OOM, "nerf: out of host memory");
  o->points = ag_graph_input(o->g, "points", AG_F32, 2, shape);
  o->sigma = ag_graph_output(o->g, ag_nerf_density(o->g, p, c, o->points, NULL));
  if (ag_graph_status(o->g) != AG_OK)
    return ag_set_error(ag_graph_status(o->g), "nerf occupancy: %s", ag_graph_error(o->g));
  return ag_sched_new(o->g, NULL, &o->s);
}

ag_status ag_nerf_occupancy_new(ag_params *p, const ag_nerf_config *c, int64_t batch,
                                ag_nerf_occupancy *o) {
  memset(o, 0, sizeof *o);
  AG_TRY(ag_nerf_check_config(c));
  const int64_t g = c->occ_res, shape[3] = {g, g, g}, bytes = (cell_count(c) + 7) / 8;
  ag_backend *be = ag_params_backend(p);
  o->batch = batch < cell_count(c) ? batch : cell_count(c);
  o->density = ag_tensor_new(be, AG_F32, 3, shape);
  o->bitfield = ag_tensor_new(be, AG_U8, 1, &bytes);
  o->host_points = malloc(sizeof *o->host_points * 3 * (size_t)o->batch);
  o->host_cells = malloc(sizeof *o->host_cells * (size_t)o->batch);
  ag_status st = o->density && o->bitfield && o->host_points && o->host_cells
                     ? AG_OK
                     : ag_set_error(AG_ERR_OOM, "nerf: out of memory for the occupancy grid");
  if (st == AG_OK) st = clear(o, c);
  if (st == AG_OK) st = density_graph(o, p, c);
  if (st == AG_OK && !(o->cells = ag_tensor_new(be, AG_I32, 1, &o->batch))) st = AG_ERR_OOM;
  if (st != AG_OK) ag_nerf_occupancy_free(o);
  return st;
}

/* Four uniform words for draw i of an update. */
static ag_philox4 draw(uint64_t seed, int64_t update, int64_t i) {
  const ag_philox4 ctr = {{(uint32_t)i, (uint32_t)((uint64_t)i >> 32), (uint32_t)update,
                           (uint32_t)((uint64_t)update >> 32)}};
  return ag_philox4x32_10(ctr, (uint32_t)seed, (uint32_t)(seed >> 32) ^ 0x6f636375u);
}

/* Batch b's cells (the b-th run of every cell, past-the-end ones as -1,
 * or random ones) and a jittered point in each. */
static void fill_batch(ag_nerf_occupancy *o, const ag_nerf_config *c, int all, uint64_t seed,
                       int64_t update, int64_t b) {
  const int64_t g = c->occ_res, cells = cell_count(c);
  const float size = 2.0f * c->bound / (float)g;
  for (int64_t i = 0; i < o->batch; i++) {
    const ag_philox4 r = draw(seed, update, b * o->batch + i);
    int64_t cell = all ? b * o->batch + i : (int64_t)(r.v[3] % (uint32_t)cells);
    if (cell >= cells) cell = -1;
    o->host_cells[i] = (int32_t)cell;
    const int64_t k = cell < 0 ? 0 : cell, xyz[3] = {k % g, k / g % g, k / (g * g)};
    for (int a = 0; a < 3; a++)
      o->host_points[3 * i + a] = -c->bound + size * ((float)xyz[a] + ag_philox_u01(r.v[a]));
  }
}

ag_status ag_nerf_occupancy_update(ag_nerf_occupancy *o, const ag_nerf_config *c, int all,
                                   uint64_t seed, int64_t update, float decay) {
  const int64_t batches = all ? (cell_count(c) + o->batch - 1) / o->batch : 1;
  for (int64_t b = 0; b < batches; b++) {
    fill_batch(o, c, all, seed, update, b);
    AG_TRY(ag_tensor_write(o->points, o->host_points, sizeof(float) * 3 * (size_t)o->batch));
    AG_TRY(ag_tensor_write(o->cells, o->host_cells, sizeof(int32_t) * (size_t)o->batch));
    AG_TRY(ag_sched_run(o->s));
    /* the decay once per update, in the first batch */
    AG_TRY(ag_eager_occ_update(o->density, o->cells, o->sigma, o->density, b == 0 ? decay : 1.0f));
  }
  return ag_eager_occ_bitfield(o->density, o->bitfield, 0.01f / ag_nerf_dt(c));
}

ag_status ag_nerf_occupancy_fraction(const ag_nerf_occupancy *o, double *fraction) {
  const int64_t bytes = ag_tensor_numel(o->bitfield);
  uint8_t *bits = malloc((size_t)bytes);
  if (!bits) return ag_set_error(AG_ERR_OOM, "nerf: out of host memory");
  ag_status st = ag_tensor_read(o->bitfield, bits, (size_t)bytes);
  int64_t set = 0;
  for (int64_t i = 0; st == AG_OK && i < bytes; i++) set += __builtin_popcount(bits[i]);
  *fraction = (double)set / (double)(bytes * 8);
  free(bits);
  return st;
}
