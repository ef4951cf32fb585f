// NeRF scenes: every procedural scene made small and read back (counts,
// intrinsics against camera_angle_x, cameras on their sphere looking at the
// origin, coverage alpha, the same bytes twice), the camera model's axis
// convention on hand-made cameras and a hand-written NeRF-synthetic json,
// Instant-NGP intrinsics in a cameras file, and each malformed input's
// one-line error naming the file, the frame and the field.
#include <gtest/gtest.h>

#include <cjson/cJSON.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

extern "C" {
#include "models/nerf/ag_nerf_make_scene.h"
#include "models/nerf/ag_nerf_scene.h"
}

namespace fs = std::filesystem;

namespace {

// A fresh directory under /tmp, removed with the test.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/aigc_test_nerf_XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string operator/(const std::string &name) const { return path + "/" + name; }
};

std::string read_all(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

void write_all(const std::string &path, const std::string &text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

// A w x h RGBA PNG whose pixel (x, y) is (x, y, x + y, 255 - x).
void write_png(const std::string &path, int w, int h) {
  fs::create_directories(fs::path(path).parent_path());
  std::vector<uint8_t> px((size_t)w * h * 4);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      uint8_t *p = &px[4 * ((size_t)y * w + x)];
      p[0] = (uint8_t)x, p[1] = (uint8_t)y, p[2] = (uint8_t)(x + y), p[3] = (uint8_t)(255 - x);
    }
  ASSERT_EQ(ag_png_write(path.c_str(), px.data(), w, h, 4), AG_OK) << ag_last_error();
}

double camera_angle_x_of(const std::string &json_path) {
  cJSON *j = cJSON_Parse(read_all(json_path).c_str());
  const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "camera_angle_x");
  const double v = cJSON_IsNumber(a) ? a->valuedouble : NAN;
  cJSON_Delete(j);
  return v;
}

ag_nerf_make_opts small_opts() {
  ag_nerf_make_opts o = ag_nerf_make_default_opts();
  o.res = 32;
  o.views[0] = 3, o.views[1] = 2, o.views[2] = 2;
  o.aa = 2;
  return o;
}

const char *const kSplits[3] = {"train", "val", "test"};

// The smallest distance between the origin and the line o + t d.
double miss_distance(const float o[3], const float d[3]) {
  const double t = -(o[0] * d[0] + o[1] * d[1] + o[2] * d[2]);
  double s = 0;
  for (int k = 0; k < 3; k++) s += (o[k] + t * d[k]) * (o[k] + t * d[k]);
  return std::sqrt(s);
}

void expect_scene(const std::string &dir, const ag_nerf_make_opts &o) {
  for (int s = 0; s < 3; s++) {
    ag_nerf_scene sc;
    ASSERT_EQ(ag_nerf_scene_load(dir.c_str(), kSplits[s], &sc), AG_OK) << ag_last_error();
    const double angle = camera_angle_x_of(dir + "/transforms_" + kSplits[s] + ".json");
    const float fx = (float)(0.5 * o.res / std::tan(0.5 * angle));
    EXPECT_EQ(sc.cameras.n, o.views[s]);
    EXPECT_EQ(sc.cameras.aabb_scale, 1.0f);
    int transparent = 0, opaque = 0;
    for (int i = 0; i < sc.cameras.n; i++) {
      const ag_nerf_camera &c = sc.cameras.cams[i];
      EXPECT_EQ(c.w, o.res);
      EXPECT_EQ(c.h, o.res);
      EXPECT_FLOAT_EQ(c.fx, fx);
      EXPECT_FLOAT_EQ(c.fy, fx);
      EXPECT_FLOAT_EQ(c.cx, 0.5f * o.res);
      EXPECT_FLOAT_EQ(c.cy, 0.5f * o.res);
      float org[3], d[3];
      ag_nerf_camera_ray(&c, c.cx, c.cy, org, d);
      EXPECT_NEAR(std::sqrt(org[0] * org[0] + org[1] * org[1] + org[2] * org[2]), 4.0, 1e-4);
      EXPECT_GT(org[2], 0.0f) << "cameras on the upper hemisphere";
      EXPECT_LT(miss_distance(org, d), 1e-4) << "the centre ray goes through the origin";
      const ag_image &img = sc.images[i];
      ASSERT_EQ(img.w, o.res);
      ASSERT_EQ(img.h, o.res);
      ASSERT_EQ(img.c, 4);
      for (int p = 0; p < o.res * o.res; p++) {
        transparent += img.pixels[4 * p + 3] == 0;
        opaque += img.pixels[4 * p + 3] == 255;
      }
    }
    EXPECT_GT(transparent, 0) << kSplits[s];
    EXPECT_GT(opaque, 0) << kSplits[s];
    ag_nerf_scene_free(&sc);
  }
}

