/* Rendering views of a NeRF and measuring them (see ag_nerf.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nerf_internal.h"
#include "runtime/core/ag_info.h"

ag_status nerf_batch_build(ag_graph *g, ag_params *p, const ag_nerf_config *c, ag_tensor *bitfield,
                           int64_t rays, int64_t capacity, nerf_batch *b) {
  const int64_t shape[2] = {rays, 3};
  *b = (nerf_batch){.rays = rays, .capacity = capacity};
  b->origins = ag_graph_input(g, "origins", AG_F32, 2, shape);
  b->dirs = ag_graph_input(g, "dirs", AG_F32, 2, shape);
  b->bg = ag_graph_input(g, "bg", AG_F32, 2, shape);
  const ag_ray_march_args m = {.aabb_min = -c->bound,
                               .aabb_max = c->bound,
                               .dt = ag_nerf_dt(c),
                               .near = 0.0f,
                               .grid_res = c->occ_res,
                               .max_samples = c->max_ray_samples,
                               .capacity = capacity};
  ag_ray_samples *s = &b->samples;
  ag_ray_march(g, b->origins, b->dirs, ag_graph_const(g, bitfield), &m, s);
  ag_tensor *sigma = NULL, *rgb = NULL;
  if (ag_graph_status(g) == AG_OK) ag_nerf_field(g, p, c, s->positions, s->dirs, &sigma, &rgb);
  b->color = ag_graph_output(
      g, ag_composite(g, sigma, rgb, s->dt, s->t, s->rays, b->bg, &b->depth, &b->opacity));
  ag_graph_output(g, b->depth);
  ag_graph_output(g, b->opacity);
  ag_graph_output(g, s->rays);
  ag_graph_output(g, s->total);
  if (ag_graph_status(g) != AG_OK)
    return ag_set_error(ag_graph_status(g), "nerf: %s", ag_graph_error(g));
  return AG_OK;
}

void nerf_dead_ray(const ag_nerf_config *c, float o[3], float d[3]) {
  o[0] = o[1] = o[2] = 4.0f * c->bound;
  d[0] = 1.0f, d[1] = d[2] = 0.0f;
}

/* ---- the renderer ------------------------------------------------------- */

struct ag_nerf_renderer {
  ag_nerf_config c;
  ag_graph *g;
  ag_sched *s;
  nerf_batch b;
  float *origins, *dirs, *bg, *color, *opacity, *depth;
  int32_t *rays;
  int aa;       /* rays per pixel side */
  float ox, oy; /* this pass's ray position inside its pixel, in [0, 1) */
};

void ag_nerf_renderer_free(ag_nerf_renderer *r) {
  if (!r) return;
  ag_sched_free(r->s);
  ag_graph_free(r->g);
  free(r->origins), free(r->dirs), free(r->bg), free(r->color), free(r->opacity);
  free(r->depth), free(r->rays);
  free(r);
}

/* Samples a batch of rays may hold: enough for rays of 32 samples on
 * average, and for the longest ray alone, so every batch completes one. */
static int64_t render_capacity(const ag_nerf_config *c, int64_t rays) {
  const int64_t mean = 32 * rays;
  return mean > c->max_ray_samples ? mean : c->max_ray_samples;
}

ag_status ag_nerf_renderer_new(ag_params *p, const ag_nerf_config *c, ag_tensor *bitfield,
                               int64_t rays, ag_nerf_renderer **out) {
  *out = NULL;
  if (rays < 1) return ag_set_error(AG_ERR_INVALID, "nerf render: %lld rays", (long long)rays);
  ag_nerf_renderer *r = calloc(1, sizeof *r);
  if (!r) return ag_set_error(AG_ERR_OOM, "nerf: out of host memory");
  r->c = *c;
  r->aa = 1;
  const size_t n3 = 3 * (size_t)rays;
  r->origins = malloc(sizeof(float) * n3), r->dirs = malloc(sizeof(float) * n3);
  r->bg = malloc(sizeof(float) * n3), r->color = malloc(sizeof(float) * n3);
  r->opacity = malloc(sizeof(float) * (size_t)rays),
  r->depth = malloc(sizeof(float) * (size_t)rays);
  r->rays = malloc(sizeof(int32_t) * 2 * (size_t)rays);
  r->g = ag_graph_new(ag_params_backend(p));
  ag_status st =
      r->origins && r->dirs && r->bg && r->color && r->opacity && r->depth && r->rays && r->g
          ? AG_OK
          : ag_set_error(AG_ERR_OOM, "nerf: out of host memory");
  if (st == AG_OK)
    st = nerf_batch_build(r->g, p, c, bitfield, rays, render_capacity(c, rays), &r->b);
  if (st == AG_OK) st = ag_sched_new(r->g, NULL, &r->s);
  if (st != AG_OK) {
    ag_nerf_renderer_free(r);
    return st;
  }
  *out = r;
  return AG_OK;
}

