// References: the volume rendering ops (runtime/ops/volume.list), stated in
// double. The ray march tests the cell of every dt-segment's midpoint (no
// skipping of empty cells), which the kernels' jumps must reproduce; the
// compositing backward is the direct O(K^2) sum over later samples.
#include <algorithm>

#include "op_reference.h"

using namespace ag_test;

namespace {

RefTensors occ_update(const RefCall &r) {
  const ag_occ_update_args a = ag_occ_update_args_decode(&r.params);
  const RefTensor &grid = r.in[0], &idx = r.in[1], &density = r.in[2];
  RefTensor out = zeros(grid.shape);
  for (size_t c = 0; c < out.v.size(); c++) out.v[c] = std::max(grid.v[c] * a.decay, 0.0);
  for (size_t i = 0; i < idx.v.size(); i++) {
    const double c = idx.v[i];
    if (c >= 0 && c < (double)out.v.size())
      out.v[(size_t)c] = std::max(out.v[(size_t)c], density.v[i]);
  }
  return {out};
}

RefTensors occ_bitfield(const RefCall &r) {
  const ag_occ_bitfield_args a = ag_occ_bitfield_args_decode(&r.params);
  const RefTensor &grid = r.in[0];
  double mean = 0;
  for (double v : grid.v) mean += v;
  mean /= (double)grid.v.size();
  const double thr = std::min(mean, (double)a.threshold);
  RefTensor bits = zeros({(int64_t)(grid.v.size() + 7) / 8});
  for (size_t c = 0; c < grid.v.size(); c++)
    if (grid.v[c] > thr) bits.v[c / 8] += (double)(1 << (c % 8));
  return {bits};
}

// A ray clipped to the box and the near plane: [t0, t1] along unit d.
struct Ray {
  double o[3], d[3], t0, t1;
  bool hit;
};

Ray clip(const ag_ray_march_args &a, const double *o, const double *d) {
  Ray r{};
  const double len = std::sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
  r.t0 = a.near;
  r.t1 = INFINITY;
  r.hit = len > 0;
  for (int k = 0; k < 3 && r.hit; k++) {
    r.o[k] = o[k];
    r.d[k] = d[k] / len;
    if (r.d[k] == 0) {
      r.hit = o[k] >= a.aabb_min && o[k] <= a.aabb_max;
      continue;
    }
    const double ta = (a.aabb_min - o[k]) / r.d[k], tb = (a.aabb_max - o[k]) / r.d[k];
    r.t0 = std::max(r.t0, std::min(ta, tb));
    r.t1 = std::min(r.t1, std::max(ta, tb));
  }
  r.hit = r.hit && r.t0 < r.t1;
  return r;
}

bool occupied(const ag_ray_march_args &a, const RefTensor &bits, const double *p) {
  int64_t cell[3];
  for (int k = 0; k < 3; k++) {
    const double x = std::floor((p[k] - a.aabb_min) / (a.aabb_max - a.aabb_min) * a.grid_res);
    cell[k] = std::clamp((int64_t)x, (int64_t)0, a.grid_res - 1);
  }
  const int64_t c = cell[0] + a.grid_res * (cell[1] + a.grid_res * cell[2]);
  return ((int)bits.v[(size_t)(c / 8)] >> (c % 8)) & 1;
}

RefTensors ray_march(const RefCall &r) {
  const ag_ray_march_args a = ag_ray_march_args_decode(&r.params);
  const RefTensor &orig = r.in[0], &dirs = r.in[1], &bits = r.in[2];
  const int64_t n = orig.shape[0], s = a.capacity;
  RefTensor pos = zeros({s, 3}), sdir = zeros({s, 3}), t = zeros({s}), dt = zeros({s});
  RefTensor rays = zeros({n, 2}), total = zeros({1});
  int64_t used = 0;
  for (int64_t i = 0; i < n; i++) {
    const Ray ray = clip(a, &orig.v[(size_t)(3 * i)], &dirs.v[(size_t)(3 * i)]);
    rays.v[(size_t)(2 * i)] = (double)used;
    int64_t kept = 0;
    for (int64_t k = 0;
         ray.hit && kept < a.max_samples && used < s && ray.t0 + (double)(k + 1) * a.dt <= ray.t1;
         k++) {
      const double tm = ray.t0 + ((double)k + 0.5) * a.dt;
      double p[3];
      for (int j = 0; j < 3; j++) p[j] = ray.o[j] + tm * ray.d[j];
      if (!occupied(a, bits, p)) continue;
      for (int j = 0; j < 3; j++) {
        pos.v[(size_t)(3 * used + j)] = p[j];
        sdir.v[(size_t)(3 * used + j)] = ray.d[j];
      }
      t.v[(size_t)used] = tm;
      dt.v[(size_t)used] = a.dt;
      used++, kept++;
    }
    rays.v[(size_t)(2 * i + 1)] = (double)kept;
  }
  total.v[0] = (double)used;
  return {pos, sdir, t, dt, rays, total};
}

// One ray's samples [b, e) up to where compositing stops, with each weight.
struct Weights {
  std::vector<double> w, tr;  // w and T before each sample [b, stop)
  double opacity;
};

Weights weights(const RefCall &r, int64_t b, int64_t e) {
  const RefTensor &sigma = r.in[0], &dt = r.in[2];
  Weights out{{}, {}, 0};
  double tr = 1;
  for (int64_t i = b; i < e && tr >= 1e-4; i++) {
    const double alpha = 1 - std::exp(-sigma.v[(size_t)i] * dt.v[(size_t)i]);
    out.w.push_back(tr * alpha);
    out.tr.push_back(tr);
    out.opacity += tr * alpha;
    tr *= 1 - alpha;
  }
  return out;
}

void range(const RefTensor &rays, int64_t i, int64_t *b, int64_t *e) {
  *b = (int64_t)rays.v[(size_t)(2 * i)];
  *e = *b + (int64_t)rays.v[(size_t)(2 * i + 1)];
}

RefTensors composite(const RefCall &r) {
  const RefTensor &rgb = r.in[1], &t = r.in[3], &rays = r.in[4], &bg = r.in[5];
  const int64_t n = rays.shape[0];
  RefTensor color = zeros({n, 3}), depth = zeros({n}), opacity = zeros({n});
  for (int64_t i = 0; i < n; i++) {
    int64_t b, e;
    range(rays, i, &b, &e);
    const Weights w = weights(r, b, e);
    for (size_t k = 0; k < w.w.size(); k++) {
      for (int j = 0; j < 3; j++) color.v[(size_t)(3 * i + j)] += w.w[k] * rgb.v[3 * (b + k) + j];
      depth.v[(size_t)i] += w.w[k] * t.v[b + k];
    }
    for (int j = 0; j < 3; j++) color.v[(size_t)(3 * i + j)] += (1 - w.opacity) * bg.v[3 * i + j];
    opacity.v[(size_t)i] = w.opacity;
  }
  return {color, depth, opacity};
}

// L = sum_i w_i v_i + (gc . bg) with v_i = gc.(rgb_i - bg) + gd t_i + go;
// w_i = T_i alpha_i depends on sigma_k for k <= i:
//   dw_i/dsigma_i = dt_i T_i (1 - alpha_i),  dw_i/dsigma_k = -dt_k w_i (k < i).
RefTensors composite_backward(const RefCall &r, const RefTensors &gy) {
  const RefTensor &sigma = r.in[0], &rgb = r.in[1], &dt = r.in[2], &t = r.in[3];
  const RefTensor &rays = r.in[4], &bg = r.in[5];
  const RefTensor &gc = gy[0], &gd = gy[1], &go = gy[2];
  const int64_t n = rays.shape[0];
  RefTensor dsigma = zeros(sigma.shape), drgb = zeros(rgb.shape), dbg = zeros(bg.shape);
  for (int64_t i = 0; i < n; i++) {
    int64_t b, e;
    range(rays, i, &b, &e);
    const Weights w = weights(r, b, e);
    const size_t k_end = w.w.size();
    std::vector<double> v(k_end);
    for (size_t k = 0; k < k_end; k++) {
      v[k] = gd.v[(size_t)i] * t.v[b + k] + go.v[(size_t)i];
      for (int j = 0; j < 3; j++)
        v[k] += gc.v[(size_t)(3 * i + j)] * (rgb.v[3 * (b + k) + j] - bg.v[(size_t)(3 * i + j)]);
    }
    for (size_t k = 0; k < k_end; k++) {
      const double x = sigma.v[b + k] * dt.v[b + k], alpha = 1 - std::exp(-x);
      double later = 0;
      for (size_t q = k + 1; q < k_end; q++) later += w.w[q] * v[q];
      dsigma.v[b + k] = dt.v[b + k] * (w.tr[k] * (1 - alpha) * v[k] - later);
      for (int j = 0; j < 3; j++) drgb.v[3 * (b + k) + j] = w.w[k] * gc.v[(size_t)(3 * i + j)];
    }
    for (int j = 0; j < 3; j++)
      dbg.v[(size_t)(3 * i + j)] = gc.v[(size_t)(3 * i + j)] * (1 - w.opacity);
  }
  return {dsigma, drgb, RefTensor{}, RefTensor{}, RefTensor{}, dbg};
}

}  // namespace

AG_OP_REFERENCE(volume) {
  return {
      {AG_OP_OCC_UPDATE, {occ_update, nullptr}},
      {AG_OP_OCC_BITFIELD, {occ_bitfield, nullptr}},
      {AG_OP_RAY_MARCH, {ray_march, nullptr}},
      {AG_OP_COMPOSITE, {composite, composite_backward}},
  };
}
