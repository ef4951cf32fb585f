/* The "emu" backend: host memory like the CPU backend, but every op runs the
 * project's CUDA kernels through the CUDA-on-CPU emulator. Registered by the
 * tests that compare backends. */
#include "ag_backend_emu.h"

#include <pthread.h>

#include "kernels/common/ag_kernels.h"

static pthread_once_t ag_emu_once = PTHREAD_ONCE_INIT;
static ag_backend ag_emu_be;
static ag_status ag_emu_init_status = AG_ERR_INVALID;

static void emu_backend_create(void) {
  ag_emu_init_status = ag_backend_init_host(&ag_emu_be, "emu", AG_DEVICE_EMU, &ag_emu_kernel_table);
  if (ag_emu_init_status == AG_OK) ag_emu_init_status = ag_backend_register(&ag_emu_be);
}

ag_backend *ag_backend_emu(void) {
  pthread_once(&ag_emu_once, emu_backend_create);
  return ag_emu_init_status == AG_OK ? &ag_emu_be : NULL;
}
