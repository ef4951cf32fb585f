/* Binary PLY meshes (see ply.h). */
#define _POSIX_C_SOURCE 200809L
#include "ply.h"
#include "out_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ag_mesh_free(ag_mesh *m) {
  free(m->pos), free(m->normal), free(m->rgb), free(m->tri);
  memset(m, 0, sizeof *m);
}

static uint8_t *put_u32(uint8_t *p, uint32_t v) {
  for (int k = 0; k < 4; k++) p[k] = (uint8_t)(v >> (8 * k));
  return p + 4;
}

static uint8_t *put_f32(uint8_t *p, float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return put_u32(p, u);
}

static ag_status check_mesh(const ag_mesh *m, const char *path) {
  if (m->vertices < 0 || m->triangles < 0 || (m->vertices && !m->pos) || (m->triangles && !m->tri))
    return ag_set_error(AG_ERR_INVALID, "mesh '%s': no vertex or triangle arrays", path);
  for (int64_t i = 0; i < 3 * m->triangles; i++)
    if (m->tri[i] < 0 || m->tri[i] >= m->vertices)
      return ag_set_error(AG_ERR_INVALID, "mesh '%s': triangle %lld names vertex %d of %lld", path,
                          (long long)(i / 3), m->tri[i], (long long)m->vertices);
  return AG_OK;
}

/* The body: vertex records then face records, little-endian. */
static uint8_t *ply_body(const ag_mesh *m, size_t *len) {
  const size_t vertex = m->rgb ? 15 : 12;
  *len = vertex * (size_t)m->vertices + 13 * (size_t)m->triangles;
  uint8_t *body = malloc(*len ? *len : 1), *p = body;
  for (int64_t i = 0; body && i < m->vertices; i++) {
    for (int a = 0; a < 3; a++) p = put_f32(p, m->pos[3 * i + a]);
    for (int a = 0; m->rgb && a < 3; a++) *p++ = m->rgb[3 * i + a];
  }
  for (int64_t i = 0; body && i < m->triangles; i++) {
    *p++ = 3;
    for (int k = 0; k < 3; k++) p = put_u32(p, (uint32_t)m->tri[3 * i + k]);
  }
  return body;
}

static int write_ply_file(FILE *f, const ag_mesh *m, const uint8_t *body, size_t len) {
  fprintf(f, "ply\nformat binary_little_endian 1.0\ncomment aigc mesh\n");
  fprintf(f, "element vertex %lld\nproperty float x\nproperty float y\nproperty float z\n",
          (long long)m->vertices);
  if (m->rgb) fprintf(f, "property uchar red\nproperty uchar green\nproperty uchar blue\n");
  fprintf(f, "element face %lld\nproperty list uchar int vertex_indices\nend_header\n",
          (long long)m->triangles);
  return fwrite(body, 1, len, f) == len;
}

ag_status ag_mesh_write_ply(const ag_mesh *m, const char *path) {
  AG_TRY(check_mesh(m, path));
  size_t len = 0;
  uint8_t *body = ply_body(m, &len);
  if (!body) return ag_set_error(AG_ERR_OOM, "mesh '%s': out of host memory", path);
  ag_out_file o;
  ag_status st = ag_out_open(&o, path, "mesh");
  if (st == AG_OK) st = ag_out_commit(&o, write_ply_file(o.f, m, body, len));
  free(body);
  return st;
}
