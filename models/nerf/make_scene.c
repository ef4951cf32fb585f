/* make_scene.c - the procedural scene catalogue, its analytic geometry
 * (ray-sphere, ray-capsule, sphere-traced torus; normals and surface UVs),
 * the reference ray tracer and the writer of the NeRF-synthetic layout.
 * Random numbers are counter-based (a hash of seed, stream and index), so
 * every pixel is the same whichever thread renders it. */
#define _POSIX_C_SOURCE 200809L
#include "models/nerf/ag_nerf_make_scene.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "models/nerf/ag_nerf_scene.h"

static const double PI = 3.14159265358979323846;
/* NeRF-synthetic's horizontal field of view, and its camera distance. */
static const double CAMERA_ANGLE_X = 0.6911112070083618;
static const double CAMERA_RADIUS = 4.0;
enum { MAX_PRIMS = 32, PATH_LEN = 4096, MAX_RES = 4096, MAX_AA = 16, MAX_VIEWS = 100000 };

/* ---- vectors ------------------------------------------------------------ */

typedef struct vec3 {
  double x, y, z;
} vec3;

static vec3 v3(double x, double y, double z) { return (vec3){x, y, z}; }
static vec3 add(vec3 a, vec3 b) { return v3(a.x + b.x, a.y + b.y, a.z + b.z); }
static vec3 sub(vec3 a, vec3 b) { return v3(a.x - b.x, a.y - b.y, a.z - b.z); }
static vec3 scale(vec3 a, double s) { return v3(a.x * s, a.y * s, a.z * s); }
static double dot(vec3 a, vec3 b) { return a.x * b.x + a.y * b.y + a.z * b.z; }
static vec3 cross(vec3 a, vec3 b) {
  return v3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x);
}
static vec3 normalize(vec3 a) { return scale(a, 1.0 / sqrt(dot(a, a))); }
static vec3 mix3(vec3 a, vec3 b, double t) { return add(scale(a, 1 - t), scale(b, t)); }
static double fract(double x) { return x - floor(x); }

/* ---- counter-based random numbers ---------------------------------------- */

