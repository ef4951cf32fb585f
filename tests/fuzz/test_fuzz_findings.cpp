// The error lines that inputs once mishandled now get: a huge, fractional or
// mistyped number in a JSON field is refused before any cast, naming the
// file and the field.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "runtime/io/json.h"
#include "tools/nerf_args.h"

namespace {

cJSON *parse(const char *text) {
  cJSON *j = nullptr;
  EXPECT_EQ(ag_json_parse_object(text, "m.safetensors: gpt config", &j), AG_OK);
  return j;
}

std::string int_error(const char *text) {
  cJSON *j = parse(text);
  int64_t v = -7;
  const ag_status st = ag_json_int(j, "m.safetensors: gpt config", "width", 1, 1000, &v);
  cJSON_Delete(j);
  EXPECT_EQ(st, AG_ERR_IO);
  EXPECT_EQ(v, -7) << "nothing stored on error";
  return ag_last_error();
}

TEST(FuzzFindings, HugeFractionalMissingAndMistypedIntegers) {
  EXPECT_EQ(int_error("{\"width\": 1e300}"),
            "m.safetensors: gpt config: 'width' must be a whole number in 1..1000 (got 1e+300)");
  EXPECT_EQ(int_error("{\"width\": 2.5}"),
            "m.safetensors: gpt config: 'width' must be a whole number in 1..1000 (got 2.5)");
  EXPECT_EQ(int_error("{\"width\": -9.3e18}"),
            "m.safetensors: gpt config: 'width' must be a whole number in 1..1000 (got -9.3e+18)");
  EXPECT_EQ(int_error("{}"), "m.safetensors: gpt config: 'width' is missing");
  EXPECT_EQ(int_error("{\"width\": \"8\"}"), "m.safetensors: gpt config: 'width' must be a number");
}

TEST(FuzzFindings, IntegersInRangeAreRead) {
  cJSON *j = parse("{\"width\": 1000, \"mult\": [1, 2, 4]}");
  int64_t v = 0, mult[4] = {0};
  int n = 0;
  EXPECT_EQ(ag_json_int(j, "c", "width", 1, 1000, &v), AG_OK);
  EXPECT_EQ(v, 1000);
  EXPECT_EQ(ag_json_ints(j, "c", "mult", 0, 8, 4, mult, &n), AG_OK);
  EXPECT_EQ(n, 3);
  EXPECT_EQ(mult[2], 4);
  EXPECT_EQ(ag_json_ints(j, "c", "mult", 0, 8, 2, mult, &n), AG_ERR_IO) << "longer than max";
  cJSON_Delete(j);
}

TEST(FuzzFindings, ConfigThatIsNotJson) {
  cJSON *j = nullptr;
  EXPECT_EQ(ag_json_parse_object("{\"a\":", "m.safetensors: nerf config", &j), AG_ERR_IO);
  EXPECT_EQ(std::string(ag_last_error()),
            "m.safetensors: nerf config is not JSON (error near byte 5)");
  EXPECT_EQ(ag_json_parse_object(nullptr, "m.safetensors: nerf config", &j), AG_ERR_IO);
  EXPECT_EQ(std::string(ag_last_error()), "m.safetensors: nerf config is missing");
}

TEST(FuzzFindings, JobOrbitOfAHugeNumber) {
  const std::string path = ::testing::TempDir() + "fuzz_findings_job.json";
  FILE *f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("{\"jobs\": [{\"checkpoint\": \"m\", \"out\": \"o\", \"orbit\": 1e300}]}", f);
  std::fclose(f);
  ag_render_jobs j = {};
  EXPECT_NE(ag_render_jobs_read(path.c_str(), 0, &j), AG_OK);
  EXPECT_EQ(std::string(ag_last_error()),
            path + ": job 0: 'orbit' must be a whole number in 1..1000000 (got 1e+300)");
  ag_render_jobs_free(&j);
  std::remove(path.c_str());
}

}  // namespace
