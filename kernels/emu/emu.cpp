/* emu.cpp - the CUDA-on-CPU emulator runtime behind ag_emu.h.
 *
 * A launch runs its blocks one after another on the calling OS thread. Within a
 * block each CUDA thread is a cooperative fiber:
 *
 *   - A fiber takes the next not-yet-started CUDA thread and runs it; when that
 *     thread finishes without ever waiting, the same fiber starts the next one,
 *     so a barrier-free block costs no context switch per thread.
 *   - A thread that must wait (a __syncthreads() or warp collective whose
 *     partners have not arrived) keeps its fiber and switches back to the
 *     scheduler, which starts the remaining threads on other fibers and
 *     resumes the waiting ones once the last partner arrives and releases them.
 *   - When no thread can run and some have not finished, the block is stuck:
 *     the launch is abandoned and reported as cudaErrorLaunchFailure with a
 *     description of where every thread was.
 *
 * Blocks run in the order AG_EMU_BLOCK_ORDER asks for (see "Block order").
 * Every block start, __syncthreads() release and warp sync is announced to the
 * race detector (race.cpp), which checks the kernels' shared-memory accesses
 * between those points and fails the block from inside the offending thread
 * through fail_block(); at block end it reports cp.async copies never waited
 * on.
 *
 * Fibers are created with makecontext/setcontext once and then switched with
 * _setjmp/_longjmp, which unlike swapcontext makes no signal-mask system call.
 * Their stacks are reused across blocks and launches. Under AddressSanitizer
 * every switch is announced with __sanitizer_start/finish_switch_fiber. */

/* glibc's fortified longjmp refuses to jump to another stack, which is the
 * whole point here; this must come before any system header. */
#undef _FORTIFY_SOURCE

#include "ag_emu.h"
#include "ag_emu_race.h"
#include "ag_emu_mma.h"

#include <setjmp.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define AG_EMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AG_EMU_ASAN 1
#endif
#endif
#ifndef AG_EMU_ASAN
#define AG_EMU_ASAN 0
#endif

#if AG_EMU_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

__thread ag_emu::Current ag_emu::current;

namespace ag_emu {
namespace {

/* Device limits checked at launch (those of sm_80 / sm_90). */
constexpr long long kMaxBlockThreads = 1024;
constexpr long long kMaxBlockDim[3] = {1024, 1024, 64};
constexpr long long kMaxGridDim[3] = {2147483647LL, 65535, 65535};
constexpr long long kMaxDynamicSmem = 227 * 1024;
constexpr unsigned kWarp = 32;

/* Instrumented frames are larger under AddressSanitizer. */
constexpr size_t kStackSize = AG_EMU_ASAN ? 256 * 1024 : 64 * 1024;

/* Outside the sanitizer build, dynamic shared memory sits between guard bytes
 * that are checked after every block, to catch small overruns without ASan.
 * Under ASan the buffer is exactly smem bytes and ASan does the checking. */
constexpr size_t kGuard = AG_EMU_ASAN ? 0 : 64;
constexpr unsigned char kGuardByte = 0xa5;
/* Dynamic shared memory starts every block filled with this, so a kernel that
 * reads it before writing sees NaNs / -1s rather than plausible zeros. */
constexpr unsigned char kSmemFill = 0xff;

/* ---- AddressSanitizer fiber annotations (no-ops otherwise) ------------------ */

void asan_start_switch(void **fake_stack_save, const void *bottom, size_t size) {
#if AG_EMU_ASAN
  __sanitizer_start_switch_fiber(fake_stack_save, bottom, size);
#else
  (void)fake_stack_save, (void)bottom, (void)size;
#endif
}

void asan_finish_switch(void *fake_stack_save, const void **bottom_old, size_t *size_old) {
#if AG_EMU_ASAN
  __sanitizer_finish_switch_fiber(fake_stack_save, bottom_old, size_old);
#else
  (void)fake_stack_save, (void)bottom_old, (void)size_old;
#endif
}

/* ---- Fibers ----------------------------------------------------------------- */

struct Fiber {
  jmp_buf ctx;            /* where to resume it */
  char *map = nullptr;    /* guard page + stack */
  size_t map_size = 0;
  char *stack = nullptr;  /* lowest usable address */
  void *asan_fake = nullptr;
  bool started = false;   /* false: (re)start before use, the stack holds nothing */

