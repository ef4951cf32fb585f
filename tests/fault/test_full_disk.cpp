// A full file system under every writer aigc saves through: classifier and
// NeRF checkpoints, rendered frames (PNG), meshes (PLY). Writing a file that
// does not fit must fail with one line naming the file, keep the previous
// file byte for byte and leave no temporary file. Two ways to fill a disk:
// a file-size limit (RLIMIT_FSIZE, with SIGXFSZ ignored, so writes fail
// with EFBIG) in a child process, and a real 64 KiB tmpfs where this
// process may mount one (root, and a kernel that lets it). And an output
// path that is a device.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "ag_test_util.h"

extern "C" {
#include "models/ag_classifier.h"
#include "models/nerf/ag_nerf.h"
#include "runtime/io/ply.h"
#include "runtime/io/png.h"
}

namespace fs = std::filesystem;
using ag_test::listing;
using ag_test::Scratch;
using ag_test::slurp;

namespace {

constexpr rlim_t kFileLimit = 32 << 10;

// A writer: a file that fits in any of the full disks here, and one that
// does not (both written to `path`).
struct Writer {
  const char *name, *file;
  std::function<ag_status(const std::string &)> small, big;
};

// What a write ended with: its status and message.
struct Outcome {
  ag_status st = AG_OK;
  std::string msg;
};

// `job` in a child process whose files may not grow past kFileLimit.
Outcome write_under_file_limit(const std::function<ag_status()> &job) {
  int fd[2];
  if (pipe(fd) != 0) return {AG_ERR_IO, std::string("pipe: ") + std::strerror(errno)};
  const pid_t pid = fork();
  if (pid == 0) {
    close(fd[0]);
    const struct rlimit lim = {kFileLimit, kFileLimit};
    signal(SIGXFSZ, SIG_IGN);
    if (setrlimit(RLIMIT_FSIZE, &lim) != 0) _exit(100);
    const ag_status st = job();
    const std::string msg = ag_last_error();
    if (write(fd[1], msg.data(), msg.size()) != (ssize_t)msg.size()) _exit(101);
    _exit((int)st);
  }
  close(fd[1]);
  Outcome out;
  char buf[1024];
  for (ssize_t k; (k = read(fd[0], buf, sizeof buf)) > 0;) out.msg.append(buf, (size_t)k);
  close(fd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) >= 100)
    return {AG_ERR_IO, "the writing child died (status " + std::to_string(status) + ")"};
  out.st = (ag_status)WEXITSTATUS(status);
  return out;
}

// The previous file at dir/file, then a write that does not fit, ending in
// `out`: an error naming the file, the previous bytes, nothing else there.
void expect_clean_failure(const Writer &w, const std::string &dir,
                          const std::function<Outcome(const std::string &)> &write_big) {
  const std::string path = dir + "/" + w.file;
  ASSERT_EQ(w.small(path), AG_OK) << w.name << ": " << ag_last_error();
  const std::string previous = slurp(path);
  const Outcome out = write_big(path);
  std::printf("%s: %s\n", w.name, out.msg.c_str());
  EXPECT_NE(out.st, AG_OK) << w.name << ": a file past the limit was written";
  EXPECT_EQ(out.msg.find('\n'), std::string::npos) << out.msg;
  EXPECT_NE(out.msg.find(path), std::string::npos) << "does not name the file: " << out.msg;
  EXPECT_TRUE(slurp(path) == previous) << w.name << ": the previous file changed";
  EXPECT_EQ(listing(dir), std::vector<std::string>{w.file}) << w.name << ": a file left behind";
}

// ---- the writers ------------------------------------------------------------

ag_classifier_config classifier_of(bool big) {
  ag_classifier_config c = ag_classifier_default_config();
  if (!big) c.height = c.width = 8, c.c1 = 2, c.c2 = 4, c.hidden = 8;
  return c;
}

ag_status save_classifier(const std::string &path, bool big) {
  const ag_classifier_config c = classifier_of(big);
  ag_params *p = ag_params_new(ag_backend_cpu(), 1);
  if (!p) return AG_ERR_OOM;
  const ag_classifier_meta meta = {1, -1, "full-disk"};
  ag_status st = ag_classifier_init(p, &c);
  if (st == AG_OK) st = ag_classifier_save(path.c_str(), p, &c, &meta);
  ag_params_free(p);
  return st;
}

ag_status save_nerf(const std::string &path, bool big) {
  ag_nerf_model m{};
  m.c = ag_nerf_default_config(1.5f, 0);
  if (!big) m.c.grid.levels = 2, m.c.grid.log2_table = 8, m.c.hidden = 16, m.c.occ_res = 8;
  m.p = ag_params_new(ag_backend_cpu(), 1);
  if (!m.p) return AG_ERR_OOM;
  ag_status st = ag_nerf_init(m.p, &m.c);
  if (st == AG_OK) st = ag_nerf_occupancy_new(m.p, &m.c, 256, &m.occ);
  if (st == AG_OK) st = ag_nerf_save(&m, path.c_str());
  ag_nerf_model_free(&m);
  return st;
}

