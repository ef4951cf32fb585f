// Op harness cases: reductions.
#include "op_cases.h"

using namespace ag_test;

AG_OP_CASES(reduce) {
  CaseList cases = {
      op_case(AG_OP_SUM, "row", {in({1})}),
      op_case(AG_OP_SUM, "rows", {in({3, 33})}),
      op_case(AG_OP_SUM, "wide", {in({2, 1500})}),
      op_case(AG_OP_SUM, "batched", {in({2, 3, 257})}),
  };
  for (auto &c : cases) c.finite_differences = c.label != "wide" && c.label != "batched";
  return cases;
}