  Fiber() {
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    map_size = kStackSize + page;
    void *p = mmap(nullptr, map_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      std::perror("ag_emu: mmap of a fiber stack");
      std::abort();
    }
    map = static_cast<char *>(p);
    /* Stacks grow down: an overflow hits this page and faults loudly instead
     * of corrupting the neighbouring stack. */
    mprotect(map, page, PROT_NONE);
    stack = map + page;
  }
  ~Fiber() { munmap(map, map_size); }
  Fiber(const Fiber &) = delete;
  Fiber &operator=(const Fiber &) = delete;
};

/* ---- Per-block bookkeeping ---------------------------------------------------- */

enum class BlockOrder { forward, reverse, shuffle };
/* AG_EMU_BLOCK_ORDER=shuffle's seed when AG_EMU_BLOCK_SEED is not set. */
constexpr uint64_t kDefaultBlockSeed = 1;

enum class State : unsigned char { not_started, running, ready, at_barrier, at_warp, exited };

struct ThreadRec {
  uint3 idx{};
  unsigned linear = 0;
  State state = State::not_started;
  Fiber *fiber = nullptr; /* set while started and not exited */
  Site site{};            /* where it waits */
  BarrierKind barrier = BarrierKind::plain;
  int pred = 0;
  WarpArgs warp{};
  int src_lane = -1;      /* shuffle source; -1: the caller's own value */
  uint64_t result = 0;    /* what the released barrier / collective returns */
  /* warp_exchange: this lane's deposit and where it receives all 32. */
  const void *xchg_mine = nullptr;
  void *xchg_all = nullptr;
  size_t xchg_bytes = 0;
  AsyncCopies async;      /* its cp.async copies not landed (ag_emu_mma.h) */
};

struct Launch {
  const LaunchSpec *spec = nullptr;
  void (*thread_fn)(void *) = nullptr;
  void *arg = nullptr;
  uint3 block_idx{};
  unsigned nthreads = 0;
  std::vector<ThreadRec> threads;
  unsigned next_unstarted = 0; /* how many threads have been started */
  bool reverse = false;        /* start and release threads last to first */
  std::vector<unsigned> ready; /* FIFO of threads to resume: ready[ready_head..] */
  size_t ready_head = 0;
  unsigned exited = 0;
  unsigned at_barrier = 0;
  /* Per warp, how many lanes wait at a collective: a collective can only be
   * complete once this reaches its lane count, so most arrivals skip the
   * check of every partner. */
  std::vector<unsigned> warp_waiting;
  BlockOrder block_order = BlockOrder::forward;
  uint64_t block_seed = 0;
  uint64_t nblocks = 0;
  /* The shuffle's bijection of [0, 2^bits) (see scramble). */
  uint64_t perm_mask = 0, perm_mul = 1, perm_add = 0;
  unsigned perm_shift = 1;
  unsigned char *smem_alloc = nullptr; /* guard + smem + guard */
  size_t smem = 0;
  bool failed = false;
  std::string error;
};

/* ---- Per-OS-thread emulator state ---------------------------------------------
 * One launch at a time per OS thread; fibers and error state belong to the
 * thread, as CUDA's last-error state does. */
struct Emu {
  jmp_buf sched_ctx;               /* the scheduler, on the launching thread's stack */
  void *sched_fake = nullptr;
  const void *sched_bottom = nullptr; /* its stack, as ASan reports it */
  size_t sched_size = 0;
  std::vector<std::unique_ptr<Fiber>> fibers;
  std::vector<Fiber *> idle;       /* fibers holding no CUDA thread */
  Fiber *starting = nullptr;       /* handed to fiber_entry */
  Launch *launch = nullptr;
  ThreadRec *cur = nullptr;        /* the CUDA thread whose code is running */
  cudaError_t pending = cudaSuccess;  /* what cudaGetLastError() returns */
  cudaError_t message_code = cudaSuccess;
  std::string message;             /* detail for cudaGetErrorString(message_code) */
};
thread_local Emu emu;

/* Static __shared__ variables are process-wide statics (see ag_emu.h), so
 * launches from different OS threads must not overlap. */
std::mutex launch_mutex;

void record_error(cudaError_t code, std::string message) {
  emu.pending = code;
  emu.message_code = code;
  emu.message = std::move(message);
}

} /* namespace */

std::string format(const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return buf;
}

namespace {

const char *basename_of(const char *path) {
  const char *slash = std::strrchr(path, '/');
  return slash ? slash + 1 : path;
}

std::string where(const Site &s) { return format("%s:%d", basename_of(s.file), s.line); }

std::string dim_str(uint3 d) { return format("(%u,%u,%u)", d.x, d.y, d.z); }

/* "kernel 'k' (launched at f.cu:12), block (1,0,0)" */
std::string kernel_block(const Launch &L) {
  return format("kernel '%s' (launched at %s:%d), block %s", L.spec->kernel,
                basename_of(L.spec->file), L.spec->line, dim_str(L.block_idx).c_str());
}

/* ---- Context switching ----------------------------------------------------------
 * Saves the running context in `save` and resumes `target`, whose stack is
 * [target_bottom, target_bottom + target_size). Returns when someone resumes
 * `save`. Nothing in this frame changes between _setjmp and the return, so no
 * local is clobbered by the longjmp. */
__attribute__((noinline)) void switch_context(jmp_buf save, void **save_fake, jmp_buf target,
                                              const void *target_bottom, size_t target_size) {
  if (_setjmp(save) == 0) {
    asan_start_switch(save_fake, target_bottom, target_size);
    _longjmp(target, 1);
  }
  asan_finish_switch(*save_fake, nullptr, nullptr);
}

void fiber_to_scheduler(Fiber *f) {
  switch_context(f->ctx, &f->asan_fake, emu.sched_ctx, emu.sched_bottom, emu.sched_size);
}

void scheduler_to_fiber(Fiber *f) {
  switch_context(emu.sched_ctx, &emu.sched_fake, f->ctx, f->stack, kStackSize);
}

void run_unstarted_threads(Fiber *self);

/* A fiber's whole life: park until the scheduler hands it work, run CUDA
 * threads until none is left to start, park again. */
[[noreturn]] void fiber_main(Fiber *self) {
  for (;;) {
    fiber_to_scheduler(self);
    run_unstarted_threads(self);
  }
}

void fiber_entry() {
  Fiber *self = emu.starting;
  /* First arrival on this stack: learn the scheduler's stack for later
   * switches back to it. */
  asan_finish_switch(nullptr, &emu.sched_bottom, &emu.sched_size);
  fiber_main(self);
}

/* Starts `f` and returns once it has parked in fiber_main. */
__attribute__((noinline)) void start_fiber(Fiber *f) {
#if AG_EMU_ASAN
  /* A fiber abandoned by a failed launch leaves poisoned frames behind. */
  ASAN_UNPOISON_MEMORY_REGION(f->stack, kStackSize);
#endif
  ucontext_t uc;
  getcontext(&uc);
  uc.uc_stack.ss_sp = f->stack;
  uc.uc_stack.ss_size = kStackSize;
  uc.uc_link = nullptr;
  makecontext(&uc, fiber_entry, 0);
  f->started = true;
  emu.starting = f;
  /* The fiber parks by _longjmp-ing to sched_ctx: control comes back here,
   * never through setcontext. */
  if (_setjmp(emu.sched_ctx) == 0) {
    asan_start_switch(&emu.sched_fake, f->stack, kStackSize);
    setcontext(&uc);
  }
  asan_finish_switch(emu.sched_fake, nullptr, nullptr);
}

Fiber *take_idle_fiber() {
  if (emu.idle.empty()) {
    emu.fibers.push_back(std::make_unique<Fiber>());
    emu.idle.push_back(emu.fibers.back().get());
  }
  Fiber *f = emu.idle.back();
  emu.idle.pop_back();
  if (!f->started) start_fiber(f);
  return f;
}

/* ---- Running CUDA threads ---------------------------------------------------------- */

void make_current(ThreadRec *t) {
  emu.cur = t;
  current.thread_idx = t->idx;
  current.async_copies = &t->async;
  t->state = State::running;
}

/* The k-th thread in scheduling order. Threads start (and are released from a
 * barrier) first to last, or last to first with AG_EMU_THREAD_ORDER=reverse:
 * a race between threads shows only when the reader runs before the writer,
 * so running a test both ways catches races in either direction. */
unsigned nth(const Launch &L, unsigned k) { return L.reverse ? L.nthreads - 1 - k : k; }

void run_unstarted_threads(Fiber *self) {
  Launch &L = *emu.launch;
  while (!L.failed && L.next_unstarted < L.nthreads) {
    ThreadRec *t = &L.threads[nth(L, L.next_unstarted++)];
    t->fiber = self;
    make_current(t);
    L.thread_fn(L.arg);
    t->state = State::exited;
    t->fiber = nullptr;
    ++L.exited;
  }
  emu.idle.push_back(self);
}

/* Suspends the running CUDA thread until another thread releases it. */
void wait_for_release() {
  fiber_to_scheduler(emu.cur->fiber);
}

void release(ThreadRec *t, uint64_t result) {
  t->result = result;
  if (t == emu.cur) {
    t->state = State::running;
    return;
  }
  t->state = State::ready;
  emu.launch->ready.push_back(t->linear);
}

/* Abandons the block from inside a CUDA thread: the scheduler takes over and
 * never resumes this fiber's current frames, so no destructor of theirs runs.
 * Callers therefore build the message in a local of their own, in a statement
 * of its own (so its temporaries are gone), and hand it over with std::move;
 * its memory is freed here before the jump (LeakSanitizer would report it). */
[[noreturn]] void fail(std::string &&message) {
  Launch &L = *emu.launch;
  L.failed = true;
  L.error = kernel_block(L) + ": " + message;
  std::string().swap(message);
  /* nullptr: this fiber's frames are dead, so ASan may drop its fake stack. */
  asan_start_switch(nullptr, emu.sched_bottom, emu.sched_size);
  _longjmp(emu.sched_ctx, 1);
}

Launch &running_launch(const char *what) {
  if (!emu.launch || !emu.cur) {
    std::fprintf(stderr, "ag_emu: %s called outside an emulated kernel\n", what);
    std::abort();
  }
  return *emu.launch;
}

/* ---- Describing a stuck block ----------------------------------------------------- */

std::string describe_thread(const ThreadRec &t) {
  switch (t.state) {
  case State::exited: return "exited";
  case State::at_barrier: return "wait at " + std::string(t.site.op) + "() " + where(t.site);
  case State::at_warp:
    return format("wait at %s(mask 0x%08x) %s", t.site.op, t.warp.mask, where(t.site).c_str());
  case State::not_started: return "never started";
  case State::ready: return "ready";
  case State::running: return "running";
  }
  return "?";
}

/* "threads 0-15,32-47 wait at ... ; threads 16-31 exited": threads are grouped
 * by what they are doing, groups listed in order of first appearance. */
std::string describe_threads(const Launch &L) {
  std::vector<std::string> kinds;
  std::vector<std::string> ranges;
  for (unsigned i = 0; i < L.nthreads;) {
    const std::string what = describe_thread(L.threads[i]);
    unsigned j = i + 1;
    while (j < L.nthreads && describe_thread(L.threads[j]) == what) ++j;
    size_t k = 0;
    while (k < kinds.size() && kinds[k] != what) ++k;
    if (k == kinds.size()) {
      kinds.push_back(what);
      ranges.emplace_back();
    }
    if (!ranges[k].empty()) ranges[k] += ",";
    ranges[k] += j - i == 1 ? format("%u", i) : format("%u-%u", i, j - 1);
    i = j;
  }
  std::string out;
  for (size_t k = 0; k < kinds.size(); ++k) {
    if (k) out += "; ";
    const bool one = ranges[k].find_first_of(",-") == std::string::npos;
    out += (one ? "thread " : "threads ") + ranges[k] + " " + kinds[k];
  }
  return out;
}

std::string describe_stall(const Launch &L) {
  const bool barrier = L.at_barrier > 0;
  std::string head = barrier
      ? "__syncthreads() barrier can never complete (every thread of the block must reach the "
        "same __syncthreads() call; it is divergent or some threads exited)"
      : "warp collective can never complete (every lane named in the mask must reach a "
        "collective of the same kind with the same mask)";
  return head + ": " + describe_threads(L);
}

/* ---- Block barriers ------------------------------------------------------------ */

bool same_site(const Site &a, const Site &b) {
  return a.line == b.line && (a.file == b.file || std::strcmp(a.file, b.file) == 0);
}

uint64_t barrier_result(const Launch &L, BarrierKind kind) {
  unsigned count = 0;
  for (const ThreadRec &t : L.threads) count += t.pred != 0;
  switch (kind) {
  case BarrierKind::count: return count;
  case BarrierKind::all: return count == L.nthreads;
  case BarrierKind::any: return count != 0;
  case BarrierKind::plain: break;
  }
  return 0;
}

} /* namespace */

int block_barrier(const Site &site, BarrierKind kind, int pred) {
  Launch &L = running_launch(site.op);
  ThreadRec *t = emu.cur;
  t->state = State::at_barrier;
  t->site = site;
  t->barrier = kind;
  t->pred = pred;
  if (++L.at_barrier < L.nthreads) {
    wait_for_release();
    return (int)t->result;
  }
  /* Last to arrive, so no thread has exited: check they all came to this
   * very call (a barrier in a divergent branch fails here). */
  for (const ThreadRec &o : L.threads) {
    if (!same_site(o.site, site) || o.barrier != kind) {
      std::string msg = "threads wait at different __syncthreads() calls (a barrier inside a "
                        "divergent branch?): " +
                        describe_threads(L);
      fail(std::move(msg));
    }
  }
  const uint64_t result = barrier_result(L, kind);
  L.at_barrier = 0;
  race_block_barrier();
  for (unsigned k = 0; k < L.nthreads; ++k) release(&L.threads[nth(L, k)], result);
  return (int)result;
}

void fail_block(std::string &&message) {
  running_launch("the race detector");
  fail(std::move(message));
}

namespace {

/* Lanes of the warp starting at thread `base` that exist in the block. */
unsigned existing_lanes(const Launch &L, unsigned base) {
  const unsigned n = L.nthreads - base;
  return n >= kWarp ? 0xffffffffu : (1u << n) - 1u;
}

bool valid_width(int w) { return w >= 1 && w <= (int)kWarp && (w & (w - 1)) == 0; }

/* The lane a shuffle reads, or -1 when CUDA returns the caller's own value. */
int shuffle_source(const WarpArgs &a, int lane) {
  const int w = a.width;
  const int segment = lane & ~(w - 1);
  switch (a.mode) {
  case ShflMode::idx: return segment + (a.lane_arg & (w - 1));
  case ShflMode::up: return (lane - segment) < a.lane_arg ? -1 : lane - a.lane_arg;
  case ShflMode::down: return (lane - segment) + a.lane_arg >= w ? -1 : lane + a.lane_arg;
  case ShflMode::bfly: {
    const int src = lane ^ a.lane_arg;
    /* A lane may read an earlier segment but not a later one. */
    return src >= segment + w ? -1 : src;
  }
  }
  return -1;
}

/* Copies every lane's deposit to every lane of a complete warp_exchange; the
 * waiting lanes' buffers are on their stacks, alive until they are resumed. */
void deliver_exchange(const Launch &L, unsigned base, unsigned group) {
  const ThreadRec &first = L.threads[base];
  if (group != 0xffffffffu) {
    std::string msg = format("%s (%s) needs all 32 lanes of a warp, but warp %u has %u lanes",
                             first.site.op, where(first.site).c_str(), base / kWarp,
                             (unsigned)__builtin_popcount(group));
    fail(std::move(msg));
  }
  for (unsigned l = 1; l < kWarp; ++l) {
    const ThreadRec &o = L.threads[base + l];
    if (!same_site(o.site, first.site) || o.xchg_bytes != first.xchg_bytes) {
      std::string msg = format("lanes of warp %u reach different warp-synchronous instructions "
                               "(a call in a divergent branch?): lane 0 at %s (%s), lane %u at "
                               "%s (%s)",
                               base / kWarp, first.site.op, where(first.site).c_str(), l,
                               o.site.op, where(o.site).c_str());
      fail(std::move(msg));
    }
  }
  /* Gathered once into the releasing lane's buffer, then copied whole. */
  const size_t bytes = first.xchg_bytes;
  unsigned char *gathered = static_cast<unsigned char *>(emu.cur->xchg_all);
  for (unsigned src = 0; src < kWarp; ++src)
    std::memcpy(gathered + src * bytes, L.threads[base + src].xchg_mine, bytes);
  for (unsigned dst = 0; dst < kWarp; ++dst) {
    void *all = L.threads[base + dst].xchg_all;
    if (all != gathered) std::memcpy(all, gathered, kWarp * bytes);
  }
}

/* Computes every participating lane's result and releases them. */
void resolve_warp(Launch &L, unsigned base, unsigned group, const WarpArgs &a) {
  unsigned votes = 0;
  for (unsigned l = 0; l < kWarp; ++l)
    if ((group >> l & 1u) && L.threads[base + l].warp.value != 0) votes |= 1u << l;
  L.warp_waiting[base / kWarp] -= (unsigned)__builtin_popcount(group);
  /* __syncwarp orders the lanes' memory accesses; shuffles, votes and the
   * mma / ldmatrix exchanges do not. */
  if (a.op == WarpOp::sync) race_warp_sync(base / kWarp);
  if (a.op == WarpOp::exchange) deliver_exchange(L, base, group);
  for (unsigned k = 0; k < kWarp; ++k) {
    const unsigned l = L.reverse ? kWarp - 1 - k : k;
    if (!(group >> l & 1u)) continue;
    ThreadRec &t = L.threads[base + l];
    uint64_t r = 0;
    switch (a.op) {
    case WarpOp::shfl:
      if (t.src_lane < 0) {
        r = t.warp.value;
      } else if (!(group >> t.src_lane & 1u)) {
        std::string msg = format("lane %u of warp %u reads lane %d with %s (%s), but lane %d %s", l,
                                 base / kWarp, t.src_lane, t.site.op, where(t.site).c_str(),
                                 t.src_lane,
                                 base + t.src_lane >= L.nthreads ? "does not exist in the block"
                                                                 : "is not in the mask");
        fail(std::move(msg));
      } else {
        r = L.threads[base + t.src_lane].warp.value;
      }
      break;
    case WarpOp::exchange: break;
    case WarpOp::ballot: r = votes; break;
    case WarpOp::any: r = votes != 0; break;
    case WarpOp::all: r = votes == group; break;
    case WarpOp::sync: break;
    }
    release(&t, r);
  }
}

} /* namespace */

uint64_t warp_collective(const Site &site, const WarpArgs &args) {
  Launch &L = running_launch(site.op);
  ThreadRec *t = emu.cur;
  const unsigned lane = t->linear % kWarp, base = t->linear - lane;
  if (!(args.mask >> lane & 1u)) {
    std::string msg =
        format("thread %u calls %s (%s) with mask 0x%08x, which does not include its own lane %u",
               t->linear, site.op, where(site).c_str(), args.mask, lane);
    fail(std::move(msg));
  }
  if (args.op == WarpOp::shfl && !valid_width(args.width)) {
    std::string msg =
        format("thread %u calls %s (%s) with width %d; it must be a power of 2 from 1 to 32",
               t->linear, site.op, where(site).c_str(), args.width);
    fail(std::move(msg));
  }
  t->state = State::at_warp;
  t->site = site;
  t->warp = args;
  t->src_lane = args.op == WarpOp::shfl ? shuffle_source(args, (int)lane) : -1;
  /* Lanes past the end of the block are ignored, so a full mask works in a
   * partial last warp (reading a value from such a lane is still an error). */
  const unsigned group = args.mask & existing_lanes(L, base);
  if (++L.warp_waiting[base / kWarp] < (unsigned)__builtin_popcount(group)) {
    wait_for_release();
    return t->result;
  }
  for (unsigned l = 0; l < kWarp; ++l) {
    if (!(group >> l & 1u)) continue;
    const ThreadRec &o = L.threads[base + l];
    if (o.state != State::at_warp || o.warp.op != args.op || o.warp.mask != args.mask) {
      wait_for_release(); /* the last partner to arrive resolves for all */
      return t->result;
    }
  }
  resolve_warp(L, base, group, args);
  return t->result;
}

void warp_exchange(const Site &site, const void *mine, size_t bytes, void *all32) {
  running_launch(site.op);
  ThreadRec *t = emu.cur;
  t->xchg_mine = mine;
  t->xchg_all = all32;
  t->xchg_bytes = bytes;
  warp_collective(site, WarpArgs{WarpOp::exchange, 0xffffffffu, 0, ShflMode::idx, 0, 32});
}

void require_aligned(const Site &site, const void *p, size_t align, const char *operand) {
  if ((uintptr_t)p % align == 0) return;
  running_launch(site.op);
  std::string msg = format("thread %u: %s %p of %s (%s) is not %zu-byte aligned", emu.cur->linear,
                           operand, p, site.op, where(site).c_str(), align);
  fail(std::move(msg));
}

void require_shared(const Site &site, const void *p, size_t bytes, const char *operand) {
  const Launch &L = running_launch(site.op);
  const uintptr_t lo = (uintptr_t)p, hi = lo + bytes;
  const uintptr_t dyn = (uintptr_t)current.dynamic_smem;
  if (lo >= dyn && hi <= dyn + L.smem) return;
  if (static_shared_contains(p, bytes)) return;
  std::string msg = format("thread %u: %s %p of %s (%s) is not in shared memory", emu.cur->linear,
                           operand, p, site.op, where(site).c_str());
  fail(std::move(msg));
}

unsigned active_mask() {
  Launch &L = running_launch("__activemask");
  const unsigned lane = emu.cur->linear % kWarp, base = emu.cur->linear - lane;
  unsigned mask = 0;
  const unsigned exist = existing_lanes(L, base);
  for (unsigned l = 0; l < kWarp; ++l)
    if ((exist >> l & 1u) && L.threads[base + l].state != State::exited) mask |= 1u << l;
  return mask;
}

namespace {

/* ---- The scheduler ------------------------------------------------------------ */

/* Marks every fiber that holds an unfinished CUDA thread for restart: its
 * frames are dead. */
void abandon_block(Launch &L) {
  for (ThreadRec &t : L.threads) {
    if (t.fiber) {
      t.fiber->started = false;
      emu.idle.push_back(t.fiber);
      t.fiber = nullptr;
    }
  }
}

void reset_block(Launch &L) {
  for (ThreadRec &t : L.threads) {
    t.state = State::not_started;
    t.fiber = nullptr;
    t.async.pending.clear();
    t.async.commits = 0;
  }
  L.next_unstarted = 0;
  L.ready.clear();
  L.ready_head = 0;
  L.exited = 0;
  L.at_barrier = 0;
  L.warp_waiting.assign((L.nthreads + kWarp - 1) / kWarp, 0);
  if (L.smem_alloc) std::memset(L.smem_alloc + kGuard, kSmemFill, L.smem);
  race_block_begin(L.smem_alloc + kGuard, L.smem, L.nthreads);
}

bool guards_intact(const Launch &L) {
  const unsigned char *lo = L.smem_alloc, *hi = L.smem_alloc + kGuard + L.smem;
  for (size_t i = 0; i < kGuard; ++i)
    if (lo[i] != kGuardByte || hi[i] != kGuardByte) return false;
  return true;
}

/* Runs one block to completion; false (with L.error set) if it failed. */
bool run_block(Launch &L) {
  reset_block(L);
  for (;;) {
    if (L.failed) break;
    if (L.ready_head < L.ready.size()) {
      ThreadRec *t = &L.threads[L.ready[L.ready_head++]];
      make_current(t);
      scheduler_to_fiber(t->fiber);
    } else if (L.next_unstarted < L.nthreads) {
      scheduler_to_fiber(take_idle_fiber());
    } else if (L.exited == L.nthreads) {
      break;
    } else {
      L.failed = true;
      L.error = kernel_block(L) + ": " + describe_stall(L);
    }
  }
  const std::string never_landed = race_block_end();
  if (L.failed) {
    abandon_block(L);
    return false;
  }
  if (!never_landed.empty()) {
    L.failed = true;
    L.error = kernel_block(L) + ": " + never_landed;
    return false;
  }
  if (L.smem_alloc && !guards_intact(L)) {
    L.failed = true;
    L.error = kernel_block(L) +
              format(": wrote outside its dynamic shared memory (%zu bytes): the guard bytes "
                     "around it were overwritten",
                     L.smem);
    return false;
  }
  return true;
}

/* Checks the launch configuration against the device limits; "" if valid. */
std::string config_error(const LaunchSpec &s) {
  const long long b[3] = {s.block.x, s.block.y, s.block.z};
  const long long g[3] = {s.grid.x, s.grid.y, s.grid.z};
  const char *axis = "xyz";
  for (int i = 0; i < 3; ++i) {
    if (b[i] < 1 || b[i] > kMaxBlockDim[i])
      return format("block.%c = %lld is outside [1, %lld]", axis[i], b[i], kMaxBlockDim[i]);
    if (g[i] < 1 || g[i] > kMaxGridDim[i])
      return format("grid.%c = %lld is outside [1, %lld]", axis[i], g[i], kMaxGridDim[i]);
  }
  if (b[0] * b[1] * b[2] > kMaxBlockThreads)
    return format("block (%lld,%lld,%lld) has %lld threads; the limit is %lld", b[0], b[1], b[2],
                  b[0] * b[1] * b[2], kMaxBlockThreads);
  if (s.smem < 0 || s.smem > kMaxDynamicSmem)
    return format("dynamic shared memory of %lld bytes is outside [0, %lld]", s.smem,
                  kMaxDynamicSmem);
  return "";
}

bool reverse_order_requested() {
  const char *order = std::getenv("AG_EMU_THREAD_ORDER");
  return order && std::strcmp(order, "reverse") == 0;
}

void setup_launch(Launch &L, const LaunchSpec &spec) {
  L.reverse = reverse_order_requested();
  const uint3 block{(unsigned)spec.block.x, (unsigned)spec.block.y, (unsigned)spec.block.z};
  L.nthreads = block.x * block.y * block.z;
  L.threads.resize(L.nthreads);
  for (unsigned i = 0; i < L.nthreads; ++i) {
    ThreadRec &t = L.threads[i];
    t.linear = i;
    t.idx = uint3{i % block.x, i / block.x % block.y, i / (block.x * block.y)};
  }
  L.ready.reserve(L.nthreads);
  L.smem = (size_t)spec.smem;
  L.smem_alloc = static_cast<unsigned char *>(std::malloc(L.smem + 2 * kGuard));
  if (!L.smem_alloc) {
    std::fprintf(stderr, "ag_emu: cannot allocate %zu bytes of shared memory\n", L.smem);
    std::abort();
  }
  std::memset(L.smem_alloc, kGuardByte, kGuard);
  std::memset(L.smem_alloc + kGuard + L.smem, kGuardByte, kGuard);
  current.block_dim = block;
  current.grid_dim = uint3{(unsigned)spec.grid.x, (unsigned)spec.grid.y, (unsigned)spec.grid.z};
  current.dynamic_smem = L.smem_alloc + kGuard;
}

/* ---- Block order ---------------------------------------------------------------
 * Blocks run in linear order (x fastest), last to first with
 * AG_EMU_BLOCK_ORDER=reverse, or in a pseudo-random permutation with
 * AG_EMU_BLOCK_ORDER=shuffle (fixed seed, or AG_EMU_BLOCK_SEED): a kernel whose
 * result depends on which block runs first is wrong on a GPU, where blocks run
 * in any order and concurrently. */

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

void setup_block_order(Launch &L) {
  const char *order = std::getenv("AG_EMU_BLOCK_ORDER");
  const char *seed = std::getenv("AG_EMU_BLOCK_SEED");
  L.block_order = BlockOrder::forward;
  if (order && std::strcmp(order, "reverse") == 0) L.block_order = BlockOrder::reverse;
  if (order && std::strcmp(order, "shuffle") == 0) L.block_order = BlockOrder::shuffle;
  L.block_seed = seed && *seed ? std::strtoull(seed, nullptr, 0) : kDefaultBlockSeed;
  const uint3 g = current.grid_dim;
  L.nblocks = (uint64_t)g.x * g.y * g.z;
  unsigned bits = 0;
  while ((1ull << bits) < L.nblocks) ++bits;
  L.perm_mask = bits ? (~0ull >> (64 - bits)) : 0;
  L.perm_shift = bits > 1 ? bits / 2 : 1;
  L.perm_mul = splitmix64(L.block_seed) | 1u;
  L.perm_add = splitmix64(L.block_seed + 1);
}

/* A bijection of [0, 2^bits): odd multiplications and xor-shifts mod 2^bits. */
uint64_t scramble(const Launch &L, uint64_t x) {
  for (int round = 0; round < 3; ++round) {
    x = (x * L.perm_mul + L.perm_add) & L.perm_mask;
    x ^= x >> L.perm_shift;
  }
  return x;
}

/* The linear index of the k-th block to run. Shuffled: cycle-walking the
 * bijection until it lands below nblocks is a permutation of [0, nblocks). */
uint64_t nth_block(const Launch &L, uint64_t k) {
  switch (L.block_order) {
  case BlockOrder::forward: return k;
  case BlockOrder::reverse: return L.nblocks - 1 - k;
  case BlockOrder::shuffle: break;
  }
  uint64_t x = scramble(L, k);
  while (x >= L.nblocks) x = scramble(L, x);
  return x;
}

/* Appended to launch errors, so a failure that depends on the order can be
 * reproduced. */
std::string block_order_note(const Launch &L) {
  switch (L.block_order) {
  case BlockOrder::forward: return "";
  case BlockOrder::reverse: return " [blocks ran last to first: AG_EMU_BLOCK_ORDER=reverse]";
  case BlockOrder::shuffle: break;
  }
  return format(" [blocks ran shuffled: AG_EMU_BLOCK_ORDER=shuffle AG_EMU_BLOCK_SEED=%llu]",
                (unsigned long long)L.block_seed);
}

void run_grid(Launch &L) {
  const uint3 g = current.grid_dim;
  setup_block_order(L);
  for (uint64_t k = 0; k < L.nblocks; ++k) {
    const uint64_t b = nth_block(L, k);
    L.block_idx = uint3{(unsigned)(b % g.x), (unsigned)(b / g.x % g.y),
                        (unsigned)(b / ((uint64_t)g.x * g.y))};
    current.block_idx = L.block_idx;
    if (!run_block(L)) return;
  }
}

} /* namespace */

void launch(const LaunchSpec &spec, void (*thread_fn)(void *), void *arg) {
  const std::string bad = config_error(spec);
  if (!bad.empty()) {
    record_error(cudaErrorInvalidConfiguration,
                 format("invalid launch of kernel '%s' at %s:%d: ", spec.kernel,
                        basename_of(spec.file), spec.line) + bad);
    return;
  }
  if (emu.launch) {
    std::fprintf(stderr, "ag_emu: kernel '%s' launched from inside another kernel\n", spec.kernel);
    std::abort();
  }
  std::lock_guard<std::mutex> lock(launch_mutex);
  Launch L;
  L.spec = &spec;
  L.thread_fn = thread_fn;
  L.arg = arg;
  emu.launch = &L;
  setup_launch(L, spec);
  run_grid(L);
  emu.launch = nullptr;
  emu.cur = nullptr;
  current.dynamic_smem = nullptr;
  current.async_copies = nullptr;
  std::free(L.smem_alloc);
  if (L.failed) record_error(cudaErrorLaunchFailure, L.error + block_order_note(L));
}

} /* namespace ag_emu */

