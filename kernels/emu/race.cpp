/* race.cpp - the emulator's shared-memory race detector (see ag_emu_race.h).
 *
 * The emulated kernels are compiled with -fsanitize=thread, so every load and
 * store they make calls one of the __tsan_* functions defined at the end of
 * this file (libtsan is never linked). A call first checks whether the address
 * is in the running block's shared memory and returns otherwise, so global
 * and stack accesses cost a call and two compares.
 *
 * Happens-before is tracked with epochs, not vector clocks, because a block
 * has only two kinds of synchronisation:
 *   - `epoch` counts block barriers (and block starts) of the OS thread: an
 *     access recorded in an older epoch is ordered before every access now;
 *   - `warp_epoch[w]` counts warp syncs of warp w in the current block: two
 *     accesses of lanes of one warp in the same barrier epoch are ordered iff
 *     a warp sync came between them (the warp epoch changed).
 * Since epochs only grow, no shadow state is ever cleared between blocks: an
 * entry from an earlier block simply has an older epoch.
 *
 * Shadow state is one Cell per shared-memory byte: the last writer, and a
 * summary of the readers since that write (enough to decide whether a later
 * write is ordered after all of them), with a Who beside it naming source
 * lines and two readers for a report.
 * The static __shared__ variables are found in the main program's symbol
 * table (see scan_static_shared; a linker section would miss those of
 * templates, where GCC 12 ignores section attributes). Each one's bytes start
 * every block poisoned: the first access of a byte in a block, if it is a
 * read, fills it with 0xff first, as emu.cpp fills dynamic shared memory. */
#include "ag_emu_race.h"

#include "ag_emu.h"

#include <cxxabi.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

