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

OpCase norm_case(ag_op op, const std::string &label, std::vector<InputSpec> inputs,
                 bool finite_differences) {
  OpCase c = op_case(op, label, std::move(inputs));
  set_args(c, ag_norm_args{kEps}, ag_norm_args_encode);
  c.finite_differences = finite_differences;
  return c;
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
  out->push_back(norm_case(op, "cols1500", last_dim({3, 1500}, weight, bias), false));
  OpCase offset = norm_case(op, "offset", last_dim({6, 40}, weight, bias), false);
  offset.inputs[0].lo = 100.0f;  // |mean| >> std: naive sum of squares cancels
  offset.inputs[0].hi = 101.0f;
  out->push_back(offset);
}

OpCase group_case(const std::string &label, std::vector<int64_t> x, int64_t groups, bool fd) {
  int64_t ch = x[1];
  OpCase c = norm_case(AG_OP_GROUPNORM, label, {in(std::move(x)), in({ch}), in({ch})}, fd);
  set_args(c, ag_groupnorm_args{groups, kEps}, ag_groupnorm_args_encode);
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
  cases.push_back(group_case("nc_g3", {3, 6}, 3, true));
  cases.push_back(group_case("g1", {2, 4, 7}, 1, true));
  cases.push_back(group_case("long_rows", {2, 8, 1200}, 2, false));
  cases.push_back(group_case("nchw", {3, 6, 5, 7}, 6, false));
  cases.push_back(batch_case("train_nc", {4, 3}, true, true));
  cases.push_back(batch_case("train_ncl", {2, 3, 5}, true, true));
  cases.push_back(batch_case("train_nchw", {3, 4, 5, 7}, true, false));
  cases.push_back(batch_case("train_wide", {5, 300}, true, false));
  cases.push_back(batch_case("train_long", {2, 3, 700}, true, false));
  cases.push_back(batch_case("eval_ncl", {2, 3, 5}, false, true));
  cases.push_back(batch_case("eval_nchw", {3, 4, 5, 7}, false, false));
  return cases;
}
