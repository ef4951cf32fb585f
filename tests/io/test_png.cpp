// PNG write/read round trips, atomic writes, error paths, the conversions
// the reader promises, every damage it must refuse (hand-made files, each
// with the exact error), and the sample grid.
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

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
  EXPECT_NE(std::string(ag_last_error()).find("png '" + junk + "': Not a PNG file"),
            std::string::npos)
      << ag_last_error();
  EXPECT_EQ(img.pixels, nullptr);
  std::remove(junk.c_str());
  uint8_t px[4] = {0};
  EXPECT_EQ(ag_png_write(tmp_path("x.png").c_str(), px, 2, 2, 2), AG_ERR_INVALID);
  // Unwritable directory: error, and nothing left behind.
  std::string bad = tmp_path("no_such_dir") + "/a.png";
  EXPECT_EQ(ag_png_write(bad.c_str(), px, 2, 2, 1), AG_ERR_IO);
  EXPECT_NE(std::string(ag_last_error()).find(bad), std::string::npos);
}

using Bytes = std::vector<uint8_t>;

void put_be32(Bytes &b, uint32_t x) {
  for (int s = 24; s >= 0; s -= 8) b.push_back((uint8_t)(x >> s));
}

// A chunk: length, type, data, CRC (xor-ed with `crc_xor` to damage it).
Bytes chunk(const char *type, const Bytes &data, uint32_t crc_xor = 0) {
  Bytes b;
  put_be32(b, (uint32_t)data.size());
  Bytes td(type, type + 4);
  td.insert(td.end(), data.begin(), data.end());
  b.insert(b.end(), td.begin(), td.end());
  put_be32(b, (uint32_t)crc32(0, td.data(), (uInt)td.size()) ^ crc_xor);
  return b;
}

Bytes ihdr(uint32_t w, uint32_t h, uint8_t depth, uint8_t colour_type) {
  Bytes d;
  put_be32(d, w);
  put_be32(d, h);
  d.insert(d.end(), {depth, colour_type, 0, 0, 0});
  return chunk("IHDR", d);
}

Bytes zlib_of(const Bytes &raw) {
  uLongf n = compressBound((uLong)raw.size());
  Bytes z(n);
  EXPECT_EQ(compress2(z.data(), &n, raw.data(), (uLong)raw.size(), 9), Z_OK);
  z.resize(n);
  return z;
}

