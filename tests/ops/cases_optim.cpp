// Op harness cases: optimizer steps and gradient-norm clipping. Sizes cover a
// single element, sizes that are and are not multiples of the 4-wide vector
// access, more elements than one block takes, and (for the squared norm)
// more than its whole grid takes in one sweep.
#include "op_cases.h"

using namespace ag_test;

namespace {

const std::vector<std::vector<int64_t>> kShapes = {{1}, {8, 125}, {4099}, {3, 37}};

InputSpec ranged(std::vector<int64_t> shape, float lo, float hi, ag_dtype dt = kTestDtype) {
  InputSpec s{std::move(shape), dt};
  s.lo = lo, s.hi = hi;
  return s;
}

InputSpec f32_scalar(float lo, float hi) { return ranged({1}, lo, hi, AG_F32); }

// lr 1e-2 makes a step visible next to the param's own magnitude.
void set_adamw(OpCase *c, int64_t step, float weight_decay) {
  encode_args(*c, ag_adamw_args_encode, ag_adamw_args{1e-2f, 0.9f, 0.999f, 1e-8f, weight_decay, step});
}

void add_adamw(CaseList *cases, const std::string &label, const std::vector<int64_t> &s) {
  for (auto [step, wd] : {std::pair<int64_t, float>{1, 0.0f}, {3, 0.1f}}) {
    std::string l = label + "_t" + std::to_string(step);
    OpCase c = op_case(AG_OP_ADAMW, l, {in(s), in(s), ranged(s, -0.5f, 0.5f), ranged(s, 0, 1)});
    set_adamw(&c, step, wd);
    cases->push_back(c);
    OpCase mc = op_case(
        AG_OP_ADAMW_MASTER, l,
        {in(s), ranged(s, -2, 2, AG_F32), ranged(s, -0.5f, 0.5f, AG_F32), ranged(s, 0, 1, AG_F32)});
    set_adamw(&mc, step, wd);
    cases->push_back(mc);
  }
}

void add_sgd(CaseList *cases, const std::string &label, const std::vector<int64_t> &s) {
  struct Variant {
    const char *name;
    float momentum, wd, dampening;
    int nesterov, first;
  };
  for (const Variant &v :
       {Variant{"mom", 0.9f, 1e-2f, 0, 0, 0}, Variant{"first", 0.9f, 0, 0, 0, 1},
        Variant{"nesterov", 0.9f, 1e-2f, 0, 1, 0}, Variant{"damp", 0.8f, 0, 0.25f, 0, 0},
        Variant{"plain", 0, 0.1f, 0, 0, 0}}) {
    OpCase c = op_case(AG_OP_SGD, label + "_" + v.name, {in(s), in(s), in(s)});
    encode_args(c, ag_sgd_args_encode,
                ag_sgd_args{0.05f, v.momentum, v.wd, v.dampening, v.nesterov, v.first});
    cases->push_back(c);
  }
}

void add_clipping(CaseList *cases, const std::string &label, const std::vector<int64_t> &s) {
  cases->push_back(op_case(AG_OP_SQ_NORM, label, {in(s), f32_scalar(0, 3)}));
  // A total of 4..9 against max_norm 1 clips; 0..0.5 leaves the gradient alone.
  OpCase clip = op_case(AG_OP_CLIP_SCALE, label + "_clip", {in(s), f32_scalar(4, 9)});
  encode_args(clip, ag_clip_args_encode, ag_clip_args{1.0f});
  cases->push_back(clip);
  OpCase keep = op_case(AG_OP_CLIP_SCALE, label + "_keep", {in(s), f32_scalar(0, 0.5f)});
  encode_args(keep, ag_clip_args_encode, ag_clip_args{1.0f});
  cases->push_back(keep);
}

}  // namespace

AG_OP_CASES(optim) {
  CaseList cases;
  for (size_t k = 0; k < kShapes.size(); k++) {
    std::string label = "s" + std::to_string(k);
    add_adamw(&cases, label, kShapes[k]);
    add_sgd(&cases, label, kShapes[k]);
    add_clipping(&cases, label, kShapes[k]);
  }
  // More elements than the squared norm's 1024 blocks take in one sweep, not
  // a multiple of the vector width: every block loops and one has a tail.
  cases.push_back(op_case(AG_OP_SQ_NORM, "grid_stride", {in({1100003}), f32_scalar(0, 3)}));
  return cases;
}
