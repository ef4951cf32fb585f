// Failed allocations through whole jobs: a training step (forward, backward,
// optimizer) of the classifier and of a small NeRF, their checkpoints saved
// over a previous one and loaded, a NeRF render, a frame written as a PNG,
// and a step + checkpoint + sample of the GPT, the DDPM and the GAN. Each
// job runs with its nth allocation failing for n = 1, 2, ... until a run in
// which nothing failed, so every allocation the job makes is failed once.
// Each failed run must return an error with a one-line message, free what
// it made (LeakSanitizer in the ASan build), and leave under the final name
// nothing or a complete file, and no temporary file.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "ag_test_util.h"

extern "C" {
#include "alloc_fail.h"
#include "models/ag_classifier.h"
#include "models/diffusion/ag_ddpm.h"
#include "models/gan/ag_gan.h"
#include "models/nerf/ag_nerf.h"
#include "models/nerf/ag_nerf_make_scene.h"
#include "models/transformer/ag_gpt.h"
#include "runtime/backends/ag_backend.h"
#include "runtime/io/png.h"
}
#ifdef AG_FAULT_TEST_EMU
#include "runtime/backends/ag_backend_emu.h"
#endif

namespace fs = std::filesystem;
using ag_test::listing;
using ag_test::Scratch;
using ag_test::slurp;