namespace ag_emu {
namespace {

constexpr unsigned kWarp = 32;
/* What a static __shared__ byte reads as before the block writes it (the fill
 * emu.cpp uses for dynamic shared memory): NaN as a float, -1 as an int. */
constexpr unsigned char kPoison = 0xff;

#if defined(AG_EMU_RACECHECK)
constexpr bool kInstrumented = true;
#else
constexpr bool kInstrumented = false;
#endif

/* One shared-memory byte: what every access checks, in 32 bytes. Epoch 0 is
 * "never": shadow memory starts zeroed. Thread ids fit 16 bits (at most 1024
 * threads a block). */
struct Cell {
  uint32_t w_epoch, w_wepoch; /* last write: barrier epoch, its warp's epoch */
  uint32_t r_epoch;           /* reads since that write, all in this barrier epoch */
  uint32_t r_wepoch;          /* the latest warp epoch a reader of r_warp read in */
  uint32_t touched;           /* epoch of the last access (static variables only) */
  int16_t w_tid;
  int16_t r_warp;  /* the readers' warp, or -1 when they span several warps */
  int16_t r_last;  /* the only reader in (r_warp, r_wepoch), or -1: several */
  int16_t pending; /* issuing thread + 1 of a cp.async not landed; 0: none */
  uint32_t unused;
};
static_assert(sizeof(Cell) == 32, "a Cell is half a cache line");

/* The same byte's report details, kept apart so checks touch only Cells:
 * written when a write lands, and when a read changes the reader summary. */
struct Who {
  uintptr_t w_pc, r_first_pc, r_other_pc, pending_pc;
  int32_t r_first, r_other; /* two distinct readers (-1: none) */
};

/* A range of shared memory and its shadow. */
struct Region {
  uintptr_t lo = 0;
  size_t size = 0; /* 0 while no block runs: every range check fails */
  Cell *shadow = nullptr;
  Who *who = nullptr;
  size_t capacity = 0; /* cells mapped at shadow and who */
};

struct StaticVar {
  uintptr_t lo;
  size_t size;
  std::string name; /* mangled */
};

struct PendingCopy {
  uintptr_t dst;
  size_t bytes;
  unsigned tid;
  uintptr_t pc;
};

/* Per OS thread, like the emulator's other state: a launch runs on one. */
struct Race {
  Race() = default;
  Race(const Race &) = delete;
  Race &operator=(const Race &) = delete;
  ~Race();
  Region stat, dyn;
  std::vector<StaticVar> vars; /* sorted by address */
  bool scanned = false;
  uintptr_t stat_lo = 0;
  size_t stat_size = 0; /* from the first variable to the end of the last */
  uint32_t epoch = 0;
  uint32_t block_epoch = 0;            /* the epoch the running block started in */
  const StaticVar *last_var = nullptr; /* the variable found last (a cache) */
  std::vector<uint32_t> warp_epoch;
  std::vector<PendingCopy> pending;
};
/* The hooks read the plain __thread pointer (no TLS wrapper call on the hot
 * path); the thread_local owner frees the state when the OS thread ends. */
__thread Race *race_state;
thread_local std::unique_ptr<Race> race_owner;

Race &state() {
  if (!race_state) {
    race_owner = std::make_unique<Race>();
    race_state = race_owner.get();
  }
  return *race_state;
}

/* ---- Shadow memory ------------------------------------------------------------
 * Anonymous mappings: only the pages of bytes actually accessed cost memory,
 * and fresh pages read as zero ("never accessed"). */
void *map_zeroed(size_t bytes) {
  void *p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    std::perror("ag_emu: mmap of race-detector shadow memory");
    std::abort();
  }
  return p;
}

void unmap(Region &r) {
  munmap(r.shadow, r.capacity * sizeof(Cell));
  munmap(r.who, r.capacity * sizeof(Who));
}

void reserve(Region &r, size_t n) {
  if (n <= r.capacity) return;
  if (r.shadow) unmap(r);
  r.shadow = static_cast<Cell *>(map_zeroed(n * sizeof(Cell)));
  r.who = static_cast<Who *>(map_zeroed(n * sizeof(Who)));
  r.capacity = n;
}

Race::~Race() {
  for (Region *r : {&stat, &dyn})
    if (r->shadow) unmap(*r);
  race_state = nullptr;
}

/* Epochs wrapped around (after 2^32 barriers): old cells would look current. */
void clear_shadow(Region &r) {
  if (r.shadow) std::memset(r.shadow, 0, r.capacity * sizeof(Cell));
}

/* ---- Static __shared__ variables ---------------------------------------------
 * A `__shared__` variable is a function-local static (ag_emu.h), and CUDA
 * device code has no other mutable function-local statics, so the main
 * program's symbol table names them all: the objects with a local-static
 * mangled name ("_ZZ...") in a writable section. A host function's local
 * static is listed too, but kernels never touch one. */

int main_program_bias(struct dl_phdr_info *info, size_t, void *out) {
  *static_cast<uintptr_t *>(out) = info->dlpi_addr; /* listed first */
  return 1;
}

/* The executable's file, mapped read-only for the duration of a scan. */
struct MappedFile {
  const unsigned char *data = nullptr;
  size_t size = 0;
  explicit MappedFile(const char *path) {
    const int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    struct stat st;
    if (fstat(fd, &st) == 0 && st.st_size > 0) {
      void *p = mmap(nullptr, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p != MAP_FAILED) {
        data = static_cast<const unsigned char *>(p);
        size = (size_t)st.st_size;
      }
    }
    close(fd);
  }
  ~MappedFile() {
    if (data) munmap(const_cast<unsigned char *>(data), size);
  }
  MappedFile(const MappedFile &) = delete;
  MappedFile &operator=(const MappedFile &) = delete;
  bool holds(size_t off, size_t n) const { return off <= size && n <= size - off; }
};

std::vector<StaticVar> scan_static_shared() {
  std::vector<StaticVar> vars;
  const MappedFile f("/proc/self/exe");
  if (!f.holds(0, sizeof(ElfW(Ehdr)))) return vars;
  const auto *eh = reinterpret_cast<const ElfW(Ehdr) *>(f.data);
  if (std::memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
      !f.holds(eh->e_shoff, (size_t)eh->e_shnum * sizeof(ElfW(Shdr))))
    return vars;
  const auto *sh = reinterpret_cast<const ElfW(Shdr) *>(f.data + eh->e_shoff);
  uintptr_t bias = 0;
  dl_iterate_phdr(main_program_bias, &bias);
  for (unsigned i = 0; i < eh->e_shnum; ++i) {
    if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum) continue;
    const ElfW(Shdr) &strtab = sh[sh[i].sh_link];
    if (!f.holds(sh[i].sh_offset, sh[i].sh_size) || !f.holds(strtab.sh_offset, strtab.sh_size))
      continue;
    const auto *sym = reinterpret_cast<const ElfW(Sym) *>(f.data + sh[i].sh_offset);
    const char *names = reinterpret_cast<const char *>(f.data + strtab.sh_offset);
    for (size_t k = 0; k < sh[i].sh_size / sizeof(ElfW(Sym)); ++k) {
      const ElfW(Sym) &y = sym[k];
      if (ELF64_ST_TYPE(y.st_info) != STT_OBJECT || y.st_size == 0 || y.st_shndx == SHN_UNDEF ||
          y.st_shndx >= eh->e_shnum || !(sh[y.st_shndx].sh_flags & SHF_WRITE) ||
          y.st_name + 3 >= strtab.sh_size || std::strncmp(names + y.st_name, "_ZZ", 3) != 0)
        continue;
      vars.push_back(StaticVar{bias + y.st_value, y.st_size, names + y.st_name});
    }
  }
  std::sort(vars.begin(), vars.end(),
            [](const StaticVar &a, const StaticVar &b) { return a.lo < b.lo; });
  return vars;
}

