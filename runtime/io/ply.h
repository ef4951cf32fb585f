/* ply.h - indexed triangle meshes with optional vertex colours, written as
 * binary little-endian PLY (what MeshLab and Blender open). */
#ifndef AG_IO_PLY_H
#define AG_IO_PLY_H

#include <stdint.h>

#include "base/ag_base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ag_mesh {
  int64_t vertices, triangles;
  float *pos;    /* [vertices, 3] */
  float *normal; /* [vertices, 3]: unit, outward; for the caller (the PLY has none) */
  uint8_t *rgb;  /* [vertices, 3] or NULL: no colours */
  int32_t *tri;  /* [triangles, 3] vertex indices */
} ag_mesh;

void ag_mesh_free(ag_mesh *m);

/* Binary little-endian PLY: vertex float x, y, z (and uchar red, green,
 * blue when m->rgb is set), face list uchar int vertex_indices; written to
 * "<path>.tmp.<pid>" and renamed. Errors name the path. */
ag_status ag_mesh_write_ply(const ag_mesh *m, const char *path);

#ifdef __cplusplus
}
#endif

#endif