namespace {

// A job allocates thousands of times, not millions: a sweep that does not
// end by then is a loop that allocates without bound.
constexpr long kMaxRuns = 200000;

// One job under failure injection: `run` does the whole job and frees what
// it made; `check` looks at what it left (files) after each run.
struct Job {
  std::function<ag_status()> run;
  std::function<void(ag_status)> check = [](ag_status) {};
};

// Failures recorded in the running test so far.
int failures() {
  return ::testing::UnitTest::GetInstance()->current_test_info()->result()->total_part_count();
}

// Fails allocation n = 1, 2, ... of `kind` on `be` until a run completes
// unfailed; prints how many allocations (and host call sites) it covered.
void sweep(const char *what, ag_backend *be, ag_fault_kind kind, const Job &job) {
  ag_allocator_release_cached(be->alloc);
  ASSERT_EQ(job.run(), AG_OK) << "unfailed run: " << ag_last_error();
  std::set<void *> sites;
  const int failures_before = failures();
  for (long n = 1; n < kMaxRuns; n++) {
    // An empty cache makes every run reach the device allocator alike.
    ag_allocator_release_cached(be->alloc);
    ag_clear_error();
    ag_fault_arm(kind, n);
    const ag_status st = job.run();
    ag_fault_disarm();
    if (!ag_fault_fired()) {
      EXPECT_EQ(st, AG_OK) << ag_last_error();
      job.check(st);
      // Device allocations all come through the backend's raw allocator,
      // so only host allocations have call sites worth counting.
      if (kind == AG_FAULT_HOST)
        std::printf("%s: %ld host allocations failed one at a time, from %zu call sites\n", what,
                    n - 1, sites.size());
      else
        std::printf("%s: %ld device allocations failed one at a time\n", what, n - 1);
      return;
    }
    sites.insert(ag_fault_site());
    // A failure a job hides is as wrong as a crash: a planner that made
    // every value resident when its bookkeeping calloc failed still ran.
    const std::string msg = ag_last_error();
    EXPECT_NE(st, AG_OK) << "allocation " << n << " failed and the job still succeeded";
    if (st != AG_OK) {
      EXPECT_FALSE(msg.empty()) << "allocation " << n << ": status " << ag_status_name(st)
                                << " without a message";
      EXPECT_EQ(msg.find('\n'), std::string::npos) << "allocation " << n << ": " << msg;
    }
    job.check(st);
    if (failures() > failures_before) {
      ADD_FAILURE() << what << ": stopped at allocation " << n << " (" << ag_last_error() << ")";
      return;
    }
  }
  ADD_FAILURE() << what << ": still allocating after " << kMaxRuns << " runs";
}

// The emulated backend is swept for device allocations only: its host code
// is the CPU backend's, and the emulator itself (a test platform, C++) does
// not survive a failed host allocation, by design.
ag_backend *backend_under_test() {
#ifdef AG_FAULT_TEST_EMU
  return ag_backend_emu();
#else
  return ag_backend_cpu();
#endif
}

// ---- the classifier ---------------------------------------------------------

ag_classifier_config small_classifier() {
  ag_classifier_config c = ag_classifier_default_config();
  c.height = c.width = 8;
  c.c1 = 2, c.c2 = 4, c.hidden = 8;
  return c;
}

// Four images and labels: one batch, one step.
struct Digits {
  std::vector<uint8_t> images, labels;
  ag_mnist m{};
  explicit Digits(const ag_classifier_config &c) : images(4 * c.height * c.width), labels(4) {
    for (size_t i = 0; i < images.size(); i++) images[i] = (uint8_t)(i * 37 % 251);
    for (size_t i = 0; i < labels.size(); i++) labels[i] = (uint8_t)(i * 3 % 10);
    m = ag_mnist{4, c.height, c.width, images.data(), labels.data()};
  }
};

ag_classifier_train_opts one_step() {
  ag_classifier_train_opts o = ag_classifier_default_train_opts();
  o.epochs = 1, o.batch = 4, o.warmup = 0, o.progress = 0;
  return o;
}

Job classifier_step(ag_backend *be, const ag_classifier_config &c, const Digits &d) {
  return {[be, &c, &d] {
    const ag_classifier_train_opts o = one_step();
    ag_params *p = nullptr;
    const ag_status st = ag_classifier_train(be, &c, &o, &d.m, &p);
    if (st != AG_OK && p) return ag_set_error(AG_ERR_INVALID, "failed training returned params");
    ag_params_free(p);
    return st;
  }};
}

TEST(AllocFail, ClassifierTrainingStep) {
  ag_backend *be = backend_under_test();
  ASSERT_NE(be, nullptr) << ag_last_error();
  const ag_classifier_config c = small_classifier();
  const Digits d(c);
#ifndef AG_FAULT_TEST_EMU
  sweep("classifier step", be, AG_FAULT_HOST, classifier_step(be, c, d));
#endif
  sweep("classifier step", be, AG_FAULT_DEVICE, classifier_step(be, c, d));
}

TEST(AllocFail, ClassifierCheckpointSaveAndLoad) {
  ag_backend *be = backend_under_test();
  ASSERT_NE(be, nullptr) << ag_last_error();
  const ag_classifier_config c = small_classifier();
  Scratch s;
  ag_params *old_p = ag_params_new(be, 1), *p = ag_params_new(be, 2);
  ASSERT_EQ(ag_classifier_init(old_p, &c), AG_OK) << ag_last_error();
  ASSERT_EQ(ag_classifier_init(p, &c), AG_OK) << ag_last_error();
  const ag_classifier_meta meta = {1, 0.5, "fault"};
  const std::string path = s.dir + "/c.safetensors";
  ASSERT_EQ(ag_classifier_save(path.c_str(), p, &c, &meta), AG_OK) << ag_last_error();
  const std::string next = slurp(path);
  ASSERT_EQ(ag_classifier_save(path.c_str(), old_p, &c, &meta), AG_OK) << ag_last_error();
  const std::string previous = slurp(path);
  ASSERT_NE(previous, next);
  const Job job = {[&] {
                     // Each run starts from the previous checkpoint.
                     ag_status st = ag_classifier_save(path.c_str(), old_p, &c, &meta);
                     if (st == AG_OK) st = ag_classifier_save(path.c_str(), p, &c, &meta);
                     ag_params *back = nullptr;
                     ag_classifier_config bc{};
                     ag_classifier_meta bm{};
                     if (st == AG_OK) st = ag_classifier_load(path.c_str(), be, &back, &bc, &bm);
                     if (st != AG_OK && back)
                       return ag_set_error(AG_ERR_INVALID, "failed load returned params");
                     ag_params_free(back);
                     return st;
                   },
                   [&](ag_status) {
                     EXPECT_EQ(listing(s.dir), std::vector<std::string>{"c.safetensors"});
                     const std::string now = slurp(path);
                     EXPECT_TRUE(now == previous || now == next) << "neither old nor new";
                   }};
#ifndef AG_FAULT_TEST_EMU
  sweep("classifier checkpoint", be, AG_FAULT_HOST, job);
#endif
  sweep("classifier checkpoint", be, AG_FAULT_DEVICE, job);
  ag_params_free(old_p);
  ag_params_free(p);
}

// ---- NeRF -------------------------------------------------------------------

// An 8 x 8 scene of two training views, made once.
struct NerfScene {
  Scratch s;
  ag_nerf_scene train{};
  ag_status st;
  NerfScene() {
    ag_nerf_make_opts o = ag_nerf_make_default_opts();
    o.res = 8;
    o.views[0] = 2, o.views[1] = 1, o.views[2] = 1;
    o.aa = 1;
    const std::string at = s.dir + "/solid";
    st = ag_nerf_make_scene("solid", at.c_str(), &o);
    if (st == AG_OK) st = ag_nerf_scene_load(at.c_str(), "train", &train);
  }
  ~NerfScene() { ag_nerf_scene_free(&train); }
};

NerfScene &nerf_scene() {
  static NerfScene s;
  return s;
}

ag_nerf_config tiny_nerf() {
  ag_nerf_config c = ag_nerf_default_config(1.5f, 0);
  c.grid.levels = 4;
  c.grid.log2_table = 8;
  c.hidden = 16;
  c.occ_res = 8;
  c.diagonal_steps = 32;
  c.max_ray_samples = 32;
  return c;
}

ag_nerf_train_opts nerf_steps(int64_t steps) {
  ag_nerf_train_opts o = ag_nerf_default_train_opts(0);
  o.steps = steps;
  o.target_samples = 1 << 9;
  o.max_rays = 64;
  o.occ_warmup = 0;
  o.val_every = 0;
  o.progress = 0;
  return o;
}

Job nerf_step(ag_backend *be, const ag_nerf_config &c) {
  return {[be, &c] {
    const ag_nerf_train_opts o = nerf_steps(1);
    ag_nerf_model m{};
    ag_nerf_train_result r{};
    const ag_status st = ag_nerf_train(be, &c, &o, &nerf_scene().train, nullptr, &m, &r);
    if (st != AG_OK && m.p) return ag_set_error(AG_ERR_INVALID, "failed training kept a model");
    ag_nerf_model_free(&m);
    return st;
  }};
}

TEST(AllocFail, NerfTrainingStep) {
  ag_backend *be = backend_under_test();
  ASSERT_NE(be, nullptr) << ag_last_error();
  ASSERT_EQ(nerf_scene().st, AG_OK) << ag_last_error();
  const ag_nerf_config c = tiny_nerf();
#ifndef AG_FAULT_TEST_EMU
  sweep("nerf step", be, AG_FAULT_HOST, nerf_step(be, c));
#endif
  sweep("nerf step", be, AG_FAULT_DEVICE, nerf_step(be, c));
}

// A model trained for two steps on be, for the checkpoint and render jobs.
struct NerfModel {
  ag_nerf_model m{};
  ag_status st;
  NerfModel(ag_backend *be, int64_t steps) {
    const ag_nerf_config c = tiny_nerf();
    const ag_nerf_train_opts o = nerf_steps(steps);
    ag_nerf_train_result r{};
    st = ag_nerf_train(be, &c, &o, &nerf_scene().train, nullptr, &m, &r);
  }
  ~NerfModel() { ag_nerf_model_free(&m); }
};

TEST(AllocFail, NerfCheckpointSaveAndLoad) {
  ag_backend *be = backend_under_test();
  ASSERT_NE(be, nullptr) << ag_last_error();
  ASSERT_EQ(nerf_scene().st, AG_OK) << ag_last_error();
  NerfModel old_m(be, 1), m(be, 2);
  ASSERT_EQ(old_m.st, AG_OK) << ag_last_error();
  ASSERT_EQ(m.st, AG_OK) << ag_last_error();
  Scratch s;
  const std::string path = s.dir + "/n.safetensors";
  ASSERT_EQ(ag_nerf_save(&m.m, path.c_str()), AG_OK) << ag_last_error();
  const std::string next = slurp(path);
  ASSERT_EQ(ag_nerf_save(&old_m.m, path.c_str()), AG_OK) << ag_last_error();
  const std::string previous = slurp(path);
  ASSERT_NE(previous, next);
  const Job job = {[&] {
                     // Each run starts from the previous checkpoint.
                     ag_status st = ag_nerf_save(&old_m.m, path.c_str());
                     if (st == AG_OK) st = ag_nerf_save(&m.m, path.c_str());
                     ag_nerf_model back{};
                     if (st == AG_OK) st = ag_nerf_load(path.c_str(), be, &back);
                     if (st != AG_OK && back.p)
                       return ag_set_error(AG_ERR_INVALID, "failed load kept a model");
                     ag_nerf_model_free(&back);
                     return st;
                   },
                   [&](ag_status) {
                     EXPECT_EQ(listing(s.dir), std::vector<std::string>{"n.safetensors"});
                     const std::string now = slurp(path);
                     EXPECT_TRUE(now == previous || now == next) << "neither old nor new";
                   }};
#ifndef AG_FAULT_TEST_EMU
  sweep("nerf checkpoint", be, AG_FAULT_HOST, job);
#endif
  sweep("nerf checkpoint", be, AG_FAULT_DEVICE, job);
}

// A 6 x 5 view of a model trained for a step: its pixels, or an error.
Job nerf_render(const ag_nerf_model &m, std::vector<float> &rgb) {
  return {[&m, &rgb] {
    ag_nerf_camera cam{};
    ag_nerf_orbit(1, 6, 5, 4.0f, 0.3f, &cam);
    const float black[3] = {0, 0, 0};
    ag_nerf_renderer *r = nullptr;
    std::fill(rgb.begin(), rgb.end(), -1.0f);
    ag_status st = ag_nerf_renderer_new(m.p, &m.c, m.occ.bitfield, 16, &r);
    if (st == AG_OK)
      st = ag_nerf_render_view(r, &cam, black, rgb.data(), nullptr, nullptr, nullptr);
    ag_nerf_renderer_free(r);
    return st;
  }};
}

TEST(AllocFail, NerfRender) {
  ag_backend *be = backend_under_test();
  ASSERT_NE(be, nullptr) << ag_last_error();
  ASSERT_EQ(nerf_scene().st, AG_OK) << ag_last_error();
  NerfModel m(be, 1);
  ASSERT_EQ(m.st, AG_OK) << ag_last_error();
  std::vector<float> rgb(3 * 30), want;
  Job job = nerf_render(m.m, rgb);
  ASSERT_EQ(job.run(), AG_OK) << ag_last_error();
  want = rgb;
  job.check = [&](ag_status st) {
    if (st == AG_OK) {
      EXPECT_EQ(rgb, want);
    }
  };
#ifndef AG_FAULT_TEST_EMU
  sweep("nerf render", be, AG_FAULT_HOST, job);
#endif
  sweep("nerf render", be, AG_FAULT_DEVICE, job);
}

#ifndef AG_FAULT_TEST_EMU
// A rendered frame written as a PNG: the file is the whole frame or absent.
// The sweep runs in a child process, so that a crash is this test's failure
// and not the end of the suite.
TEST(AllocFail, FramePng) {
  Scratch s;
  const std::string path = s.dir + "/frame.png";
  std::vector<uint8_t> rgba(4 * 6 * 5);
  for (size_t i = 0; i < rgba.size(); i++) rgba[i] = (uint8_t)(i * 11);
  ASSERT_EQ(ag_png_write(path.c_str(), rgba.data(), 6, 5, 4), AG_OK) << ag_last_error();
  const std::string frame = slurp(path);
  const Job job = {[&] {
                     std::remove(path.c_str());
                     return ag_png_write(path.c_str(), rgba.data(), 6, 5, 4);
                   },
                   [&](ag_status st) {
                     const std::vector<std::string> want = {"frame.png"};
                     EXPECT_EQ(listing(s.dir), st == AG_OK ? want : std::vector<std::string>{});
                     if (st == AG_OK) {
                       EXPECT_EQ(slurp(path), frame);
                     }
                   }};
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        sweep("frame png", ag_backend_cpu(), AG_FAULT_HOST, job);
        std::fflush(stdout);
        std::exit(::testing::Test::HasFailure() ? 1 : 0);
      },
      ::testing::ExitedWithCode(0), "")
      << "ag_png_write with one of its allocations failed";
}
#endif