/* The static __shared__ variable holding byte `a`, or nullptr. */
const StaticVar *static_var_at(const Race &s, uintptr_t a) {
  auto it = std::upper_bound(s.vars.begin(), s.vars.end(), a,
                             [](uintptr_t x, const StaticVar &v) { return x < v.lo; });
  if (it == s.vars.begin()) return nullptr;
  --it;
  return a - it->lo < it->size ? &*it : nullptr;
}

void find_static_shared(Race &s) {
  s.vars = scan_static_shared();
  s.last_var = nullptr;
  s.scanned = true;
  if (s.vars.empty()) return;
  uintptr_t hi = 0;
  for (const StaticVar &v : s.vars) hi = v.lo + v.size > hi ? v.lo + v.size : hi;
  s.stat_lo = s.vars.front().lo;
  s.stat_size = hi - s.stat_lo;
}

/* ---- Reports ----------------------------------------------------------------- */

/* The main program's file ("/proc/self/exe" would name addr2line itself). */
std::string executable_path() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "/proc/self/exe";
  buf[n] = 0;
  return buf;
}

struct FindObject {
  uintptr_t pc = 0;
  uintptr_t base = 0;
  std::string file;
  bool found = false;
};

int find_object(struct dl_phdr_info *info, size_t, void *out) {
  FindObject &f = *static_cast<FindObject *>(out);
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr) &ph = info->dlpi_phdr[i];
    const uintptr_t a = info->dlpi_addr + ph.p_vaddr;
    if (ph.p_type == PT_LOAD && f.pc >= a && f.pc < a + ph.p_memsz) {
      f.base = info->dlpi_addr;
      f.file = info->dlpi_name && *info->dlpi_name ? info->dlpi_name : executable_path();
      f.found = true;
      return 1;
    }
  }
  return 0;
}

const char *base_name(const char *path) {
  const char *slash = std::strrchr(path, '/');
  return slash ? slash + 1 : path;
}

/* "file.cu:12" through addr2line, "function (object+0x1f0)" without line
 * tables, the object and offset when even that fails. An access inlined
 * from a helper (an ag_emu_mma.h wrapper, a tile loader) is named with its
 * callers up to the first .cu line, innermost first:
 * "ag_emu_mma.h:160 < attention_tile.h:178 < attention_fwd.cu:87".
 * `pc` is a return address, so the access is the instruction before it. */