static uint64_t hash64(uint64_t x) { /* splitmix64's finaliser */
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

/* A uniform number in [0, 1) for (seed, stream, index). */
static double uniform01(uint64_t seed, uint64_t stream, uint64_t index) {
  return (double)(hash64(seed ^ hash64(stream ^ hash64(index))) >> 11) * 0x1p-53;
}

/* ---- geometry ------------------------------------------------------------ */

typedef enum prim_kind { PRIM_SPHERE, PRIM_CAPSULE, PRIM_TORUS } prim_kind;
typedef enum texture { TEX_PLAIN, TEX_HUE_BANDS, TEX_CHECKER } texture;

/* A sphere (centre a, radius r), a capsule (segment a-b, radius r) or a
 * torus (centre a, axis `axis`, ring radius R, tube radius r). */
typedef struct prim {
  prim_kind kind;
  vec3 a, b, axis;
  double r, R;
  texture tex;
  vec3 color;
} prim;

typedef struct scene {
  int n;
  prim p[MAX_PRIMS];
} scene;

/* Where a ray met a primitive: distance, outward unit normal, surface UV. */
typedef struct hit {
  double t, u, v;
  vec3 n;
  const prim *p;
} hit;

static const double T_MIN = 1e-6;

/* The nearest root of |o + t d - c|^2 = r^2 past T_MIN (d unit), or -1. */
static double sphere_t(vec3 o, vec3 d, vec3 c, double r) {
  const vec3 oc = sub(o, c);
  const double b = dot(oc, d), disc = b * b - (dot(oc, oc) - r * r);
  if (disc < 0) return -1;
  const double s = sqrt(disc);
  return -b - s > T_MIN ? -b - s : (-b + s > T_MIN ? -b + s : -1);
}

static int hit_sphere(const prim *p, vec3 o, vec3 d, hit *h) {
  const double t = sphere_t(o, d, p->a, p->r);
  if (t < 0) return 0;
  h->t = t;
  h->n = scale(sub(add(o, scale(d, t)), p->a), 1.0 / p->r);
  h->u = atan2(h->n.y, h->n.x) / (2 * PI) + 0.5;
  h->v = acos(fmax(-1.0, fmin(1.0, h->n.z))) / PI;
  return 1;
}

/* The cylinder's side between its ends, else the nearer end cap sphere. */
static int hit_capsule(const prim *p, vec3 o, vec3 d, hit *h) {
  const vec3 ba = sub(p->b, p->a), oa = sub(o, p->a);
  const double baba = dot(ba, ba), bard = dot(ba, d), baoa = dot(ba, oa);
  const double A = baba - bard * bard;
  const double B = baba * dot(d, oa) - baoa * bard;
  const double C = baba * dot(oa, oa) - baoa * baoa - p->r * p->r * baba;
  const double disc = B * B - A * C;
  double t = -1;
  if (A > 1e-12 && disc >= 0) {
    t = (-B - sqrt(disc)) / A;
    const double y = baoa + t * bard;
    if (y <= 0 || y >= baba || t <= T_MIN) t = -1;
  }
  if (t < 0) {
    const double ta = sphere_t(o, d, p->a, p->r), tb = sphere_t(o, d, p->b, p->r);
    t = ta < 0 ? tb : (tb < 0 ? ta : fmin(ta, tb));
  }
  if (t < 0) return 0;
  const vec3 pa = sub(add(o, scale(d, t)), p->a);
  const double along = fmax(0.0, fmin(1.0, dot(pa, ba) / baba));
  h->t = t;
  h->n = normalize(sub(pa, scale(ba, along)));
  h->u = along;
  h->v = 0;
  return 1;
}

/* A right-handed frame (u, v, axis) around a unit axis. */
static void axis_frame(vec3 axis, vec3 *u, vec3 *v) {
  const vec3 ref = fabs(axis.z) < 0.9 ? v3(0, 0, 1) : v3(1, 0, 0);
  *u = normalize(cross(ref, axis));
  *v = cross(axis, *u);
}

static double torus_distance(vec3 q, double R, double r) {
  const double ring = sqrt(q.x * q.x + q.y * q.y) - R;
  return sqrt(ring * ring + q.z * q.z) - r;
}

/* Sphere tracing inside the bounding sphere: the torus' distance function
 * is exact, so steps of that size never pass the surface. A ray meeting it
 * at a grazing angle a closes in by a factor (1 - sin a) a step, hence the
 * generous step limit (only such rays use it). */
static int hit_torus(const prim *p, vec3 o, vec3 d, hit *h) {
  vec3 eu, ev;
  axis_frame(p->axis, &eu, &ev);
  const vec3 oc = sub(o, p->a);
  const vec3 ol = v3(dot(oc, eu), dot(oc, ev), dot(oc, p->axis));
  const vec3 dl = v3(dot(d, eu), dot(d, ev), dot(d, p->axis));
  const double bound = p->R + p->r, b = dot(ol, dl), disc = b * b - (dot(ol, ol) - bound * bound);
  if (disc < 0) return 0;
  double t = fmax(T_MIN, -b - sqrt(disc));
  const double t_end = -b + sqrt(disc);
  for (int i = 0; i < 8192 && t < t_end; i++) {
    const vec3 q = add(ol, scale(dl, t));
    const double dist = torus_distance(q, p->R, p->r);
    if (dist < 1e-6 * (1 + t)) {
      const double rho = fmax(1e-12, sqrt(q.x * q.x + q.y * q.y));
      const vec3 ring_centre = v3(q.x / rho * p->R, q.y / rho * p->R, 0);
      const vec3 nl = normalize(sub(q, ring_centre));
      h->t = t;
      h->n = add(add(scale(eu, nl.x), scale(ev, nl.y)), scale(p->axis, nl.z));
      h->u = atan2(q.y, q.x) / (2 * PI) + 0.5;
      h->v = atan2(q.z, rho - p->R) / (2 * PI) + 0.5;
      return 1;
    }
    t += dist;
  }
  return 0;
}

static int hit_prim(const prim *p, vec3 o, vec3 d, hit *h) {
  switch (p->kind) {
    case PRIM_SPHERE:
      return hit_sphere(p, o, d, h);
    case PRIM_CAPSULE:
      return hit_capsule(p, o, d, h);
    case PRIM_TORUS:
      return hit_torus(p, o, d, h);
  }
  return 0;
}

static int trace(const scene *s, vec3 o, vec3 d, hit *best) {
  best->t = INFINITY;
  for (int i = 0; i < s->n; i++) {
    hit h;
    if (hit_prim(&s->p[i], o, d, &h) && h.t < best->t) {
      *best = h;
      best->p = &s->p[i];
    }
  }
  return isfinite(best->t);
}

/* ---- textures and shading --------------------------------------------------- */

/* 1 on thin lines at the integers of x (width w of a period), 0 elsewhere. */
static double line(double x, double w) {
  const double f = fract(x);
  return f < w || f > 1 - w ? 1.0 : 0.0;
}

/* A hue circle around the ring, darker bands across it and pale lines along. */
static vec3 hue_bands(double u, double v) {
  const vec3 hue = v3(0.5 + 0.42 * cos(2 * PI * u), 0.5 + 0.42 * cos(2 * PI * (u - 1.0 / 3)),
                      0.5 + 0.42 * cos(2 * PI * (u - 2.0 / 3)));
  const vec3 banded = scale(hue, 1 - 0.45 * line(24 * u, 0.06));
  return mix3(banded, v3(0.95, 0.92, 0.85), 0.7 * line(8 * v, 0.04));
}

/* 32 x 16 checks; the dark ones shade from blue (north) to red (south) and
 * carry a yellow dot. */
static vec3 checker(double u, double v) {
  const double cu = 32 * u, cv = 16 * v;
  if (((long)floor(cu) + (long)floor(cv)) % 2 == 0) return v3(0.93, 0.88, 0.74);
  const double du = fract(cu) - 0.5, dv = fract(cv) - 0.5;
  if (du * du + dv * dv < 0.04) return v3(0.98, 0.82, 0.15);
  return mix3(v3(0.1, 0.22, 0.6), v3(0.62, 0.1, 0.14), v);
}

static vec3 albedo(const hit *h) {
  switch (h->p->tex) {
    case TEX_PLAIN:
      return h->p->color;
    case TEX_HUE_BANDS:
      return hue_bands(h->u, h->v);
    case TEX_CHECKER:
      return checker(h->u, h->v);
  }
  return h->p->color;
}

/* Lambert + ambient under a fixed light with hard shadows, plus a small
 * Blinn-Phong highlight; clamped to [0, 1]. */
static vec3 shade(const scene *s, const hit *h, vec3 o, vec3 d) {
  const vec3 light = normalize(v3(0.35, -0.5, 0.8));
  const vec3 n = dot(h->n, d) > 0 ? scale(h->n, -1) : h->n;
  const vec3 at = add(add(o, scale(d, h->t)), scale(n, 1e-5));
  double diffuse = fmax(0.0, dot(n, light));
  hit blocker;
  if (diffuse > 0 && trace(s, at, light, &blocker)) diffuse = 0;
  const double spec = diffuse > 0 ? 0.2 * pow(fmax(0.0, dot(n, normalize(sub(light, d)))), 40) : 0;
  const vec3 c = add(scale(albedo(h), 0.25 + 0.75 * diffuse), v3(spec, spec, spec));
  return v3(fmin(c.x, 1.0), fmin(c.y, 1.0), fmin(c.z, 1.0));
}

/* ---- the catalogue ------------------------------------------------------------ */

static prim sphere(vec3 c, double r, texture tex, vec3 color) {
  return (prim){.kind = PRIM_SPHERE, .a = c, .r = r, .tex = tex, .color = color};
}

static prim torus(vec3 c, vec3 axis, double R, double r, texture tex, vec3 color) {
  return (prim){.kind = PRIM_TORUS,
                .a = c,
                .axis = normalize(axis),
                .R = R,
                .r = r,
                .tex = tex,
                .color = color};
}

static void build_solid(scene *s) {
  s->p[s->n++] = torus(v3(0, 0, 0), v3(0, -0.6, 1), 0.82, 0.38, TEX_HUE_BANDS, v3(0, 0, 0));
}

/* A wire cube (rods coloured by direction, white corner balls) around
 * three thin rings at right angles. */
static void build_thin(scene *s) {
  const double e = 0.75, rod = 0.022;
  const vec3 axis_color[3] = {v3(0.85, 0.25, 0.2), v3(0.25, 0.7, 0.3), v3(0.25, 0.4, 0.9)};
  for (int c = 0; c < 8; c++) {
    const vec3 corner = v3(c & 1 ? e : -e, c & 2 ? e : -e, c & 4 ? e : -e);
    s->p[s->n++] = sphere(corner, 0.06, TEX_PLAIN, v3(0.92, 0.92, 0.9));
    for (int k = 0; k < 3; k++) {
      if (c & (1 << k)) continue; /* each rod once, from its lower end */
      const vec3 other = v3(k == 0 ? e : corner.x, k == 1 ? e : corner.y, k == 2 ? e : corner.z);
      s->p[s->n++] = (prim){.kind = PRIM_CAPSULE,
                            .a = corner,
                            .b = other,
                            .r = rod,
                            .tex = TEX_PLAIN,
                            .color = axis_color[k]};
    }
  }
  const vec3 gold = v3(0.95, 0.72, 0.2);
  s->p[s->n++] = torus(v3(0, 0, 0), v3(1, 0, 0), 0.5, 0.018, TEX_PLAIN, gold);
  s->p[s->n++] = torus(v3(0, 0, 0), v3(0, 1, 0), 0.45, 0.018, TEX_PLAIN, gold);
  s->p[s->n++] = torus(v3(0, 0, 0), v3(0, 0, 1), 0.4, 0.018, TEX_PLAIN, gold);
}

static void build_texture(scene *s) {
  s->p[s->n++] = sphere(v3(0, 0, 0), 1.0, TEX_CHECKER, v3(0, 0, 0));
}

static const ag_nerf_scene_kind kinds[] = {
    {"solid", "a torus with a hue gradient, darker bands and pale lines (smooth, shadowed)"},
    {"thin", "a wire cube of thin rods and corner balls around three thin rings"},
    {"texture", "a sphere with a 32x16 checker, a colour gradient and dots (high frequency)"},
};
static void (*const builders[])(scene *) = {build_solid, build_thin, build_texture};
enum { N_KINDS = sizeof kinds / sizeof kinds[0] };
_Static_assert(sizeof builders / sizeof builders[0] == N_KINDS, "one builder per scene");

const ag_nerf_scene_kind *ag_nerf_scene_kinds(int *n) {
  *n = N_KINDS;
  return kinds;
}

static int kind_index(const char *name) {
  for (int i = 0; i < N_KINDS; i++)
    if (strcmp(kinds[i].name, name) == 0) return i;
  return -1;
}

ag_status ag_nerf_scene_kind_check(const char *name) {
  if (kind_index(name) >= 0) return AG_OK;
  char known[256] = "";
  for (int i = 0; i < N_KINDS; i++)
    snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", i ? ", " : "",
             kinds[i].name);
  return ag_set_error(AG_ERR_INVALID, "unknown scene '%s'; known scenes: %s", name, known);
}

