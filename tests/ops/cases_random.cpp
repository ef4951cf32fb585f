// Op harness cases: Philox fills must match the CPU bit for bit.
#include "op_cases.h"

using namespace ag_test;

AG_OP_CASES(random) {
  CaseList cases;
  for (ag_op op : {AG_OP_FILL_UNIFORM, AG_OP_FILL_NORMAL}) {
    for (uint64_t offset : {0ull, 3ull, 1000003ull}) {
      OpCase c = op_case(op, "off" + std::to_string(offset), {});
      c.out_shape = {3, 1001};
      c.f[0] = op == AG_OP_FILL_UNIFORM ? -1.0f : 0.5f;
      c.f[1] = op == AG_OP_FILL_UNIFORM ? 3.0f : 2.0f;
      c.u[0] = 1234;
      c.u[1] = offset;
      c.exact = true;
      cases.push_back(c);
    }
  }
  return cases;
}