Bytes operator+(Bytes a, const Bytes &b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

const Bytes kSig = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

// A 4x3 RGBA image, filter byte 0 on each row, pixel bytes 0..47.
Bytes rgba_rows() {
  Bytes raw;
  for (int y = 0; y < 3; y++) {
    raw.push_back(0);
    for (int i = 0; i < 16; i++) raw.push_back((uint8_t)(y * 16 + i));
  }
  return raw;
}

// Signature, IHDR, `middle`, IEND.
Bytes png_file(const Bytes &head, const Bytes &middle) {
  return kSig + head + middle + chunk("IEND", {});
}

std::string write_file(const std::string &name, const Bytes &b) {
  std::string p = tmp_path(name);
  std::ofstream f(p, std::ios::binary);
  f.write(reinterpret_cast<const char *>(b.data()), (std::streamsize)b.size());
  return p;
}

// ag_png_read(want_c 4) must fail with exactly "png '<path>': <what>".
void expect_png_error(const std::string &name, const Bytes &file, const std::string &what) {
  std::string p = write_file(name, file);
  ag_image img;
  EXPECT_EQ(ag_png_read(p.c_str(), 4, &img), AG_ERR_IO) << name;
  EXPECT_EQ(std::string(ag_last_error()), "png '" + p + "': " + what) << name;
  EXPECT_EQ(img.pixels, nullptr) << name;
  std::remove(p.c_str());
}

// The hand-made file itself is valid, so each failure below is its damage.
TEST(Png, HandMadeFileReads) {
  std::string p =
      write_file("hand.png", png_file(ihdr(4, 3, 8, 6), chunk("IDAT", zlib_of(rgba_rows()))));
  ag_image img;
  ASSERT_EQ(ag_png_read(p.c_str(), 0, &img), AG_OK) << ag_last_error();
  EXPECT_EQ(img.w, 4);
  EXPECT_EQ(img.h, 3);
  EXPECT_EQ(img.c, 4);
  for (int i = 0; i < 48; i++) EXPECT_EQ(img.pixels[i], i);
  ag_image_free(&img);
  std::remove(p.c_str());
}

// Found by fuzzing the stb reader: a bad IDAT CRC was accepted, a missing
// IEND gave "cannot decode ()", a 68-byte file claiming 16384x16384 pixels
// made the decoder grow a 2 GiB buffer.
TEST(Png, DamageRefusedWithItsName) {
  const Bytes head = ihdr(4, 3, 8, 6), idat = zlib_of(rgba_rows());
  expect_png_error("idat_crc.png", png_file(head, chunk("IDAT", idat, 1)), "IDAT: CRC error");
  // Ancillary chunks' CRCs are checked too (libpng would only warn).
  expect_png_error("text_crc.png",
                   png_file(head, chunk("tEXt", {'k', 0, 'v'}, 1) + chunk("IDAT", idat)),
                   "tEXt: CRC error");
  expect_png_error("iend_crc.png", kSig + head + chunk("IDAT", idat) + chunk("IEND", {}, 1),
                   "IEND: CRC error");
  expect_png_error("no_iend.png", kSig + head + chunk("IDAT", idat),
                   "file ends before IEND (truncated or IEND missing)");
  Bytes whole = png_file(head, chunk("IDAT", idat));
  expect_png_error("cut.png", Bytes(whole.begin(), whole.end() - 20),
                   "file ends inside the image (truncated)");
  Bytes bad_adler = idat;  // the Adler-32 is the stream's last 4 bytes
  ASSERT_GT(bad_adler.size(), 6u);
  bad_adler[bad_adler.size() - 1] ^= 1;
  expect_png_error("adler.png", png_file(head, chunk("IDAT", bad_adler)),
                   "IDAT: incorrect data check");
  Bytes more = rgba_rows(), less = rgba_rows();
  more.resize(more.size() + 17, 0);
  less.resize(less.size() - 5);
  expect_png_error("more.png", png_file(head, chunk("IDAT", zlib_of(more))),
                   "IDAT: Too much image data");
  expect_png_error("less.png", png_file(head, chunk("IDAT", zlib_of(less))),
                   "Not enough image data");
  expect_png_error("no_idat.png", png_file(head, {}), "IEND: out of place");
  expect_png_error("critical.png", png_file(head, chunk("ABCD", {1}) + chunk("IDAT", idat)),
                   "ABCD: unhandled critical chunk");
}

TEST(Png, SizeCapsBeforeAllocation) {
  // 16384 x 16384 RGBA (1 GiB decoded) in 68 bytes: refused from the header.
  Bytes tiny = png_file(ihdr(16384, 16384, 8, 6), chunk("IDAT", zlib_of(Bytes(16, 0))));
  ASSERT_EQ(tiny.size(), 68u);
  expect_png_error("tiny_huge.png", tiny,
                   "16384x16384 image cannot fit in a 68-byte file (truncated or corrupt)");
  // The same header in a file big enough to hold it: over the decoding cap.
  Bytes big = kSig + ihdr(16384, 16384, 8, 6);
  put_be32(big, 2000000);
  big.insert(big.end(), {'I', 'D', 'A', 'T'});
  big.resize(big.size() + 1100000, 0);
  expect_png_error("over_cap.png", big,
                   "16384x16384 image exceeds the 268435456-byte decoding cap");
  expect_png_error("too_wide.png", png_file(ihdr(16385, 1, 8, 0), chunk("IDAT", zlib_of({0, 0}))),
                   "Invalid IHDR data (Image width exceeds user limit in IHDR)");
}

// The conversions stb_image made, which the NeRF scenes and the tests rely
// on: tRNS becomes alpha, palettes expand, 16 bits keep the high byte, low
// bit depths scale to 0..255, colour to gray is stb's luma.
TEST(Png, ConversionsAsBefore) {
  auto read = [](const std::string &name, const Bytes &file, int want_c, int *c) {
    std::string p = write_file(name, file);
    ag_image img;
    EXPECT_EQ(ag_png_read(p.c_str(), want_c, &img), AG_OK) << name << ": " << ag_last_error();
    std::remove(p.c_str());
    *c = img.c;
    Bytes px(img.pixels, img.pixels + (size_t)img.w * img.h * img.c);
    ag_image_free(&img);
    return px;
  };
  int c = 0;
  // Palette of two colours, the first half transparent.
  Bytes pal =
      png_file(ihdr(2, 1, 8, 3), chunk("PLTE", {10, 20, 30, 40, 50, 60}) + chunk("tRNS", {128}) +
                                     chunk("IDAT", zlib_of({0, 0, 1})));
  EXPECT_EQ(read("pal.png", pal, 0, &c), (Bytes{10, 20, 30, 128, 40, 50, 60, 255}));
  EXPECT_EQ(c, 4);
  // (77 R + 150 G + 29 B) >> 8 per pixel, alpha dropped.
  EXPECT_EQ(read("pal1.png", pal, 1, &c), (Bytes{18, 48}));
  // Gray with a tRNS colour: gray + alpha.
  Bytes gt = png_file(ihdr(2, 1, 8, 0), chunk("tRNS", {0, 5}) + chunk("IDAT", zlib_of({0, 5, 7})));
  EXPECT_EQ(read("gray_trns.png", gt, 0, &c), (Bytes{5, 0, 7, 255}));
  EXPECT_EQ(c, 2);
  EXPECT_EQ(read("gray_trns3.png", gt, 3, &c), (Bytes{5, 5, 5, 7, 7, 7}));
  // 16-bit gray: the high byte.
  Bytes g16 = png_file(ihdr(2, 1, 16, 0), chunk("IDAT", zlib_of({0, 0x12, 0x34, 0xAB, 0xCD})));
  EXPECT_EQ(read("g16.png", g16, 0, &c), (Bytes{0x12, 0xAB}));
  EXPECT_EQ(c, 1);
  // 1-bit gray: 0 or 255.
  Bytes g1 = png_file(ihdr(8, 1, 1, 0), chunk("IDAT", zlib_of({0, 0xA0})));
  EXPECT_EQ(read("g1.png", g1, 0, &c), (Bytes{255, 0, 255, 0, 0, 0, 0, 0}));
  // RGB to gray and to RGBA.
  Bytes rgb = png_file(ihdr(1, 1, 8, 2), chunk("IDAT", zlib_of({0, 100, 150, 200})));
  EXPECT_EQ(read("rgb1.png", rgb, 1, &c), (Bytes{140}));
  EXPECT_EQ(read("rgb4.png", rgb, 4, &c), (Bytes{100, 150, 200, 255}));
  EXPECT_EQ(read("rgb2.png", rgb, 2, &c), (Bytes{140, 255}));
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
      if (border || tile >= n)
        EXPECT_EQ(px, 77) << x << "," << y;
      else
        EXPECT_EQ(px, want[tile]) << x << "," << y;
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
