// The op harness (in the spirit of ggml's test-backend-ops): every op in the
// op table, in every float dtype, on every backend, against the CPU backend.
//   forward:  NMSE against the CPU result, below a per-dtype threshold
//             (random fills must match bit for bit);
//   backward: NMSE of every input gradient against the CPU's, and in f32 a
//             finite-difference check of the backend's own gradients.
// One executable; ctest runs it once per backend (cpu, emu, gpu labels).
#include <cmath>
#include <memory>
#include <string>
#include <tuple>

#include "ag_test_util.h"
#include "runtime/ag_ops.h"
#ifdef AG_TEST_EMU
#include "tests/cuda_emu/backend_emu.h"
#endif

using namespace ag_test;

namespace {

using Shape = std::vector<int64_t>;

struct TensorDeleter {
  void operator()(ag_tensor *t) const { ag_tensor_free(t); }
};
using Tensor = std::unique_ptr<ag_tensor, TensorDeleter>;

double threshold(ag_dtype dt) {
  switch (dt) {
  case AG_F32: return 1e-7;
  case AG_F16: return 1e-5;
  default: return 1e-4;
  }
}

// Returns the backend for a name, or nullptr with the reason it is absent.
ag_backend *find_backend(const std::string &name, std::string *why) {
  if (name == "cpu") return ag_backend_cpu();
#ifdef AG_TEST_EMU
  if (name == "emu") return ag_backend_emu();
#endif
  if (name == "cuda") {
    ag_backend *be = nullptr;
    if (ag_backend_select("cuda", &be, nullptr, 0) == AG_OK) return be;
    *why = std::string("no CUDA device: ") + ag_last_error();
    return nullptr;
  }
  *why = "backend " + name + " is not built";
  return nullptr;
}

Shape out_shape(ag_op op, Shape s) {
  if (op == AG_OP_SUM) s.back() = 1;
  return s;
}

// Everything one forward call needs, on one backend.
struct Call {
  std::vector<Tensor> owned;  // storage behind the inputs
  std::vector<Tensor> in;     // the op's inputs (views for CONTIGUOUS)
  Tensor out;
  ag_op_call call{};
};

// Input i of `op` for output shape `s`: a contiguous tensor, or for
// CONTIGUOUS a sliced and permuted view with that shape.
Tensor make_input(ag_backend *be, ag_op op, ag_dtype dt, const Shape &s,
                  const std::vector<float> &vals, std::vector<Tensor> *owned) {
  if (op != AG_OP_CONTIGUOUS) return Tensor(make_tensor(be, dt, s, vals));
  Shape base(s.rbegin(), s.rend());
  base[0] += 2;
  int64_t n = 1;
  for (auto d : base) n *= d;
  std::vector<float> bvals(vals.begin(), vals.end());
  bvals.resize((size_t)n, 0.5f);
  owned->emplace_back(make_tensor(be, dt, base, bvals));
  Tensor sliced(ag_tensor_slice(owned->back().get(), 0, 1, base[0] - 1));
  int perm[AG_MAX_DIMS];
  for (size_t i = 0; i < s.size(); i++) perm[i] = (int)(s.size() - 1 - i);
  Tensor view(ag_tensor_permute(sliced.get(), perm));
  owned->push_back(std::move(sliced));
  return view;
}

void build(Call *c, ag_backend *be, ag_op op, ag_dtype dt, const Shape &s,
           const std::vector<std::vector<float>> &inputs) {
  const ag_op_info *info = ag_op_get_info(op);
  for (int i = 0; i < info->n_in; i++) {
    c->in.push_back(make_input(be, op, dt, s, inputs[i], &c->owned));
    c->call.in[i] = c->in.back().get();
  }
  Shape os = out_shape(op, s);
  c->out.reset(ag_tensor_new(be, dt, (int)os.size(), os.data()));
  c->call.out[0] = c->out.get();
  c->call.f[0] = op == AG_OP_SCALE ? -1.75f : op == AG_OP_FILL_NORMAL ? 0.5f : -1.0f;
  c->call.f[1] = op == AG_OP_FILL_NORMAL ? 2.0f : 3.0f;
  c->call.u[0] = 1234;
  c->call.u[1] = 77;
}

std::vector<std::vector<float>> random_inputs(ag_op op, const Shape &s, uint32_t seed) {
  int64_t n = 1;
  for (auto d : s) n *= d;
  std::vector<std::vector<float>> v;
  for (int i = 0; i < ag_op_get_info(op)->n_in; i++)
    v.push_back(random_values((size_t)n, seed + (uint32_t)i));
  return v;
}

std::vector<float> forward(ag_backend *be, ag_op op, ag_dtype dt, const Shape &s,
                           const std::vector<std::vector<float>> &inputs) {
  Call c;
  build(&c, be, op, dt, s, inputs);
  EXPECT_EQ(ag_op_forward(be, op, &c.call), AG_OK) << ag_last_error();
  return read_floats(c.out.get());
}

// Input gradients for output gradient `gy`, via the backend's backward.
std::vector<std::vector<float>> backward(ag_backend *be, ag_op op, ag_dtype dt, const Shape &s,
                                         const std::vector<std::vector<float>> &inputs,
                                         const std::vector<float> &gy) {
  Call c;
  build(&c, be, op, dt, s, inputs);
  EXPECT_EQ(ag_op_forward(be, op, &c.call), AG_OK) << ag_last_error();
  Shape os = out_shape(op, s);
  Tensor g(make_tensor(be, dt, os, gy));
  int n_in = ag_op_get_info(op)->n_in;
  ag_op_call b{};
  std::vector<Tensor> grads;
  for (int i = 0; i < n_in; i++) {
    b.in[i] = c.call.in[i];
    grads.emplace_back(ag_tensor_new(be, dt, (int)s.size(), s.data()));
    b.out[i] = grads.back().get();
  }
  b.in[n_in] = c.out.get();
  b.in[n_in + 1] = g.get();
  b.f[0] = c.call.f[0];
  EXPECT_EQ(ag_op_backward(be, op, &b), AG_OK) << ag_last_error();
  std::vector<std::vector<float>> out;
  for (auto &t : grads) out.push_back(read_floats(t.get()));
  return out;
}

double dot(const std::vector<float> &a, const std::vector<float> &b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); i++) s += (double)a[i] * b[i];
  return s;
}

