// Golden tests: the CPU reference kernels against PyTorch. Every JSON file in
// tests/golden/ (written by tests/golden/generate.py, see agold.py for the
// format) holds cases for one op: inputs and parameters, the expected
// outputs and, optionally, input gradients for given output gradients.
#include <cjson/cJSON.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "ag_test_util.h"
#include "runtime/ops/ag_ops.h"

using namespace ag_test;
namespace fs = std::filesystem;

namespace {

struct JsonDeleter {
  void operator()(cJSON *j) const { cJSON_Delete(j); }
};
using Json = std::unique_ptr<cJSON, JsonDeleter>;

std::vector<int64_t> shape_of(const cJSON *t) {
  std::vector<int64_t> s;
  const cJSON *d;
  cJSON_ArrayForEach(d, cJSON_GetObjectItem(t, "shape")) s.push_back((int64_t)d->valuedouble);
  return s;
}

std::vector<float> data_of(const cJSON *t) {
  std::vector<float> v;
  const cJSON *d;
  cJSON_ArrayForEach(d, cJSON_GetObjectItem(t, "data")) v.push_back((float)d->valuedouble);
  return v;
}

Tensor tensor_from(const cJSON *t) {
  auto shape = shape_of(t);
  auto vals = data_of(t);
  bool ints = std::string(cJSON_GetObjectItem(t, "dtype")->valuestring) == "i32";
  Tensor x(ag_tensor_new(ag_backend_cpu(), ints ? AG_I32 : AG_F32, (int)shape.size(),
                         shape.data()));
  if (ints) {
    std::vector<int32_t> iv(vals.begin(), vals.end());
    EXPECT_EQ(ag_tensor_write(x.get(), iv.data(), iv.size() * 4), AG_OK);
  } else {
    EXPECT_EQ(ag_tensor_write(x.get(), vals.data(), vals.size() * 4), AG_OK);
  }
  return x;
}

void expect_close(const std::vector<float> &got, const cJSON *want, double rtol, double atol,
                  const std::string &what) {
  auto w = data_of(want);
  ASSERT_EQ(got.size(), w.size()) << what;
  for (size_t i = 0; i < w.size(); i++)
    ASSERT_NEAR(got[i], w[i], atol + rtol * std::fabs(w[i])) << what << " element " << i;
}

void run_case(ag_op op, const cJSON *c) {
  const ag_op_info *info = ag_op_get_info(op);
  double rtol = cJSON_GetObjectItem(c, "rtol")->valuedouble;
  double atol = cJSON_GetObjectItem(c, "atol")->valuedouble;
  ag_op_call call{};
  std::vector<Tensor> inputs, outputs, grads_out, grads_in;
  const cJSON *t;
  cJSON_ArrayForEach(t, cJSON_GetObjectItem(c, "inputs")) inputs.push_back(tensor_from(t));
  for (size_t i = 0; i < inputs.size(); i++) call.in[i] = inputs[i].get();
  int k = 0;
  cJSON_ArrayForEach(t, cJSON_GetObjectItem(c, "f")) call.f[k++] = (float)t->valuedouble;
  k = 0;
  cJSON_ArrayForEach(t, cJSON_GetObjectItem(c, "i")) call.i[k++] = (int64_t)t->valuedouble;
  ag_shape shapes[AG_OP_MAX_ARGS];
  ASSERT_EQ(ag_op_infer(op, &call, shapes), AG_OK) << ag_last_error();
  for (int o = 0; o < info->n_out; o++) {
    outputs.emplace_back(ag_tensor_new(ag_backend_cpu(), shapes[o].dtype, shapes[o].ndim,
                                       shapes[o].dims));
    call.out[o] = outputs.back().get();
  }
  ASSERT_EQ(ag_op_forward(ag_backend_cpu(), op, &call), AG_OK) << ag_last_error();
  k = 0;
  cJSON_ArrayForEach(t, cJSON_GetObjectItem(c, "outputs")) {
    if (!cJSON_IsNull(t))
      expect_close(read_floats(outputs[k].get()), t, rtol, atol, "output " + std::to_string(k));
    k++;
  }
  const cJSON *gys = cJSON_GetObjectItem(c, "grad_outputs");
  if (!gys) return;
  ag_op_call b = call;
  for (int i = 0; i < AG_OP_MAX_ARGS; i++) b.out[i] = nullptr;
  k = 0;
  cJSON_ArrayForEach(t, gys) {
    b.in[info->n_in + k] = outputs[k].get();
    if (!cJSON_IsNull(t)) {
      grads_out.push_back(tensor_from(t));
      b.in[info->n_in + info->n_out + k] = grads_out.back().get();
    }
    k++;
  }
  k = 0;
  cJSON_ArrayForEach(t, cJSON_GetObjectItem(c, "grad_inputs")) {
    grads_in.emplace_back();
    if (!cJSON_IsNull(t)) {
      const ag_tensor *x = inputs[k].get();
      grads_in.back().reset(ag_tensor_new(ag_backend_cpu(), x->dtype, x->ndim, x->shape));
      b.out[k] = grads_in.back().get();
    }
    k++;
  }
  ASSERT_EQ(ag_op_backward(ag_backend_cpu(), op, &b), AG_OK) << ag_last_error();
  k = 0;
  cJSON_ArrayForEach(t, cJSON_GetObjectItem(c, "grad_inputs")) {
    if (!cJSON_IsNull(t))
      expect_close(read_floats(grads_in[k].get()), t, rtol, atol,
                   "gradient of input " + std::to_string(k));
    k++;
  }
}

std::vector<std::string> golden_files() {
  std::vector<std::string> files;
  for (const auto &e : fs::directory_iterator(AG_GOLDEN_DIR))
    if (e.path().extension() == ".json") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

class Golden : public ::testing::TestWithParam<std::string> {};

TEST_P(Golden, CpuMatchesPyTorch) {
  std::ifstream in(GetParam());
  std::stringstream text;
  text << in.rdbuf();
  Json root(cJSON_Parse(text.str().c_str()));
  ASSERT_NE(root, nullptr) << "cannot parse " << GetParam();
  const char *name = cJSON_GetObjectItem(root.get(), "op")->valuestring;
  ag_op op = ag_op_by_name(name);
  ASSERT_NE(op, AG_OP_COUNT) << "unknown op " << name;
  const cJSON *c;
  cJSON_ArrayForEach(c, cJSON_GetObjectItem(root.get(), "cases")) {
    SCOPED_TRACE(cJSON_GetObjectItem(c, "name")->valuestring);
    run_case(op, c);
  }
}

std::string file_stem(const ::testing::TestParamInfo<std::string> &p) {
  std::string s = fs::path(p.param).stem().string();
  for (auto &ch : s)
    if (!isalnum((unsigned char)ch)) ch = '_';
  return s;
}

INSTANTIATE_TEST_SUITE_P(Files, Golden, ::testing::ValuesIn(golden_files()), file_stem);

}  // namespace