std::string symbolise(uintptr_t pc) {
  FindObject f;
  f.pc = pc - 1;
  dl_iterate_phdr(find_object, &f);
  if (!f.found) return format("pc 0x%" PRIxPTR, pc);
  const uintptr_t off = pc - 1 - f.base;
  const std::string raw = format("%s+0x%" PRIxPTR, base_name(f.file.c_str()), off);
  const std::string cmd =
      format("addr2line -e '%s' -f -C -i 0x%" PRIxPTR " 2>/dev/null", f.file.c_str(), off);
  FILE *p = popen(cmd.c_str(), "r");
  if (!p) return raw;
  char fn[2048] = "", loc[1024] = "";
  std::string chain, first_fn;
  for (int frame = 0; frame < 4 && std::fgets(fn, sizeof fn, p) && std::fgets(loc, sizeof loc, p);
       frame++) {
    fn[std::strcspn(fn, "\n")] = 0;
    loc[std::strcspn(loc, "\n")] = 0;
    if (frame == 0) first_fn = fn;
    if (loc[0] == '?') break;
    chain += (chain.empty() ? "" : " < ") + std::string(base_name(loc));
    if (std::strstr(loc, ".cu:")) break; /* the kernel's own line: its callers are the emulator */
  }
  pclose(p);
  if (!chain.empty()) return chain;
  return !first_fn.empty() && first_fn[0] != '?' ? format("%s (%s)", first_fn.c_str(), raw.c_str())
                                                 : raw;
}

std::string thread_name(unsigned tid) {
  const uint3 d = current.block_dim;
  return format("thread %u (%u,%u,%u; warp %u lane %u)", tid, tid % d.x, tid / d.x % d.y,
              tid / (d.x * d.y), tid / kWarp, tid % kWarp);
}

std::string where_byte(const Race &s, const Region &r, uintptr_t a) {
  if (&r == &s.dyn) return format("byte %zu of dynamic shared memory", (size_t)(a - r.lo));
  const StaticVar *v = static_var_at(s, a);
  if (!v) return format("static __shared__ address 0x%" PRIxPTR, a);
  int status = 0;
  char *name = abi::__cxa_demangle(v->name.c_str(), nullptr, nullptr, &status);
  std::string out = format("byte %zu of static __shared__ '%s'", (size_t)(a - v->lo),
                         status == 0 && name ? name : v->name.c_str());
  std::free(name);
  return out;
}

const char *kind(bool write) { return write ? "write" : "read"; }

[[noreturn]] void report(const Race &s, const Region &r, uintptr_t a, const char *what,
                         unsigned tid, bool write, uintptr_t pc, int other, bool other_write,
                         uintptr_t other_pc) {
  std::string msg =
      format("shared-memory race (%s) on %s: %s %ss at %s; ", what, where_byte(s, r, a).c_str(),
           thread_name(tid).c_str(), kind(write), symbolise(pc).c_str());
  msg += format("%s %s at %s, with no __syncthreads() (or __syncwarp() within a warp) between them",
              other >= 0 ? thread_name((unsigned)other).c_str() : "another thread",
              other_write ? "wrote" : "read", symbolise(other_pc).c_str());
  fail_block(std::move(msg));
}

[[noreturn]] void report_pending(const Race &s, const Region &r, uintptr_t a, const Cell &c,
                                 const Who &w, unsigned tid, bool write, uintptr_t pc) {
  std::string msg = format(
      "shared memory %s of a cp.async destination before "
      "cp.async.wait_group, on %s: %s at %s; the copy was issued by %s at %s",
      kind(write), where_byte(s, r, a).c_str(), thread_name(tid).c_str(), symbolise(pc).c_str(),
      thread_name((unsigned)c.pending - 1).c_str(), symbolise(w.pending_pc).c_str());
  fail_block(std::move(msg));
}

/* ---- Checking one access ------------------------------------------------------- */

unsigned current_tid() {
  const uint3 t = current.thread_idx, d = current.block_dim;
  return t.x + d.x * (t.y + d.y * t.z);
}

/* The access being checked, computed once for all its bytes. */
struct Access {
  unsigned tid;
  int warp;
  uint32_t epoch, wepoch; /* barrier epoch, and the warp's epoch within it */
  uintptr_t pc;
  bool write;
};