// Central differences of L(x) = sum(gy * op(x)) against the analytic grads.
void check_finite_differences(ag_backend *be, ag_op op, const Shape &s,
                              std::vector<std::vector<float>> inputs,
                              const std::vector<float> &gy,
                              const std::vector<std::vector<float>> &grads) {
  const float eps = 1e-3f;
  for (size_t i = 0; i < inputs.size(); i++) {
    for (size_t j = 0; j < inputs[i].size(); j++) {
      float x0 = inputs[i][j];
      inputs[i][j] = x0 + eps;
      double lp = dot(gy, forward(be, op, AG_F32, s, inputs));
      inputs[i][j] = x0 - eps;
      double lm = dot(gy, forward(be, op, AG_F32, s, inputs));
      inputs[i][j] = x0;
      double numeric = (lp - lm) / (2.0 * eps), analytic = grads[i][j];
      ASSERT_NEAR(numeric, analytic, 2e-3 + 1e-2 * std::fabs(analytic))
          << "input " << i << " element " << j;
    }
  }
}

using Param = std::tuple<ag_op, ag_dtype, std::string>;

class OpForward : public ::testing::TestWithParam<Param> {};
class OpBackward : public ::testing::TestWithParam<Param> {};

const std::vector<Shape> kShapes = {{5}, {3, 33}, {2, 3, 257}, {2, 2, 3, 70}};

