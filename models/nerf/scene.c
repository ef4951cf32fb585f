/* scene.c - the transforms.json reader (scenes with images, cameras files
 * without) and the camera model. Every error starts with the json's path,
 * then the frame when it is about one, then the field. */
#define _POSIX_C_SOURCE 200809L
#include "models/nerf/ag_nerf_scene.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/io/json.h"

enum { MAX_SIDE = 1 << 16, PATH_LEN = 4096 };
static const double PI = 3.14159265358979323846;

/* What the fields of one frame are read against: the file, the frame
 * (-1 at the top level) and the two objects a field may be in. */
typedef struct field_ctx {
  const char *file;
  int frame;
  const cJSON *fr, *root;
} field_ctx;

static ag_status fail(const field_ctx *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static ag_status fail(const field_ctx *c, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (c->frame < 0) return ag_set_error(AG_ERR_IO, "%s: %s", c->file, msg);
  return ag_set_error(AG_ERR_IO, "%s: frame %d: %s", c->file, c->frame, msg);
}

/* The number `key` of the frame, else of the top level; *found is 0 when
 * neither has it, else *at is where it is (for the errors about its value).
 * A key present with anything but a finite number fails. */
static ag_status lookup_number(const field_ctx *c, const char *key, int *found, double *v,
                               field_ctx *at) {
  const cJSON *in_frame = c->fr ? cJSON_GetObjectItemCaseSensitive(c->fr, key) : NULL;
  const cJSON *item = in_frame ? in_frame : cJSON_GetObjectItemCaseSensitive(c->root, key);
  *found = item != NULL;
  *at = (field_ctx){c->file, in_frame ? c->frame : -1, NULL, NULL};
  if (!item) return AG_OK;
  if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble))
    return fail(at, "%s must be a number", key);
  *v = item->valuedouble;
  return AG_OK;
}

/* w or h: given (and then equal to the image's, if any), else the image's. */
static ag_status read_side(const field_ctx *c, const char *key, int from_image, const char *image,
                           int *out) {
  int found = 0;
  double v = 0;
  field_ctx at;
  AG_TRY(lookup_number(c, key, &found, &v, &at));
  if (!found && !from_image)
    return fail(c, "%s is missing (there is no image to take it from)", key);
  if (found && (v != floor(v) || v < 1 || v > MAX_SIDE))
    return fail(&at, "%s must be a positive integer up to %d (got %g)", key, MAX_SIDE, v);
  if (found && from_image && (int)v != from_image)
    return fail(c, "%s is %d but %s has %d", key, (int)v, image, from_image);
  *out = found ? (int)v : from_image;
  return AG_OK;
}

/* The focal length along one axis: fl_<axis> in pixels, else from the
 * field of view camera_angle_<axis>; *found 0 when neither is given. */
static ag_status read_focal(const field_ctx *c, char axis, int side, int *found, float *f) {
  char fl[8], angle[24];
  snprintf(fl, sizeof fl, "fl_%c", axis);
  snprintf(angle, sizeof angle, "camera_angle_%c", axis);
  double v = 0;
  field_ctx at;
  AG_TRY(lookup_number(c, fl, found, &v, &at));
  if (*found && v <= 0) return fail(&at, "%s must be positive (got %g)", fl, v);
  if (!*found) {
    AG_TRY(lookup_number(c, angle, found, &v, &at));
    if (*found && (v <= 0 || v >= PI))
      return fail(&at, "%s must be in (0, pi) radians (got %g)", angle, v);
    if (*found) v = 0.5 * side / tan(0.5 * v);
  }
  *f = (float)v;
  return AG_OK;
}

static ag_status read_intrinsics(const field_ctx *c, ag_nerf_camera *cam) {
  int found = 0;
  AG_TRY(read_focal(c, 'x', cam->w, &found, &cam->fx));
  if (!found) return fail(c, "neither camera_angle_x nor fl_x is given");
  AG_TRY(read_focal(c, 'y', cam->h, &found, &cam->fy));
  if (!found) cam->fy = cam->fx;
  double v = 0;
  field_ctx at;
  AG_TRY(lookup_number(c, "cx", &found, &v, &at));
  cam->cx = found ? (float)v : 0.5f * (float)cam->w;
  AG_TRY(lookup_number(c, "cy", &found, &v, &at));
  cam->cy = found ? (float)v : 0.5f * (float)cam->h;
  return AG_OK;
}