/* Whether the last write, by c.w_tid, is ordered before access x. */
bool write_ordered(const Cell &c, const Access &x) {
  if (c.w_epoch != x.epoch || c.w_tid == (int)x.tid) return true;
  return c.w_tid / (int)kWarp == x.warp && c.w_wepoch != x.wepoch;
}

/* Whether every read since the last write is ordered before write x. */
bool reads_ordered(const Cell &c, const Access &x) {
  if (c.r_epoch != x.epoch) return true;
  if (c.r_warp != x.warp) return false; /* some reader is in another warp */
  return c.r_wepoch != x.wepoch || c.r_last == (int)x.tid;
}

/* A report names a reader other than the accessing thread. */
void reader_to_name(const Who &w, unsigned tid, int *who, uintptr_t *pc) {
  const bool first = w.r_first != (int)tid;
  *who = first ? w.r_first : w.r_other;
  *pc = first ? w.r_first_pc : w.r_other_pc;
}

void name_other_reader(Who &w, const Access &x) {
  if (w.r_other < 0 && w.r_first != (int)x.tid) {
    w.r_other = (int)x.tid;
    w.r_other_pc = x.pc;
  }
}

/* Only a change of the summary touches `w`, so repeated reads of a byte by
 * a warp or the block cost loads only. */
void add_reader(Cell &c, Who &w, const Access &x) {
  if (c.r_epoch != x.epoch) {
    c.r_epoch = x.epoch;
    c.r_warp = (int16_t)x.warp;
    c.r_wepoch = x.wepoch;
    c.r_last = (int16_t)x.tid;
    w.r_first = (int)x.tid;
    w.r_first_pc = x.pc;
    w.r_other = -1;
    return;
  }
  if (c.r_warp < 0) return;
  if (c.r_warp != x.warp) {
    c.r_warp = -1;
  } else if (c.r_wepoch != x.wepoch) {
    c.r_wepoch = x.wepoch;
    c.r_last = (int16_t)x.tid;
  } else if (c.r_last >= 0 && c.r_last != (int)x.tid) {
    c.r_last = -1;
  } else {
    return;
  }
  name_other_reader(w, x);
}

void record_write(Cell &c, Who &w, const Access &x) {
  c.w_epoch = x.epoch;
  c.w_wepoch = x.wepoch;
  c.w_tid = (int16_t)x.tid;
  w.w_pc = x.pc;
  c.r_epoch = 0; /* earlier readers are ordered before this write (or reported) */
}

[[noreturn]] __attribute__((noinline)) void report_cell(const Race &s, const Region &r, uintptr_t a,
                                                        const Cell &c, const Who &w,
                                                        const Access &x) {
  if (c.pending) report_pending(s, r, a, c, w, x.tid, x.write, x.pc);
  if (!write_ordered(c, x))
    report(s, r, a, x.write ? "write after write" : "read after write", x.tid, x.write, x.pc,
           c.w_tid, true, w.w_pc);
  int who;
  uintptr_t who_pc;
  reader_to_name(w, x.tid, &who, &who_pc);
  report(s, r, a, "write after read", x.tid, true, x.pc, who, false, who_pc);
}

/* One byte; `poison`: a static __shared__ byte, poisoned on its block's first
 * access if that is a read. */
__attribute__((always_inline)) inline void check_byte(const Race &s, const Region &r, uintptr_t a,
                                                      Cell &c, Who &w, const Access &x,
                                                      bool poison) {
  if (poison) {
    if (c.touched < s.block_epoch && !x.write) *reinterpret_cast<unsigned char *>(a) = kPoison;
    c.touched = x.epoch;
  }
  if (c.pending || !write_ordered(c, x) ||
      (x.write && !reads_ordered(c, x)))
    report_cell(s, r, a, c, w, x);
  if (x.write)
    record_write(c, w, x);
  else
    add_reader(c, w, x);
}

/* The static __shared__ variable holding byte `a`, trying the last one found
 * first (consecutive accesses mostly hit the same array). */
