// NeRF mesh export without a model: marching tetrahedra on analytic density
// fields (a sphere off the lattice's centre: every vertex on it, the mesh
// closed and consistently wound outward, its volume the sphere's, genus 0;
// empty and full fields give nothing; a non-finite value is refused), and
// the PLY writer's file read back byte for byte.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "ag_test_util.h"

extern "C" {
#include "models/nerf/ag_nerf_mesh.h"
}

namespace fs = std::filesystem;

namespace {

const float kCentre[3] = {0.1f, -0.2f, 0.05f};
const float kRadius = 0.6f;

// n^3 values over [-1, 1]^3, x fastest, of f(distance from the centre).
template <typename F>
std::vector<float> sphere_field(int64_t n, F f) {
  std::vector<float> v(n * n * n);
  const float step = 2.0f / (float)(n - 1);
  for (int64_t z = 0; z < n; z++)
    for (int64_t y = 0; y < n; y++)
      for (int64_t x = 0; x < n; x++) {
        const float p[3] = {-1 + step * x, -1 + step * y, -1 + step * z};
        float d2 = 0;
        for (int a = 0; a < 3; a++) d2 += (p[a] - kCentre[a]) * (p[a] - kCentre[a]);
        v[x + n * (y + n * z)] = f(std::sqrt(d2));
      }
  return v;
}

struct Mesh {
  ag_mesh m{};
  ag_status st;
  Mesh(const std::vector<float> &values, int64_t n, float iso) {
    const ag_mesh_grid g = {values.data(), n, -1.0f, 1.0f};
    st = ag_mesh_extract(&g, iso, &m);
  }
  ~Mesh() { ag_mesh_free(&m); }
  const float *vertex(int32_t i) const { return m.pos + 3 * i; }
};

// Density 10 on the sphere, rising inwards: a NeRF-like blob at iso 10.
Mesh sphere_mesh(int64_t n) {
  return Mesh(sphere_field(n, [](float d) { return 10.0f + 20.0f * (kRadius - d); }), n, 10.0f);
}

double signed_volume(const ag_mesh &m) {
  double v = 0;
  for (int64_t t = 0; t < m.triangles; t++) {
    const float *a = m.pos + 3 * m.tri[3 * t], *b = m.pos + 3 * m.tri[3 * t + 1],
                *c = m.pos + 3 * m.tri[3 * t + 2];
    v += (a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0]) +
          a[2] * (b[0] * c[1] - b[1] * c[0])) /
         6.0;
  }
  return v;
}

TEST(MeshExtract, SphereVerticesLieOnTheSphere) {
  Mesh s = sphere_mesh(48);
  ASSERT_EQ(s.st, AG_OK) << ag_last_error();
  ASSERT_GT(s.m.triangles, 1000);
  // The field is linear in the distance, so the only error is the distance
  // bending along an edge: at most (h sqrt 3)^2 / (8 r) = 0.0011 here.
  float worst = 0, worst_normal = 1;
  for (int32_t i = 0; i < s.m.vertices; i++) {
    const float *p = s.vertex(i), *n = s.m.normal + 3 * i;
    float d2 = 0, dot = 0, len2 = 0;
    for (int a = 0; a < 3; a++) d2 += (p[a] - kCentre[a]) * (p[a] - kCentre[a]);
    const float d = std::sqrt(d2);
    worst = std::fmax(worst, std::fabs(d - kRadius));
    for (int a = 0; a < 3; a++) dot += n[a] * (p[a] - kCentre[a]) / d, len2 += n[a] * n[a];
    EXPECT_NEAR(len2, 1.0f, 1e-5f);
    worst_normal = std::fmin(worst_normal, dot);
  }
  std::printf("%lld vertices, %lld triangles; worst distance error %.5f, worst normal cos %.5f\n",
              (long long)s.m.vertices, (long long)s.m.triangles, worst, worst_normal);
  EXPECT_LT(worst, 0.0015f);
  EXPECT_GT(worst_normal, 0.99f);  // the normals point out of the sphere
}

