/* ag_emu_race.h - the emulator's shared-memory race detector (race.cpp).
 *
 * Like compute-sanitizer's racecheck: within one barrier interval, two
 * different CUDA threads of a block touching the same shared-memory byte, at
 * least one of them writing, is a race, unless both are lanes of one warp
 * separated by a __syncwarp(). Block barriers and warp syncs are the only
 * points that order memory (shuffles, votes and the mma / ldmatrix exchanges
 * do not). Atomics are not checked.
 *
 * How accesses are seen: the emulated kernel translation units are compiled
 * with GCC's -fsanitize=thread instrumentation but not linked with libtsan;
 * race.cpp defines the __tsan_* entry points itself. Each one range-checks
 * the address against the running block's shared memory (the static
 * __shared__ variables, found in the program's symbol table, and the dynamic
 * buffer) and returns at once otherwise.
 * In an AddressSanitizer build (GCC cannot combine the two) the kernels are
 * not instrumented and only the cp.async bookkeeping below is active.
 *
 * The first three functions are for the emulated cp.async / ldmatrix: they
 * work whether or not the detector is compiled in. The rest is called by
 * emu.cpp only. */
#ifndef AG_EMU_RACE_H
#define AG_EMU_RACE_H

#include <cstddef>
#include <string>

namespace ag_emu {

/* The current CUDA thread issued an asynchronous copy into shared memory
 * [dst, dst + bytes). Until it lands, any access to those bytes by any thread
 * is reported (with the detector on); a copy still pending at block end is
 * reported in every build. */
void race_async_copy_issued(void *dst, size_t bytes);
/* The copy into [dst, dst + bytes) issued by the current thread has landed
 * (its cp.async.wait_group): recorded as a write by that thread now, so a
 * read by another thread without a barrier in between is a race. */
void race_async_copy_landed(void *dst, size_t bytes);

/* Whether [p, p + bytes) lies inside one static __shared__ variable (found in
 * the program's symbol table; works in every build). */
bool static_shared_contains(const void *p, size_t bytes);

/* ---- emu.cpp's side ---------------------------------------------------------- */

/* A block starts with `nthreads` threads and dynamic shared memory
 * [dyn_lo, dyn_lo + dyn_bytes); every earlier access counts as ordered before
 * it. */
void race_block_begin(void *dyn_lo, size_t dyn_bytes, unsigned nthreads);
/* A __syncthreads() released the whole block. */
void race_block_barrier();
/* A warp-synchronising collective released the lanes of warp `warp`. */
void race_warp_sync(unsigned warp);
/* The block ended (or was abandoned): "" or the description of a cp.async
 * never waited on. Stops checking until the next race_block_begin. */
std::string race_block_end();

/* Defined in emu.cpp: printf into a std::string, for error messages. */
std::string format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Defined in emu.cpp: abandons the running block with `message` (a race),
 * from inside the CUDA thread that made the access. */
[[noreturn]] void fail_block(std::string &&message);

} /* namespace ag_emu */

#endif