std::vector<std::string> scene_files(const std::string &dir) {
  std::vector<std::string> names;
  for (const auto &e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) names.push_back(fs::relative(e.path(), dir).string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(NerfMakeScene, EveryScene) {
  int n = 0;
  const ag_nerf_scene_kind *kinds = ag_nerf_scene_kinds(&n);
  ASSERT_GE(n, 3);
  const ag_nerf_make_opts o = small_opts();
  for (int k = 0; k < n; k++) {
    SCOPED_TRACE(kinds[k].name);
    TempDir t;
    const std::string dir = t / "scene";
    ASSERT_EQ(ag_nerf_make_scene(kinds[k].name, dir.c_str(), &o), AG_OK) << ag_last_error();
    expect_scene(dir, o);
    EXPECT_EQ(scene_files(dir).size(), 3u + o.views[0] + o.views[1] + o.views[2]) << "no leftovers";
  }
}

TEST(NerfMakeScene, SameBytesForTheSameArguments) {
  TempDir t;
  ag_nerf_make_opts o = small_opts();
  ASSERT_EQ(ag_nerf_make_scene("thin", (t / "a").c_str(), &o), AG_OK) << ag_last_error();
  ASSERT_EQ(ag_nerf_make_scene("thin", (t / "b").c_str(), &o), AG_OK) << ag_last_error();
  const auto files = scene_files(t / "a");
  ASSERT_EQ(files, scene_files(t / "b"));
  for (const auto &f : files) EXPECT_EQ(read_all(t / "a/" + f), read_all(t / "b/" + f)) << f;
  o.seed = 2;
  ASSERT_EQ(ag_nerf_make_scene("thin", (t / "c").c_str(), &o), AG_OK) << ag_last_error();
  EXPECT_NE(read_all(t / "a/transforms_train.json"), read_all(t / "c/transforms_train.json"));
  EXPECT_NE(read_all(t / "a/val/r_0.png"), read_all(t / "c/val/r_0.png"));
}

TEST(NerfMakeScene, UnknownNameListsTheKnown) {
  TempDir t;
  const ag_nerf_make_opts o = small_opts();
  EXPECT_EQ(ag_nerf_make_scene("cube", (t / "s").c_str(), &o), AG_ERR_INVALID);
  EXPECT_STREQ(ag_last_error(), "unknown scene 'cube'; known scenes: solid, thin, texture");
  EXPECT_FALSE(fs::exists(t / "s"));
}

TEST(NerfMakeScene, ReplacesAnEarlierScene) {
  TempDir t;
  ag_nerf_make_opts o = small_opts();
  const std::string dir = t / "s";
  ASSERT_EQ(ag_nerf_make_scene("texture", dir.c_str(), &o), AG_OK) << ag_last_error();
  o.views[0] = 1;
  ASSERT_EQ(ag_nerf_make_scene("texture", dir.c_str(), &o), AG_OK) << ag_last_error();
  ag_nerf_scene sc;
  ASSERT_EQ(ag_nerf_scene_load(dir.c_str(), "train", &sc), AG_OK) << ag_last_error();
  EXPECT_EQ(sc.cameras.n, 1);
  ag_nerf_scene_free(&sc);
}

// An identity rotation at (0, 0, 4): the camera looks down world -z at the
// origin, +x right and +y up.
ag_nerf_camera looking_down(void) {
  ag_nerf_camera c = {};
  const float m[12] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 4};
  std::copy(m, m + 12, c.c2w);
  c.fx = c.fy = 16, c.cx = 16, c.cy = 12, c.w = 32, c.h = 24;
  return c;
}

TEST(NerfCamera, RaysFollowTheOpenGLConvention) {
  const ag_nerf_camera c = looking_down();
  float o[3], d[3];
  ag_nerf_camera_ray(&c, c.cx, c.cy, o, d);
  EXPECT_FLOAT_EQ(o[2], 4.0f);
  EXPECT_FLOAT_EQ(d[2], -1.0f);
  EXPECT_LT(miss_distance(o, d), 1e-6);
  // fx pixels right of the centre is 45 degrees towards +x; fy pixels
  // below it (rows go down) is 45 degrees towards -y.
  ag_nerf_camera_ray(&c, c.cx + c.fx, c.cy, o, d);
  EXPECT_NEAR(d[0], std::sqrt(0.5), 1e-6);
  EXPECT_NEAR(d[1], 0.0, 1e-6);
  EXPECT_NEAR(d[2], -std::sqrt(0.5), 1e-6);
  ag_nerf_camera_ray(&c, c.cx, c.cy + c.fy, o, d);
  EXPECT_NEAR(d[1], -std::sqrt(0.5), 1e-6);
  // pixel (15, 11)'s centre is half a pixel up and left of the image centre
  ag_nerf_camera_ray(&c, 15.5f, 11.5f, o, d);
  EXPECT_LT(d[0], 0.0f);
  EXPECT_GT(d[1], 0.0f);
}

TEST(NerfCamera, CentreRayIsTheCamerasMinusZInWorldSpace) {
  ag_nerf_camera c = looking_down();
  // a rotation about (1, 1, 1) by 120 degrees permutes the axes: x->y->z->x
  const float m[12] = {0, 0, 1, 0.5f, 1, 0, 0, -2, 0, 1, 0, 3};
  std::copy(m, m + 12, c.c2w);
  float o[3], d[3];
  ag_nerf_camera_ray(&c, c.cx, c.cy, o, d);
  EXPECT_FLOAT_EQ(o[0], 0.5f);
  EXPECT_FLOAT_EQ(o[1], -2.0f);
  EXPECT_FLOAT_EQ(o[2], 3.0f);
  for (int k = 0; k < 3; k++) EXPECT_FLOAT_EQ(d[k], -m[4 * k + 2]) << k;
}

TEST(NerfCamera, CompositeOverBackground) {
  const uint8_t half[4] = {255, 0, 51, 128};
  const float bg[3] = {0, 1, 1};
  float rgb[3];
  ag_nerf_composite(half, bg, rgb);
  const float a = 128 / 255.0f;
  EXPECT_FLOAT_EQ(rgb[0], a);
  EXPECT_FLOAT_EQ(rgb[1], 1 - a);
  EXPECT_FLOAT_EQ(rgb[2], 0.2f * a + (1 - a));
}

// NeRF-synthetic (Blender, +z up): frame 0 stands at (0, -4, 0) looking at
// the origin along +y, frame 1 at (4, 0, 0) looking along -x.
const char kSynthetic[] = R"({"camera_angle_x": 0.6911112070083618, "frames": [
  {"file_path": "./train/r_0", "rotation": 0.012566370614359171,
   "transform_matrix": [[1, 0, 0, 0], [0, 0, -1, -4], [0, 1, 0, 0], [0, 0, 0, 1]]},
  {"file_path": "./train/r_1",
   "transform_matrix": [[0, 0, 1, 4], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1]]}]})";