TEST(MeshExtract, SphereIsClosedWoundOutwardAndOfGenusZero) {
  Mesh s = sphere_mesh(48);
  ASSERT_EQ(s.st, AG_OK) << ag_last_error();
  // Every directed edge once and its reverse once: closed (each undirected
  // edge in exactly two triangles) and consistently wound.
  std::map<std::pair<int32_t, int32_t>, int> directed;
  std::set<std::pair<int32_t, int32_t>> undirected;
  for (int64_t t = 0; t < s.m.triangles; t++)
    for (int k = 0; k < 3; k++) {
      const int32_t a = s.m.tri[3 * t + k], b = s.m.tri[3 * t + (k + 1) % 3];
      ASSERT_NE(a, b);
      directed[{a, b}]++;
      undirected.insert({std::min(a, b), std::max(a, b)});
    }
  int64_t bad = 0;
  for (const auto &[e, count] : directed)
    bad += count != 1 || directed.count({e.second, e.first}) != 1;
  EXPECT_EQ(bad, 0);
  EXPECT_EQ((int64_t)directed.size(), 3 * s.m.triangles);
  EXPECT_EQ((int64_t)undirected.size() * 2, 3 * s.m.triangles);
  // Indexed (shared vertices), one piece of genus 0: V - E + F = 2.
  EXPECT_EQ(s.m.vertices - (int64_t)undirected.size() + s.m.triangles, 2);
  // Outward winding: the signed volume is the sphere's (the inscribed
  // polyhedron is a little smaller).
  const double v = signed_volume(s.m), sphere = 4.0 / 3.0 * M_PI * std::pow(kRadius, 3);
  std::printf("signed volume %.5f, sphere %.5f (%.2f%%)\n", v, sphere, 100 * (v / sphere - 1));
  EXPECT_GT(v, 0.98 * sphere);
  EXPECT_LT(v, 1.001 * sphere);
  // ... and every triangle faces away from the centre.
  int64_t inward = 0;
  for (int64_t t = 0; t < s.m.triangles; t++) {
    const float *a = s.vertex(s.m.tri[3 * t]), *b = s.vertex(s.m.tri[3 * t + 1]),
                *c = s.vertex(s.m.tri[3 * t + 2]);
    const float u[3] = {b[0] - a[0], b[1] - a[1], b[2] - a[2]};
    const float w[3] = {c[0] - a[0], c[1] - a[1], c[2] - a[2]};
    const float n[3] = {u[1] * w[2] - u[2] * w[1], u[2] * w[0] - u[0] * w[2],
                        u[0] * w[1] - u[1] * w[0]};
    float out = 0;
    for (int k = 0; k < 3; k++) out += n[k] * ((a[k] + b[k] + c[k]) / 3 - kCentre[k]);
    inward += out < 0;
  }
  EXPECT_EQ(inward, 0);
}

TEST(MeshExtract, ACurvedFieldStillGivesTheSphere) {
  // Density falling as a Gaussian, 10 on the sphere: the crossing is
  // interpolated linearly on a curved profile, so a looser bound.
  const float r2 = kRadius * kRadius;
  Mesh s(sphere_field(40, [&](float d) { return 20.0f * std::exp(-std::log(2.0f) * d * d / r2); }),
         40, 10.0f);
  ASSERT_EQ(s.st, AG_OK) << ag_last_error();
  float worst = 0;
  for (int32_t i = 0; i < s.m.vertices; i++) {
    const float *p = s.vertex(i);
    float d2 = 0;
    for (int a = 0; a < 3; a++) d2 += (p[a] - kCentre[a]) * (p[a] - kCentre[a]);
    worst = std::fmax(worst, std::fabs(std::sqrt(d2) - kRadius));
  }
  EXPECT_LT(worst, 0.005f);
  const double sphere = 4.0 / 3.0 * M_PI * std::pow(kRadius, 3);
  EXPECT_NEAR(signed_volume(s.m), sphere, 0.03 * sphere);
}

TEST(MeshExtract, OneDensePointGivesASmallClosedBlobAroundIt) {
  const int64_t n = 9, at = 4 + n * (3 + n * 5);  // lattice point (4, 3, 5)
  std::vector<float> v(n * n * n, 0.0f);
  v[at] = 20.0f;
  Mesh s(v, n, 10.0f);
  ASSERT_EQ(s.st, AG_OK) << ag_last_error();
  // The point's 14 lattice edges (6 axes, 6 face and 2 main diagonals, both
  // ways) each cross once, halfway.
  EXPECT_EQ(s.m.vertices, 14);
  const float h = 2.0f / (n - 1), p[3] = {-1 + 4 * h, -1 + 3 * h, -1 + 5 * h};
  for (int32_t i = 0; i < s.m.vertices; i++) {
    float out = 0;
    for (int a = 0; a < 3; a++) out += s.m.normal[3 * i + a] * (s.vertex(i)[a] - p[a]);
    EXPECT_GT(out, 0) << i;
  }
  EXPECT_GT(signed_volume(s.m), 0);
  // closed: every directed edge's reverse is there too
  std::set<std::pair<int32_t, int32_t>> directed;
  for (int64_t t = 0; t < s.m.triangles; t++)
    for (int k = 0; k < 3; k++) directed.insert({s.m.tri[3 * t + k], s.m.tri[3 * t + (k + 1) % 3]});
  EXPECT_EQ((int64_t)directed.size(), 3 * s.m.triangles);
  for (const auto &[a, b] : directed) EXPECT_EQ(directed.count({b, a}), 1u) << a << " " << b;
}

TEST(MeshExtract, FlatGradientsStillGiveUnitNormals) {
  // Slabs one lattice step thick along x: the central differences vanish
  // inside the lattice, so the normals fall back to the edges' directions.
  const int64_t n = 8;
  std::vector<float> v(n * n * n);
  for (int64_t i = 0; i < n * n * n; i++) v[i] = i % 2 ? 0.0f : 20.0f;
  Mesh s(v, n, 10.0f);
  ASSERT_EQ(s.st, AG_OK) << ag_last_error();
  ASSERT_GT(s.m.vertices, 0);
  for (int64_t i = 0; i < 3 * s.m.vertices; i += 3) {
    const float *m = s.m.normal + i;
    ASSERT_NEAR(m[0] * m[0] + m[1] * m[1] + m[2] * m[2], 1.0f, 1e-5f) << i / 3;
  }
}