TEST_P(OpForward, MatchesCpu) {
  auto [op, dt, name] = GetParam();
  std::string why;
  ag_backend *be = find_backend(name, &why);
  if (!be) GTEST_SKIP() << why;
  for (size_t k = 0; k < kShapes.size(); k++) {
    SCOPED_TRACE("shape #" + std::to_string(k));
    auto inputs = random_inputs(op, kShapes[k], 100 + (uint32_t)k);
    auto want = forward(ag_backend_cpu(), op, dt, kShapes[k], inputs);
    auto got = forward(be, op, dt, kShapes[k], inputs);
    ASSERT_EQ(got.size(), want.size());
    if (op == AG_OP_FILL_UNIFORM || op == AG_OP_FILL_NORMAL || op == AG_OP_CONTIGUOUS)
      EXPECT_EQ(got, want) << "must match bit for bit";
    else
      EXPECT_LE(nmse(want, got), threshold(dt));
  }
}

TEST_P(OpBackward, MatchesCpuAndFiniteDifferences) {
  auto [op, dt, name] = GetParam();
  std::string why;
  ag_backend *be = find_backend(name, &why);
  if (!be) GTEST_SKIP() << why;
  for (size_t k = 0; k < kShapes.size(); k++) {
    SCOPED_TRACE("shape #" + std::to_string(k));
    const Shape &s = kShapes[k];
    auto inputs = random_inputs(op, s, 200 + (uint32_t)k);
    Shape os = out_shape(op, s);
    int64_t n_out = 1;
    for (auto d : os) n_out *= d;
    auto gy = random_values((size_t)n_out, 300 + (uint32_t)k);
    auto want = backward(ag_backend_cpu(), op, dt, s, inputs, gy);
    auto got = backward(be, op, dt, s, inputs, gy);
    for (size_t i = 0; i < want.size(); i++) EXPECT_LE(nmse(want[i], got[i]), threshold(dt));
    if (dt == AG_F32 && k < 2) check_finite_differences(be, op, s, inputs, gy, got);
  }
}

std::vector<ag_op> ops_where(bool need_gradient) {
  std::vector<ag_op> ops;
  for (int i = 0; i < AG_OP_COUNT; i++)
    if (!need_gradient || ag_op_get_info((ag_op)i)->differentiable) ops.push_back((ag_op)i);
  return ops;
}

std::string param_name(const ::testing::TestParamInfo<Param> &p) {
  auto [op, dt, name] = p.param;
  return std::string(ag_op_get_info(op)->name) + "_" + ag_dtype_name(dt) + "_" + name;
}

INSTANTIATE_TEST_SUITE_P(All, OpForward,
                         ::testing::Combine(::testing::ValuesIn(ops_where(false)),
                                            ::testing::Values(AG_F32, AG_BF16, AG_F16),
                                            ::testing::Values("cpu", "emu", "cuda")),
                         param_name);

INSTANTIATE_TEST_SUITE_P(All, OpBackward,
                         ::testing::Combine(::testing::ValuesIn(ops_where(true)),
                                            ::testing::Values(AG_F32, AG_BF16, AG_F16),
                                            ::testing::Values("cpu", "emu", "cuda")),
                         param_name);

// Every op of every backend rejects an integer dtype with an error, never a
// crash or silent garbage.
TEST(OpHarnessErrors, IntegerDtypesAreUnsupportedEverywhere) {
  for (const char *name : {"cpu", "emu", "cuda"}) {
    std::string why;
    ag_backend *be = find_backend(name, &why);
    if (!be) continue;
    int64_t shape[2] = {2, 4}, one[2] = {2, 1};
    Tensor x(ag_tensor_new(be, AG_I32, 2, shape)), y(ag_tensor_new(be, AG_I32, 2, shape));
    Tensor r(ag_tensor_new(be, AG_I32, 2, one));
    EXPECT_EQ(ag_gelu(y.get(), x.get()), AG_ERR_UNSUPPORTED) << name;
    EXPECT_EQ(ag_add(y.get(), x.get(), x.get()), AG_ERR_UNSUPPORTED) << name;
    EXPECT_EQ(ag_sum(r.get(), x.get()), AG_ERR_UNSUPPORTED) << name;
    EXPECT_EQ(ag_fill_normal(y.get(), 1, 0, 0, 1), AG_ERR_UNSUPPORTED) << name;
  }
}

}  // namespace