/* Rays of pixels first .. first + m - 1 of the view (row-major), the rest
 * of the batch dead. */
static void fill_rays(ag_nerf_renderer *r, const ag_nerf_camera *cam, const float bg[3],
                      int64_t first, int64_t m) {
  for (int64_t i = 0; i < r->b.rays; i++) {
    float *o = r->origins + 3 * i, *d = r->dirs + 3 * i;
    if (i < m) {
      const int64_t px = (first + i) % cam->w, py = (first + i) / cam->w;
      ag_nerf_camera_ray(cam, (float)px + r->ox, (float)py + r->oy, o, d);
    } else {
      nerf_dead_ray(&r->c, o, d);
    }
    memcpy(r->bg + 3 * i, bg, 3 * sizeof *bg);
  }
}

/* How many of the batch's first m rays got all their samples: all unless
 * the march filled its capacity, then those before the first ray that
 * reached it (it may have been cut). */
static ag_status complete_rays(ag_nerf_renderer *r, int64_t m, int64_t *done, int64_t *samples) {
  int32_t total = 0;
  AG_TRY(ag_tensor_read(r->b.samples.total, &total, sizeof total));
  *samples = total;
  *done = m;
  if (total < r->b.capacity) return AG_OK;
  AG_TRY(ag_tensor_read(r->b.samples.rays, r->rays, sizeof(int32_t) * 2 * (size_t)r->b.rays));
  for (int64_t i = 0; i < m; i++)
    if ((int64_t)r->rays[2 * i] + r->rays[2 * i + 1] >= r->b.capacity) {
      *done = i;
      break;
    }
  if (*done > 0) return AG_OK;
  return ag_set_error(AG_ERR_INVALID, "nerf render: one ray needs more than %lld samples",
                      (long long)r->b.capacity);
}

static ag_status read_batch(ag_nerf_renderer *r, int64_t first, int64_t done, float *rgb,
                            float *opacity, float *depth) {
  const size_t n = (size_t)r->b.rays;
  if (rgb) {
    AG_TRY(ag_tensor_read(r->b.color, r->color, sizeof(float) * 3 * n));
    memcpy(rgb + 3 * first, r->color, sizeof(float) * 3 * (size_t)done);
  }
  if (opacity) {
    AG_TRY(ag_tensor_read(r->b.opacity, r->opacity, sizeof(float) * n));
    memcpy(opacity + first, r->opacity, sizeof(float) * (size_t)done);
  }
  if (depth) {
    AG_TRY(ag_tensor_read(r->b.depth, r->depth, sizeof(float) * n));
    memcpy(depth + first, r->depth, sizeof(float) * (size_t)done);
  }
  return AG_OK;
}

/* The view with every ray at (ox, oy) inside its pixel. */
static ag_status render_pass(ag_nerf_renderer *r, const ag_nerf_camera *cam, const float bg[3],
                             float *rgb, float *opacity, float *depth, int64_t *samples) {
  const int64_t pixels = (int64_t)cam->w * cam->h;
  const size_t bytes = sizeof(float) * 3 * (size_t)r->b.rays;
  int64_t marched = 0;
  for (int64_t next = 0; next < pixels;) {
    const int64_t m = pixels - next < r->b.rays ? pixels - next : r->b.rays;
    int64_t done = 0, got = 0;
    fill_rays(r, cam, bg, next, m);
    AG_TRY(ag_tensor_write(r->b.origins, r->origins, bytes));
    AG_TRY(ag_tensor_write(r->b.dirs, r->dirs, bytes));
    AG_TRY(ag_tensor_write(r->b.bg, r->bg, bytes));
    AG_TRY(ag_sched_run(r->s));
    AG_TRY(complete_rays(r, m, &done, &got));
    AG_TRY(read_batch(r, next, done, rgb, opacity, depth));
    marched += got;
    next += done;
  }
  if (samples) *samples = marched;
  return AG_OK;
}

