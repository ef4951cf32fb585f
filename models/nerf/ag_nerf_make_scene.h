/* ag_nerf_make_scene.h - procedural NeRF scenes: analytic geometry shaded
 * and rendered by a reference ray tracer into the NeRF-synthetic layout
 * (ag_nerf_scene.h), so a NeRF can be trained on the train views and its
 * PSNR measured on val/test views it never saw.
 *
 * Every scene fits in [-1.5, 1.5]^3 (aabb_scale 1). Cameras sit on the
 * upper hemisphere of radius 4 around the origin (world +z up, as Blender's
 * NeRF-synthetic scenes) looking at it, horizontal field of view 0.6911 rad
 * (NeRF-synthetic's): train views spread evenly (a Fibonacci spiral turned by
 * the seed), val and test views at random. Each pixel averages `aa` x `aa`
 * jittered rays; alpha is the fraction that hit, colour the mean of the hits
 * (straight alpha). Shading: Lambert + ambient under a fixed light and a
 * small Blinn-Phong highlight (mildly view-dependent), values in [0, 1]
 * written as 8-bit sRGB PNGs. The same name and options give the same bytes. */
#ifndef AG_NERF_MAKE_SCENE_H
#define AG_NERF_MAKE_SCENE_H

#include <stdint.h>

#include "base/ag_base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ag_nerf_scene_kind {
  const char *name, *description;
} ag_nerf_scene_kind;

/* The catalogue: *n scenes. */
const ag_nerf_scene_kind *ag_nerf_scene_kinds(int *n);
/* AG_OK when the catalogue has `name`, else AG_ERR_INVALID with an error
 * listing the scenes it has. */
ag_status ag_nerf_scene_kind_check(const char *name);

typedef struct ag_nerf_make_opts {
  int res;       /* image side in pixels (128; NeRF-synthetic's is 800) */
  int views[3];  /* train, val, test views (100, 10, 20; NeRF-synthetic: 100, 100, 200) */
  int aa;        /* aa x aa jittered rays per pixel (4) */
  uint64_t seed; /* cameras and jitter (1) */
} ag_nerf_make_opts;

ag_nerf_make_opts ag_nerf_make_default_opts(void);

/* Renders scene `name` into dir (created if missing; its parent must exist):
 * dir/{train,val,test}/r_<i>.png, then dir/transforms_{train,val,test}.json
 * last, so a scene cut short never looks complete (the json files of an
 * earlier scene there are removed first). An unknown name lists the known. */
ag_status ag_nerf_make_scene(const char *name, const char *dir, const ag_nerf_make_opts *opts);

#ifdef __cplusplus
}
#endif

#endif
