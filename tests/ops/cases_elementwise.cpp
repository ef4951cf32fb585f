// Op harness cases: elementwise ops. Sizes avoid multiples of block sizes.
#include "op_cases.h"

using namespace ag_test;

AG_OP_CASES(elementwise) {
  const std::vector<std::vector<int64_t>> shapes = {{5}, {3, 33}, {2, 3, 257}, {2, 2, 3, 70}};
  CaseList cases;
  for (size_t k = 0; k < shapes.size(); k++) {
    std::string label = "s" + std::to_string(k);
    const auto &s = shapes[k];
    cases.push_back(op_case(AG_OP_ADD, label, {in(s), in(s)}));
    cases.push_back(op_case(AG_OP_MUL, label, {in(s), in(s)}));
    OpCase scale = op_case(AG_OP_SCALE, label, {in(s)});
    scale.f[0] = -1.75f;
    cases.push_back(scale);
    cases.push_back(op_case(AG_OP_GELU, label, {in(s)}));
    cases.push_back(op_case(AG_OP_SILU, label, {in(s)}));
  }
  // Finite differences cost two forwards per element: keep them to small shapes.
  for (auto &c : cases) c.finite_differences = c.inputs[0].shape.size() <= 2;
  return cases;
}