// ---- the other pipelines: one step, its checkpoint, a sample ------------------

// After a run at dir/file: nothing but that file, and it (if there) loads.
std::function<void(ag_status)> only_a_loading_file(const std::string &dir, const char *file,
                                                   std::function<ag_status(const char *)> load) {
  return [dir, file, load](ag_status) {
    const std::vector<std::string> names = listing(dir);
    EXPECT_TRUE(names.empty() || names == std::vector<std::string>{file}) << names.size();
    const std::string path = dir + "/" + file;
    if (fs::exists(path)) {
      EXPECT_EQ(load(path.c_str()), AG_OK)
          << "a checkpoint that does not load: " << ag_last_error();
    }
  };
}

// A single-rank communicator on be around `body`.
ag_status with_comm(ag_backend *be, const std::function<ag_status(ag_comm *)> &body) {
  ag_comm *comm = nullptr;
  const ag_comm_opts co = {AG_COMM_SINGLE, 0};
  ag_status st = ag_comm_open(be, &co, &comm);
  if (st == AG_OK) st = body(comm);
  ag_comm_close(comm);
  return st;
}

TEST(AllocFail, GptStepCheckpointAndSample) {
  ag_backend *be = backend_under_test();
  ASSERT_NE(be, nullptr) << ag_last_error();
  Scratch s;
  const std::string path = s.dir + "/g.safetensors";
  const std::string text = "a failed allocation is an error, not a crash; ";
  ag_gpt_config c = ag_gpt_default_config();
  // Head dims of 32: the fused CUDA attention's smallest.
  c.context = 8, c.layers = 1, c.width = 64, c.heads = 2;
  auto load = [be](const char *at) {
    ag_params *p = nullptr;
    ag_gpt_config lc{};
    const ag_status st = ag_gpt_load(at, be, &p, &lc, nullptr);
    ag_params_free(p);
    return st;
  };
  const Job job = {[&] {
                     std::remove(path.c_str());
                     ag_gpt_train_opts o = ag_gpt_default_train_opts();
                     o.steps = 1, o.batch = 2, o.warmup = 0, o.progress = 0;
                     o.out = path.c_str();
                     ag_params *p = nullptr;
                     ag_status st = with_comm(be, [&](ag_comm *comm) {
                       return ag_gpt_train(comm, &c, &o, text.data(), text.size(), &p);
                     });
                     ag_params_free(p);
                     p = nullptr;
                     ag_gpt_config lc{};
                     if (st == AG_OK) st = ag_gpt_load(path.c_str(), be, &p, &lc, nullptr);
                     ag_gpt_sample_opts so = ag_gpt_default_sample_opts();
                     so.max_new = 3;
                     const int32_t prompt[1] = {'a'};
                     int32_t out[3];
                     if (st == AG_OK) st = ag_gpt_sample(p, &lc, prompt, 1, &so, out);
                     ag_params_free(p);
                     return st;
                   },
                   only_a_loading_file(s.dir, "g.safetensors", load)};
#ifndef AG_FAULT_TEST_EMU
  sweep("gpt step, checkpoint, sample", be, AG_FAULT_HOST, job);
#endif
  sweep("gpt step, checkpoint, sample", be, AG_FAULT_DEVICE, job);
}

