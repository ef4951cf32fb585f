// The op harness (in the spirit of ggml's test-backend-ops): every case that
// an op family registers (tests/ops/cases_<family>.cpp), in each of its
// dtypes, on every backend, against a reference: the CPU backend against the
// f64 references (tests/ops/ref_<family>.cpp, op_reference.h), every other
// backend against the CPU.
//   forward:  NMSE below a per-dtype threshold, or bit for bit where the case
//             says so;
//   backward: NMSE of every input gradient, and in f32 a central
//             finite-difference check of the backend's own gradients.
// Non-finite values (an lse of +inf) must match exactly, and NMSE is over
// the finite rest; a case with row_check also bounds each row's largest
// error. A backend whose kernels do not admit a case (ag_op_supported)
// reports it skipped with the reason; the CPU must run every case.
// Each case's random inputs are seeded from its op name and label alone
// (case_seed), so cases added or moved elsewhere never change them.
// One executable; ctest runs it once per backend (cpu, emu, gpu labels).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <tuple>

#include "ag_gpu_main.h"
#include "ag_test_util.h"
#include "op_cases.h"
#include "op_reference.h"
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

// Every registration, so that an op registered twice is found and reported.
static std::multimap<ag_op, OpReference> &reference_registry() {
  static std::multimap<ag_op, OpReference> refs;
  return refs;
}

bool register_references(const char *family, ReferenceList (*make)()) {
  (void)family;
  for (const auto &[op, ref] : make()) reference_registry().emplace(op, ref);
  return true;
}

}  // namespace ag_test

