/* ag_nerf_scene.h - NeRF scenes in the NeRF-synthetic / Instant-NGP
 * `transforms.json` layout, and the camera model the trainer and the
 * renderer share.
 *
 * Layout: DIR/transforms_{train,val,test}.json (an Instant-NGP scene with one
 * DIR/transforms.json serves as its train split), each an object with
 *   camera_angle_x (horizontal field of view, radians) or fl_x [, fl_y],
 *   optional camera_angle_y, cx, cy (default: the image centre), w, h,
 *   aabb_scale (default 1),
 *   frames: [{file_path, transform_matrix, and optionally any of the
 *             intrinsics above, which override the top level}]
 * file_path is relative to the json's directory; without an extension it
 * names a PNG ("./train/r_0" -> train/r_0.png). w and h, when absent, come
 * from the image (a cameras file, having no images, must give them).
 *
 * Convention: transform_matrix is camera-to-world (4x4, last row 0 0 0 1);
 * the camera is OpenGL's: +x right, +y up, looking down -z. Image rows go
 * down, so pixel (px, py) looks along (px - cx, -(py - cy), -focal); a
 * pixel's centre is at +0.5 (pixel i spans [i, i+1)). */
#ifndef AG_NERF_SCENE_H
#define AG_NERF_SCENE_H

#include "runtime/io/png.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One view: where it is and how it projects. */
typedef struct ag_nerf_camera {
  float c2w[12]; /* camera-to-world, 3x4 row-major: columns right, up, back, position */
  float fx, fy;  /* focal lengths in pixels */
  float cx, cy;  /* principal point in pixels (the image centre is w/2, h/2) */
  int w, h;
} ag_nerf_camera;

/* The views of one file. aabb_scale is Instant-NGP's: how far the scene
 * reaches beyond the unit cube the cameras look into (1 for the synthetic
 * scenes), kept for the trainer's occupancy grid. */
typedef struct ag_nerf_cameras {
  int n;
  ag_nerf_camera *cams;
  float aabb_scale;
} ag_nerf_cameras;

/* A split: its cameras and, per frame, the image as 8-bit RGBA with
 * straight (not premultiplied) alpha, [h][w][4], sRGB values as stored in
 * the PNG. Alpha is coverage: the trainer composites over a background of
 * its choice (ag_nerf_composite). */
typedef struct ag_nerf_scene {
  ag_nerf_cameras cameras;
  ag_image *images; /* cameras.n of them, each cameras.cams[i].w x h, c = 4 */
} ag_nerf_scene;

/* Loads DIR/transforms_<split>.json ("train", "val" or "test") and its
 * images. Errors name the file, the frame and the field. */
ag_status ag_nerf_scene_load(const char *dir, const char *split, ag_nerf_scene *out);
void ag_nerf_scene_free(ag_nerf_scene *s);

/* Reads a transforms.json's cameras alone (file_path ignored; w and h must
 * be given), for rendering views no image exists of. */
ag_status ag_nerf_cameras_load(const char *path, ag_nerf_cameras *out);
void ag_nerf_cameras_free(ag_nerf_cameras *c);

/* The ray through image point (px, py): origin o (the camera position) and
 * unit direction d, in world space. The centre of pixel (i, j) is
 * (i + 0.5, j + 0.5). */
void ag_nerf_camera_ray(const ag_nerf_camera *cam, float px, float py, float o[3], float d[3]);

/* rgb = colour over background: c * a + bg * (1 - a), in [0, 1]. */
void ag_nerf_composite(const uint8_t rgba[4], const float bg[3], float rgb[3]);

#ifdef __cplusplus
}
#endif

#endif
