/* alloc_fail.h - failing the Nth allocation, for the fault-injection tests.
 *
 * A test executable links alloc_fail.c with
 *   -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=aligned_alloc
 * so that every such call made by the engine's static libraries (and by the
 * test) goes through the countdown here. Shared libraries (libgomp, zlib,
 * oneDNN, libstdc++) are not rewritten by --wrap, which is what we want:
 * their behaviour on a failed malloc is theirs (libgomp aborts, oneDNN
 * throws), and the question these tests ask is whether the engine's own
 * code handles its own failed allocations.
 *
 * Two countdowns. Host: malloc, calloc and realloc; the Nth call after
 * arming fails, every other succeeds. Device: the raw allocator of the
 * host-memory backends (cpu and emu), which is aligned_alloc and nothing
 * else in the engine; from the Nth call after arming on, every call fails
 * until disarmed (a full device), because the caching allocator retries a
 * refused request once after emptying its cache and a single failure would
 * be absorbed by design. */
#ifndef AG_ALLOC_FAIL_H
#define AG_ALLOC_FAIL_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ag_fault_kind { AG_FAULT_HOST, AG_FAULT_DEVICE } ag_fault_kind;

/* Fails the nth (1-based) allocation of `kind` from now on; disarms the
 * other kind. */
void ag_fault_arm(ag_fault_kind kind, long nth);
/* Every allocation succeeds again. */
void ag_fault_disarm(void);
/* Whether the armed failure happened since the last arming. */
int ag_fault_fired(void);
/* The return address of the first injected failure since arming: the
 * allocation site, which tells sites apart. */
void *ag_fault_site(void);

#ifdef __cplusplus
}
#endif

#endif
