// PNG write/read round trips, atomic writes, error paths and the sample grid.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "ag_test_util.h"
#include "runtime/io/png.h"

namespace {

std::string tmp_path(const std::string &name) {
  return testing::TempDir() + "ag_png_" + std::to_string(getpid()) + "_" + name;
}

bool exists(const std::string &p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}

TEST(Png, RoundTripGrayAndRgb) {
  for (int c : {1, 3, 4}) {
    const int w = 13, h = 7;
    std::vector<uint8_t> px(w * h * c);
    for (size_t i = 0; i < px.size(); i++) px[i] = (uint8_t)(i * 37 + c);
    std::string p = tmp_path("rt" + std::to_string(c) + ".png");
    ASSERT_EQ(ag_png_write(p.c_str(), px.data(), w, h, c), AG_OK) << ag_last_error();
    EXPECT_FALSE(exists(p + ".tmp." + std::to_string(getpid())));  // renamed away
    ag_image img;
    ASSERT_EQ(ag_png_read(p.c_str(), 0, &img), AG_OK) << ag_last_error();
    EXPECT_EQ(img.w, w);
    EXPECT_EQ(img.h, h);
    EXPECT_EQ(img.c, c);
    EXPECT_EQ(std::vector<uint8_t>(img.pixels, img.pixels + px.size()), px);
    ag_image_free(&img);
    std::remove(p.c_str());
  }
}

TEST(Png, ReadConvertsChannels) {
  uint8_t px[4] = {0, 85, 170, 255};
  std::string p = tmp_path("conv.png");
  ASSERT_EQ(ag_png_write(p.c_str(), px, 2, 2, 1), AG_OK);
  ag_image img;
  ASSERT_EQ(ag_png_read(p.c_str(), 3, &img), AG_OK) << ag_last_error();
  EXPECT_EQ(img.c, 3);
  for (int i = 0; i < 4; i++)
    for (int ch = 0; ch < 3; ch++) EXPECT_EQ(img.pixels[i * 3 + ch], px[i]);
  ag_image_free(&img);
  std::remove(p.c_str());
}

TEST(Png, OverwriteReplacesWholeFile) {
  std::string p = tmp_path("over.png");
  std::vector<uint8_t> big(64 * 64, 200), small(2 * 2, 9);
  ASSERT_EQ(ag_png_write(p.c_str(), big.data(), 64, 64, 1), AG_OK);
  ASSERT_EQ(ag_png_write(p.c_str(), small.data(), 2, 2, 1), AG_OK);
  ag_image img;
  ASSERT_EQ(ag_png_read(p.c_str(), 0, &img), AG_OK);
  EXPECT_EQ(img.w, 2);
  EXPECT_EQ(img.pixels[3], 9);
  ag_image_free(&img);
  std::remove(p.c_str());
}

TEST(Png, Errors) {
  ag_image img;
  std::string missing = tmp_path("missing.png");
  EXPECT_EQ(ag_png_read(missing.c_str(), 0, &img), AG_ERR_IO);
  EXPECT_NE(std::string(ag_last_error()).find(missing), std::string::npos);
  std::string junk = tmp_path("junk.png");
  std::ofstream(junk) << "not a png at all";
  EXPECT_EQ(ag_png_read(junk.c_str(), 0, &img), AG_ERR_IO);
  EXPECT_NE(std::string(ag_last_error()).find("cannot decode"), std::string::npos);
  EXPECT_EQ(img.pixels, nullptr);
  std::remove(junk.c_str());
  uint8_t px[4] = {0};
  EXPECT_EQ(ag_png_write(tmp_path("x.png").c_str(), px, 2, 2, 2), AG_ERR_INVALID);
  // Unwritable directory: error, and nothing left behind.
  std::string bad = tmp_path("no_such_dir") + "/a.png";
  EXPECT_EQ(ag_png_write(bad.c_str(), px, 2, 2, 1), AG_ERR_IO);
  EXPECT_NE(std::string(ag_last_error()).find(bad), std::string::npos);
}

// 5 gray 2x3 images, 3 columns, pad 1: 2 rows, 3*(3+1)+1 = 13 wide,
// 2*(2+1)+1 = 7 high; tile i is filled with a constant per image.
TEST(Grid, LayoutGray) {
  const int n = 5, h = 2, w = 3;
  std::vector<float> data(n * h * w);
  const float vals[5] = {-1.0f, -0.5f, 0.0f, 0.5f, 1.0f};
  for (int i = 0; i < n; i++)
    for (int k = 0; k < h * w; k++) data[i * h * w + k] = vals[i];
  ag_grid_opts o = ag_grid_default_opts();
  o.cols = 3, o.pad = 1, o.pad_value = 77, o.signed_range = 1;
  ag_image g;
  ASSERT_EQ(ag_image_grid(data.data(), n, 1, h, w, &o, &g), AG_OK) << ag_last_error();
  ASSERT_EQ(g.w, 13);
  ASSERT_EQ(g.h, 7);
  ASSERT_EQ(g.c, 1);
  const uint8_t want[5] = {0, 64, 128, 191, 255};  // 127.5*(v+1), rounded to even
  for (int y = 0; y < g.h; y++)
    for (int x = 0; x < g.w; x++) {
      int px = g.pixels[y * g.w + x];
      bool border = x % (w + 1) == 0 || y % (h + 1) == 0;
      int tile = (y / (h + 1)) * 3 + x / (w + 1);
      if (border || tile >= n) EXPECT_EQ(px, 77) << x << "," << y;
      else EXPECT_EQ(px, want[tile]) << x << "," << y;
    }
  ag_image_free(&g);
}

// RGB channels land interleaved at the right place, [0,1] range, clamping.
TEST(Grid, RgbUnitRangeAndClamp) {
  const int h = 2, w = 2;
  std::vector<float> d(1 * 3 * h * w);
  for (int ch = 0; ch < 3; ch++)
    for (int k = 0; k < h * w; k++) d[ch * h * w + k] = ch == 0 ? 1.0f : ch == 1 ? 0.2f : 5.0f;
  d[0] = -3.0f;  // red of pixel (0,0) clamps to 0
  ag_grid_opts o = ag_grid_default_opts();
  o.pad = 2, o.signed_range = 0;
  ag_image g;
  ASSERT_EQ(ag_image_grid(d.data(), 1, 3, h, w, &o, &g), AG_OK);
  EXPECT_EQ(g.w, 6);
  EXPECT_EQ(g.h, 6);
  EXPECT_EQ(g.c, 3);
  const uint8_t *p00 = &g.pixels[(2 * g.w + 2) * 3], *p11 = &g.pixels[(3 * g.w + 3) * 3];
  EXPECT_EQ(p00[0], 0);
  EXPECT_EQ(p00[1], 51);
  EXPECT_EQ(p00[2], 255);
  EXPECT_EQ(p11[0], 255);
  EXPECT_EQ(g.pixels[0], 0);  // border
  ag_image_free(&g);
}

TEST(Grid, WriteFromTensorAndReadBack) {
  const int64_t shape[4] = {4, 1, 3, 3};
  std::vector<float> v(36);
  for (size_t i = 0; i < v.size(); i++) v[i] = (float)i / 35.0f;
  ag_tensor *t = ag_test::make_tensor(ag_backend_cpu(), AG_F32, {4, 1, 3, 3}, v);
  ASSERT_NE(t, nullptr);
  ag_grid_opts o = ag_grid_default_opts();  // square: 2x2, pad 2, [-1,1]
  o.signed_range = 0;
  std::string p = tmp_path("grid.png");
  ASSERT_EQ(ag_png_write_grid(p.c_str(), t, &o), AG_OK) << ag_last_error();
  ag_image img, want;
  ASSERT_EQ(ag_png_read(p.c_str(), 0, &img), AG_OK) << ag_last_error();
  ASSERT_EQ(ag_image_grid(v.data(), shape[0], shape[1], shape[2], shape[3], &o, &want), AG_OK);
  EXPECT_EQ(img.w, 2 * 5 + 2);
  EXPECT_EQ(img.h, 12);
  ASSERT_EQ(img.w * img.h, want.w * want.h);
  EXPECT_EQ(0, memcmp(img.pixels, want.pixels, (size_t)(img.w * img.h)));
  // Strided view (a permuted tensor) gives the same picture as its contiguous copy.
  int perm[4] = {0, 1, 3, 2};
  ag_tensor *tp = ag_tensor_permute(t, perm);
  ASSERT_NE(tp, nullptr);
  EXPECT_EQ(ag_png_write_grid(p.c_str(), tp, &o), AG_OK) << ag_last_error();
  ag_tensor_free(tp);
  // Wrong dtype or rank is refused with the shape in the message.
  ag_tensor *bad = ag_test::make_tensor(ag_backend_cpu(), AG_F32, {36}, v);
  EXPECT_EQ(ag_png_write_grid(p.c_str(), bad, &o), AG_ERR_INVALID);
  EXPECT_NE(std::string(ag_last_error()).find("f32[36]"), std::string::npos) << ag_last_error();
  ag_tensor_free(bad);
  ag_image_free(&img);
  ag_image_free(&want);
  ag_tensor_free(t);
  std::remove(p.c_str());
}

}  // namespace