static ag_status build_scene(const char *name, scene *s) {
  AG_TRY(ag_nerf_scene_kind_check(name));
  memset(s, 0, sizeof *s);
  builders[kind_index(name)](s);
  return AG_OK;
}

/* ---- cameras --------------------------------------------------------------- */

static const char *const SPLITS[3] = {"train", "val", "test"};

/* On the sphere of CAMERA_RADIUS at height z (as a fraction of it) and
 * azimuth `az`, looking at the origin with world +z up. */
static ag_nerf_camera camera_at(double az, double z, int res) {
  const double ring = sqrt(1 - z * z);
  const vec3 pos = scale(v3(ring * cos(az), ring * sin(az), z), CAMERA_RADIUS);
  const vec3 back = normalize(pos);
  const vec3 right = normalize(cross(v3(0, 0, 1), back));
  const vec3 up = cross(back, right);
  const vec3 cols[4] = {right, up, back, pos};
  ag_nerf_camera c = {.w = res, .h = res};
  for (int k = 0; k < 4; k++) {
    c.c2w[k] = (float)cols[k].x;
    c.c2w[4 + k] = (float)cols[k].y;
    c.c2w[8 + k] = (float)cols[k].z;
  }
  /* as the reader computes it from camera_angle_x, so both agree exactly */
  c.fx = c.fy = (float)(0.5 * res / tan(0.5 * CAMERA_ANGLE_X));
  c.cx = c.cy = 0.5f * (float)res;
  return c;
}