TEST(NerfScene, NerfSyntheticAxes) {
  TempDir t;
  write_all(t / "transforms_train.json", kSynthetic);
  write_png(t / "train/r_0.png", 8, 6);
  write_png(t / "train/r_1.png", 8, 6);
  ag_nerf_scene sc;
  ASSERT_EQ(ag_nerf_scene_load(t.path.c_str(), "train", &sc), AG_OK) << ag_last_error();
  ASSERT_EQ(sc.cameras.n, 2);
  const ag_nerf_camera &c0 = sc.cameras.cams[0];
  EXPECT_EQ(c0.w, 8);
  EXPECT_EQ(c0.h, 6);
  EXPECT_FLOAT_EQ(c0.fx, (float)(4.0 / std::tan(0.5 * 0.6911112070083618)));
  EXPECT_FLOAT_EQ(c0.fy, c0.fx);
  EXPECT_FLOAT_EQ(c0.cx, 4.0f);
  EXPECT_FLOAT_EQ(c0.cy, 3.0f);
  EXPECT_EQ(sc.cameras.aabb_scale, 1.0f);
  float o[3], d[3];
  ag_nerf_camera_ray(&c0, c0.cx, c0.cy, o, d);
  EXPECT_FLOAT_EQ(o[1], -4.0f);
  EXPECT_NEAR(d[1], 1.0, 1e-6) << "looks at the origin";
  ag_nerf_camera_ray(&c0, c0.cx + 1, c0.cy - 1, o, d);
  EXPECT_GT(d[0], 0.0f) << "image right is world +x";
  EXPECT_GT(d[2], 0.0f) << "image up is world +z";
  const ag_nerf_camera &c1 = sc.cameras.cams[1];
  ag_nerf_camera_ray(&c1, c1.cx, c1.cy, o, d);
  EXPECT_FLOAT_EQ(o[0], 4.0f);
  EXPECT_NEAR(d[0], -1.0, 1e-6);
  ag_nerf_camera_ray(&c1, c1.cx + 1, c1.cy - 1, o, d);
  EXPECT_GT(d[1], 0.0f) << "image right is world +y";
  EXPECT_GT(d[2], 0.0f) << "image up is world +z";
  const uint8_t *p = &sc.images[1].pixels[4 * (2 * 8 + 5)];  // (x 5, y 2)
  EXPECT_EQ(p[0], 5);
  EXPECT_EQ(p[1], 2);
  EXPECT_EQ(p[2], 7);
  EXPECT_EQ(p[3], 250);
  ag_nerf_scene_free(&sc);
}

