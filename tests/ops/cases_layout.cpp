// Op harness cases: layout ops. CONTIGUOUS reads a sliced, permuted view;
// CONCAT, SPLIT and GATHER run along every axis position, with odd sizes (so
// the CUDA copies fall back to narrower words) and even ones (16-byte words).
// Their forwards are byte copies that take any dtype, but the harness runs the
// backward of a differentiable op in every dtype of its cases and can only
// make float output gradients, so their cases are float only: f32 and bf16
// cover the 4- and 2-byte word paths.
#include <cstring>

#include "ag_test_util.h"
#include "op_cases.h"
#ifdef AG_TEST_EMU
#include "runtime/backends/ag_backend_emu.h"
#endif

using namespace ag_test;

namespace {

std::vector<int64_t> with_dim(std::vector<int64_t> shape, size_t axis, int64_t n) {
  shape[axis] = n;
  return shape;
}

void add_contiguous(CaseList *cases) {
  for (auto shape : std::vector<std::vector<int64_t>>{{7}, {3, 33}, {2, 3, 17}, {2, 2, 3, 9}}) {
    InputSpec x = in(shape);
    x.strided_view = true;
    OpCase c = op_case(AG_OP_CONTIGUOUS, "d" + std::to_string(shape.size()), {x});
    c.dtypes = {AG_F32, AG_BF16, AG_F16, AG_I32, AG_U8};
    c.exact = true;
    cases->push_back(c);
  }
}

void add_concat_split(CaseList *cases, const std::vector<int64_t> &shape, const std::string &tag) {
  for (size_t axis = 0; axis < shape.size(); axis++) {
    std::string label = tag + "_a" + std::to_string(axis);
    OpCase cat = op_case(AG_OP_CONCAT, label,
                         {in(with_dim(shape, axis, 3)), in(with_dim(shape, axis, shape[axis]))});
    encode_args(cat, ag_axis_args_encode,
                ag_axis_args{(int)axis - (int)shape.size()});  // negative axes
    OpCase split = op_case(AG_OP_SPLIT, label, {in(shape)});
    encode_args(split, ag_split_args_encode, ag_split_args{(int)axis, 1 + shape[axis] / 3});
    split.grad_outputs = {0, 1};
    for (OpCase *c : {&cat, &split}) {
      c->exact = true;
      cases->push_back(*c);
    }
  }
}

OpCase gather(const std::string &label, std::vector<int64_t> shape, int64_t axis, int64_t n_idx) {
  InputSpec idx = in({n_idx});
  idx.dtype = AG_I32;
  idx.lo = 0;
  idx.hi = (float)shape[(size_t)(axis < 0 ? axis + (int64_t)shape.size() : axis)];
  idx.differentiable = false;
  OpCase c = op_case(AG_OP_GATHER, label, {in(std::move(shape)), idx});
  encode_args(c, ag_axis_args_encode, ag_axis_args{(int)axis});
  c.exact = true;
  // The CUDA scatter-add rounds every atomic add in bf16/f16, the CPU once.
  c.tol_scale = 10;
  return c;
}

}  // namespace

AG_OP_CASES(layout) {
  CaseList cases;
  add_contiguous(&cases);
  add_concat_split(&cases, {2, 5, 3}, "odd");
  add_concat_split(&cases, {2, 4, 3, 8}, "even");
  // Indices repeat (more indices than rows), so the gradient really adds.
  cases.push_back(gather("rows", {6, 5}, 0, 9));
  cases.push_back(gather("cols", {3, 7}, -1, 4));
  cases.push_back(gather("mid", {2, 5, 3}, 1, 8));
  cases.push_back(gather("wide", {2, 4, 3, 8}, 2, 5));
  // Every index hits one element: in bf16/f16 the per-add rounding of the
  // CUDA atomics is the whole result, so only f32 is compared.
  OpCase one = gather("one", {1}, 0, 3);
  one.dtypes = {AG_F32};
  cases.push_back(one);
  for (auto &c : cases) {
    int64_t n = 1;
    for (auto d : c.inputs[0].shape) n *= d;
    c.finite_differences = n <= 64;
  }
  return cases;
}

namespace {

// gather of rows {2, 3} from a [3, 2] tensor on `be`: row 3 does not exist.
ag_status gather_past_the_end(ag_backend *be, std::vector<float> *y_out) {
  int64_t n = 2, y_shape[2] = {2, 2};
  int32_t ids[2] = {2, 3};
  ag_tensor *x = make_tensor(be, AG_F32, {3, 2}, {1, 2, 3, 4, 5, 6});
  ag_tensor *idx = ag_tensor_new(be, AG_I32, 1, &n);
  ag_tensor *y = ag_tensor_new(be, AG_F32, 2, y_shape);
  EXPECT_EQ(ag_tensor_write(idx, ids, sizeof ids), AG_OK);
  ag_status st = ag_eager_gather(y, x, idx, 0);
  if (st == AG_OK) *y_out = read_floats(y);
  ag_tensor_free(y);
  ag_tensor_free(idx);
  ag_tensor_free(x);
  return st;
}

}  // namespace

// The CPU names the bad index; CUDA cannot report it cheaply, so it writes a
// zero row instead of reading out of bounds (checked on the emulator).
TEST(LayoutErrors, GatherIndexOutOfRange) {
  std::vector<float> y;
  EXPECT_EQ(gather_past_the_end(ag_backend_cpu(), &y), AG_ERR_INVALID);
  EXPECT_NE(std::strstr(ag_last_error(), "index 3 at position 1"), nullptr) << ag_last_error();
#ifdef AG_TEST_EMU
  ASSERT_EQ(gather_past_the_end(ag_backend_emu(), &y), AG_OK) << ag_last_error();
  EXPECT_EQ(y, (std::vector<float>{5, 6, 0, 0}));
#endif
}
