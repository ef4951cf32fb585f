/* The countdowns of alloc_fail.h. The state lives in this test file only
 * and is atomic: OpenMP threads of the kernels allocate too. */
#include "alloc_fail.h"

#include <stdatomic.h>
#include <stddef.h>

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void *__real_aligned_alloc(size_t align, size_t size);

static atomic_int armed_kind = -1;
static atomic_long countdown;
static atomic_int fired;
static void *_Atomic last_site;

void ag_fault_arm(ag_fault_kind kind, long nth) {
  atomic_store(&armed_kind, -1);
  atomic_store(&countdown, nth);
  atomic_store(&fired, 0);
  atomic_store(&last_site, NULL);
  atomic_store(&armed_kind, (int)kind);
}

void ag_fault_disarm(void) { atomic_store(&armed_kind, -1); }
int ag_fault_fired(void) { return atomic_load(&fired); }
void *ag_fault_site(void) { return atomic_load(&last_site); }

/* Whether this allocation of `kind` (from `site`) is to fail. */
static int should_fail(ag_fault_kind kind, void *site) {
  if (atomic_load(&armed_kind) != (int)kind) return 0;
  const long left = atomic_fetch_sub(&countdown, 1);
  const int fail = kind == AG_FAULT_DEVICE ? left <= 1 : left == 1;
  if (fail && !atomic_exchange(&fired, 1)) atomic_store(&last_site, site);
  return fail;
}

void *__wrap_malloc(size_t size) {
  return should_fail(AG_FAULT_HOST, __builtin_return_address(0)) ? NULL : __real_malloc(size);
}

void *__wrap_calloc(size_t n, size_t size) {
  return should_fail(AG_FAULT_HOST, __builtin_return_address(0)) ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size) {
  return should_fail(AG_FAULT_HOST, __builtin_return_address(0)) ? NULL : __real_realloc(p, size);
}

void *__wrap_aligned_alloc(size_t align, size_t size) {
  return should_fail(AG_FAULT_DEVICE, __builtin_return_address(0))
             ? NULL
             : __real_aligned_alloc(align, size);
}