static int is_number_row(const cJSON *row) {
  if (!cJSON_IsArray(row) || cJSON_GetArraySize(row) != 4) return 0;
  for (const cJSON *x = row->child; x; x = x->next)
    if (!cJSON_IsNumber(x) || !isfinite(x->valuedouble)) return 0;
  return 1;
}

static ag_status read_transform(const field_ctx *c, ag_nerf_camera *cam) {
  const cJSON *m = cJSON_GetObjectItemCaseSensitive(c->fr, "transform_matrix");
  if (!m) return fail(c, "transform_matrix is missing");
  int ok = cJSON_IsArray(m) && cJSON_GetArraySize(m) == 4;
  for (const cJSON *row = ok ? m->child : NULL; row; row = row->next) ok = ok && is_number_row(row);
  if (!ok) return fail(c, "transform_matrix must be 4x4 numbers");
  const cJSON *row = m->child;
  for (int r = 0; r < 3; r++, row = row->next)
    for (int k = 0; k < 4; k++)
      cam->c2w[4 * r + k] = (float)cJSON_GetArrayItem(row, k)->valuedouble;
  static const double last[4] = {0, 0, 0, 1};
  for (int k = 0; k < 4; k++)
    if (fabs(cJSON_GetArrayItem(row, k)->valuedouble - last[k]) > 1e-6)
      return fail(c, "transform_matrix's last row must be 0 0 0 1");
  return AG_OK;
}

/* "<json dir>/<file_path>[.png]" in `full`, and file_path[.png] as the json
 * says it in `shown` (for errors). */
static ag_status image_path(const field_ctx *c, const char *json_dir, char *full, char *shown) {
  const cJSON *fp = cJSON_GetObjectItemCaseSensitive(c->fr, "file_path");
  if (!cJSON_IsString(fp) || !fp->valuestring[0]) return fail(c, "file_path must be a string");
  const char *name = fp->valuestring;
  const char *base = strrchr(name, '/');
  const char *ext = strchr(base ? base + 1 : name, '.') ? "" : ".png";
  const int n = snprintf(shown, PATH_LEN, "%s%s", name, ext);
  const int m = name[0] == '/' ? snprintf(full, PATH_LEN, "%s", shown)
                               : snprintf(full, PATH_LEN, "%s/%s", json_dir, shown);
  if (n >= PATH_LEN || m >= PATH_LEN) return fail(c, "file_path is too long");
  return AG_OK;
}

static ag_status read_image(const field_ctx *c, const char *json_dir, ag_image *img, char *shown) {
  char full[PATH_LEN];
  AG_TRY(image_path(c, json_dir, full, shown));
  FILE *f = fopen(full, "rb");
  if (!f) return fail(c, "%s: cannot read (%s)", shown, strerror(errno));
  fclose(f);
  if (ag_png_read(full, 4, img) != AG_OK) {
    char why[1024];
    snprintf(why, sizeof why, "%s", ag_last_error());
    return fail(c, "%s: %s", shown, why);
  }
  return AG_OK;
}

/* One frame: its image when `img` is given, then its camera (w and h may
 * come from the image). */
static ag_status read_frame(const field_ctx *c, const char *json_dir, ag_nerf_camera *cam,
                            ag_image *img) {
  if (!cJSON_IsObject(c->fr)) return fail(c, "not an object");
  AG_TRY(read_transform(c, cam));
  char shown[PATH_LEN] = "";
  if (img) AG_TRY(read_image(c, json_dir, img, shown));
  AG_TRY(read_side(c, "w", img ? img->w : 0, shown, &cam->w));
  AG_TRY(read_side(c, "h", img ? img->h : 0, shown, &cam->h));
  return read_intrinsics(c, cam);
}

static ag_status read_aabb_scale(const field_ctx *top, float *out) {
  int found = 0;
  double v = 1;
  field_ctx at;
  AG_TRY(lookup_number(top, "aabb_scale", &found, &v, &at));
  if (v <= 0) return fail(top, "aabb_scale must be positive (got %g)", v);
  *out = (float)v;
  return AG_OK;
}

void ag_nerf_cameras_free(ag_nerf_cameras *c) {
  if (!c) return;
  free(c->cams);
  memset(c, 0, sizeof *c);
}

void ag_nerf_scene_free(ag_nerf_scene *s) {
  if (!s) return;
  for (int i = 0; s->images && i < s->cameras.n; i++) ag_image_free(&s->images[i]);
  free(s->images);
  ag_nerf_cameras_free(&s->cameras);
  s->images = NULL;
}