/* View i of a split: elevations between 8 and 80 degrees; train views on a
 * Fibonacci spiral (even coverage), val and test views at random. */
static ag_nerf_camera view_camera(const ag_nerf_make_opts *o, int split, int i) {
  const double z_lo = sin(8 * PI / 180), z_hi = sin(80 * PI / 180);
  const double golden_angle = PI * (3 - sqrt(5.0));
  if (split == 0) {
    const double z = z_lo + (z_hi - z_lo) * (i + 0.5) / o->views[0];
    return camera_at(2 * PI * uniform01(o->seed, 1, 0) + i * golden_angle, z, o->res);
  }
  const double z = z_lo + (z_hi - z_lo) * uniform01(o->seed, 2 * (uint64_t)split, (uint64_t)i);
  return camera_at(2 * PI * uniform01(o->seed, 2 * (uint64_t)split + 1, (uint64_t)i), z, o->res);
}

/* ---- the tracer ------------------------------------------------------------- */

static uint8_t to_u8(double v) { return (uint8_t)(fmin(fmax(v, 0.0), 1.0) * 255.0 + 0.5); }

/* aa x aa stratified jittered rays; straight alpha: colour is the mean of
 * the rays that hit, alpha the fraction that did. */
static void render_pixel(const scene *s, const ag_nerf_camera *cam, int aa, uint64_t seed,
                         uint64_t stream, int x, int y, uint8_t out[4]) {
  vec3 sum = v3(0, 0, 0);
  int hits = 0;
  for (int k = 0; k < aa * aa; k++) {
    const uint64_t index =
        2 * (((uint64_t)y * (uint64_t)cam->w + (uint64_t)x) * (uint64_t)(aa * aa) + (uint64_t)k);
    const float px = (float)(x + (k % aa + uniform01(seed, stream, index)) / aa);
    const float py = (float)(y + (k / aa + uniform01(seed, stream, index + 1)) / aa);
    float of[3], df[3];
    ag_nerf_camera_ray(cam, px, py, of, df);
    const vec3 o = v3(of[0], of[1], of[2]), d = normalize(v3(df[0], df[1], df[2]));
    hit h;
    if (trace(s, o, d, &h)) {
      sum = add(sum, shade(s, &h, o, d));
      hits++;
    }
  }
  const vec3 c = hits ? scale(sum, 1.0 / hits) : v3(0, 0, 0);
  out[0] = to_u8(c.x), out[1] = to_u8(c.y), out[2] = to_u8(c.z);
  out[3] = to_u8((double)hits / (aa * aa));
}