void ag_nerf_renderer_set_aa(ag_nerf_renderer *r, int aa) { r->aa = aa < 1 ? 1 : aa; }

/* dst += src / k over n values, when both are there. */
static void accumulate(float *dst, const float *src, size_t n, float k) {
  for (size_t i = 0; dst && i < n; i++) dst[i] += src[i] / k;
}

/* aa x aa passes, one through each sub-pixel's centre, averaged into the
 * outputs. */
static ag_status render_supersampled(ag_nerf_renderer *r, const ag_nerf_camera *cam,
                                     const float bg[3], float *rgb, float *opacity, float *depth,
                                     int64_t *samples) {
  const size_t n = (size_t)cam->w * (size_t)cam->h;
  float *c = rgb ? malloc(sizeof(float) * 3 * n) : NULL,
        *a = opacity ? malloc(sizeof(float) * n) : NULL;
  float *d = depth ? malloc(sizeof(float) * n) : NULL;
  ag_status st = (!rgb || c) && (!opacity || a) && (!depth || d)
                     ? AG_OK
                     : ag_set_error(AG_ERR_OOM, "nerf render: out of host memory");
  if (rgb) memset(rgb, 0, sizeof(float) * 3 * n);
  if (opacity) memset(opacity, 0, sizeof(float) * n);
  if (depth) memset(depth, 0, sizeof(float) * n);
  const float passes = (float)(r->aa * r->aa);
  int64_t marched = 0;
  for (int s = 0; st == AG_OK && s < r->aa * r->aa; s++) {
    int64_t got = 0;
    r->ox = ((float)(s % r->aa) + 0.5f) / (float)r->aa;
    r->oy = ((float)(s / r->aa) + 0.5f) / (float)r->aa;
    st = render_pass(r, cam, bg, c, a, d, &got);
    accumulate(rgb, c, 3 * n, passes);
    accumulate(opacity, a, n, passes);
    accumulate(depth, d, n, passes);
    marched += got;
  }
  free(c), free(a), free(d);
  if (samples) *samples = marched;
  return st;
}

ag_status ag_nerf_render_view(ag_nerf_renderer *r, const ag_nerf_camera *cam, const float bg[3],
                              float *rgb, float *opacity, float *depth, int64_t *samples) {
  if (r->aa > 1) return render_supersampled(r, cam, bg, rgb, opacity, depth, samples);
  r->ox = r->oy = 0.5f;
  return render_pass(r, cam, bg, rgb, opacity, depth, samples);
}

void ag_nerf_orbit(int n, int w, int h, float radius, float elevation, ag_nerf_camera *cams) {
  const float focal = 0.5f * (float)w / tanf(0.5f * 0.6911112f);
  for (int i = 0; i < n; i++) {
    const float a = 6.2831853f * (float)i / (float)n;
    const float back[3] = {cosf(elevation) * cosf(a), cosf(elevation) * sinf(a), sinf(elevation)};
    const float right[3] = {-sinf(a), cosf(a), 0.0f}; /* z x back, normalised */
    const float up[3] = {back[1] * right[2] - back[2] * right[1],
                         back[2] * right[0] - back[0] * right[2],
                         back[0] * right[1] - back[1] * right[0]};
    ag_nerf_camera *c = &cams[i];
    *c = (ag_nerf_camera){.fx = focal, .fy = focal, .cx = 0.5f * w, .cy = 0.5f * h, .w = w, .h = h};
    for (int r = 0; r < 3; r++) {
      c->c2w[4 * r + 0] = right[r];
      c->c2w[4 * r + 1] = up[r];
      c->c2w[4 * r + 2] = back[r];
      c->c2w[4 * r + 3] = radius * back[r];
    }
  }
}

/* v in [0, 1] as a byte, rounded. */
static uint8_t to_byte(float v) {
  v = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
  return (uint8_t)(v * 255.0f + 0.5f);
}

void ag_nerf_to_rgba(const float *rgb, const float *opacity, int64_t n, uint8_t *rgba) {
  for (int64_t i = 0; i < n; i++) {
    const float a = opacity[i];
    for (int k = 0; k < 3; k++) rgba[4 * i + k] = to_byte(a > 1e-4f ? rgb[3 * i + k] / a : 0.0f);
    rgba[4 * i + 3] = to_byte(a);
  }
}

