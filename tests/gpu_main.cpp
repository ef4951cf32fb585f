// main() of every gpu test (ag_add_gtest ... LABEL gpu): where no CUDA device
// answers, the whole run is one skip with ag_cuda_probe's reason
// (ag_gpu_main.h); otherwise every case runs and a failure fails the test.
#include <gtest/gtest.h>

#include "ag_gpu_main.h"
#include "runtime/backends/ag_backend.h"

int main(int argc, char **argv) {
  ::testing::InitGoogleTest(&argc, argv);
  int count = 0;
  if (ag_cuda_probe(&count) != AG_OK) ag_test_skip_run(ag_last_error());
  return RUN_ALL_TESTS();
}
