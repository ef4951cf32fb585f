// Op harness cases: forward noising for each prediction type (odd image
// sizes, a non-zero first image), the fused sampler step (raw, clipped and
// thresholded x0, guided and not, with and without history and noise) and
// the guidance combine.
#include "op_cases.h"

using namespace ag_test;

namespace {

constexpr int64_t kTrainSteps = 37;

OpCase noise_case(const std::string &label, std::vector<int64_t> shape, ag_diffusion_prediction p,
                  uint64_t first) {
  InputSpec t = in({shape[0]});
  t.dtype = AG_I32;
  t.lo = 0;
  t.hi = (float)kTrainSteps;
  t.differentiable = false;
  InputSpec ac = in({kTrainSteps});
  ac.dtype = AG_F32;
  ac.lo = 0.02f;
  ac.hi = 0.999f;
  ac.differentiable = false;
  OpCase c = op_case(AG_OP_DIFFUSION_NOISE, label, {in(std::move(shape)), t, ac});
  encode_args(c, ag_diffusion_noise_args_encode, ag_diffusion_noise_args{p, 4242, first});
  return c;
}

// A step over `batch` images of `image` shape; the coefficients are a
// generic linear step (every term non-zero unless switched off).
OpCase step_case(const std::string &label, int64_t batch, std::vector<int64_t> image, bool guided,
                 ag_diffusion_x0_mode mode, bool history, bool noise) {
  std::vector<int64_t> x = {batch}, m = {guided ? 2 * batch : batch};
  x.insert(x.end(), image.begin(), image.end());
  m.insert(m.end(), image.begin(), image.end());
  ag_diffusion_step_args a = {};
  a.k = {1.3, -0.7, 0.9, 0.2, 0.4, history ? -0.25 : 0.0, noise ? 0.3 : 0.0};
  a.x0_mode = mode;
  a.clip_range = 1.0f;
  a.threshold_ratio = 0.9f;
  a.sample_max = 3.0f;  // above the 0.9 quantile of |x0|, so the quantile matters
  a.guidance = guided ? 3.0f : 0.0f;
  a.seed = 77;
  a.first = 3;
  OpCase c = op_case(AG_OP_DIFFUSION_STEP, label, {in(x), in(m), in(x)});
  encode_args(c, ag_diffusion_step_args_encode, a);
  return c;
}

OpCase cfg_case(const std::string &label, std::vector<int64_t> shape, float g) {
  OpCase c = op_case(AG_OP_CFG_COMBINE, label, {in(std::move(shape))});
  encode_args(c, ag_cfg_combine_args_encode, ag_cfg_combine_args{g});
  return c;
}

}  // namespace

AG_OP_CASES(diffusion) {
  CaseList cases = {
      noise_case("eps", {3, 2, 5, 7}, AG_PRED_EPSILON, 0),
      noise_case("v", {5, 33}, AG_PRED_V, 11),
      noise_case("sample", {2, 1, 9, 9}, AG_PRED_SAMPLE, 1),
      step_case("raw", 4, {3, 9}, false, AG_X0_RAW, true, true),
      step_case("raw_plain", 3, {1, 5, 5}, false, AG_X0_RAW, false, false),
      step_case("clip_guided", 3, {2, 7}, true, AG_X0_CLIP, false, true),
      step_case("threshold", 2, {3, 5, 5}, false, AG_X0_THRESHOLD, true, false),
      step_case("threshold_guided", 5, {301}, true, AG_X0_THRESHOLD, false, true),
      step_case("threshold_one", 3, {1}, false, AG_X0_THRESHOLD, false, false),
      cfg_case("g2_5", {6, 5, 3}, 2.5f),
      cfg_case("g0", {2, 7}, 0.0f),
  };
  return cases;
}