namespace {

using Values = std::vector<std::vector<float>>;

// A backend's output: its dtype, its shape and its values widened to float.
struct Output {
  ag_dtype dtype;
  Shape shape;
  std::vector<float> v;
};
using Outputs = std::vector<Output>;

// NMSE thresholds of a backend against the CPU, by the dtype under test.
double threshold(ag_dtype dt) {
  switch (dt) {
  case AG_F32: return 1e-7;
  case AG_F16: return 1e-5;
  default: return 1e-4;
  }
}

// NMSE thresholds of the CPU against the f64 reference, by the dtype of the
// compared tensor (an f32 statistic of a bf16 case is held to f32's).
// Rounding to the dtype alone costs about 2^-2p / 3, p the significand bits:
// 1e-15 in f32, 8e-8 in f16, 5e-6 in bf16; the margin above that is for the
// kernels' f32 accumulation and the intermediates they store in the dtype.
double reference_threshold(ag_dtype dt) {
  switch (dt) {
  case AG_F32: return 1e-10;
  case AG_F16: return 1e-6;
  default: return 1e-4;
  }
}

// The f64 reference of `op`, with a backward when `backward`, or nullptr
// with the reason: every op the cases cover needs exactly one.
const OpReference *find_reference(ag_op op, bool backward, std::string *why) {
  const auto [first, last] = reference_registry().equal_range(op);
  const auto count = std::distance(first, last);
  const std::string name = ag_op_get_info(op)->name;
  if (count != 1) {
    *why = name + " has " + std::to_string(count) +
           " f64 references; it needs one (tests/ops/ref_<family>.cpp)";
    return nullptr;
  }
  if (backward && !first->second.backward) {
    *why = name + "'s f64 reference has no backward";
    return nullptr;
  }
  return &first->second;
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

ag_dtype dtype_of(const InputSpec &s, ag_dtype test_dt) {
  return s.dtype == kTestDtype ? test_dt : s.dtype;
}

// AG_TEST_OPS_SEED=N (N > 0) gives every case other random inputs, to check
// that the cases pass for what they are rather than by the luck of their
// inputs; unset or 0, the inputs are the ones CI runs. Read before main, so
// that a bad value stops the run before any case.
uint32_t seed_variant() {
  const char *s = std::getenv("AG_TEST_OPS_SEED");
  if (!s || !*s) return 0;
  char *end = nullptr;
  const unsigned long v = std::strtoul(s, &end, 10);
  if (!std::isdigit((unsigned char)s[0]) || *end || v > UINT32_MAX) {
    std::fprintf(stderr, "AG_TEST_OPS_SEED=%s: not an integer in [0, 2^32)\n", s);
    std::exit(2);
  }
  return (uint32_t)v;
}
const uint32_t kSeedVariant = seed_variant();

// The seed of one use of random values in a case (its forward inputs, its
// backward inputs, its output gradients): FNV-1a of op name, label and use,
// so adding, removing or reordering cases never changes another case's values.
uint32_t case_seed(const OpCase &c, const char *use) {
  std::string key = std::string(ag_op_get_info(c.op)->name) + "/" + c.label + "/" + use;
  if (kSeedVariant) key += "/" + std::to_string(kSeedVariant);
  uint32_t h = 2166136261u;
  for (unsigned char ch : key) h = (h ^ ch) * 16777619u;
  return h;
}

// Random values for every input the case does not fix; integer inputs hold
// whole numbers.
Values random_inputs(const OpCase &c, uint32_t seed) {
  Values v;
  std::mt19937 rng(seed);
  for (const auto &s : c.inputs) {
    if (!s.values.empty()) {
      v.push_back(s.values);
      continue;
    }
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

std::vector<float> decode_any(ag_dtype dt, const std::vector<uint8_t> &bytes) {
  if (is_float(dt)) return decode(dt, bytes);
  std::vector<float> v(bytes.size() / ag_dtype_size(dt));
  for (size_t i = 0; i < v.size(); i++) {
    int32_t x = 0;
    if (dt == AG_I32) std::memcpy(&x, &bytes[i * 4], 4);
    else x = bytes[i];
    v[i] = (float)x;
  }
  return v;
}

std::vector<float> read_any(const ag_tensor *t) { return decode_any(t->dtype, read_bytes(t)); }

// What a tensor of dtype dt holds once `v` is written to it: bf16 and f16
// round to nearest even, i32 truncates toward zero (as a cast does).
std::vector<float> stored(ag_dtype dt, const std::vector<float> &v) {
  return decode_any(dt, encode_any(dt, v));
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

// A call holding only the case's parameters.
ag_op_call params_of(const OpCase &c) {
  ag_op_call call = {};
  std::copy(c.f, c.f + 4, call.f);
  std::copy(c.i, c.i + 8, call.i);
  std::copy(c.u, c.u + 2, call.u);
  return call;
}

void build(Call *k, ag_backend *be, const OpCase &c, ag_dtype dt, const Values &vals) {
  const ag_op_info *info = ag_op_get_info(c.op);
  k->call = params_of(c);
  for (size_t i = 0; i < c.inputs.size(); i++) {
    k->in.push_back(make_input(be, c.inputs[i], dtype_of(c.inputs[i], dt), vals[i], &k->owned));
    k->call.in[i] = k->in.back().get();
  }
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

// Whether a call is not to be run: `unsupported` is given and the backend's
// kernels do not admit it (ag_op_supported: a head dim the fused kernel
// lacks, ...), whose reason is left there. The CPU is the reference and must
// run every case, so its callers never pass it.
bool refused(ag_backend *be, ag_op op, const ag_op_call *call, int backward,
             std::string *unsupported) {
  if (!unsupported || ag_op_supported(be, op, call, backward) == AG_OK) return false;
  *unsupported = ag_last_error();
  return true;
}

// The outputs of one forward call; empty for a refused call.
Outputs forward(ag_backend *be, const OpCase &c, ag_dtype dt, const Values &vals,
                std::string *unsupported = nullptr) {
  Call k;
  build(&k, be, c, dt, vals);
  if (refused(be, c.op, &k.call, 0, unsupported)) return {};
  EXPECT_EQ(ag_op_forward(be, c.op, &k.call), AG_OK) << ag_last_error();
  Outputs outs;
  for (auto &t : k.out)
    outs.push_back({t->dtype, Shape(t->shape, t->shape + t->ndim), read_any(t.get())});
  return outs;
}

// Random output gradients for the outputs the case names, from shapes.
Values random_output_grads(const OpCase &c, const Outputs &outs, uint32_t seed) {
  Values g(outs.size());
  for (int o : c.grad_outputs) g[(size_t)o] = random_values(outs[(size_t)o].v.size(), seed + o);
  return g;
}

// Input gradients (empty for inputs that take none) via the backward; empty
// for a refused call (forward or backward).
Values backward(ag_backend *be, const OpCase &c, ag_dtype dt, const Values &vals, const Values &gy,
                std::string *unsupported = nullptr) {
  Call k;
  build(&k, be, c, dt, vals);
  if (refused(be, c.op, &k.call, 0, unsupported)) return {};
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
  if (refused(be, c.op, &b, 1, unsupported)) return {};
  EXPECT_EQ(ag_op_backward(be, c.op, &b), AG_OK) << ag_last_error();
  Values out;
  for (auto &t : grads_in) out.push_back(t ? read_floats(t.get()) : std::vector<float>());
  return out;
}

double loss(const Outputs &outs, const Values &gy) {
  double s = 0;
  for (size_t o = 0; o < gy.size(); o++)
    for (size_t j = 0; j < gy[o].size(); j++) s += (double)gy[o][j] * outs[o].v[j];
  return s;
}

// Central differences of L(x) = sum_o sum(gy_o * y_o) against the gradients,
// element by element: |numeric - analytic| <= fd_atol + fd_rtol * |analytic|.
//
// A case with fd_kinks is piecewise linear in each input (relu, max): where
// no kink lies within [x - eps, x + eps] the one-sided differences
// D+ = (L(x + eps) - L(x)) / eps and D- = (L(x) - L(x - eps)) / eps agree up
// to rounding, and where one kink does, the central difference (D+ + D-) / 2
// misses the gradient by exactly |D+ - D-| / 2 (the jump in slope times the
// share of the step past the kink). So an element whose |D+ - D-| exceeds the
// tolerance is not compared but counted; elements not skipped are off by at
// most half the tolerance from a kink. Only two kinks within one step, on
// opposite sides and with jumps that cancel in D+ - D-, escape this: with a
// kink in about one step in two thousand (measured over 40 input seeds), two
// come about once in four million elements, before they need to cancel. More
// than a quarter of an input's elements skipped (more than one, for inputs of
// under 8) fails the check, which would otherwise say little.
void check_finite_differences(ag_backend *be, const OpCase &c, Values vals, const Values &gy,
                              const Values &grads) {
  const float eps = (float)c.fd_eps;
  const double l0 = c.fd_kinks ? loss(forward(be, c, AG_F32, vals), gy) : 0.0;
  for (size_t i = 0; i < vals.size(); i++) {
    if (grads[i].empty()) continue;
    size_t skipped = 0;
    for (size_t j = 0; j < vals[i].size(); j++) {
      const float x0 = vals[i][j];
      vals[i][j] = x0 + eps;
      const double lp = loss(forward(be, c, AG_F32, vals), gy);
      vals[i][j] = x0 - eps;
      const double lm = loss(forward(be, c, AG_F32, vals), gy);
      vals[i][j] = x0;
      const double analytic = grads[i][j], tol = c.fd_atol + c.fd_rtol * std::fabs(analytic);
      if (c.fd_kinks && std::fabs((lp - l0) - (l0 - lm)) / eps > tol) {
        skipped++;
        continue;
      }
      ASSERT_NEAR((lp - lm) / (2.0 * eps), analytic, tol) << "input " << i << " element " << j;
    }
    if (skipped) {
      std::printf("finite differences: input %zu: %zu of %zu elements skipped, a kink within "
                  "the step\n", i, skipped, vals[i].size());
      ::testing::Test::RecordProperty("fd_skipped_input_" + std::to_string(i), (int)skipped);
    }
    EXPECT_LE(skipped, std::max<size_t>(1, vals[i].size() / 4))
        << "input " << i << ": too many steps cross a kink for the check to mean much";
  }
}

// ---- the f64 reference's inputs ----

std::vector<double> widen(const std::vector<float> &v) { return {v.begin(), v.end()}; }

std::vector<float> narrow(const std::vector<double> &v) { return {v.begin(), v.end()}; }

// The reference's view of a case: the values the kernels got, each input
// rounded to its dtype.
RefCall reference_call(const OpCase &c, ag_dtype dt, const Values &vals) {
  RefCall r{c.op, params_of(c), {}, c.out_shape, dt};
  for (size_t i = 0; i < c.inputs.size(); i++)
    r.in.push_back({c.inputs[i].shape, widen(stored(dtype_of(c.inputs[i], dt), vals[i]))});
  return r;
}

// The output gradients the backward got (rounded to each output's dtype),
// zeros for the outputs the case gives none.
RefTensors reference_output_grads(const Outputs &outs, const Values &gy) {
  RefTensors g;
  for (size_t o = 0; o < outs.size(); o++) {
    const std::vector<float> zero(outs[o].v.size(), 0.0f);
    g.push_back({outs[o].shape, widen(gy[o].empty() ? zero : stored(outs[o].dtype, gy[o]))});
  }
  return g;
}

// ---- comparisons ----

// A compared tensor's finite part. Non-finite elements (attention's lse of
// a query that sees no key is +inf) are not excluded: each must be met by
// the same value at the same place (NaN never is), and NMSE is taken over
// the finite rest, which they would otherwise make inf or NaN.
struct FinitePart {
  std::vector<double> want, got;
  std::string mismatch;  // the first non-finite disagreement, "" when none
};

template <class W>
FinitePart finite_part(const std::vector<W> &want, const std::vector<float> &got) {
  FinitePart f;
  size_t bad = 0;
  for (size_t i = 0; i < want.size(); i++) {
    const double w = want[i], g = got[i];
    if (std::isfinite(w) && std::isfinite(g)) {
      f.want.push_back(w);
      f.got.push_back(g);
    } else if (g != w && !bad++) {
      f.mismatch = "element " + std::to_string(i) + ": got " + std::to_string(g) + ", want " +
                   std::to_string(w);
    }
  }
  if (bad > 1) f.mismatch += " (and " + std::to_string(bad - 1) + " more)";
  return f;
}

// The worst row (last dim) of a tensor: the largest |got - want| of any of
// its elements, relative to the largest |want| of the whole tensor, over
// finite pairs (finite_part checks the others). A whole-tensor NMSE lets an
// error confined to one row through: one of 300 rows holds about 1/300 of
// the energy, so every element of a tail row may be off by a sixth of the
// typical value in bf16 within 1e-4. Relative to the tensor's largest value,
// not the row's, so a row that is legitimately near zero is not noise.
struct RowError {
  double error = 0.0;
  size_t row = 0;
};

template <class W>
RowError worst_row(const std::vector<W> &want, const std::vector<float> &got, int64_t row_len) {
  double scale = 0.0;
  for (const W &w : want)
    if (std::isfinite((double)w)) scale = std::max(scale, std::fabs((double)w));
  RowError worst;
  for (size_t i = 0; i < want.size(); i++) {
    const double w = want[i], g = got[i];
    if (!std::isfinite(w) || !std::isfinite(g)) continue;
    const double e = std::fabs(g - w) / (scale > 0 ? scale : 1.0);
    if (e > worst.error) worst = {e, i / (size_t)std::max<int64_t>(row_len, 1)};
  }
  return worst;
}

// Bounds of the worst row's error (worst_row), for cases with row_check, set
// from measurement with a margin of about 3: over the attention cases the
// worst rows were, CPU against the f64 reference (by the compared tensor's
// dtype), 1.5e-6 in f32, 4.5e-4 in f16 and 3.6e-3 in bf16, and the emulated
// CUDA kernels against the CPU (by the dtype under test) 2.1e-6, 1.0e-3 and
// 7.5e-3: an output's rounding to its dtype alone is up to 2^-p of the
// largest value (p = 11 in f16, 8 in bf16).
double reference_row_threshold(ag_dtype dt) {
  switch (dt) {
  case AG_F32: return 1e-5;
  case AG_F16: return 2e-3;
  default: return 1e-2;
  }
}

double row_threshold(ag_dtype dt) {
  switch (dt) {
  case AG_F32: return 1e-5;
  case AG_F16: return 4e-3;
  default: return 2e-2;
  }
}

// Non-finite elements in the same places, NMSE within `nmse_bound` over the
// rest and, for a case with row_check, the worst row within `row_bound`
// (tol_scale, for squared errors, leaves it alone).
template <class W>
void expect_close(const OpCase &c, const std::vector<W> &want, const std::vector<float> &got,
                  int64_t row_len, double nmse_bound, double row_bound) {
  ASSERT_EQ(got.size(), want.size());
  const FinitePart f = finite_part(want, got);
  EXPECT_EQ(f.mismatch, "") << "non-finite values must match exactly";
  EXPECT_LE(nmse(f.want, f.got), nmse_bound * c.tol_scale);
  if (!c.row_check) return;
  const RowError r = worst_row(want, got, row_len);
  EXPECT_LE(r.error, row_bound) << "row " << r.row << " (of length " << row_len
                                << "): max |got - want| / max |want|";
}

int64_t last_dim(const Shape &s) { return s.empty() ? 1 : s.back(); }

// ---- the CPU against the f64 reference ----

// Shapes equal, and values within the output dtype's threshold, or, for an
// exact case, equal to the reference rounded to the output dtype.
void expect_outputs_match_reference(const OpCase &c, const RefTensors &want, const Outputs &got) {
  ASSERT_EQ(got.size(), want.size()) << "outputs of the reference";
  for (size_t o = 0; o < want.size(); o++) {
    SCOPED_TRACE("output " + std::to_string(o));
    ASSERT_EQ(got[o].shape, want[o].shape);
    if (c.exact)
      EXPECT_EQ(got[o].v, stored(got[o].dtype, narrow(want[o].v))) << "must match bit for bit";
    else
      expect_close(c, want[o].v, got[o].v, last_dim(want[o].shape),
                   reference_threshold(got[o].dtype), reference_row_threshold(got[o].dtype));
  }
}

// Every gradient the CPU wrote, within its input dtype's threshold.
void expect_gradients_match_reference(const OpCase &c, ag_dtype dt, const RefTensors &want,
                                      const Values &got) {
  ASSERT_EQ(got.size(), want.size()) << "input gradients of the reference";
  for (size_t i = 0; i < want.size(); i++) {
    if (got[i].empty()) continue;
    SCOPED_TRACE("gradient of input " + std::to_string(i));
    const ag_dtype in_dt = dtype_of(c.inputs[i], dt);
    expect_close(c, want[i].v, got[i], last_dim(c.inputs[i].shape), reference_threshold(in_dt),
                 reference_row_threshold(in_dt));
  }
}

// ---- other backends against the CPU ----

// Within the thresholds of the dtype under test, or bit for bit for an exact case.
void expect_outputs_match_cpu(const OpCase &c, ag_dtype dt, const Outputs &want,
                              const Outputs &got) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t o = 0; o < want.size(); o++) {
    SCOPED_TRACE("output " + std::to_string(o));
    ASSERT_EQ(got[o].v.size(), want[o].v.size());
    if (c.exact)
      EXPECT_EQ(got[o].v, want[o].v) << "must match the CPU bit for bit";
    else
      expect_close(c, want[o].v, got[o].v, last_dim(want[o].shape), threshold(dt),
                   row_threshold(dt));
  }
}

// Every input gradient within the thresholds of the dtype under test.
void expect_gradients_match_cpu(const OpCase &c, ag_dtype dt, const Values &want,
                                const Values &got) {
  for (size_t i = 0; i < want.size(); i++) {
    SCOPED_TRACE("gradient of input " + std::to_string(i));
    expect_close(c, want[i], got[i], last_dim(c.inputs[i].shape), threshold(dt), row_threshold(dt));
  }
}

using Param = std::tuple<size_t, ag_dtype, std::string>;  // case index, dtype, backend

class OpForward : public ::testing::TestWithParam<Param> {};
class OpBackward : public ::testing::TestWithParam<Param> {};

// The CPU against the f64 reference, any other backend against the CPU.
TEST_P(OpForward, MatchesReference) {
  auto [index, dt, name] = GetParam();
  const OpCase &c = all_cases()[index];
  std::string why;
  ag_backend *be = find_backend(name, &why);
  if (!be) GTEST_SKIP() << why;
  Values vals = random_inputs(c, case_seed(c, "forward"));
  const bool cpu = be == ag_backend_cpu();
  Outputs got = forward(be, c, dt, vals, cpu ? nullptr : &why);
  if (!why.empty()) GTEST_SKIP() << why;
  if (!cpu) {
    expect_outputs_match_cpu(c, dt, forward(ag_backend_cpu(), c, dt, vals), got);
  } else {
    const OpReference *ref = find_reference(c.op, false, &why);
    ASSERT_NE(ref, nullptr) << why;
    expect_outputs_match_reference(c, ref->forward(reference_call(c, dt, vals)), got);
  }
}

TEST_P(OpBackward, MatchesReferenceAndFiniteDifferences) {
  auto [index, dt, name] = GetParam();
  const OpCase &c = all_cases()[index];
  std::string why;
  ag_backend *be = find_backend(name, &why);
  if (!be) GTEST_SKIP() << why;
  Values vals = random_inputs(c, case_seed(c, "backward"));
  Outputs outs = forward(ag_backend_cpu(), c, dt, vals);
  Values gy = random_output_grads(c, outs, case_seed(c, "output_grads"));
  const bool cpu = be == ag_backend_cpu();
  Values got = backward(be, c, dt, vals, gy, cpu ? nullptr : &why);
  if (!why.empty()) GTEST_SKIP() << why;
  if (!cpu) {
    expect_gradients_match_cpu(c, dt, backward(ag_backend_cpu(), c, dt, vals, gy), got);
  } else {
    const OpReference *ref = find_reference(c.op, true, &why);
    ASSERT_NE(ref, nullptr) << why;
    const RefTensors want =
        ref->backward(reference_call(c, dt, vals), reference_output_grads(outs, gy));
    expect_gradients_match_reference(c, dt, want, got);
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

// Every case's op has one f64 reference, with a backward where the op has one.
TEST(OpHarnessErrors, EveryCaseHasAnF64Reference) {
  for (const auto &c : all_cases()) {
    std::string why;
    EXPECT_NE(find_reference(c.op, ag_op_get_info(c.op)->differentiable, &why), nullptr) << why;
  }
}

}  // namespace