TEST(MeshExtract, EmptyAndFullFieldsGiveNoTriangles) {
  for (float value : {0.0f, 50.0f}) {
    Mesh s(std::vector<float>(16 * 16 * 16, value), 16, 10.0f);
    ASSERT_EQ(s.st, AG_OK) << ag_last_error();
    EXPECT_EQ(s.m.triangles, 0) << value;
    EXPECT_EQ(s.m.vertices, 0) << value;
  }
}

TEST(MeshExtract, RefusesNonFiniteValuesAndBadLattices) {
  std::vector<float> v(8 * 8 * 8, 0.0f);
  v[77] = NAN;
  Mesh s(v, 8, 10.0f);
  EXPECT_EQ(s.st, AG_ERR_INVALID);
  EXPECT_NE(std::string(ag_last_error()).find("lattice value 77"), std::string::npos)
      << ag_last_error();
  Mesh one(v, 1, 10.0f);
  EXPECT_EQ(one.st, AG_ERR_INVALID);
}

// ---- PLY ----------------------------------------------------------------------

uint32_t u32_at(const std::string &s, size_t at) {
  uint32_t v = 0;
  for (int k = 3; k >= 0; k--) v = v << 8 | (uint8_t)s[at + k];
  return v;
}

float f32_at(const std::string &s, size_t at) {
  const uint32_t u = u32_at(s, at);
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

TEST(MeshPly, WritesTheHeaderCountsAndBytes) {
  Mesh s = sphere_mesh(12);
  ASSERT_EQ(s.st, AG_OK) << ag_last_error();
  const int64_t nv = s.m.vertices, nt = s.m.triangles;
  ASSERT_GT(nt, 0);
  s.m.rgb = (uint8_t *)malloc(3 * nv);
  for (int64_t i = 0; i < 3 * nv; i++) s.m.rgb[i] = (uint8_t)(i * 37 % 251);
  ag_test::Scratch t;
  const fs::path path = fs::path(t.dir) / "mesh.ply";
  ASSERT_EQ(ag_mesh_write_ply(&s.m, path.c_str()), AG_OK) << ag_last_error();
  const std::string file = ag_test::slurp(path);
  const std::string header =
      "ply\nformat binary_little_endian 1.0\ncomment aigc mesh\nelement vertex " +
      std::to_string(nv) +
      "\nproperty float x\nproperty float y\nproperty float z\n"
      "property uchar red\nproperty uchar green\nproperty uchar blue\n"
      "element face " +
      std::to_string(nt) + "\nproperty list uchar int vertex_indices\nend_header\n";
  ASSERT_EQ(file.substr(0, header.size()), header);
  ASSERT_EQ(file.size(), header.size() + 15 * nv + 13 * nt);
  size_t at = header.size();
  for (int64_t i = 0; i < nv; i++, at += 15) {
    for (int a = 0; a < 3; a++) ASSERT_EQ(f32_at(file, at + 4 * a), s.m.pos[3 * i + a]) << i;
    for (int a = 0; a < 3; a++) ASSERT_EQ((uint8_t)file[at + 12 + a], s.m.rgb[3 * i + a]) << i;
  }
  for (int64_t i = 0; i < nt; i++, at += 13) {
    ASSERT_EQ((uint8_t)file[at], 3);
    for (int k = 0; k < 3; k++)
      ASSERT_EQ(u32_at(file, at + 1 + 4 * k), (uint32_t)s.m.tri[3 * i + k]);
  }
  // no temporary left beside it
  EXPECT_EQ(std::distance(fs::directory_iterator(t.dir), fs::directory_iterator{}), 1);
}

TEST(MeshPly, WithoutColoursAndIntoAMissingDirectory) {
  Mesh s = sphere_mesh(8);
  ASSERT_EQ(s.st, AG_OK) << ag_last_error();
  ag_test::Scratch t;
  const fs::path path = fs::path(t.dir) / "plain.ply";
  ASSERT_EQ(ag_mesh_write_ply(&s.m, path.c_str()), AG_OK) << ag_last_error();
  const std::string file = ag_test::slurp(path);
  EXPECT_EQ(file.find("red"), std::string::npos);
  const size_t body = file.find("end_header\n") + 11;
  EXPECT_EQ(file.size(), body + 12 * s.m.vertices + 13 * s.m.triangles);

  const fs::path missing = fs::path(t.dir) / "no" / "mesh.ply";
  EXPECT_EQ(ag_mesh_write_ply(&s.m, missing.c_str()), AG_ERR_IO);
  EXPECT_NE(std::string(ag_last_error()).find(missing.string()), std::string::npos)
      << ag_last_error();
  EXPECT_FALSE(fs::exists(fs::path(t.dir) / "no"));
}

}  // namespace