const StaticVar *static_var_cached(Race &s, uintptr_t a) {
  if (s.last_var && a - s.last_var->lo < s.last_var->size) return s.last_var;
  const StaticVar *v = static_var_at(s, a);
  if (v) s.last_var = v;
  return v;
}

Region *region_of(Race &s, uintptr_t a) {
  if (a - s.dyn.lo < s.dyn.size) return &s.dyn;
  if (a - s.stat.lo < s.stat.size && static_var_cached(s, a)) return &s.stat;
  return nullptr;
}

/* Bytes [a, a + n) of one access, region by region; bytes outside shared
 * memory (an access may start in a static variable and end past it) are not
 * checked. */
__attribute__((noinline)) void check_range(Race &s, uintptr_t a, size_t n, bool write,
                                           uintptr_t pc) {
  const unsigned tid = current_tid();
  const Access x{tid, (int)(tid / kWarp), s.epoch, s.warp_epoch[tid / kWarp], pc, write};
  for (size_t i = 0; i < n;) {
    const uintptr_t b = a + i;
    size_t run = 0;
    Region *r = nullptr;
    if (b - s.dyn.lo < s.dyn.size) {
      r = &s.dyn;
      run = s.dyn.size - (b - s.dyn.lo);
    } else if (b - s.stat.lo < s.stat.size) {
      const StaticVar *v = static_var_cached(s, b);
      if (v) {
        r = &s.stat;
        run = v->size - (b - v->lo);
      }
    }
    if (!r) {
      ++i;
      continue;
    }
    run = run < n - i ? run : n - i;
    Cell *cells = r->shadow + (b - r->lo);
    Who *who = r->who + (b - r->lo);
    const bool poison = r == &s.stat;
    for (size_t k = 0; k < run; ++k) check_byte(s, *r, b + k, cells[k], who[k], x, poison);
    i += run;
  }
}

inline void on_access(const void *p, size_t n, bool write, void *pc) {
  Race *s = race_state;
  if (!s) return;
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  if (a - s->dyn.lo < s->dyn.size || a - s->stat.lo < s->stat.size)
    check_range(*s, a, n, write, reinterpret_cast<uintptr_t>(pc));
}

void set_pending(Race &s, uintptr_t dst, size_t bytes, int value, uintptr_t pc) {
  for (size_t i = 0; i < bytes; ++i) {
    Region *r = region_of(s, dst + i);
    if (!r) continue;
    r->shadow[dst + i - r->lo].pending = (int16_t)value;
    r->who[dst + i - r->lo].pending_pc = pc;
  }
}

/* AG_EMU_RACECHECK=0: no race checks (nor static __shared__ poisoning), to see
 * what a racy kernel computes. */
bool checks_turned_off() {
  const char *v = std::getenv("AG_EMU_RACECHECK");
  return v && std::strcmp(v, "0") == 0;
}

} /* namespace */

bool static_shared_contains(const void *p, size_t bytes) {
  Race &s = state();
  if (!s.scanned) find_static_shared(s);
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  const StaticVar *v = static_var_at(s, a);
  return v && bytes <= v->size - (a - v->lo);
}

void race_block_begin(void *dyn_lo, size_t dyn_bytes, unsigned nthreads) {
  Race &s = state();
  if (!s.scanned && kInstrumented) find_static_shared(s);
  race_block_barrier();
  s.block_epoch = s.epoch;
  s.warp_epoch.assign((nthreads + kWarp - 1) / kWarp, 0);
  s.pending.clear();
  /* Uninstrumented kernels never call a hook: no shadow needed. */
  if (!kInstrumented || checks_turned_off()) return;
  reserve(s.stat, s.stat_size);
  s.stat.lo = s.stat_lo;
  s.stat.size = s.stat_size;
  reserve(s.dyn, dyn_bytes);
  s.dyn.lo = reinterpret_cast<uintptr_t>(dyn_lo);
  s.dyn.size = dyn_bytes;
}

void race_block_barrier() {
  Race &s = state();
  if (++s.epoch == 0) {
    clear_shadow(s.stat);
    clear_shadow(s.dyn);
    s.epoch = 1;
  }
}

