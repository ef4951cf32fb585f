// Op harness cases: layout ops. CONTIGUOUS reads a sliced, permuted view.
#include "op_cases.h"

using namespace ag_test;

AG_OP_CASES(layout) {
  CaseList cases;
  for (auto shape : std::vector<std::vector<int64_t>>{{7}, {3, 33}, {2, 3, 17}, {2, 2, 3, 9}}) {
    InputSpec x = in(shape);
    x.strided_view = true;
    OpCase c = op_case(AG_OP_CONTIGUOUS, "d" + std::to_string(shape.size()), {x});
    c.dtypes = {AG_F32, AG_BF16, AG_F16, AG_I32, AG_U8};
    c.exact = true;
    cases.push_back(c);
  }
  return cases;
}