TEST(NerfScene, OneTransformsJsonIsTheTrainSplit) {
  TempDir t;
  write_all(t / "transforms.json", kSynthetic);
  write_png(t / "train/r_0.png", 8, 6);
  write_png(t / "train/r_1.png", 8, 6);
  ag_nerf_scene sc;
  ASSERT_EQ(ag_nerf_scene_load(t.path.c_str(), "train", &sc), AG_OK) << ag_last_error();
  EXPECT_EQ(sc.cameras.n, 2);
  ag_nerf_scene_free(&sc);
  EXPECT_EQ(ag_nerf_scene_load(t.path.c_str(), "test", &sc), AG_ERR_IO) << "never for test views";
  EXPECT_EQ(std::string(ag_last_error()),
            t / "transforms_test.json: cannot open (No such file or directory)");
}

TEST(NerfScene, InstantNgpCamerasFile) {
  TempDir t;
  write_all(t / "cams.json", R"({"fl_x": 100, "fl_y": 90, "cx": 31.5, "cy": 20, "w": 64,
    "h": 48, "aabb_scale": 4, "frames": [
    {"transform_matrix": [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 4], [0, 0, 0, 1]]},
    {"w": 32, "fl_x": 50, "transform_matrix": [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 2],
     [0, 0, 0, 1]]}]})");
  ag_nerf_cameras cams;
  ASSERT_EQ(ag_nerf_cameras_load((t / "cams.json").c_str(), &cams), AG_OK) << ag_last_error();
  ASSERT_EQ(cams.n, 2);
  EXPECT_EQ(cams.aabb_scale, 4.0f);
  const ag_nerf_camera &a = cams.cams[0], &b = cams.cams[1];
  EXPECT_EQ(a.fx, 100.0f);
  EXPECT_EQ(a.fy, 90.0f);
  EXPECT_EQ(a.cx, 31.5f);
  EXPECT_EQ(a.cy, 20.0f);
  EXPECT_EQ(a.w, 64);
  EXPECT_EQ(a.h, 48);
  EXPECT_EQ(b.w, 32) << "a frame's own w overrides the top level";
  EXPECT_EQ(b.fx, 50.0f);
  EXPECT_EQ(b.fy, 90.0f);
  EXPECT_EQ(b.c2w[11], 2.0f);
  ag_nerf_cameras_free(&cams);
}

// Loads `json` (with 4x4 images at train/r_<i>.png for the frames named in
// `images`) as the train split and returns the error, "" if it loaded.
struct BadScene : ::testing::Test {
  TempDir t;
  std::string file;
  void SetUp() override { file = t / "transforms_train.json"; }
  std::string load(const std::string &json, int images = 1) {
    write_all(file, json);
    for (int i = 0; i < images; i++) write_png(t / ("train/r_" + std::to_string(i) + ".png"), 4, 4);
    ag_nerf_scene sc;
    if (ag_nerf_scene_load(t.path.c_str(), "train", &sc) == AG_OK) {
      ag_nerf_scene_free(&sc);
      return "";
    }
    return ag_last_error();
  }
  std::string frame(int i, const std::string &matrix) {
    return R"({"file_path": "./train/r_)" + std::to_string(i) + R"(", "transform_matrix": )" +
           matrix + "}";
  }
};

const char kIdentity[] = "[[1,0,0,0],[0,1,0,0],[0,0,1,4],[0,0,0,1]]";

TEST_F(BadScene, MissingImage) {
  const std::string json = R"({"camera_angle_x": 0.7, "frames": [)" + frame(0, kIdentity) + "," +
                           frame(1, kIdentity) + "]}";
  EXPECT_EQ(load(json, 1),
            file + ": frame 1: ./train/r_1.png: cannot read (No such file or directory)");
}