/* ---- Runtime API subset ------------------------------------------------------------ */

using ag_emu::emu;

extern "C" cudaError_t ag_emu_cudaGetLastError(void) {
  const cudaError_t e = emu.pending;
  emu.pending = cudaSuccess;
  return e;
}

extern "C" cudaError_t ag_emu_cudaPeekAtLastError(void) { return emu.pending; }

extern "C" const char *ag_emu_cudaGetErrorName(cudaError_t error) {
  switch (error) {
  case cudaSuccess: return "cudaSuccess";
  case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
  case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
  case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
  default: return "cudaError (not emulated)";
  }
}

/* The detailed message of this thread's last emulator error when `error` is
 * its code, so the message survives cudaGetLastError() clearing the error. */
extern "C" const char *ag_emu_cudaGetErrorString(cudaError_t error) {
  if (error != cudaSuccess && error == emu.message_code && !emu.message.empty())
    return emu.message.c_str();
  switch (error) {
  case cudaSuccess: return "no error";
  case cudaErrorInvalidValue: return "invalid argument";
  case cudaErrorInvalidConfiguration: return "invalid configuration argument";
  case cudaErrorLaunchFailure: return "unspecified launch failure";
  default: return "unknown error (not emulated)";
  }
}

extern "C" cudaError_t ag_emu_cudaDeviceSynchronize(void) { return emu.pending; }

extern "C" cudaError_t ag_emu_cudaStreamSynchronize(cudaStream_t) { return emu.pending; }

extern "C" cudaError_t ag_emu_cudaGetDevice(int *device) {
  *device = 0;
  return cudaSuccess;
}

extern "C" cudaError_t ag_emu_cudaDeviceGetAttribute(int *value, enum cudaDeviceAttr attr,
                                                     int device) {
  if (device != 0 || attr != cudaDevAttrMaxSharedMemoryPerBlockOptin) return cudaErrorInvalidValue;
  *value = (int)ag_emu::kMaxDynamicSmem;
  return cudaSuccess;
}

extern "C" cudaError_t ag_emu_cudaMemsetAsync(void *dst, int value, size_t count, cudaStream_t) {
  if (count) std::memset(dst, value, count);
  return cudaSuccess;
}

extern "C" cudaError_t ag_emu_cudaMemcpyAsync(void *dst, const void *src, size_t count,
                                              enum cudaMemcpyKind, cudaStream_t) {
  if (count) std::memmove(dst, src, count);
  return cudaSuccess;
}
