/* NeRF mesh export (see ag_nerf_mesh.h): marching tetrahedra over a lattice
 * of values, and a NeRF's density lattice and colours. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ag_nerf_mesh.h"

/* ---- marching tetrahedra ------------------------------------------------------ */

/* A cube's corners are numbered by bits: x 1, y 2, z 4. */
static int corner_offset(int c, int axis) { return c >> axis & 1; }

/* Six times the signed volume of the tetrahedron of corners v. */
static int corner_det(const int v[4]) {
  int e[3][3];
  for (int r = 0; r < 3; r++)
    for (int a = 0; a < 3; a++) e[r][a] = corner_offset(v[r + 1], a) - corner_offset(v[0], a);
  return e[0][0] * (e[1][1] * e[2][2] - e[1][2] * e[2][1]) -
         e[0][1] * (e[1][0] * e[2][2] - e[1][2] * e[2][0]) +
         e[0][2] * (e[1][0] * e[2][1] - e[1][1] * e[2][0]);
}

/* The 6 tetrahedra around the diagonal from corner 0 to corner 7, one per
 * order of the axes: 0, one axis, two axes, 7. Along that path each corner's
 * bits contain the one before's, so any two corners of a tetrahedron are the
 * ends of a lattice edge in one of the 7 directions 1..7 (a bit mask) and
 * every cube face is cut along the diagonal its neighbour's cut too. Each is
 * ordered to positive volume. */