static void render_view(const scene *s, const ag_nerf_camera *cam, int aa, uint64_t seed,
                        uint64_t stream, uint8_t *rgba) {
#pragma omp parallel for schedule(dynamic, 1)
  for (int y = 0; y < cam->h; y++)
    for (int x = 0; x < cam->w; x++)
      render_pixel(s, cam, aa, seed, stream, x, y,
                   rgba + 4 * ((size_t)y * (size_t)cam->w + (size_t)x));
}

/* ---- the writer ---------------------------------------------------------------- */

static ag_status make_dir(const char *path) {
  struct stat sb;
  if (mkdir(path, 0777) == 0 || (errno == EEXIST && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)))
    return AG_OK;
  return ag_set_error(AG_ERR_IO, "make-scene: cannot create directory %s (%s)", path,
                      errno == EEXIST ? "a file is in the way" : strerror(errno));
}

static ag_status join(char *out, const char *dir, const char *name) {
  if (snprintf(out, PATH_LEN, "%s/%s", dir, name) >= PATH_LEN)
    return ag_set_error(AG_ERR_INVALID, "make-scene: path %s/%s is too long", dir, name);
  return AG_OK;
}

static ag_status json_path(const char *dir, int split, char *out) {
  char name[64];
  snprintf(name, sizeof name, "transforms_%s.json", SPLITS[split]);
  return join(out, dir, name);
}

