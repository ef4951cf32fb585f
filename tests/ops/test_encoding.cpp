// The hash grid beyond the op harness: the deterministic CUDA backward (on the
// emulator, and on a device when one answers) gives the same bits on every
// run and matches the CPU, on a grid where many points hit each entry; the
// per-level scale and shape inference's refusals; and
// the CPU's forward and backward written out for tests/ops/hash_grid_numpy.py,
// which recomputes them with NumPy (ctest ops_hash_grid_numpy runs both).
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "ag_test_util.h"
#include "runtime/ops/ag_ops.h"
#ifdef AG_TEST_EMU
#include "runtime/backends/ag_backend_emu.h"
#endif

using namespace ag_test;

namespace {

// The backends other than the CPU that this build and machine have.
std::vector<ag_backend *> device_backends() {
  std::vector<ag_backend *> out;
#ifdef AG_TEST_EMU
  if (ag_backend *emu = ag_backend_emu()) out.push_back(emu);
#endif
  ag_backend *cuda = nullptr;
  if (ag_backend_select("cuda", &cuda, nullptr, 0) == AG_OK) out.push_back(cuda);
  return out;
}

struct Grid {
  ag_hash_grid_args args;
  int64_t n;
};

int64_t table_rows(const Grid &g) { return (int64_t)1 << g.args.log2_table; }

std::vector<float> positions(const Grid &g, uint32_t seed) {
  std::vector<float> p = random_values((size_t)(3 * g.n), seed, 0.0f, 1.0f);
  p[0] = p[1] = p[2] = 0.0f;  // the corners of the cube
  p[3] = p[4] = p[5] = 1.0f;
  return p;
}

// y = hash_grid(pos, table) and the table gradient for gy, on one backend.
struct Result {
  std::vector<float> y;
  std::vector<uint8_t> gtable;  // bytes, for bit-for-bit comparisons
};

Result run(ag_backend *be, ag_dtype dt, const Grid &g, const std::vector<float> &pos,
           const std::vector<float> &table, const std::vector<float> &gy) {
  const ag_hash_grid_args &a = g.args;
  Tensor p(make_tensor(be, AG_F32, {g.n, 3}, pos));
  Tensor t(make_tensor(be, dt, {a.levels, table_rows(g), a.features}, table));
  const int64_t yshape[2] = {g.n, a.levels * a.features};
  Tensor y(ag_tensor_new(be, dt, 2, yshape));
  Tensor gyt(make_tensor(be, dt, {g.n, a.levels * a.features}, gy));
  Tensor gt(ag_tensor_new(be, dt, t->ndim, t->shape));
  EXPECT_EQ(ag_eager_hash_grid(p.get(), t.get(), y.get(), &a), AG_OK) << ag_last_error();
  ag_op_call b = {};
  b.in[0] = p.get(), b.in[1] = t.get();
  ag_hash_grid_args_encode(&b, &a);
  b.in[2] = y.get(), b.in[3] = gyt.get();
  b.out[0] = nullptr, b.out[1] = gt.get();
  EXPECT_EQ(ag_op_backward(be, AG_OP_HASH_GRID, &b), AG_OK) << ag_last_error();
  return {read_floats(y.get()), read_bytes(gt.get())};
}

// 4096 points on 3 levels of 64 rows: every row gets ~190 contributions
// per level, in an order the atomics choose.
const Grid kCrowded = {{3, 2, 6, 4.0f, 2.0f, 1}, 4096};

TEST(HashGridDeterministic, SameBitsEveryRunAndCloseToTheCpu) {
  const std::vector<ag_backend *> bes = device_backends();
  if (bes.empty()) GTEST_SKIP() << "no emulator or CUDA backend in this build";
  const Grid &g = kCrowded;
  const std::vector<float> pos = positions(g, 11);
  const std::vector<float> table =
      random_values((size_t)(g.args.levels * table_rows(g) * g.args.features), 12);
  const std::vector<float> gy = random_values((size_t)(g.n * g.args.levels * g.args.features), 13);
  for (ag_dtype dt : {AG_F32, AG_F16}) {
    const Result cpu = run(ag_backend_cpu(), dt, g, pos, table, gy);
    for (ag_backend *be : bes) {
      SCOPED_TRACE(std::string(be->name) + " " + ag_dtype_name(dt));
      const Result one = run(be, dt, g, pos, table, gy), two = run(be, dt, g, pos, table, gy);
      EXPECT_EQ(one.gtable, two.gtable) << "the deterministic backward changed between runs";
      EXPECT_EQ(one.y, cpu.y) << "the forward is the CPU's arithmetic, in the same order";
      EXPECT_LE(nmse(decode(dt, cpu.gtable), decode(dt, one.gtable)), dt == AG_F32 ? 1e-12 : 1e-6);
    }
  }
}

TEST(HashGridDeterministic, FastBackwardCloseToTheCpu) {
  const std::vector<ag_backend *> bes = device_backends();
  if (bes.empty()) GTEST_SKIP() << "no emulator or CUDA backend in this build";
  Grid g = kCrowded;
  g.args.deterministic = 0;
  const std::vector<float> pos = positions(g, 21);
  const std::vector<float> table =
      random_values((size_t)(g.args.levels * table_rows(g) * g.args.features), 22);
  const std::vector<float> gy = random_values((size_t)(g.n * g.args.levels * g.args.features), 23);
  const Result cpu = run(ag_backend_cpu(), AG_F32, g, pos, table, gy);
  for (ag_backend *be : bes) {
    SCOPED_TRACE(be->name);
    const Result got = run(be, AG_F32, g, pos, table, gy);
    EXPECT_LE(nmse(decode(AG_F32, cpu.gtable), decode(AG_F32, got.gtable)), 1e-12);
  }
}

// Instant-NGP's pyramid: the scale for a finest resolution, floor(base b^l).
TEST(HashGridArgs, ScaleFromTheFinestResolution) {
  const float b = ag_hash_grid_per_level_scale(16.0f, 512.0f, 6);
  EXPECT_FLOAT_EQ(b, 2.0f);
  EXPECT_EQ(ag_hash_grid_per_level_scale(16.0f, 512.0f, 1), 1.0f);
  const ag_hash_grid_args a = {6, 2, 19, 16.0f, b, 0};
  const ag_hash_grid_geom g = ag_hash_grid_geom_of(&a);
  EXPECT_EQ(g.table_size, 1u << 19);
  const int32_t want[6] = {16, 32, 64, 128, 256, 512};
  for (int l = 0; l < 6; l++) EXPECT_EQ(g.res[l], want[l]) << "level " << l;
}

// Shape inference names what is wrong; nothing reaches a kernel.
TEST(HashGridArgs, InferenceRejectsBadCalls) {
  ag_backend *cpu = ag_backend_cpu();
  const ag_hash_grid_args ok = {2, 2, 4, 2.0f, 2.0f, 0};
  Tensor pos(make_tensor(cpu, AG_F32, {3, 3}, std::vector<float>(9, 0.5f)));
  Tensor pos16(make_tensor(cpu, AG_F16, {3, 3}, std::vector<float>(9, 0.5f)));
  Tensor table(make_tensor(cpu, AG_F32, {2, 16, 2}, std::vector<float>(64, 1.0f)));
  const int64_t yshape[2] = {3, 4};
  Tensor y(ag_tensor_new(cpu, AG_F32, 2, yshape));
  EXPECT_EQ(ag_eager_hash_grid(pos.get(), table.get(), y.get(), &ok), AG_OK) << ag_last_error();
  EXPECT_EQ(ag_eager_hash_grid(pos16.get(), table.get(), y.get(), &ok), AG_ERR_INVALID);
  ag_hash_grid_args bad = ok;
  bad.features = 3;
  EXPECT_EQ(ag_eager_hash_grid(pos.get(), table.get(), y.get(), &bad), AG_ERR_INVALID);
  bad = ok;
  bad.log2_table = 5;  // the table has 16 rows, not 32
  EXPECT_EQ(ag_eager_hash_grid(pos.get(), table.get(), y.get(), &bad), AG_ERR_INVALID);
  EXPECT_NE(std::string(ag_last_error()).find("hash_grid"), std::string::npos) << ag_last_error();
  bad = ok;
  bad.per_level_scale = 1e6f;  // finest resolution 2e6
  EXPECT_EQ(ag_eager_hash_grid(pos.get(), table.get(), y.get(), &bad), AG_ERR_INVALID);
}

void write_f32(const std::string &path, const std::vector<float> &v) {
  FILE *f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr) << path;
  EXPECT_EQ(std::fwrite(v.data(), sizeof(float), v.size(), f), v.size()) << path;
  std::fclose(f);
}

