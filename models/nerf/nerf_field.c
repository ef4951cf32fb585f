/* The NeRF config and its field: hash grid, density and colour MLPs (see
 * ag_nerf.h). */
#include <math.h>
#include <stdio.h>

#include "ag_nerf.h"

ag_nerf_config ag_nerf_default_config(float bound, int gpu) {
  ag_nerf_config c = {
      .bound = bound,
      .grid = {.levels = 16, .features = 2, .log2_table = gpu ? 19 : 16, .base_res = 16.0f},
      .hidden = 64,
      .geo_features = 16,
      .occ_res = gpu ? 128 : 64,
      .diagonal_steps = gpu ? 1024 : 512,
      .max_ray_samples = 1024};
  c.grid.per_level_scale = ag_hash_grid_per_level_scale(16.0f, 2048.0f * bound, 16);
  return c;
}

ag_status ag_nerf_check_config(const ag_nerf_config *c) {
  if (!(c->bound > 0) || !isfinite(c->bound))
    return ag_set_error(AG_ERR_INVALID, "nerf: bound %g must be positive", c->bound);
  if (c->hidden < 1 || c->geo_features < 2)
    return ag_set_error(AG_ERR_INVALID, "nerf: hidden %lld, geo features %lld (>= 2)",
                        (long long)c->hidden, (long long)c->geo_features);
  if (c->occ_res < 2 || c->occ_res > 1024 || c->occ_res % 2)
    return ag_set_error(AG_ERR_INVALID, "nerf: occupancy resolution %lld (even, 2..1024)",
                        (long long)c->occ_res);
  if (c->diagonal_steps < 1 || c->max_ray_samples < 1)
    return ag_set_error(AG_ERR_INVALID, "nerf: diagonal steps %lld, samples per ray %lld",
                        (long long)c->diagonal_steps, (long long)c->max_ray_samples);
  return AG_OK;
}

float ag_nerf_dt(const ag_nerf_config *c) {
  return 2.0f * c->bound * sqrtf(3.0f) / (float)c->diagonal_steps;
}

/* Points of the box as the grid's [0, 1]^3: (x / bound + 1) / 2. */
static ag_tensor *to_unit_cube(ag_graph *g, const ag_nerf_config *c, ag_tensor *pos) {
  static const int64_t one = 1;
  return ag_add(g, ag_scale(g, pos, 0.5f / c->bound), ag_full(g, AG_F32, 1, &one, 0.5f));
}

/* The hash table, Instant-NGP's initialisation U(-1e-4, 1e-4). */
static ag_tensor *grid_table(ag_graph *g, ag_params *p, const ag_nerf_config *c) {
  const int64_t shape[3] = {c->grid.levels, (int64_t)1 << c->grid.log2_table, c->grid.features};
  return ag_param(g, p, "grid.table", AG_F32, 3, shape, (ag_init){AG_INIT_UNIFORM, 1e-4f});
}

ag_tensor *ag_nerf_density(ag_graph *g, ag_params *p, const ag_nerf_config *c, ag_tensor *pos,
                           ag_tensor **geo) {
  if (geo) *geo = NULL;
  if (!pos) return NULL;
  if (pos->ndim != 2 || pos->shape[1] != 3)
    return ag_graph_set_error(g, AG_ERR_INVALID, "nerf: positions must be [S, 3]"), NULL;
  ag_tensor *h = ag_hash_grid(g, to_unit_cube(g, c, pos), grid_table(g, p, c), &c->grid);
  h = ag_nn_cast(g, h, ag_params_compute_dtype(p));
  h = ag_nn_linear(g, p, "density.fc1", h, c->hidden, AG_MATMUL_EPI_RELU, 0);
  ag_tensor *out = ag_nn_linear(g, p, "density.fc2", h, c->geo_features, AG_MATMUL_EPI_NONE, 0);
  ag_tensor *logit = NULL, *rest = NULL;
  if (!out || ag_split(g, out, 1, 1, &logit, &rest) != AG_OK) return NULL;
  if (geo) *geo = out;
  const int64_t rows = pos->shape[0];
  return ag_unary(g, AG_OP_TRUNC_EXP, ag_nn_cast(g, ag_reshape(g, logit, 1, &rows), AG_F32));
}

ag_status ag_nerf_field(ag_graph *g, ag_params *p, const ag_nerf_config *c, ag_tensor *pos,
                        ag_tensor *dirs, ag_tensor **sigma, ag_tensor **rgb) {
  ag_tensor *geo = NULL;
  *sigma = ag_nerf_density(g, p, c, pos, &geo);
  ag_tensor *sh = ag_nn_cast(g, ag_sh_encode(g, dirs), ag_params_compute_dtype(p));
  ag_tensor *h = ag_concat(g, geo, sh, 1);
  h = ag_nn_linear(g, p, "color.fc1", h, c->hidden, AG_MATMUL_EPI_RELU, 0);
  h = ag_nn_linear(g, p, "color.fc2", h, c->hidden, AG_MATMUL_EPI_RELU, 0);
  h = ag_nn_linear(g, p, "color.fc3", h, 3, AG_MATMUL_EPI_NONE, 0);
  *rgb = ag_nn_cast(g, ag_unary(g, AG_OP_SIGMOID, h), AG_F32);
  return ag_graph_status(g);
}

ag_status ag_nerf_init(ag_params *p, const ag_nerf_config *c) {
  AG_TRY(ag_nerf_check_config(c));
  ag_graph *g = ag_graph_new(ag_params_backend(p));
  if (!g) return AG_ERR_OOM;
  const int64_t shape[2] = {1, 3};
  ag_tensor *sigma = NULL, *rgb = NULL;
  ag_nerf_field(g, p, c, ag_graph_input(g, "pos", AG_F32, 2, shape),
                ag_graph_input(g, "dirs", AG_F32, 2, shape), &sigma, &rgb);
  ag_status st = ag_graph_status(g);
  if (st != AG_OK) ag_set_error(st, "nerf: %s", ag_graph_error(g));
  ag_graph_free(g);
  return st;
}
