/* Stand-ins for a build without CUDA (AG_CUDA=OFF or no nvcc): everything
 * answers that CUDA is not compiled in, so callers fall back to the CPU. */
#include <stdio.h>
#include <string.h>

#include "ag_backend.h"
#include "runtime/core/ag_info.h"

int ag_build_has_cuda(void) { return 0; }

static ag_status not_built(void) {
  return ag_set_error(AG_ERR_DEVICE,
                      "this build has no CUDA backend (configured with AG_CUDA=OFF or without nvcc)");
}

ag_status ag_cuda_probe(int *count) {
  *count = 0;
  return not_built();
}

ag_status ag_cuda_backend_open(int ordinal, ag_backend **out) {
  (void)ordinal;
  *out = NULL;
  return not_built();
}

ag_status ag_cuda_device_info(int ordinal, ag_device_info *out) {
  (void)ordinal;
  memset(out, 0, sizeof *out);
  return not_built();
}

void ag_cuda_library_versions(ag_versions *v) {
  snprintf(v->cudart, sizeof v->cudart, "not built");
  snprintf(v->driver, sizeof v->driver, "not built");
  snprintf(v->cublas, sizeof v->cublas, "not built");
  snprintf(v->cudnn, sizeof v->cudnn, "not built");
  snprintf(v->nccl, sizeof v->nccl, "not built");
}