// The grids the NumPy check recomputes: dense only, hashed only, and mixed
// levels with a deep pyramid.
const Grid kNumpyGrids[] = {
    {{1, 2, 12, 9.0f, 1.0f, 0}, 301},
    {{2, 4, 5, 6.0f, 2.5f, 0}, 129},
    {{12, 2, 10, 4.0f, 1.5f, 0}, 513},
};

TEST(HashGridNumpy, WriteCpuResults) {
  const char *dir = std::getenv("AG_HASH_GRID_DUMP_DIR");
  if (!dir || !*dir)
    GTEST_SKIP() << "AG_HASH_GRID_DUMP_DIR is unset; tests/ops/hash_grid_numpy.py sets it";
  int k = 0;
  for (const Grid &g : kNumpyGrids) {
    const ag_hash_grid_args &a = g.args;
    const std::string base = std::string(dir) + "/grid" + std::to_string(k);
    const std::vector<float> pos = positions(g, 100 + k);
    const std::vector<float> table =
        random_values((size_t)(a.levels * table_rows(g) * a.features), 200 + k);
    const std::vector<float> gy = random_values((size_t)(g.n * a.levels * a.features), 300 + k);
    const Result r = run(ag_backend_cpu(), AG_F32, g, pos, table, gy);
    FILE *f = std::fopen((base + ".txt").c_str(), "w");
    ASSERT_NE(f, nullptr) << base;
    std::fprintf(f, "%lld %lld %lld %.9g %.9g %lld\n", (long long)a.levels, (long long)a.features,
                 (long long)a.log2_table, (double)a.base_res, (double)a.per_level_scale,
                 (long long)g.n);
    std::fclose(f);
    write_f32(base + "_pos.f32", pos);
    write_f32(base + "_table.f32", table);
    write_f32(base + "_gy.f32", gy);
    write_f32(base + "_y.f32", r.y);
    write_f32(base + "_gtable.f32", decode(AG_F32, r.gtable));
    k++;
  }
}

}  // namespace