/* The frames of `path`, with their images when `images` is given. */
static ag_status read_file(const char *path, ag_nerf_cameras *cams, ag_image **images) {
  cJSON *root = NULL;
  AG_TRY(ag_json_read_object(path, &root));
  char json_dir[PATH_LEN];
  const char *slash = strrchr(path, '/');
  snprintf(json_dir, sizeof json_dir, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
  const field_ctx top = {path, -1, NULL, root};
  const cJSON *frames = cJSON_GetObjectItemCaseSensitive(root, "frames");
  const int n = cJSON_IsArray(frames) ? cJSON_GetArraySize(frames) : 0;
  ag_status st = read_aabb_scale(&top, &cams->aabb_scale);
  if (st == AG_OK && n == 0) st = fail(&top, "frames must be a non-empty array");
  cams->cams = st == AG_OK ? calloc((size_t)n, sizeof *cams->cams) : NULL;
  if (images) *images = st == AG_OK ? calloc((size_t)n, sizeof **images) : NULL;
  if (st == AG_OK && (!cams->cams || (images && !*images)))
    st = ag_set_error(AG_ERR_OOM, "%s: out of memory for %d frames", path, n);
  cams->n = st == AG_OK ? n : 0;
  const cJSON *fr = st == AG_OK ? frames->child : NULL;
  for (int i = 0; st == AG_OK && i < n; i++, fr = fr->next) {
    const field_ctx c = {path, i, fr, root};
    st = read_frame(&c, json_dir, &cams->cams[i], images ? &(*images)[i] : NULL);
  }
  cJSON_Delete(root);
  return st;
}

ag_status ag_nerf_cameras_load(const char *path, ag_nerf_cameras *out) {
  memset(out, 0, sizeof *out);
  const ag_status st = read_file(path, out, NULL);
  if (st != AG_OK) ag_nerf_cameras_free(out);
  return st;
}

static int file_exists(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f) fclose(f);
  return f != NULL;
}

/* DIR/transforms_<split>.json; an Instant-NGP scene's one transforms.json
 * stands for its train split (never for val or test: those must be views
 * the model was not trained on). */
static ag_status split_path(const char *dir, const char *split, char *path) {
  if (strcmp(split, "train") != 0 && strcmp(split, "val") != 0 && strcmp(split, "test") != 0)
    return ag_set_error(AG_ERR_INVALID, "nerf scene %s: split '%s': train, val or test expected",
                        dir, split);
  if (snprintf(path, PATH_LEN, "%s/transforms_%s.json", dir, split) >= PATH_LEN)
    return ag_set_error(AG_ERR_INVALID, "nerf scene %s: path too long", dir);
  char single[PATH_LEN];
  snprintf(single, sizeof single, "%s/transforms.json", dir);
  if (strcmp(split, "train") == 0 && !file_exists(path) && file_exists(single))
    snprintf(path, PATH_LEN, "%s", single);
  return AG_OK;
}

ag_status ag_nerf_scene_load(const char *dir, const char *split, ag_nerf_scene *out) {
  memset(out, 0, sizeof *out);
  char path[PATH_LEN];
  AG_TRY(split_path(dir, split, path));
  /* On failure the frames not read yet hold zeroed images, which free. */
  const ag_status st = read_file(path, &out->cameras, &out->images);
  if (st != AG_OK) ag_nerf_scene_free(out);
  return st;
}

void ag_nerf_camera_ray(const ag_nerf_camera *cam, float px, float py, float o[3], float d[3]) {
  const float x = (px - cam->cx) / cam->fx, y = -(py - cam->cy) / cam->fy;
  const float *m = cam->c2w;
  float len2 = 0;
  for (int r = 0; r < 3; r++) {
    d[r] = m[4 * r] * x + m[4 * r + 1] * y - m[4 * r + 2];
    o[r] = m[4 * r + 3];
    len2 += d[r] * d[r];
  }
  const float inv = 1.0f / sqrtf(len2);
  for (int r = 0; r < 3; r++) d[r] *= inv;
}

void ag_nerf_composite(const uint8_t rgba[4], const float bg[3], float rgb[3]) {
  const float a = rgba[3] / 255.0f;
  for (int k = 0; k < 3; k++) rgb[k] = rgba[k] / 255.0f * a + bg[k] * (1.0f - a);
}
