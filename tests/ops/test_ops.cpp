// The op harness (in the spirit of ggml's test-backend-ops): every case that
// an op family registers (tests/ops/cases_<family>.cpp), in each of its
// dtypes, on every backend, against the CPU backend:
//   forward:  NMSE against the CPU result below a per-dtype threshold, or bit
//             for bit where the case says so;
//   backward: NMSE of every input gradient against the CPU's, and in f32 a
//             central finite-difference check of the backend's own gradients.
// One executable; ctest runs it once per backend (cpu, emu, gpu labels).
#include <cmath>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <tuple>

#include "ag_gpu_main.h"
#include "ag_test_util.h"
#include "op_cases.h"
#ifdef AG_TEST_EMU
#include "runtime/backends/ag_backend_emu.h"
#endif

using namespace ag_test;

namespace ag_test {

static std::vector<OpCase> &case_registry() {
  static std::vector<OpCase> cases;
  return cases;
}

bool register_cases(const char *family, CaseList (*make)()) {
  (void)family;
  for (auto &c : make()) case_registry().push_back(c);
  return true;
}

const std::vector<OpCase> &all_cases() { return case_registry(); }

}  // namespace ag_test

namespace {

struct TensorDeleter {
  void operator()(ag_tensor *t) const { ag_tensor_free(t); }
};
using Tensor = std::unique_ptr<ag_tensor, TensorDeleter>;
using Values = std::vector<std::vector<float>>;

double threshold(ag_dtype dt) {
  switch (dt) {
  case AG_F32: return 1e-7;
  case AG_F16: return 1e-5;
  default: return 1e-4;
  }
}

bool is_float(ag_dtype dt) { return dt == AG_F32 || dt == AG_F16 || dt == AG_BF16; }

// The backend for a name, or nullptr with the reason it is absent.
ag_backend *find_backend(const std::string &name, std::string *why) {
  if (name == "cpu") return ag_backend_cpu();
#ifdef AG_TEST_EMU
  if (name == "emu") return ag_backend_emu();
#endif
  if (name == "cuda") {
    ag_backend *be = nullptr;
    if (ag_backend_select("cuda", &be, nullptr, 0) == AG_OK) return be;
    *why = ag_last_error();
    return nullptr;
  }
  *why = "backend " + name + " is not built";
  return nullptr;
}

// ctest's ops_cuda run sets AG_TEST_REQUIRE_BACKEND=cuda: where the named
// backend is absent the whole run is one skip (ag_gpu_main.h), decided before
// main so that no case's result can stand for it. Run by hand without it, an
// absent backend's cases skip one by one.
[[maybe_unused]] const bool required_backend_checked = [] {
  const char *name = std::getenv("AG_TEST_REQUIRE_BACKEND");
  std::string why;
  if (name && *name && !find_backend(name, &why)) ag_test_skip_run(why);
  return true;
}();

int64_t numel(const std::vector<int64_t> &s) {
  int64_t n = 1;
  for (auto d : s) n *= d;
  return n;
}

ag_dtype dtype_of(const InputSpec &s, ag_dtype test_dt) {
  return s.dtype == kTestDtype ? test_dt : s.dtype;
}

// Random values for every input; integer inputs hold whole numbers.
Values random_inputs(const OpCase &c, uint32_t seed) {
  Values v;
  std::mt19937 rng(seed);
  for (const auto &s : c.inputs) {
    std::vector<float> x((size_t)numel(s.shape));
    std::uniform_real_distribution<float> dist(s.lo, s.hi);
    for (auto &e : x) e = is_float(s.dtype == kTestDtype ? AG_F32 : s.dtype) ? dist(rng)
                                                                             : std::floor(dist(rng));
    v.push_back(x);
  }
  return v;
}

std::vector<uint8_t> encode_any(ag_dtype dt, const std::vector<float> &v) {
  if (is_float(dt)) return encode(dt, v);
  std::vector<uint8_t> bytes(v.size() * ag_dtype_size(dt));
  for (size_t i = 0; i < v.size(); i++) {
    if (dt == AG_I32) {
      int32_t x = (int32_t)v[i];
      std::memcpy(&bytes[i * 4], &x, 4);
    } else {
      bytes[i] = (uint8_t)v[i];
    }
  }
  return bytes;
}

std::vector<float> read_any(const ag_tensor *t) {
  if (is_float(t->dtype)) return read_floats(t);
  auto bytes = read_bytes(t);
  std::vector<float> v(bytes.size() / ag_dtype_size(t->dtype));
  for (size_t i = 0; i < v.size(); i++) {
    int32_t x = 0;
    if (t->dtype == AG_I32) std::memcpy(&x, &bytes[i * 4], 4);
    else x = bytes[i];
    v[i] = (float)x;
  }
  return v;
}

// A tensor holding `vals`: contiguous, or a sliced and permuted view of a
// larger base tensor (kept alive in `owned`).
Tensor make_input(ag_backend *be, const InputSpec &s, ag_dtype dt, const std::vector<float> &vals,
                  std::vector<Tensor> *owned) {
  if (!s.strided_view) {
    Tensor t(ag_tensor_new(be, dt, (int)s.shape.size(), s.shape.data()));
    auto bytes = encode_any(dt, vals);
    EXPECT_EQ(ag_tensor_write(t.get(), bytes.data(), bytes.size()), AG_OK) << ag_last_error();
    return t;
  }
  // base = reversed shape with dim 0 padded by 2; view = base[1:-1] permuted back.
  std::vector<int64_t> base(s.shape.rbegin(), s.shape.rend());
  base[0] += 2;
  std::vector<float> bvals((size_t)numel(base), 0.25f);
  Tensor b(ag_tensor_new(be, dt, (int)base.size(), base.data()));
  int perm[AG_MAX_DIMS];
  for (size_t i = 0; i < s.shape.size(); i++) perm[i] = (int)(s.shape.size() - 1 - i);
  Tensor sliced(ag_tensor_slice(b.get(), 0, 1, base[0] - 1));
  Tensor view(ag_tensor_permute(sliced.get(), perm));
  std::vector<float> host = bvals;
  const int64_t nd = (int64_t)s.shape.size();
  for (int64_t k = 0; k < (int64_t)vals.size(); k++) {
    int64_t rem = k, off = view->offset;
    for (int64_t d = nd - 1; d >= 0; d--) {
      off += rem % view->shape[d] * view->stride[d];
      rem /= view->shape[d];
    }
    host[(size_t)off] = vals[(size_t)k];
  }
  auto bytes = encode_any(dt, host);
  EXPECT_EQ(ag_tensor_write(b.get(), bytes.data(), bytes.size()), AG_OK);
  owned->push_back(std::move(b));
  owned->push_back(std::move(sliced));
  return view;
}

// One forward call on one backend, with everything it owns.
struct Call {
  std::vector<Tensor> owned, in, out;
  ag_op_call call{};
  std::vector<ag_shape> shapes;
};

void build(Call *k, ag_backend *be, const OpCase &c, ag_dtype dt, const Values &vals) {
  const ag_op_info *info = ag_op_get_info(c.op);
  for (size_t i = 0; i < c.inputs.size(); i++) {
    k->in.push_back(make_input(be, c.inputs[i], dtype_of(c.inputs[i], dt), vals[i], &k->owned));
    k->call.in[i] = k->in.back().get();
  }
  std::copy(c.f, c.f + 4, k->call.f);
  std::copy(c.i, c.i + 8, k->call.i);
  std::copy(c.u, c.u + 2, k->call.u);
  if (info->n_in == 0) {  // fills: the output gives the shape
    k->out.emplace_back(ag_tensor_new(be, dt, (int)c.out_shape.size(), c.out_shape.data()));
    k->call.out[0] = k->out.back().get();
    return;
  }
  k->shapes.resize(AG_OP_MAX_ARGS);
  ASSERT_EQ(ag_op_infer(c.op, &k->call, k->shapes.data()), AG_OK) << ag_last_error();
  for (int o = 0; o < info->n_out; o++) {
    const ag_shape &s = k->shapes[o];
    k->out.emplace_back(ag_tensor_new(be, s.dtype, s.ndim, s.dims));
    k->call.out[o] = k->out.back().get();
  }
}

Values forward(ag_backend *be, const OpCase &c, ag_dtype dt, const Values &vals) {
  Call k;
  build(&k, be, c, dt, vals);
  EXPECT_EQ(ag_op_forward(be, c.op, &k.call), AG_OK) << ag_last_error();
  Values outs;
  for (auto &t : k.out) outs.push_back(read_any(t.get()));
  return outs;
}

// Random output gradients for the outputs the case names, from shapes.
Values random_output_grads(const OpCase &c, const Values &outs, uint32_t seed) {
  Values g(outs.size());
  for (int o : c.grad_outputs) g[(size_t)o] = random_values(outs[(size_t)o].size(), seed + o);
  return g;
}

// Input gradients (empty for inputs that take none) via the backward.
Values backward(ag_backend *be, const OpCase &c, ag_dtype dt, const Values &vals, const Values &gy) {
  Call k;
  build(&k, be, c, dt, vals);
  EXPECT_EQ(ag_op_forward(be, c.op, &k.call), AG_OK) << ag_last_error();
  const ag_op_info *info = ag_op_get_info(c.op);
  ag_op_call b = k.call;
  std::vector<Tensor> grads_out, grads_in;
  for (int o = 0; o < info->n_out; o++) {
    b.in[info->n_in + o] = k.out[(size_t)o].get();
    b.in[info->n_in + info->n_out + o] = nullptr;
    if (gy[(size_t)o].empty()) continue;
    const ag_tensor *y = k.out[(size_t)o].get();
    grads_out.emplace_back(ag_tensor_new(be, y->dtype, y->ndim, y->shape));
    auto bytes = encode(y->dtype, gy[(size_t)o]);
    EXPECT_EQ(ag_tensor_write(grads_out.back().get(), bytes.data(), bytes.size()), AG_OK);
    b.in[info->n_in + info->n_out + o] = grads_out.back().get();
  }
  for (int i = 0; i < AG_OP_MAX_ARGS; i++) b.out[i] = nullptr;
  for (int i = 0; i < info->n_in; i++) {
    const ag_tensor *x = k.call.in[i];
    grads_in.emplace_back();
    if (!c.inputs[(size_t)i].differentiable || !is_float(x->dtype)) continue;
    grads_in.back().reset(ag_tensor_new(be, x->dtype, x->ndim, x->shape));
    b.out[i] = grads_in.back().get();
  }
  EXPECT_EQ(ag_op_backward(be, c.op, &b), AG_OK) << ag_last_error();
  Values out;
  for (auto &t : grads_in) out.push_back(t ? read_floats(t.get()) : std::vector<float>());
  return out;
}

double loss(const Values &outs, const Values &gy) {
  double s = 0;
  for (size_t o = 0; o < gy.size(); o++)
    for (size_t j = 0; j < gy[o].size(); j++) s += (double)gy[o][j] * outs[o][j];
  return s;
}

// Central differences of L(x) = sum_o sum(gy_o * y_o) against the gradients.
void check_finite_differences(ag_backend *be, const OpCase &c, Values vals, const Values &gy,
                              const Values &grads) {
  const float eps = (float)c.fd_eps;
  for (size_t i = 0; i < vals.size(); i++) {
    if (grads[i].empty()) continue;
    for (size_t j = 0; j < vals[i].size(); j++) {
      float x0 = vals[i][j];
      vals[i][j] = x0 + eps;
      double lp = loss(forward(be, c, AG_F32, vals), gy);
      vals[i][j] = x0 - eps;
      double lm = loss(forward(be, c, AG_F32, vals), gy);
      vals[i][j] = x0;
      double numeric = (lp - lm) / (2.0 * eps), analytic = grads[i][j];
      ASSERT_NEAR(numeric, analytic, c.fd_atol + c.fd_rtol * std::fabs(analytic))
          << "input " << i << " element " << j;
    }
  }
}

using Param = std::tuple<size_t, ag_dtype, std::string>;  // case index, dtype, backend

class OpForward : public ::testing::TestWithParam<Param> {};
class OpBackward : public ::testing::TestWithParam<Param> {};

TEST_P(OpForward, MatchesCpu) {
  auto [index, dt, name] = GetParam();
  const OpCase &c = all_cases()[index];
  std::string why;
  ag_backend *be = find_backend(name, &why);
  if (!be) GTEST_SKIP() << why;
  Values vals = random_inputs(c, 100 + (uint32_t)index);
  Values want = forward(ag_backend_cpu(), c, dt, vals);
  Values got = forward(be, c, dt, vals);
  ASSERT_EQ(got.size(), want.size());
  for (size_t o = 0; o < want.size(); o++) {
    SCOPED_TRACE("output " + std::to_string(o));
    ASSERT_EQ(got[o].size(), want[o].size());
    if (c.exact) EXPECT_EQ(got[o], want[o]) << "must match bit for bit";
    else EXPECT_LE(nmse(want[o], got[o]), threshold(dt) * c.tol_scale);
  }
}

TEST_P(OpBackward, MatchesCpuAndFiniteDifferences) {
  auto [index, dt, name] = GetParam();
  const OpCase &c = all_cases()[index];
  std::string why;
  ag_backend *be = find_backend(name, &why);
  if (!be) GTEST_SKIP() << why;
  Values vals = random_inputs(c, 200 + (uint32_t)index);
  Values outs = forward(ag_backend_cpu(), c, dt, vals);
  Values gy = random_output_grads(c, outs, 300 + (uint32_t)index);
  Values want = backward(ag_backend_cpu(), c, dt, vals, gy);
  Values got = backward(be, c, dt, vals, gy);
  for (size_t i = 0; i < want.size(); i++) {
    SCOPED_TRACE("gradient of input " + std::to_string(i));
    EXPECT_LE(nmse(want[i], got[i]), threshold(dt) * c.tol_scale);
  }
  if (dt == AG_F32 && c.finite_differences) check_finite_differences(be, c, vals, gy, got);
}

std::vector<Param> params(bool need_gradient) {
  std::vector<Param> out;
  const auto &cases = all_cases();
  for (size_t k = 0; k < cases.size(); k++) {
    if (need_gradient && !ag_op_get_info(cases[k].op)->differentiable) continue;
    for (ag_dtype dt : cases[k].dtypes)
      for (const char *be : {"cpu", "emu", "cuda"}) out.emplace_back(k, dt, be);
  }
  return out;
}

std::string param_name(const ::testing::TestParamInfo<Param> &p) {
  auto [index, dt, name] = p.param;
  const OpCase &c = all_cases()[index];
  return std::string(ag_op_get_info(c.op)->name) + "_" + c.label + "_" + ag_dtype_name(dt) + "_" +
         name;
}

INSTANTIATE_TEST_SUITE_P(All, OpForward, ::testing::ValuesIn(params(false)), param_name);
INSTANTIATE_TEST_SUITE_P(All, OpBackward, ::testing::ValuesIn(params(true)), param_name);

// Every backend rejects an integer dtype for float ops with an error, never a
// crash or silent garbage.
TEST(OpHarnessErrors, IntegerDtypesAreUnsupportedEverywhere) {
  for (const char *name : {"cpu", "emu", "cuda"}) {
    std::string why;
    ag_backend *be = find_backend(name, &why);
    if (!be) continue;
    int64_t shape[2] = {2, 4}, one[2] = {2, 1};
    Tensor x(ag_tensor_new(be, AG_I32, 2, shape)), y(ag_tensor_new(be, AG_I32, 2, shape));
    Tensor r(ag_tensor_new(be, AG_I32, 2, one));
    EXPECT_EQ(ag_eager_gelu(y.get(), x.get()), AG_ERR_UNSUPPORTED) << name;
    EXPECT_EQ(ag_eager_add(y.get(), x.get(), x.get()), AG_ERR_UNSUPPORTED) << name;
    EXPECT_EQ(ag_eager_sum(r.get(), x.get()), AG_ERR_UNSUPPORTED) << name;
    EXPECT_EQ(ag_eager_fill_normal(y.get(), 1, 0, 0, 1), AG_ERR_UNSUPPORTED) << name;
  }
}

// Each registered op family has at least one case, and every case's op has
// a forward kernel on the CPU.
TEST(OpHarnessErrors, EveryCaseHasACpuKernel) {
  ASSERT_FALSE(all_cases().empty());
  for (const auto &c : all_cases())
    EXPECT_EQ(ag_op_has_kernel(ag_backend_cpu(), c.op, 0), AG_OK) << ag_last_error();
}

}  // namespace
