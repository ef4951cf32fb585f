// Op harness cases: Philox fills must match the CPU bit for bit.
#include "op_cases.h"

using namespace ag_test;

AG_OP_CASES(random) {
  CaseList cases;
  for (ag_op op : {AG_OP_FILL_UNIFORM, AG_OP_FILL_NORMAL}) {
    for (uint64_t offset : {0ull, 3ull, 1000003ull}) {
      OpCase c = op_case(op, "off" + std::to_string(offset), {});
      c.out_shape = {3, 1001};
      if (op == AG_OP_FILL_UNIFORM)
        encode_args(c, ag_uniform_args_encode, ag_uniform_args{1234, offset, -1.0f, 3.0f});
      else
        encode_args(c, ag_normal_args_encode, ag_normal_args{1234, offset, 0.5f, 2.0f});
      c.exact = true;
      cases.push_back(c);
    }
  }
  return cases;
}