void race_warp_sync(unsigned warp) {
  Race &s = state();
  if (warp < s.warp_epoch.size()) ++s.warp_epoch[warp];
}

std::string race_block_end() {
  Race &s = state();
  std::string err;
  if (!s.pending.empty()) {
    const PendingCopy &p = s.pending.front();
    err = format(
        "%zu cp.async cop%s never waited on (no cp.async.wait_group before the block "
        "ended); the first: %zu bytes issued by %s at %s",
        s.pending.size(), s.pending.size() == 1 ? "y was" : "ies were", p.bytes,
        thread_name(p.tid).c_str(), symbolise(p.pc).c_str());
    for (const PendingCopy &q : s.pending) set_pending(s, q.dst, q.bytes, 0, 0);
    s.pending.clear();
  }
  s.stat.size = 0;
  s.dyn.size = 0;
  return err;
}

void race_async_copy_issued(void *dst, size_t bytes) {
  Race &s = state();
  const uintptr_t pc = reinterpret_cast<uintptr_t>(__builtin_return_address(0));
  const unsigned tid = current_tid();
  const uintptr_t a = reinterpret_cast<uintptr_t>(dst);
  s.pending.push_back(PendingCopy{a, bytes, tid, pc});
  set_pending(s, a, bytes, (int)tid + 1, pc);
}

void race_async_copy_landed(void *dst, size_t bytes) {
  Race &s = state();
  const uintptr_t pc = reinterpret_cast<uintptr_t>(__builtin_return_address(0));
  const unsigned tid = current_tid();
  const uintptr_t a = reinterpret_cast<uintptr_t>(dst);
  for (size_t i = 0; i < s.pending.size(); ++i) {
    const PendingCopy &p = s.pending[i];
    if (p.tid == tid && p.dst == a && p.bytes == bytes) {
      s.pending.erase(s.pending.begin() + (long)i);
      break;
    }
  }
  set_pending(s, a, bytes, 0, 0);
  /* The landing is the copy's write, by the issuing thread, now. */
  if (kInstrumented) check_range(s, a, bytes, true, pc);
}

} /* namespace ag_emu */

/* ---- The ThreadSanitizer instrumentation ABI ------------------------------------
 * What GCC's -fsanitize=thread calls (see `nm -u` of an instrumented object).
 * Function entry / exit hooks are turned off at compile time
 * (--param=tsan-instrument-func-entry-exit=0). */
#if defined(AG_EMU_RACECHECK)
#define AG_TSAN_ACCESS(n)                                                                          \
  extern "C" void __tsan_read##n(void *p) {                                                        \
    ag_emu::on_access(p, n, false, __builtin_return_address(0));                                   \
  }                                                                                                \
  extern "C" void __tsan_write##n(void *p) {                                                       \
    ag_emu::on_access(p, n, true, __builtin_return_address(0));                                    \
  }                                                                                                \
  extern "C" void __tsan_unaligned_read##n(void *p) {                                              \
    ag_emu::on_access(p, n, false, __builtin_return_address(0));                                   \
  }                                                                                                \
  extern "C" void __tsan_unaligned_write##n(void *p) {                                             \
    ag_emu::on_access(p, n, true, __builtin_return_address(0));                                    \
  }
AG_TSAN_ACCESS(1)
AG_TSAN_ACCESS(2)
AG_TSAN_ACCESS(4)
AG_TSAN_ACCESS(8)
AG_TSAN_ACCESS(16)
#undef AG_TSAN_ACCESS

extern "C" void __tsan_read_range(void *p, unsigned long n) {
  ag_emu::on_access(p, n, false, __builtin_return_address(0));
}
extern "C" void __tsan_write_range(void *p, unsigned long n) {
  ag_emu::on_access(p, n, true, __builtin_return_address(0));
}
extern "C" void __tsan_init() {}
extern "C" void __tsan_func_entry(void *) {}
extern "C" void __tsan_func_exit() {}
extern "C" void __tsan_vptr_update(void **, void *) {}
extern "C" void __tsan_vptr_read(void **) {}
#endif