/* The directories, without the json files of a scene made there before. */
static ag_status prepare_dir(const char *dir) {
  AG_TRY(make_dir(dir));
  for (int s = 0; s < 3; s++) {
    char path[PATH_LEN];
    AG_TRY(join(path, dir, SPLITS[s]));
    AG_TRY(make_dir(path));
    AG_TRY(json_path(dir, s, path));
    if (remove(path) != 0 && errno != ENOENT)
      return ag_set_error(AG_ERR_IO, "make-scene: cannot remove the old %s (%s)", path,
                          strerror(errno));
  }
  return AG_OK;
}

static ag_status render_split(const scene *s, const char *dir, const ag_nerf_make_opts *o,
                              int split, const ag_nerf_camera *cams) {
  const size_t n = (size_t)o->res * (size_t)o->res * 4;
  uint8_t *rgba = malloc(n);
  if (!rgba)
    return ag_set_error(AG_ERR_OOM, "make-scene: out of memory for a %dx%d view", o->res, o->res);
  ag_status st = AG_OK;
  for (int i = 0; st == AG_OK && i < o->views[split]; i++) {
    char name[64], path[PATH_LEN];
    snprintf(name, sizeof name, "%s/r_%d.png", SPLITS[split], i);
    render_view(s, &cams[i], o->aa, o->seed, ((uint64_t)(split + 1) << 40) | (uint64_t)i, rgba);
    st = join(path, dir, name);
    if (st == AG_OK) st = ag_png_write(path, rgba, o->res, o->res, 4);
  }
  free(rgba);
  return st;
}

static cJSON *matrix_json(const ag_nerf_camera *c) {
  cJSON *m = cJSON_CreateArray();
  for (int r = 0; r < 4; r++) {
    const double row[4] = {r < 3 ? c->c2w[4 * r] : 0, r < 3 ? c->c2w[4 * r + 1] : 0,
                           r < 3 ? c->c2w[4 * r + 2] : 0, r < 3 ? c->c2w[4 * r + 3] : 1};
    cJSON_AddItemToArray(m, cJSON_CreateDoubleArray(row, 4));
  }
  return m;
}

