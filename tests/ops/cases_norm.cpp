// Op harness cases for the normalisation ops. Column counts cover a single
// column, an odd count below a warp's 1024-column limit, and rows longer than
// that (block per row); row counts that are not multiples of the 8 rows per
// block or of the 32-column gradient tile. Finite differences only on small
// shapes, since each element costs two forwards.
#include "op_cases.h"

using namespace ag_test;

namespace {

constexpr float kEps = 1e-5f;

// The case's parameters from an encoded call.
template <class Args> void set_args(OpCase &c, const Args &a,
                                    void (*encode)(ag_op_call *, const Args *)) {
  ag_op_call call = {};
  encode(&call, &a);
  c.set_args(call);
}

// The finite-difference step: the loss sums the outputs of a whole set, and
// each f32 forward rounds it by about sqrt(set size) * |gy * y| * 2^-24, 3e-6
// for a group of 27; a step of 1e-3 turns that into 1.5e-3 of noise in the
// quotient, most of the 2e-3 tolerance (measured: up to 0.9 of it, and past
// it for groupnorm nchw_odd). At 1e-2 the noise is ten times smaller and the
// truncation error, eps^2 / 6 times the third derivative, stays below a tenth
// of the tolerance for sets of 4 or more (measured: at most 0.07 of it over
// 6 input seeds).
constexpr double kFdStep = 1e-2;

OpCase norm_case(ag_op op, const std::string &label, std::vector<InputSpec> inputs,
                 bool finite_differences) {
  OpCase c = op_case(op, label, std::move(inputs));
  set_args(c, ag_norm_args{kEps}, ag_norm_args_encode);
  c.finite_differences = finite_differences;
  c.fd_eps = kFdStep;
  return c;
}

// Long sets draw x from [-1, 3], not [-2, 2]. The saved mean is an output,
// held to an NMSE against its own size: thousands of values centred on 0
// have a mean of ~1e-2, while the f32 sums of x - x[0] it comes from leave
// an error of ~1e-7 in it whatever its size (measured NMSE up to 2.4e-10 for
// groups of 4800, over the 1e-10 threshold). Centred on 1 the same error is
// an NMSE of ~1e-14.
InputSpec long_set(std::vector<int64_t> x) {
  InputSpec s = in(std::move(x));
  s.lo = -1.0f;
  s.hi = 3.0f;
  return s;
}

// x [.., d] with a weight (and bias when `bias`) of [d].
std::vector<InputSpec> last_dim(std::vector<int64_t> x, bool weight, bool bias) {
  int64_t d = x.back();
  std::vector<InputSpec> v = {in(std::move(x))};
  if (weight) v.push_back(in({d}));
  if (bias) v.push_back(in({d}));
  return v;
}

void add_last_dim_cases(CaseList *out, ag_op op, bool weight, bool bias) {
  // One column: rmsnorm's gradient is rstd g w (1 - xhat^2), and with eps = 1e-5
  // 1 - xhat^2 = eps / (x^2 + eps) ~ 1e-5 cancels to ~1e-2 relative error in any f32
  // evaluation. A large eps keeps the case about the shape, not the conditioning.
  OpCase cols1 = norm_case(op, "cols1", last_dim({5, 1}, weight, bias), true);
  set_args(cols1, ag_norm_args{0.5f}, ag_norm_args_encode);
  out->push_back(cols1);
  out->push_back(norm_case(op, "cols33", last_dim({4, 33}, weight, bias), true));
  out->push_back(norm_case(op, "one_row", last_dim({33}, weight, bias), true));
  out->push_back(norm_case(op, "rows70", last_dim({2, 35, 65}, weight, bias), false));
  OpCase cols1500 = norm_case(op, "cols1500", last_dim({3, 1500}, weight, bias), false);
  cols1500.inputs[0] = long_set({3, 1500});
  out->push_back(cols1500);
  // |mean| / std = 54: a naive f32 sum of squares would cancel to an NMSE of
  // ~1e-7 (simulated), three decades above the threshold. No larger, because
  // the op's mean is an f32 output that y (and the backward's xhat) is taken
  // from: it is off by up to half an ulp of |mean|, which moves every xhat by
  // ulp(|mean|) / (2 std). At mean 100.5, std 0.29 that alone is an NMSE of
  // 6e-11 typically and 1.7e-10 at worst, over the 1e-10 threshold for some
  // inputs; here it is 1e-12.
  OpCase offset = norm_case(op, "offset", last_dim({6, 40}, weight, bias), false);
  offset.inputs[0].lo = 30.0f;
  offset.inputs[0].hi = 32.0f;
  out->push_back(offset);
  // Rows of whole 16-byte vectors for every dtype (520 and 2056 are multiples
  // of 8): the vector loops of a warp row and of a block row.
  out->push_back(norm_case(op, "vec_warp", last_dim({9, 520}, weight, bias), false));
  OpCase vec_block = norm_case(op, "vec_block", last_dim({3, 2056}, weight, bias), false);
  vec_block.inputs[0] = long_set({3, 2056});
  out->push_back(vec_block);
  // 531 rows: the affine column sums split into row chunks (the last one
  // shorter) and add the partials; 40 columns leave a partial 32-wide tile.
  out->push_back(norm_case(op, "row_chunks", last_dim({531, 40}, weight, bias), false));
}

OpCase group_case(const std::string &label, std::vector<int64_t> x, int64_t groups, bool fd,
                  float eps = kEps) {
  int64_t ch = x[1];
  OpCase c = norm_case(AG_OP_GROUPNORM, label, {in(std::move(x)), in({ch}), in({ch})}, fd);
  set_args(c, ag_groupnorm_args{groups, eps}, ag_groupnorm_args_encode);
  return c;
}

OpCase batch_case(const std::string &label, std::vector<int64_t> x, bool training, bool fd) {
  int64_t ch = x[1];
  InputSpec mean = in({ch}), var = in({ch});
  mean.dtype = var.dtype = AG_F32;
  mean.differentiable = var.differentiable = false;
  var.lo = 0.5f;
  var.hi = 2.0f;
  OpCase c = norm_case(AG_OP_BATCHNORM, label, {in(std::move(x)), in({ch}), in({ch}), mean, var},
                       fd);
  set_args(c, ag_batchnorm_args{training, kEps, 0.1f}, ag_batchnorm_args_encode);
  return c;
}

}  // namespace