TEST_F(BadScene, MalformedTransform) {
  const std::string head = R"({"camera_angle_x": 0.7, "frames": [)" + frame(0, kIdentity) + ",";
  EXPECT_EQ(load(head + frame(1, "[1, 2, 3]") + "]}", 2),
            file + ": frame 1: transform_matrix must be 4x4 numbers");
  EXPECT_EQ(load(head + frame(1, "[[1,0,0,0],[0,1,0,0],[0,0,1,\"4\"],[0,0,0,1]]") + "]}", 2),
            file + ": frame 1: transform_matrix must be 4x4 numbers");
  EXPECT_EQ(load(head + frame(1, "\"eye\"") + "]}", 2),
            file + ": frame 1: transform_matrix must be 4x4 numbers");
  EXPECT_EQ(load(head + frame(1, "[[1,0,0,0],[0,1,0,0],[0,0,1,4],[0,0,1,1]]") + "]}", 2),
            file + ": frame 1: transform_matrix's last row must be 0 0 0 1");
  EXPECT_EQ(load(R"({"camera_angle_x": 0.7, "frames": [{"file_path": "./train/r_0"}]})"),
            file + ": frame 0: transform_matrix is missing");
}

TEST_F(BadScene, MissingFocalLength) {
  EXPECT_EQ(load(R"({"frames": [)" + frame(0, kIdentity) + "]}"),
            file + ": frame 0: neither camera_angle_x nor fl_x is given");
  EXPECT_EQ(load(R"({"camera_angle_x": "wide", "frames": [)" + frame(0, kIdentity) + "]}"),
            file + ": camera_angle_x must be a number");
  EXPECT_EQ(load(R"({"camera_angle_x": 4, "frames": [)" + frame(0, kIdentity) + "]}"),
            file + ": camera_angle_x must be in (0, pi) radians (got 4)");
}

TEST_F(BadScene, BadSize) {
  const std::string frames = R"("frames": [)" + frame(0, kIdentity) + "]}";
  EXPECT_EQ(load(R"({"camera_angle_x": 0.7, "w": 0, )" + frames),
            file + ": w must be a positive integer up to 65536 (got 0)");
  EXPECT_EQ(load(R"({"camera_angle_x": 0.7, "h": "tall", )" + frames),
            file + ": h must be a number");
  EXPECT_EQ(load(R"({"camera_angle_x": 0.7, "w": 8, )" + frames),
            file + ": frame 0: w is 8 but ./train/r_0.png has 4");
  EXPECT_EQ(load(R"({"camera_angle_x": 0.7, "frames": [{"file_path": "./train/r_0", "h": 2.5,
    "transform_matrix": )" +
                 std::string(kIdentity) + "}]}"),
            file + ": frame 0: h must be a positive integer up to 65536 (got 2.5)");
}

TEST_F(BadScene, NotJson) {
  EXPECT_EQ(load("{\"camera_angle_x\": 0.7, \"frames\": [", 0).rfind(file + ": not JSON (", 0), 0u);
  EXPECT_EQ(load("[1, 2]", 0), file + ": not a JSON object");
  EXPECT_EQ(load(R"({"camera_angle_x": 0.7, "frames": []})", 0),
            file + ": frames must be a non-empty array");
  EXPECT_EQ(load(R"({"camera_angle_x": 0.7, "frames": [)" + frame(0, kIdentity) +
                 "], \"aabb_scale\": -2}"),
            file + ": aabb_scale must be positive (got -2)");
  EXPECT_EQ(load(R"({"camera_angle_x": 0.7, "frames": [{"file_path": 3, "transform_matrix": )" +
                 std::string(kIdentity) + "}]}"),
            file + ": frame 0: file_path must be a string");
}

TEST_F(BadScene, MissingSplit) {
  ag_nerf_scene sc;
  EXPECT_EQ(ag_nerf_scene_load(t.path.c_str(), "val", &sc), AG_ERR_IO);
  EXPECT_EQ(std::string(ag_last_error()),
            t / "transforms_val.json: cannot open (No such file or directory)");
  EXPECT_EQ(ag_nerf_scene_load(t.path.c_str(), "holdout", &sc), AG_ERR_INVALID);
  EXPECT_EQ(std::string(ag_last_error()),
            "nerf scene " + t.path + ": split 'holdout': train, val or test expected");
}

TEST_F(BadScene, CamerasFileNeedsASize) {
  write_all(t / "cams.json", R"({"camera_angle_x": 0.7, "h": 4, "frames": [{"transform_matrix": )" +
                                 std::string(kIdentity) + "}]}");
  ag_nerf_cameras cams;
  EXPECT_EQ(ag_nerf_cameras_load((t / "cams.json").c_str(), &cams), AG_ERR_IO);
  EXPECT_EQ(std::string(ag_last_error()),
            t / "cams.json: frame 0: w is missing (there is no image to take it from)");
}

}  // namespace
