// Op harness cases: the all-gather op with one rank and no communicator (a
// copy, forward and backward), the only form a single process can run; the
// two-rank forms are tests/dist/test_dist_mpi.cpp. Shapes of one to four
// dims, odd sizes.
#include "op_cases.h"

using namespace ag_test;

AG_OP_CASES(collective) {
  CaseList cases;
  for (auto shape : std::vector<std::vector<int64_t>>{{1}, {7}, {3, 33}, {2, 3, 5}, {1, 2, 3, 4}}) {
    OpCase c = op_case(AG_OP_ALL_GATHER, "d" + std::to_string(shape.size()) + "_" +
                                             std::to_string(shape[0]),
                       {in(shape)});
    encode_args(c, ag_all_gather_args_encode, ag_all_gather_args{1});
    c.exact = true;
    cases.push_back(c);
  }
  return cases;
}