AG_OP_CASES(norm) {
  CaseList cases;
  add_last_dim_cases(&cases, AG_OP_LAYERNORM, true, true);
  add_last_dim_cases(&cases, AG_OP_LAYERNORM_NOAFFINE, false, false);
  add_last_dim_cases(&cases, AG_OP_RMSNORM, true, false);
  cases.push_back(group_case("ncl_g3", {2, 6, 5}, 3, true));
  cases.push_back(group_case("nchw_odd", {2, 9, 3, 3}, 3, true));
  // Groups of two values: xhat = +-d / sqrt(d^2 + eps) with d half their
  // difference, so x reaches y only through eps and the gradient is
  // rstd (g1 - g2) / 2 * eps / (d^2 + eps), the residue of O(1) terms that
  // cancel to ~1e-5 at eps = 1e-5 (measured NMSE 4e-12 to 5e-6 against the
  // f64 reference, by input). A large eps, as for cols1, keeps the case about
  // the [N, C] layout.
  cases.push_back(group_case("nc_g3", {3, 6}, 3, true, 0.5f));
  cases.push_back(group_case("g1", {2, 4, 7}, 1, true));
  OpCase long_rows = group_case("long_rows", {2, 8, 1200}, 2, false);
  long_rows.inputs[0] = long_set({2, 8, 1200});
  cases.push_back(long_rows);
  cases.push_back(group_case("nchw", {3, 6, 5, 7}, 6, false));
  // [N, C] with 16 channels per group: rows of whole vectors whose weights
  // are contiguous; 300 samples split the affine column sums into chunks.
  cases.push_back(group_case("nc_vec", {300, 48}, 3, false));
  cases.push_back(batch_case("train_nc", {4, 3}, true, true));
  cases.push_back(batch_case("train_ncl", {2, 3, 5}, true, true));
  cases.push_back(batch_case("train_nchw", {3, 4, 5, 7}, true, false));
  cases.push_back(batch_case("train_wide", {5, 300}, true, false));
  cases.push_back(batch_case("train_long", {2, 3, 700}, true, false));
  cases.push_back(batch_case("eval_ncl", {2, 3, 5}, false, true));
  cases.push_back(batch_case("eval_nchw", {3, 4, 5, 7}, false, false));
  return cases;
}