// A frame of noise, which does not compress: 4 x 4 or 256 x 256 RGBA.
ag_status save_frame(const std::string &path, bool big) {
  const int side = big ? 256 : 4;
  std::vector<uint8_t> rgba(4 * side * side);
  uint32_t x = 12345;
  for (auto &v : rgba) v = (uint8_t)((x = x * 1664525u + 1013904223u) >> 24);
  return ag_png_write(path.c_str(), rgba.data(), side, side, 4);
}

// A strip of 2 or 20000 triangles.
ag_status save_mesh(const std::string &path, bool big) {
  const int64_t tris = big ? 20000 : 2, verts = tris + 2;
  std::vector<float> pos(3 * verts), normal(3 * verts, 0.0f);
  std::vector<int32_t> tri(3 * tris);
  for (int64_t v = 0; v < verts; v++) {
    pos[3 * v] = (float)(v / 2), pos[3 * v + 1] = (float)(v % 2), pos[3 * v + 2] = 0;
    normal[3 * v + 2] = 1;
  }
  for (int64_t t = 0; t < tris; t++)
    for (int k = 0; k < 3; k++) tri[3 * t + k] = (int32_t)(t + k);
  const ag_mesh m = {verts, tris, pos.data(), normal.data(), nullptr, tri.data()};
  return ag_mesh_write_ply(&m, path.c_str());
}

std::vector<Writer> writers() {
  auto of = [](ag_status (*f)(const std::string &, bool), bool big) {
    return [f, big](const std::string &path) { return f(path, big); };
  };
  return {{"classifier checkpoint", "c.safetensors", of(save_classifier, false),
           of(save_classifier, true)},
          {"nerf checkpoint", "n.safetensors", of(save_nerf, false), of(save_nerf, true)},
          {"frame png", "frame.png", of(save_frame, false), of(save_frame, true)},
          {"mesh ply", "mesh.ply", of(save_mesh, false), of(save_mesh, true)}};
}

TEST(FullDisk, FileSizeLimitKeepsThePreviousFile) {
  for (const Writer &w : writers()) {
    Scratch s;
    expect_clean_failure(w, s.dir, [&](const std::string &path) {
      return write_under_file_limit([&] { return w.big(path); });
    });
  }
}

TEST(FullDisk, SmallTmpfsKeepsThePreviousFile) {
  if (geteuid() != 0) GTEST_SKIP() << "mounting a tmpfs needs root";
  Scratch s;
  const std::string mnt = s.dir + "/mnt";
  fs::create_directory(mnt);
  if (mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=64k") != 0)
    GTEST_SKIP() << "cannot mount a tmpfs here: " << std::strerror(errno);
  for (const Writer &w : writers()) {
    expect_clean_failure(w, mnt, [&](const std::string &path) {
      Outcome out;
      out.st = w.big(path);
      out.msg = ag_last_error();
      return out;
    });
    fs::remove(mnt + "/" + w.file);
  }
  EXPECT_EQ(umount2(mnt.c_str(), MNT_DETACH), 0) << std::strerror(errno);
}

// An output path that is a device, as `--out /dev/full` names one: the
// device is written through (and /dev/full, always full, refuses) or the
// path is refused; either way an error naming it, and the device node is
// not replaced by a regular file (which renaming a temporary file over it
// does, to /dev/null too, as root).
TEST(FullDisk, DeviceOutputPathIsNotReplaced) {
  for (const Writer &w : writers()) {
    Scratch s;
    const std::string path = s.dir + "/" + w.file;
    if (mknod(path.c_str(), S_IFCHR | 0600, makedev(1, 7)) != 0)
      GTEST_SKIP() << "cannot make a /dev/full node here: " << std::strerror(errno);
    ag_clear_error();
    const ag_status st = w.big(path);
    const std::string msg = ag_last_error();
    std::printf("%s: %s\n", w.name, msg.c_str());
    struct stat sb {};
    EXPECT_NE(st, AG_OK) << w.name << ": writing to a full device succeeded";
    EXPECT_NE(msg.find(path), std::string::npos) << "does not name the file: " << msg;
    EXPECT_TRUE(stat(path.c_str(), &sb) == 0 && S_ISCHR(sb.st_mode))
        << w.name << ": the device node was replaced";
    EXPECT_EQ(listing(s.dir), std::vector<std::string>{w.file}) << w.name << ": a file left behind";
  }
}

}  // namespace