// Not on the emulator, where its thousand device allocations take minutes
// of emulated UNet; the CPU backend's sweep covers the same allocator.
#ifndef AG_FAULT_TEST_EMU
TEST(AllocFail, DdpmStepCheckpointAndSample) {
  ag_backend *be = backend_under_test();
  ASSERT_NE(be, nullptr) << ag_last_error();
  Scratch s;
  const std::string path = s.dir + "/d.safetensors";
  ag_ddpm_config c = ag_ddpm_default_config();
  c.unet.height = c.unet.width = 8;
  c.unet.base = 16, c.unet.levels = 2, c.unet.blocks = 1, c.unet.head_dim = 32, c.unet.groups = 4;
  c.unet.mult[0] = 1, c.unet.mult[1] = 2, c.unet.attn[0] = 0, c.unet.attn[1] = 1;
  c.schedule.train_timesteps = 20;
  ag_classifier_config shape = small_classifier();
  const Digits d(shape);
  auto load = [be](const char *at) {
    ag_ddpm *m = nullptr;
    const ag_status st = ag_ddpm_load(at, be, &m);
    ag_ddpm_free(m);
    return st;
  };
  const Job job = {[&] {
                     std::remove(path.c_str());
                     ag_ddpm_train_opts o = ag_ddpm_default_train_opts();
                     o.steps = 1, o.batch = 4, o.warmup = 0, o.progress = 0;
                     o.out = path.c_str();
                     ag_ddpm_train_result r{};
                     ag_status st = with_comm(
                         be, [&](ag_comm *comm) { return ag_ddpm_train(comm, &c, &o, &d.m, &r); });
                     ag_ddpm *m = nullptr;
                     if (st == AG_OK) st = ag_ddpm_load(path.c_str(), be, &m);
                     ag_ddpm_sample_opts so = ag_ddpm_default_sample_opts();
                     so.sampler = "ddim", so.steps = 2, so.batch = 1;
                     const int32_t label[1] = {3};
                     std::vector<float> image(8 * 8);
                     if (st == AG_OK) st = ag_ddpm_sample(m, &so, 1, label, image.data());
                     ag_ddpm_free(m);
                     return st;
                   },
                   only_a_loading_file(s.dir, "d.safetensors", load)};
  sweep("ddpm step, checkpoint, sample", be, AG_FAULT_HOST, job);
  sweep("ddpm step, checkpoint, sample", be, AG_FAULT_DEVICE, job);
}
#endif

