// The NeRF model: a 300-step training run on a small procedural scene learns
// (the loss falls, the val view beats a blank render by a margin, the
// occupancy grid prunes empty space); rendering in batches that overflow
// their sample capacity gives the image of one large batch; checkpoints
// round-trip to the same pixels and refuse other models; a run stopped and
// resumed ends with the bytes of one run; 2x2 supersampling averages the
// sub-pixels' centres; the orbit cameras look at the origin; PSNR and SSIM
// on known images. Where the emulator is built, a
// view rendered by the CUDA kernels (emulated) against the CPU, and
// deterministic training on them repeating to the byte.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#ifdef AG_NERF_TEST_EMU
#include "runtime/backends/ag_backend_emu.h"
#endif
extern "C" {
#include "models/nerf/ag_nerf.h"
#include "models/nerf/ag_nerf_make_scene.h"
}

namespace fs = std::filesystem;

namespace {

// One small scene for the whole suite: 32 x 32 views of the textured torus.
struct Scene {
  std::string dir;
  ag_nerf_scene train{}, val{};
  Scene() {
    char tmpl[] = "/tmp/aigc_test_nerf_model_XXXXXX";
    dir = mkdtemp(tmpl);
    ag_nerf_make_opts o = ag_nerf_make_default_opts();
    o.res = 32;
    o.views[0] = 24, o.views[1] = 1, o.views[2] = 1;
    o.aa = 2;
    const std::string at = dir + "/solid";
    EXPECT_EQ(ag_nerf_make_scene("solid", at.c_str(), &o), AG_OK) << ag_last_error();
    EXPECT_EQ(ag_nerf_scene_load(at.c_str(), "train", &train), AG_OK) << ag_last_error();
    EXPECT_EQ(ag_nerf_scene_load(at.c_str(), "val", &val), AG_OK) << ag_last_error();
  }
  ~Scene() {
    ag_nerf_scene_free(&train);
    ag_nerf_scene_free(&val);
    fs::remove_all(dir);
  }
};

Scene &scene() {
  static Scene s;
  return s;
}

ag_nerf_config small_config() {
  ag_nerf_config c = ag_nerf_default_config(1.5f, 0);
  c.grid.log2_table = 14;
  c.occ_res = 32;
  c.diagonal_steps = 256;
  c.max_ray_samples = 256;
  return c;
}

ag_nerf_train_opts short_opts(int64_t steps) {
  ag_nerf_train_opts o = ag_nerf_default_train_opts(0);
  o.steps = steps;
  o.target_samples = 1 << 13;
  o.max_rays = 1 << 11;
  o.occ_warmup = 64;
  o.progress = 0;
  return o;
}

// The model trained once for the suite (on the CPU).
struct Trained {
  ag_nerf_model m{};
  ag_nerf_train_result r{};
  ag_status st;
  Trained() {
    const ag_nerf_config c = small_config();
    const ag_nerf_train_opts o = short_opts(300);
    st = ag_nerf_train(ag_backend_cpu(), &c, &o, &scene().train, &scene().val, &m, &r);
  }
  ~Trained() { ag_nerf_model_free(&m); }
};

Trained &trained() {
  static Trained t;
  return t;
}

std::vector<float> render(ag_nerf_model &m, const ag_nerf_camera &cam, int64_t rays,
                          std::vector<float> *opacity = nullptr) {
  std::vector<float> rgb(3 * cam.w * cam.h), alpha(cam.w * cam.h);
  ag_nerf_renderer *r = nullptr;
  const float white[3] = {1, 1, 1};
  EXPECT_EQ(ag_nerf_renderer_new(m.p, &m.c, m.occ.bitfield, rays, &r), AG_OK) << ag_last_error();
  if (r) {
    EXPECT_EQ(ag_nerf_render_view(r, &cam, white, rgb.data(), alpha.data(), nullptr, nullptr),
              AG_OK)
        << ag_last_error();
  }
  ag_nerf_renderer_free(r);
  if (opacity) *opacity = alpha;
  return rgb;
}

// Trains a model on be with o (its checkpoint o.out); the file's bytes.
std::string train_to_file(ag_backend *be, const ag_nerf_config &c, const ag_nerf_train_opts &o,
                          ag_nerf_train_result *r) {
  ag_nerf_model m{};
  EXPECT_EQ(ag_nerf_train(be, &c, &o, &scene().train, nullptr, &m, r), AG_OK) << ag_last_error();
  ag_nerf_model_free(&m);
  std::ifstream f(o.out, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

std::vector<float> reference(const Scene &s) {
  const ag_nerf_camera &cam = s.val.cameras.cams[0];
  std::vector<float> ref(3 * cam.w * cam.h);
  const float white[3] = {1, 1, 1};
  ag_nerf_reference(&s.val.images[0], white, ref.data());
  return ref;
}

TEST(NerfMetrics, PsnrAndSsimOfKnownImages) {
  const int w = 16, h = 16;
  std::vector<float> a(3 * w * h), b(3 * w * h);
  for (int i = 0; i < 3 * w * h; i++) a[i] = 0.5f + 0.4f * std::sin(0.37f * i);
  for (int i = 0; i < 3 * w * h; i++) b[i] = a[i] + (i % 2 ? 0.1f : -0.1f);
  EXPECT_NEAR(ag_nerf_psnr(a.data(), b.data(), 3 * w * h), 20.0, 1e-4);  // MSE 0.01
  EXPECT_TRUE(std::isinf(ag_nerf_psnr(a.data(), a.data(), 3 * w * h)));
  EXPECT_NEAR(ag_nerf_ssim(a.data(), a.data(), w, h), 1.0, 1e-12);
  const double s = ag_nerf_ssim(a.data(), b.data(), w, h);
  EXPECT_LT(s, 0.95);
  EXPECT_GT(s, 0.0);
}

TEST(NerfOrbit, CamerasLookAtTheOrigin) {
  ag_nerf_camera cams[6];
  ag_nerf_orbit(6, 20, 10, 4.0f, 0.5f, cams);
  for (const ag_nerf_camera &c : cams) {
    float o[3], d[3];
    ag_nerf_camera_ray(&c, 10.0f, 5.0f, o, d);  // the image centre
    EXPECT_NEAR(std::sqrt(o[0] * o[0] + o[1] * o[1] + o[2] * o[2]), 4.0f, 1e-5f);
    EXPECT_NEAR(o[2], 4.0f * std::sin(0.5f), 1e-5f);
    for (int k = 0; k < 3; k++) EXPECT_NEAR(d[k], -o[k] / 4.0f, 1e-5f);  // toward the origin
  }
}

TEST(NerfTrain, LearnsTheSceneAndPrunesEmptySpace) {
  Trained &t = trained();
  ASSERT_EQ(t.st, AG_OK) << ag_last_error();
  const Scene &s = scene();
  // A blank render (the white background everywhere) scores this.
  const std::vector<float> ref = reference(s), blank(ref.size(), 1.0f);
  const double floor = ag_nerf_psnr(blank.data(), ref.data(), (int64_t)ref.size());
  std::printf(
      "%lld steps: %.1f s, loss %.5f -> %.5f, val PSNR %.2f dB (blank %.2f dB), occupied %.1f%%\n",
      (long long)t.r.steps, t.r.seconds, t.r.first_loss, t.r.last_loss, t.r.val_psnr, floor,
      100 * t.r.occupied);
  EXPECT_EQ(t.r.steps, 300);
  EXPECT_GT(t.r.val_psnr, floor + 6.0);
  EXPECT_LT(t.r.last_loss, t.r.first_loss / 3);
  // Cells start at density 1 and decay by 0.95 per update (every 16 steps)
  // unless the field keeps them dense: by step 300 the empty ones are below
  // the threshold (0.49 at this step size).
  EXPECT_GT(t.r.occupied, 0.005);
  EXPECT_LT(t.r.occupied, 0.5);
}

TEST(NerfRender, OverflowingBatchesGiveTheImageOfOneBatch) {
  Trained &t = trained();
  ASSERT_EQ(t.st, AG_OK) << ag_last_error();
  const ag_nerf_camera &cam = scene().val.cameras.cams[0];
  // 8 rays hold max_ray_samples samples: most batches fill and are cut.
  const std::vector<float> one = render(t.m, cam, cam.w * cam.h), cut = render(t.m, cam, 8);
  float worst = 0;
  for (size_t i = 0; i < one.size(); i++) worst = std::fmax(worst, std::fabs(one[i] - cut[i]));
  EXPECT_LE(worst, 1e-5f);
}

// 2x2 rays a pixel are the rays through the pixel centres of the view at
// twice the resolution (focal lengths and principal point doubled), averaged.
TEST(NerfRender, SupersamplingAveragesTheCentresOfSubPixels) {
  Trained &t = trained();
  ASSERT_EQ(t.st, AG_OK) << ag_last_error();
  const ag_nerf_camera cam = scene().val.cameras.cams[0];
  ag_nerf_camera fine = cam;
  fine.w *= 2, fine.h *= 2, fine.fx *= 2, fine.fy *= 2, fine.cx *= 2, fine.cy *= 2;
  const std::vector<float> big = render(t.m, fine, 1024);
  std::vector<float> aa(3 * cam.w * cam.h);
  ag_nerf_renderer *r = nullptr;
  const float white[3] = {1, 1, 1};
  ASSERT_EQ(ag_nerf_renderer_new(t.m.p, &t.m.c, t.m.occ.bitfield, 1024, &r), AG_OK);
  ag_nerf_renderer_set_aa(r, 2);
  EXPECT_EQ(ag_nerf_render_view(r, &cam, white, aa.data(), nullptr, nullptr, nullptr), AG_OK)
      << ag_last_error();
  ag_nerf_renderer_free(r);
  float worst = 0, spread = 0;
  for (int y = 0; y < cam.h; y++)
    for (int x = 0; x < cam.w; x++)
      for (int k = 0; k < 3; k++) {
        float mean = 0, lo = 1, hi = 0;
        for (int s = 0; s < 4; s++) {
          const float v = big[3 * ((2 * y + s / 2) * fine.w + 2 * x + s % 2) + k];
          mean += v / 4, lo = std::fmin(lo, v), hi = std::fmax(hi, v);
        }
        worst = std::fmax(worst, std::fabs(mean - aa[3 * (y * cam.w + x) + k]));
        spread = std::fmax(spread, hi - lo);
      }
  EXPECT_LE(worst, 1e-5f);
  EXPECT_GT(spread, 0.05f);  // the sub-pixels differ: the average is not one ray's value
}

TEST(NerfCheckpoint, RoundTripsToTheSamePixelsAndRefusesOtherModels) {
  Trained &t = trained();
  ASSERT_EQ(t.st, AG_OK) << ag_last_error();
  const std::string path = scene().dir + "/m.safetensors";
  ASSERT_EQ(ag_nerf_save(&t.m, path.c_str()), AG_OK) << ag_last_error();
  ag_nerf_model back{};
  ASSERT_EQ(ag_nerf_load(path.c_str(), ag_backend_cpu(), &back), AG_OK) << ag_last_error();
  const ag_nerf_camera &cam = scene().val.cameras.cams[0];
  EXPECT_EQ(render(t.m, cam, 256), render(back, cam, 256));
  ag_nerf_model_free(&back);

  // A file of another model kind.
  const char *keys[2] = {"aigc.model", "aigc.config"}, *values[2] = {"gpt", "{}"};
  const std::string other = scene().dir + "/gpt.safetensors";
  ASSERT_EQ(ag_st_save(other.c_str(), nullptr, nullptr, 0, keys, values, 2), AG_OK);
  EXPECT_NE(ag_nerf_load(other.c_str(), ag_backend_cpu(), &back), AG_OK);
  EXPECT_NE(std::string(ag_last_error()).find("a 'gpt' checkpoint, not a nerf"), std::string::npos)
      << ag_last_error();
}

TEST(NerfTrain, AStoppedRunResumedEndsWithTheBytesOfOneRun) {
  const ag_nerf_config c = small_config();
  const std::string once = scene().dir + "/once.safetensors",
                    twice = scene().dir + "/twice.safetensors";
  ag_nerf_train_opts o = short_opts(48);
  ag_nerf_train_result r{};
  o.out = once.c_str();
  const std::string whole = train_to_file(ag_backend_cpu(), c, o, &r);
  o.out = twice.c_str();
  o.until = 20;  // not a multiple of the occupancy interval: the grid's state matters
  train_to_file(ag_backend_cpu(), c, o, &r);
  EXPECT_EQ(r.steps, 20);
  o.until = 0;
  o.resume = twice.c_str();
  const std::string resumed = train_to_file(ag_backend_cpu(), c, o, &r);
  EXPECT_EQ(r.resumed_at, 20);
  EXPECT_EQ(r.steps, 48);
  ASSERT_FALSE(whole.empty());
  EXPECT_TRUE(whole == resumed) << "the resumed checkpoint differs from one run's";
}

#ifdef AG_NERF_TEST_EMU
// Deterministic mode on the CUDA kernels (emulated): two runs, one file.
TEST(NerfEmu, DeterministicTrainingRepeatsToTheByte) {
  ag_backend *emu = ag_backend_emu();
  ASSERT_NE(emu, nullptr) << ag_last_error();
  ag_nerf_config c = small_config();
  c.grid.log2_table = 12;
  c.grid.deterministic = 1;
  ag_nerf_train_opts o = short_opts(6);
  o.target_samples = 1 << 11, o.max_rays = 256, o.occ_warmup = 0;
  ag_nerf_train_result r{};
  const std::string a = scene().dir + "/det_a.safetensors", b = scene().dir + "/det_b.safetensors";
  o.out = a.c_str();
  const std::string first = train_to_file(emu, c, o, &r);
  o.out = b.c_str();
  const std::string second = train_to_file(emu, c, o, &r);
  ASSERT_FALSE(first.empty());
  EXPECT_TRUE(first == second) << "two deterministic runs differ";
}

// The trained weights on the emulated device: hash grid, ray march, MLPs
// and compositing through the CUDA kernels give the CPU's image.
TEST(NerfEmu, RenderMatchesTheCpu) {
  Trained &t = trained();
  ASSERT_EQ(t.st, AG_OK) << ag_last_error();
  ag_backend *emu = ag_backend_emu();
  ASSERT_NE(emu, nullptr) << ag_last_error();
  const std::string path = scene().dir + "/e.safetensors";
  ASSERT_EQ(ag_nerf_save(&t.m, path.c_str()), AG_OK) << ag_last_error();
  ag_nerf_model gpu{};
  ASSERT_EQ(ag_nerf_load(path.c_str(), emu, &gpu), AG_OK) << ag_last_error();
  ag_nerf_camera cam = scene().val.cameras.cams[0];
  const std::vector<float> a = render(t.m, cam, 512), b = render(gpu, cam, 512);
  float worst = 0;
  for (size_t i = 0; i < a.size(); i++) worst = std::fmax(worst, std::fabs(a[i] - b[i]));
  std::printf("emu vs cpu: max pixel difference %.3g\n", worst);
  EXPECT_LE(worst, 1e-3f);
  ag_nerf_model_free(&gpu);
}
#endif

}  // namespace