/* ---- measuring ------------------------------------------------------------ */

double ag_nerf_psnr(const float *a, const float *b, int64_t n) {
  double se = 0;
  for (int64_t i = 0; i < n; i++) se += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
  const double mse = se / (double)n;
  return mse > 0 ? -10.0 * log10(mse) : INFINITY;
}

/* The 11-tap Gaussian of sigma 1.5, normalised. */
static void gaussian11(double w[11]) {
  double sum = 0;
  for (int i = 0; i < 11; i++) sum += w[i] = exp(-(i - 5) * (i - 5) / (2 * 1.5 * 1.5));
  for (int i = 0; i < 11; i++) w[i] /= sum;
}

/* Mean SSIM of one channel over the windows that fit inside the image
 * (Wang et al. 2004; C1 = 0.01^2, C2 = 0.03^2 for a range of 1). */
static double ssim_channel(const float *a, const float *b, int w, int h, int ch) {
  double k[11], total = 0;
  gaussian11(k);
  int64_t windows = 0;
  for (int y = 0; y + 11 <= h; y++)
    for (int x = 0; x + 11 <= w; x++) {
      double ma = 0, mb = 0, aa = 0, bb = 0, ab = 0;
      for (int j = 0; j < 11; j++)
        for (int i = 0; i < 11; i++) {
          const double kw = k[i] * k[j];
          const double va = a[3 * ((y + j) * w + x + i) + ch],
                       vb = b[3 * ((y + j) * w + x + i) + ch];
          ma += kw * va, mb += kw * vb, aa += kw * va * va, bb += kw * vb * vb, ab += kw * va * vb;
        }
      const double c1 = 1e-4, c2 = 9e-4;
      const double va = aa - ma * ma, vb = bb - mb * mb, cov = ab - ma * mb;
      total += (2 * ma * mb + c1) * (2 * cov + c2) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
      windows++;
    }
  return windows ? total / (double)windows : 1.0;
}

double ag_nerf_ssim(const float *a, const float *b, int w, int h) {
  return (ssim_channel(a, b, w, h, 0) + ssim_channel(a, b, w, h, 1) + ssim_channel(a, b, w, h, 2)) /
         3.0;
}

void ag_nerf_reference(const ag_image *img, const float bg[3], float *rgb) {
  const int64_t n = (int64_t)img->w * img->h;
  for (int64_t i = 0; i < n; i++) ag_nerf_composite(img->pixels + 4 * i, bg, rgb + 3 * i);
}

ag_status ag_nerf_evaluate(const ag_nerf_model *m, const ag_nerf_scene *s, int aa,
                           ag_nerf_eval *out) {
  const float white[3] = {1, 1, 1};
  ag_nerf_renderer *r = NULL;
  float *rgb = NULL, *ref = NULL;
  memset(out, 0, sizeof *out);
  const double t0 = ag_now_seconds();
  ag_status st = ag_nerf_renderer_new(m->p, &m->c, m->occ.bitfield, 4096, &r);
  if (st == AG_OK) ag_nerf_renderer_set_aa(r, aa);
  for (int i = 0; st == AG_OK && i < s->cameras.n; i++) {
    const ag_nerf_camera *cam = &s->cameras.cams[i];
    const size_t n = 3 * (size_t)cam->w * (size_t)cam->h;
    float *a = realloc(rgb, sizeof *a * n), *b = a ? realloc(ref, sizeof *b * n) : NULL;
    if (a) rgb = a;
    if (b) ref = b;
    if (!a || !b) st = ag_set_error(AG_ERR_OOM, "nerf eval: out of host memory");
    int64_t samples = 0;
    if (st == AG_OK) st = ag_nerf_render_view(r, cam, white, rgb, NULL, NULL, &samples);
    if (st != AG_OK) break;
    ag_nerf_reference(&s->images[i], white, ref);
    out->psnr += ag_nerf_psnr(rgb, ref, (int64_t)n) / s->cameras.n;
    out->ssim += ag_nerf_ssim(rgb, ref, cam->w, cam->h) / s->cameras.n;
    out->samples += samples;
    out->views++;
  }
  out->seconds = ag_now_seconds() - t0;
  ag_nerf_renderer_free(r);
  free(rgb), free(ref);
  return st;
}
