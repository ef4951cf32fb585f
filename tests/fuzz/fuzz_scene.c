/* The NeRF scene reader: the input as a scene's transforms_train.json, with
 * two valid 4x4 PNGs beside it where aigc make-scene puts a scene's first
 * frames (train/r_0.png, train/r_1.png) so that frames can load; then the
 * same file through the cameras-only reader, and a ray through each
 * camera's pixel centre. */
#include <stdint.h>

#include "fuzz_util.h"
#include "models/nerf/ag_nerf_scene.h"

static const char *const names[] = {"train/r_0.png", "train/r_1.png", "transforms_train.json"};

static int write_images(const ag_fuzz_dir *d) {
  uint8_t pixels[4 * 4 * 4];
  for (int i = 0; i < 64; i++) pixels[i] = (uint8_t)(37 * i);
  char path[512];
  for (int i = 0; i < 2; i++)
    if (ag_png_write(ag_fuzz_file(d, names[i], path, sizeof path), pixels, 4, 4, 4) != AG_OK)
      return 0;
  return 1;
}

static void cast_rays(const ag_nerf_cameras *c) {
  for (int i = 0; i < c->n; i++) {
    float o[3], dir[3];
    ag_nerf_camera_ray(&c->cams[i], 0.5f, 0.5f, o, dir);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ag_fuzz_dir d;
  char json[512];
  if (!ag_fuzz_dir_open(&d)) return 0;
  if (write_images(&d) &&
      ag_fuzz_write(ag_fuzz_file(&d, names[2], json, sizeof json), data, size)) {
    ag_nerf_scene s;
    if (ag_nerf_scene_load(d.path, "train", &s) == AG_OK) cast_rays(&s.cameras);
    ag_nerf_scene_free(&s);
    ag_nerf_cameras c;
    if (ag_nerf_cameras_load(json, &c) == AG_OK) cast_rays(&c);
    ag_nerf_cameras_free(&c);
  }
  ag_fuzz_dir_close(&d, names, 3);
  return 0;
}