TEST(AllocFail, GanStepCheckpointAndSample) {
  ag_backend *be = backend_under_test();
  ASSERT_NE(be, nullptr) << ag_last_error();
  Scratch s;
  const std::string path = s.dir + "/a.safetensors";
  ag_gan_config c = ag_gan_default_config();
  c.height = c.width = 8;
  c.zdim = 8, c.g_channels = 8, c.d_channels = 8, c.classes = 10, c.embed_dim = 4;
  ag_classifier_config shape = small_classifier();
  const Digits d(shape);
  auto load = [be](const char *at) {
    ag_gan *g = nullptr;
    const ag_status st = ag_gan_load(at, be, &g);
    ag_gan_free(g);
    return st;
  };
  const Job job = {[&] {
                     std::remove(path.c_str());
                     ag_gan_train_opts o = ag_gan_default_train_opts();
                     o.steps = 1, o.batch = 4, o.progress = 0;
                     o.loss = AG_GAN_LOSS_RAGAN, o.r1_gamma = 1.0f, o.ema_decay = 0.9f;
                     o.out = path.c_str();
                     ag_gan_train_result r{};
                     ag_status st = ag_gan_train(be, &c, &o, &d.m, &r);
                     ag_gan *g = nullptr;
                     if (st == AG_OK) st = ag_gan_load(path.c_str(), be, &g);
                     std::vector<float> image(8 * 8);
                     if (st == AG_OK) st = ag_gan_sample(g, 1, 0, 1, 1, nullptr, image.data());
                     ag_gan_free(g);
                     return st;
                   },
                   only_a_loading_file(s.dir, "a.safetensors", load)};
#ifndef AG_FAULT_TEST_EMU
  sweep("gan step, checkpoint, sample", be, AG_FAULT_HOST, job);
#endif
  sweep("gan step, checkpoint, sample", be, AG_FAULT_DEVICE, job);
}

}  // namespace