static void cube_tetrahedra(int tets[6][4]) {
  static const int order[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
  for (int t = 0; t < 6; t++) {
    const int a = 1 << order[t][0], b = a | 1 << order[t][1];
    int *v = tets[t];
    v[0] = 0, v[1] = a, v[2] = b, v[3] = 7;
    if (corner_det(v) < 0) v[2] = 7, v[3] = b;
  }
}

/* Whether the order p of a tetrahedron's vertices 0..3 is an odd permutation
 * (the tetrahedron seen in that order has negative volume). */
static int odd(const int p[4]) {
  int inversions = 0;
  for (int i = 0; i < 4; i++)
    for (int j = i + 1; j < 4; j++) inversions += p[i] > p[j];
  return inversions & 1;
}

/* The mesh being built: its growable arrays, and the vertex on each lattice
 * edge whose lower end lies in z-slice `z` (slice[0]) or z + 1 (slice[1]),
 * the two slices the current layer of cubes touches. */
typedef struct builder {
  const ag_mesh_grid *grid;
  float iso, step;
  ag_mesh *m;
  int64_t vertex_cap, triangle_cap, z;
  int32_t *slice[2]; /* [n * n * 7]: the vertex of edge (x, y, direction - 1), or -1 */
} builder;

static float value_at(const ag_mesh_grid *g, int64_t x, int64_t y, int64_t z) {
  return g->values[x + g->n * (y + g->n * z)];
}

/* The density gradient at lattice point q: central differences, one-sided
 * on the lattice's faces. */
static void gradient(const builder *b, const int64_t q[3], float grad[3]) {
  const int64_t n = b->grid->n;
  for (int a = 0; a < 3; a++) {
    int64_t lo[3] = {q[0], q[1], q[2]}, hi[3] = {q[0], q[1], q[2]};
    lo[a] = q[a] > 0 ? q[a] - 1 : q[a];
    hi[a] = q[a] < n - 1 ? q[a] + 1 : q[a];
    const float d = value_at(b->grid, hi[0], hi[1], hi[2]) - value_at(b->grid, lo[0], lo[1], lo[2]);
    grad[a] = d / ((float)(hi[a] - lo[a]) * b->step);
  }
}

static ag_status grow(void **p, int64_t *cap, int64_t need, size_t row) {
  if (need <= *cap) return AG_OK;
  const int64_t more = *cap ? 2 * *cap : 1024;
  void *q = realloc(*p, row * (size_t)more);
  if (!q) return ag_set_error(AG_ERR_OOM, "mesh: out of host memory at %lld rows", (long long)more);
  *p = q, *cap = more;
  return AG_OK;
}

/* A new vertex where the values cross iso on the edge from lattice point
 * pa (value va) to pb (value vb): position and normal interpolated. */
static ag_status add_vertex(builder *b, const int64_t pa[3], const int64_t pb[3], int32_t *index) {
  ag_mesh *m = b->m;
  if (m->vertices >= INT32_MAX) return ag_set_error(AG_ERR_INVALID, "mesh: over 2^31 vertices");
  int64_t cap = b->vertex_cap; /* pos and normal grow alike */
  AG_TRY(grow((void **)&m->pos, &cap, m->vertices + 1, 3 * sizeof(float)));
  AG_TRY(grow((void **)&m->normal, &b->vertex_cap, m->vertices + 1, 3 * sizeof(float)));
  const float va = value_at(b->grid, pa[0], pa[1], pa[2]),
              vb = value_at(b->grid, pb[0], pb[1], pb[2]);
  const float t = (b->iso - va) / (vb - va); /* one end is above iso, the other not */
  float ga[3], gb[3], n[3], len = 0;
  gradient(b, pa, ga);
  gradient(b, pb, gb);
  float *pos = m->pos + 3 * m->vertices, *normal = m->normal + 3 * m->vertices;
  for (int a = 0; a < 3; a++) {
    pos[a] = b->grid->lo + b->step * ((float)pa[a] + t * (float)(pb[a] - pa[a]));
    n[a] = -((1 - t) * ga[a] + t * gb[a]);
    len += n[a] * n[a];
  }
  if (!(len > 0)) { /* a flat field has no gradient: the normal points to the outer end */
    const float out = va > b->iso ? 1.0f : -1.0f;
    len = 0;
    for (int a = 0; a < 3; a++) n[a] = out * (float)(pb[a] - pa[a]), len += n[a] * n[a];
  }
  for (int a = 0; a < 3; a++) normal[a] = n[a] / sqrtf(len);
  *index = (int32_t)m->vertices++;
  return AG_OK;
}

/* The vertex on the edge between corners ca and cb of the cube at `cube`,
 * made the first time a triangle asks for it. */
static ag_status edge_vertex(builder *b, const int64_t cube[3], int ca, int cb, int32_t *index) {
  if ((ca & cb) != ca) { /* ca the lower end: its bits are in cb's */
    const int t = ca;
    ca = cb, cb = t;
  }
  const int64_t n = b->grid->n;
  int64_t pa[3], pb[3];
  for (int a = 0; a < 3; a++)
    pa[a] = cube[a] + corner_offset(ca, a), pb[a] = cube[a] + corner_offset(cb, a);
  int32_t *slot = &b->slice[corner_offset(ca, 2)][(pa[1] * n + pa[0]) * 7 + (ca ^ cb) - 1];
  if (*slot < 0) AG_TRY(add_vertex(b, pa, pb, slot));
  *index = *slot;
  return AG_OK;
}

/* The triangle of the edges (corner pairs) e[0..2]. */
static ag_status add_triangle(builder *b, const int64_t cube[3], const int e[3][2]) {
  ag_mesh *m = b->m;
  AG_TRY(grow((void **)&m->tri, &b->triangle_cap, m->triangles + 1, 3 * sizeof(int32_t)));
  int32_t *tri = m->tri + 3 * m->triangles;
  for (int k = 0; k < 3; k++) AG_TRY(edge_vertex(b, cube, e[k][0], e[k][1], &tri[k]));
  m->triangles++;
  return AG_OK;
}

/* The surface's piece in tetrahedron tet (corners, positive volume) of the
 * cube with corner values val. With p an even order of the tetrahedron whose
 * first vertex is alone on its side, the triangle on edges p0p1, p0p2, p0p3
 * faces away from p0; with two inside vertices p0, p1 first, the quad on
 * p0p2, p0p3, p1p3, p1p2 faces away from them. */
static ag_status march_tetrahedron(builder *b, const int64_t cube[3], const int tet[4],
                                   const float val[8]) {
  int p[4], inside = 0, k = 0;
  for (int v = 0; v < 4; v++) inside += val[tet[v]] > b->iso;
  if (inside == 0 || inside == 4) return AG_OK;
  /* the vertices on the smaller side first (inside first when 2 and 2) */
  const int lone_inside = inside <= 2;
  for (int v = 0; v < 4; v++)
    if ((val[tet[v]] > b->iso) == lone_inside) p[k++] = v;
  for (int v = 0; v < 4; v++)
    if ((val[tet[v]] > b->iso) != lone_inside) p[k++] = v;
  if (odd(p)) {
    const int swap = p[2];
    p[2] = p[3], p[3] = swap;
  }
  int c[4];
  for (int v = 0; v < 4; v++) c[v] = tet[p[v]];
  if (inside == 2) {
    const int first[3][2] = {{c[0], c[2]}, {c[0], c[3]}, {c[1], c[3]}};
    const int second[3][2] = {{c[0], c[2]}, {c[1], c[3]}, {c[1], c[2]}};
    AG_TRY(add_triangle(b, cube, first));
    return add_triangle(b, cube, second);
  }
  /* one inside faces away from it; one outside (three inside) toward it */
  const int away[3][2] = {{c[0], c[1]}, {c[0], c[2]}, {c[0], c[3]}};
  const int toward[3][2] = {{c[0], c[1]}, {c[0], c[3]}, {c[0], c[2]}};
  return add_triangle(b, cube, inside == 1 ? away : toward);
}

/* Every cube between z-slices b->z and b->z + 1. */
static ag_status march_layer(builder *b, const int tets[6][4]) {
  const int64_t n = b->grid->n;
  for (int64_t y = 0; y + 1 < n; y++)
    for (int64_t x = 0; x + 1 < n; x++) {
      const int64_t cube[3] = {x, y, b->z};
      float val[8];
      int inside = 0;
      for (int c = 0; c < 8; c++) {
        val[c] = value_at(b->grid, x + corner_offset(c, 0), y + corner_offset(c, 1),
                          b->z + corner_offset(c, 2));
        inside += val[c] > b->iso;
      }
      if (inside == 0 || inside == 8) continue;
      for (int t = 0; t < 6; t++) AG_TRY(march_tetrahedron(b, cube, tets[t], val));
    }
  return AG_OK;
}

static ag_status check_grid(const ag_mesh_grid *g, float iso) {
  if (!g->values || g->n < 2 || g->n > 4096 || !(g->lo < g->hi) || !isfinite(g->hi - g->lo))
    return ag_set_error(AG_ERR_INVALID, "mesh: bad lattice (%lld points per axis over [%g, %g])",
                        (long long)g->n, g->lo, g->hi);
  if (!isfinite(iso)) return ag_set_error(AG_ERR_INVALID, "mesh: iso value %g", iso);
  for (int64_t i = 0; i < g->n * g->n * g->n; i++)
    if (!isfinite(g->values[i]))
      return ag_set_error(AG_ERR_INVALID, "mesh: lattice value %lld is %g", (long long)i,
                          g->values[i]);
  return AG_OK;
}

ag_status ag_mesh_extract(const ag_mesh_grid *grid, float iso, ag_mesh *out) {
  memset(out, 0, sizeof *out);
  AG_TRY(check_grid(grid, iso));
  const size_t slots = (size_t)(grid->n * grid->n * 7);
  builder b = {.grid = grid,
               .iso = iso,
               .step = (grid->hi - grid->lo) / (float)(grid->n - 1),
               .m = out,
               .slice = {malloc(slots * sizeof(int32_t)), malloc(slots * sizeof(int32_t))}};
  ag_status st = b.slice[0] && b.slice[1] ? AG_OK : ag_set_error(AG_ERR_OOM, "mesh: out of memory");
  int tets[6][4];
  cube_tetrahedra(tets);
  if (st == AG_OK) memset(b.slice[0], 0xff, slots * sizeof(int32_t)); /* -1: no vertex yet */
  for (; st == AG_OK && b.z + 1 < grid->n; b.z++) {
    memset(b.slice[1], 0xff, slots * sizeof(int32_t));
    st = march_layer(&b, tets);
    int32_t *done = b.slice[0]; /* the upper slice is the next layer's lower one */
    b.slice[0] = b.slice[1], b.slice[1] = done;
  }
  free(b.slice[0]), free(b.slice[1]);
  if (st != AG_OK) ag_mesh_free(out);
  return st;
}

/* ---- a NeRF's mesh ------------------------------------------------------------ */

ag_nerf_mesh_opts ag_nerf_mesh_default_opts(void) {
  return (ag_nerf_mesh_opts){.res = 128, .threshold = 10.0f, .all_cells = 0, .batch = 1 << 15};
}

static ag_status check_opts(const ag_nerf_mesh_opts *o) {
  if (o->res < 2 || o->res > 1024 || o->batch < 1)
    return ag_set_error(AG_ERR_INVALID, "nerf mesh: resolution %lld (2..1024), batch %lld",
                        (long long)o->res, (long long)o->batch);
  if (!isfinite(o->threshold))
    return ag_set_error(AG_ERR_INVALID, "nerf mesh: threshold %g", o->threshold);
  return AG_OK;
}

/* A planned graph over `batch` points: their density, or (with dirs) their
 * colour seen along dirs. */
typedef struct field_pass {
  ag_graph *g;
  ag_sched *s;
  ag_tensor *pos, *dirs, *out;
  float *host_pos, *host_dirs, *host_out;
  int64_t batch;
} field_pass;

static void pass_free(field_pass *f) {
  ag_sched_free(f->s);
  ag_graph_free(f->g);
  free(f->host_pos), free(f->host_dirs), free(f->host_out);
  memset(f, 0, sizeof *f);
}

static ag_status pass_build(const ag_nerf_model *m, int color, field_pass *f) {
  const int64_t shape[2] = {f->batch, 3};
  f->pos = ag_graph_input(f->g, "points", AG_F32, 2, shape);
  if (color) {
    ag_tensor *sigma = NULL, *rgb = NULL;
    f->dirs = ag_graph_input(f->g, "dirs", AG_F32, 2, shape);
    ag_nerf_field(f->g, m->p, &m->c, f->pos, f->dirs, &sigma, &rgb);
    f->out = ag_graph_output(f->g, rgb);
  } else {
    f->out = ag_graph_output(f->g, ag_nerf_density(f->g, m->p, &m->c, f->pos, NULL));
  }
  if (ag_graph_status(f->g) != AG_OK)
    return ag_set_error(ag_graph_status(f->g), "nerf mesh: %s", ag_graph_error(f->g));
  return ag_sched_new(f->g, NULL, &f->s);
}

static ag_status pass_new(const ag_nerf_model *m, int64_t batch, int color, field_pass *f) {
  memset(f, 0, sizeof *f);
  const size_t rows = (size_t)batch;
  f->batch = batch;
  f->host_pos = calloc(3 * rows, sizeof(float));
  f->host_dirs = color ? calloc(3 * rows, sizeof(float)) : NULL;
  f->host_out = malloc((color ? 3 : 1) * rows * sizeof(float));
  f->g = ag_graph_new(ag_params_backend(m->p));
  ag_status st = f->host_pos && (f->host_dirs || !color) && f->host_out && f->g
                     ? AG_OK
                     : ag_set_error(AG_ERR_OOM, "nerf mesh: out of host memory");
  if (st == AG_OK) st = pass_build(m, color, f);
  if (st != AG_OK) pass_free(f);
  return st;
}

static ag_status pass_run(field_pass *f) {
  const size_t rows = (size_t)f->batch;
  AG_TRY(ag_tensor_write(f->pos, f->host_pos, 3 * rows * sizeof(float)));
  if (f->dirs) AG_TRY(ag_tensor_write(f->dirs, f->host_dirs, 3 * rows * sizeof(float)));
  AG_TRY(ag_sched_run(f->s));
  return ag_tensor_read(f->out, f->host_out, (f->dirs ? 3 : 1) * rows * sizeof(float));
}

/* Lattice point i of res^3 over the box, as ag_mesh_extract places it. */
static void lattice_point(const ag_nerf_config *c, int64_t res, int64_t i, float p[3]) {
  const float step = 2.0f * c->bound / (float)(res - 1);
  const int64_t xyz[3] = {i % res, i / res % res, i / (res * res)};
  for (int a = 0; a < 3; a++) p[a] = -c->bound + step * (float)xyz[a];
}

/* Whether the renderer samples at p: its occupancy cell (as the march finds
 * it, clamped into the grid) is set. */
static int occupied(const ag_nerf_config *c, const uint8_t *bits, const float p[3]) {
  const float scale = (float)c->occ_res / (2.0f * c->bound);
  int64_t cell = 0;
  for (int a = 2; a >= 0; a--) {
    const int64_t k = (int64_t)floorf((p[a] + c->bound) * scale);
    cell = cell * c->occ_res + (k < 0 ? 0 : k >= c->occ_res ? c->occ_res - 1 : k);
  }
  return bits[cell >> 3] >> (cell & 7) & 1;
}

static ag_status read_bitfield(const ag_nerf_model *m, uint8_t **bits) {
  const int64_t bytes = ag_tensor_numel(m->occ.bitfield);
  if (!(*bits = malloc((size_t)bytes))) return ag_set_error(AG_ERR_OOM, "nerf mesh: out of memory");
  return ag_tensor_read(m->occ.bitfield, *bits, (size_t)bytes);
}

/* From lattice point *next on: the next batch of points to evaluate (their
 * indices in index), the skipped ones' values set to 0. Returns the count. */
static int64_t next_points(const ag_nerf_model *m, int64_t res, const uint8_t *bits, field_pass *f,
                           int64_t *next, int64_t *index, float *values) {
  const int64_t total = res * res * res;
  int64_t k = 0;
  for (; *next < total && k < f->batch; ++*next) {
    float p[3];
    lattice_point(&m->c, res, *next, p);
    if (bits && !occupied(&m->c, bits, p)) {
      values[*next] = 0.0f;
      continue;
    }
    index[k] = *next;
    memcpy(f->host_pos + 3 * k++, p, sizeof p);
  }
  memset(f->host_pos + 3 * k, 0, 3 * (size_t)(f->batch - k) * sizeof(float));
  return k;
}

ag_status ag_nerf_density_grid(const ag_nerf_model *m, const ag_nerf_mesh_opts *o, float *values) {
  AG_TRY(check_opts(o));
  const int64_t total = o->res * o->res * o->res, batch = o->batch < total ? o->batch : total;
  uint8_t *bits = NULL;
  int64_t *index = malloc((size_t)batch * sizeof *index);
  field_pass f = {0};
  ag_status st = index ? AG_OK : ag_set_error(AG_ERR_OOM, "nerf mesh: out of host memory");
  if (st == AG_OK && !o->all_cells) st = read_bitfield(m, &bits);
  if (st == AG_OK) st = pass_new(m, batch, 0, &f);
  for (int64_t next = 0; st == AG_OK && next < total;) {
    const int64_t k = next_points(m, o->res, bits, &f, &next, index, values);
    if (k > 0) st = pass_run(&f);
    for (int64_t i = 0; st == AG_OK && i < k; i++) values[index[i]] = f.host_out[i];
  }
  pass_free(&f);
  free(bits), free(index);
  return st;
}

/* v in [0, 1] as a byte, rounded. */
static uint8_t to_byte(float v) {
  v = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
  return (uint8_t)(v * 255.0f + 0.5f);
}

ag_status ag_nerf_mesh_colors(const ag_nerf_model *m, int64_t batch, ag_mesh *mesh) {
  if (batch < 1) return ag_set_error(AG_ERR_INVALID, "nerf mesh: batch %lld", (long long)batch);
  free(mesh->rgb);
  const int64_t n = mesh->vertices;
  if (!(mesh->rgb = malloc(n ? 3 * (size_t)n : 1)))
    return ag_set_error(AG_ERR_OOM, "nerf mesh: out of host memory");
  if (n == 0) return AG_OK;
  field_pass f;
  AG_TRY(pass_new(m, batch < n ? batch : n, 1, &f));
  ag_status st = AG_OK;
  for (int64_t first = 0; st == AG_OK && first < n; first += f.batch) {
    const int64_t k = n - first < f.batch ? n - first : f.batch;
    for (int64_t i = 0; i < f.batch; i++)
      for (int a = 0; a < 3; a++) { /* unused rows: the origin seen along x */
        f.host_pos[3 * i + a] = i < k ? mesh->pos[3 * (first + i) + a] : 0.0f;
        f.host_dirs[3 * i + a] = i < k ? -mesh->normal[3 * (first + i) + a] : (a == 0);
      }
    st = pass_run(&f);
    for (int64_t i = 0; st == AG_OK && i < 3 * k; i++)
      mesh->rgb[3 * first + i] = to_byte(f.host_out[i]);
  }
  pass_free(&f);
  return st;
}

ag_status ag_nerf_mesh(const ag_nerf_model *m, const ag_nerf_mesh_opts *o, ag_mesh *out) {
  memset(out, 0, sizeof *out);
  AG_TRY(check_opts(o));
  const size_t count = (size_t)(o->res * o->res * o->res);
  float *values = malloc(count * sizeof *values);
  if (!values)
    return ag_set_error(AG_ERR_OOM, "nerf mesh: out of host memory for %lld^3 densities",
                        (long long)o->res);
  ag_status st = ag_nerf_density_grid(m, o, values);
  const ag_mesh_grid grid = {.values = values, .n = o->res, .lo = -m->c.bound, .hi = m->c.bound};
  if (st == AG_OK) st = ag_mesh_extract(&grid, o->threshold, out);
  free(values);
  if (st == AG_OK) st = ag_nerf_mesh_colors(m, o->batch, out);
  if (st != AG_OK) ag_mesh_free(out);
  return st;
}