static char *split_json(const char *name, const ag_nerf_make_opts *o, int split,
                        const ag_nerf_camera *cams) {
  cJSON *j = cJSON_CreateObject();
  cJSON_AddNumberToObject(j, "camera_angle_x", CAMERA_ANGLE_X);
  cJSON_AddNumberToObject(j, "w", o->res);
  cJSON_AddNumberToObject(j, "h", o->res);
  cJSON_AddNumberToObject(j, "aabb_scale", 1);
  cJSON_AddStringToObject(j, "aigc_scene", name);
  cJSON_AddNumberToObject(j, "aigc_seed", (double)o->seed);
  cJSON *frames = cJSON_AddArrayToObject(j, "frames");
  for (int i = 0; i < o->views[split]; i++) {
    char file[64];
    snprintf(file, sizeof file, "./%s/r_%d", SPLITS[split], i);
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "file_path", file);
    cJSON_AddItemToObject(f, "transform_matrix", matrix_json(&cams[i]));
    cJSON_AddItemToArray(frames, f);
  }
  char *text = cJSON_Print(j);
  cJSON_Delete(j);
  return text;
}

/* To "<path>.tmp", renamed over path once all of it is written. */
static ag_status write_text(const char *path, const char *text) {
  char tmp[PATH_LEN + 8];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "wb");
  if (!f) return ag_set_error(AG_ERR_IO, "make-scene: cannot create %s (%s)", tmp, strerror(errno));
  const size_t len = strlen(text);
  int ok = fwrite(text, 1, len, f) == len;
  ok = fclose(f) == 0 && ok;
  if (!ok || rename(tmp, path) != 0) {
    remove(tmp);
    return ag_set_error(AG_ERR_IO, "make-scene: writing %s failed (disk full?)", path);
  }
  return AG_OK;
}

static ag_status write_jsons(const char *name, const char *dir, const ag_nerf_make_opts *o,
                             ag_nerf_camera *const cams[3]) {
  for (int s = 0; s < 3; s++) {
    char path[PATH_LEN];
    AG_TRY(json_path(dir, s, path));
    char *text = split_json(name, o, s, cams[s]);
    const ag_status st = text ? write_text(path, text)
                              : ag_set_error(AG_ERR_OOM, "make-scene: out of memory for %s", path);
    free(text);
    AG_TRY(st);
  }
  return AG_OK;
}

ag_nerf_make_opts ag_nerf_make_default_opts(void) {
  return (ag_nerf_make_opts){.res = 128, .views = {100, 10, 20}, .aa = 4, .seed = 1};
}

static ag_status check_opts(const ag_nerf_make_opts *o) {
  if (o->res < 1 || o->res > MAX_RES)
    return ag_set_error(AG_ERR_INVALID, "make-scene: res %d: 1..%d expected", o->res, MAX_RES);
  if (o->aa < 1 || o->aa > MAX_AA)
    return ag_set_error(AG_ERR_INVALID, "make-scene: aa %d: 1..%d expected", o->aa, MAX_AA);
  for (int s = 0; s < 3; s++)
    if (o->views[s] < 1 || o->views[s] > MAX_VIEWS)
      return ag_set_error(AG_ERR_INVALID, "make-scene: %d %s views: 1..%d expected", o->views[s],
                          SPLITS[s], MAX_VIEWS);
  return AG_OK;
}

ag_status ag_nerf_make_scene(const char *name, const char *dir, const ag_nerf_make_opts *o) {
  scene s;
  AG_TRY(check_opts(o));
  AG_TRY(build_scene(name, &s));
  ag_status st = prepare_dir(dir);
  ag_nerf_camera *cams[3] = {NULL, NULL, NULL};
  for (int k = 0; st == AG_OK && k < 3; k++) {
    cams[k] = malloc(sizeof *cams[k] * (size_t)o->views[k]);
    if (!cams[k]) st = ag_set_error(AG_ERR_OOM, "make-scene: out of memory for the cameras");
    for (int i = 0; st == AG_OK && i < o->views[k]; i++) cams[k][i] = view_camera(o, k, i);
    if (st == AG_OK) st = render_split(&s, dir, o, k, cams[k]);
  }
  if (st == AG_OK) st = write_jsons(name, dir, o, cams);
  for (int k = 0; k < 3; k++) free(cams[k]);
  return st;
}
