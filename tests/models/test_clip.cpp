// CLIP through the whole stack: measured captions, the InfoNCE loss and its
// gradient against a hand computation, the temperature clamp, a short
// training run whose loss falls, the text-embedding API, checkpoints and
// resuming.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <vector>

extern "C" {
#include "models/ag_classifier.h"
#include "models/transformer/ag_clip.h"
#include "models/transformer/ag_tokenizer.h"
#include "runtime/sched/ag_sched.h"
}

namespace {

// ---- captions ---------------------------------------------------------------

// Images of h x w whose garment is a centred square of side `side` at
// intensity `level` with a checkerboard of amplitude `texture` on it.
struct Images {
  int64_t h = 28, w = 28;
  std::vector<uint8_t> px;
  std::vector<uint8_t> labels;
  void add(int side, int level, int texture, int label) {
    const size_t at = px.size();
    px.resize(at + h * w, 0);
    for (int y = 0; y < side; y++)
      for (int x = 0; x < side; x++) {
        const int v = level + (((x + y) & 1) ? texture : -texture);
        px[at + (y + (h - side) / 2) * w + x + (w - side) / 2] =
            (uint8_t)std::max(17, std::min(255, v));
      }
    labels.push_back((uint8_t)label);
  }
  ag_mnist view() { return ag_mnist{(int64_t)labels.size(), h, w, px.data(), labels.data()}; }
};

// Three levels of each attribute spread over 27 images.
Images spread() {
  Images im;
  for (int s = 0; s < 3; s++)
    for (int b = 0; b < 3; b++)
      for (int t = 0; t < 3; t++) im.add(8 + 6 * s, 60 + 70 * b, 4 + 20 * t, (s + b + t) % 10);
  return im;
}

std::vector<std::string> captions_over_epochs(int label, ag_clip_levels l, int64_t index) {
  std::vector<std::string> out;
  for (uint64_t e = 0; e < 40; e++) {
    char buf[AG_CLIP_CAPTION_MAX + 8];
    ag_clip_caption(label, l, 5, index, e, buf, sizeof buf);
    out.push_back(buf);
  }
  return out;
}

bool has_word(const std::string &s, const char *w) {
  const std::string padded = " " + s + " ";
  for (const char *sep : {" ", ","})
    for (const char *end : {" ", ","})
      if (padded.find(std::string(sep) + w + end) != std::string::npos) return true;
  return false;
}

TEST(ClipCaptions, MeasuresTheGarment) {
  Images im;
  im.add(10, 100, 10, 0);
  const ag_clip_measures m = ag_clip_measure(im.px.data(), im.h, im.w);
  EXPECT_EQ(m.v[AG_CLIP_SIZE], 100.0f);
  EXPECT_NEAR(m.v[AG_CLIP_BRIGHTNESS], 100.0f, 1e-4);
  EXPECT_NEAR(m.v[AG_CLIP_TEXTURE], 10.0f, 1e-3);
}

TEST(ClipCaptions, NameTheMeasuredAttributes) {
  Images im = spread();
  ag_mnist raw = im.view();
  ag_clip_thresholds t;
  ASSERT_EQ(ag_clip_fit_thresholds(&raw, &t), AG_OK) << ag_last_error();
  Images probe;
  probe.add(8, 60, 4, 7);     // small, dark, plain
  probe.add(20, 200, 44, 7);  // large, light, patterned
  probe.add(14, 130, 24, 7);  // middle everywhere
  const char *low[] = {"small", "dark", "plain"}, *high[] = {"large", "light", "patterned"};
  for (int i = 0; i < 3; i++) {
    const ag_clip_measures m = ag_clip_measure(probe.px.data() + i * 28 * 28, 28, 28);
    const ag_clip_levels l = ag_clip_levels_of(&m, &t);
    const auto caps = captions_over_epochs(7, l, i);
    for (int a = 0; a < AG_CLIP_ATTRS; a++) {
      int said_low = 0, said_high = 0;
      for (const auto &c : caps) said_low += has_word(c, low[a]), said_high += has_word(c, high[a]);
      SCOPED_TRACE(caps[0]);
      // Named with probability 3/4: over 40 epochs at least 20 times.
      EXPECT_EQ(said_low >= 20, i == 0) << low[a] << " " << said_low;
      EXPECT_EQ(said_high >= 20, i == 1) << high[a] << " " << said_high;
      EXPECT_EQ(said_low > 0 && i != 0, false) << low[a];
      EXPECT_EQ(said_high > 0 && i != 1, false) << high[a];
    }
    for (const auto &c : caps) EXPECT_TRUE(has_word(c, "sneaker")) << c;
  }
}

TEST(ClipCaptions, DeterministicVariedAndShortEnough) {
  size_t longest = 0;
  for (int label = 0; label < 10; label++)
    for (int code = 0; code < 27; code++) {
      const ag_clip_levels l = {
          {(uint8_t)(code % 3), (uint8_t)(code / 3 % 3), (uint8_t)(code / 9)}};
      std::set<std::string> seen;
      for (uint64_t e = 0; e < 30; e++) {
        char a[AG_CLIP_CAPTION_MAX + 8], b[AG_CLIP_CAPTION_MAX + 8];
        const size_t n = ag_clip_caption(label, l, 3, 11 * code, e, a, sizeof a);
        ag_clip_caption(label, l, 3, 11 * code, e, b, sizeof b);
        EXPECT_STREQ(a, b);
        EXPECT_EQ(n, strlen(a));
        longest = std::max(longest, n);
        seen.insert(a);
      }
      // Four templates without attributes; with some, five templates times
      // the subsets named.
      EXPECT_GE(seen.size(), code == 13 ? 4u : 6u) << label << " " << code;
    }
  EXPECT_LE(longest, (size_t)AG_CLIP_CAPTION_MAX);
  char p[64];
  ag_clip_prompt(9, 0, p, sizeof p);
  EXPECT_STREQ(p, "a photo of an ankle boot");
  ag_clip_prompt(5, 3, p, sizeof p);
  EXPECT_STREQ(p, "an image of a sandal");
}

TEST(ClipCaptions, DatasetRowsAndRecaption) {
  const int64_t kContext = AG_CLIP_CAPTION_MAX + 2;
  Images im = spread();
  ag_mnist raw = im.view();
  ag_clip_data_opts o = {kContext, 9, 0.0f, 1.0f, {}};
  ASSERT_EQ(ag_clip_fit_thresholds(&raw, &o.thresholds), AG_OK);
  ag_dataset *ds = nullptr;
  ASSERT_EQ(ag_clip_dataset_open(&raw, &o, &ds), AG_OK) << ag_last_error();
  ag_batch b;
  ASSERT_EQ(ag_batch_alloc(&b, ds, 4), AG_OK);
  const int64_t idx[4] = {3, 0, 26, 3};
  ASSERT_EQ(ag_dataset_fill(ds, idx, 4, b.data), AG_OK) << ag_last_error();
  b.count = 4;
  const int f_ids = ag_dataset_find_field(ds, "ids"), f_eot = ag_dataset_find_field(ds, "eot");
  const int f_index = ag_dataset_find_field(ds, "index");
  ASSERT_GE(f_ids, 0);
  auto check_rows = [&](uint64_t epoch) {
    for (int k = 0; k < 4; k++) {
      const int32_t *row = (const int32_t *)b.data[f_ids] + k * kContext;
      const int32_t eot = ((const int32_t *)b.data[f_eot])[k];
      EXPECT_EQ(((const int32_t *)b.data[f_index])[k], idx[k]);
      EXPECT_EQ(row[0], AG_TOK_SOT);
      EXPECT_EQ(row[eot], AG_TOK_EOT);
      if (eot + 1 < kContext) {
        EXPECT_EQ(row[eot + 1], AG_TOK_PAD);
      }
      const ag_clip_measures m = ag_clip_measure(im.px.data() + idx[k] * 784, 28, 28);
      char want[64], got[64];
      ag_clip_caption(im.labels[idx[k]], ag_clip_levels_of(&m, &o.thresholds), 9, idx[k], epoch,
                      want, sizeof want);
      size_t n = 0;
      ASSERT_EQ(ag_tok_decode(row, kContext, got, sizeof got, &n), AG_OK);
      EXPECT_STREQ(got, want) << "epoch " << epoch;
    }
  };
  check_rows(0);
  b.epoch = 3;
  ASSERT_EQ(ag_clip_recaption(ds, &b), AG_OK);
  check_rows(3);
  ag_batch_free(&b);
  ag_dataset_free(ds);
}

// ---- the loss ---------------------------------------------------------------

// The symmetric InfoNCE of unit rows a, b [n, e] at temperature exp(s), in
// double, and its derivative in s.
double info_nce(const std::vector<float> &a, const std::vector<float> &b, int n, int e, double s,
                double *ds) {
  std::vector<double> z(n * n);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) {
      double d = 0;
      for (int k = 0; k < e; k++) d += (double)a[i * e + k] * b[j * e + k];
      z[i * n + j] = d;
    }
  double loss = 0, grad = 0;
  for (int dir = 0; dir < 2; dir++)
    for (int i = 0; i < n; i++) {
      double m = -1e300, sum = 0, wsum = 0;
      auto at = [&](int j) { return dir == 0 ? z[i * n + j] : z[j * n + i]; };
      for (int j = 0; j < n; j++) m = std::max(m, std::exp(s) * at(j));
      for (int j = 0; j < n; j++) {
        const double p = std::exp(std::exp(s) * at(j) - m);
        sum += p;
        wsum += p * at(j);
      }
      loss += (m + std::log(sum) - std::exp(s) * at(i)) / n / 2;
      grad += std::exp(s) * (wsum / sum - at(i)) / n / 2;
    }
  *ds = grad;
  return loss;
}

std::vector<float> unit_rows(int n, int e, float phase) {
  std::vector<float> v(n * e);
  for (int i = 0; i < n; i++) {
    double norm = 0;
    for (int k = 0; k < e; k++)
      norm += std::pow(v[i * e + k] = std::sin(phase + 1.7f * i + 0.9f * k * k), 2);
    for (int k = 0; k < e; k++) v[i * e + k] /= (float)std::sqrt(norm);
  }
  return v;
}

TEST(ClipLoss, MatchesAHandComputationAndItsGradient) {
  const int n = 5, e = 3;
  const auto a = unit_rows(n, e, 0.3f), b = unit_rows(n, e, 0.5f);
  ag_params *p = ag_params_new(ag_backend_cpu(), 1);
  ag_graph *g = ag_graph_new(ag_backend_cpu());
  const int64_t s[2] = {n, e};
  ag_tensor *ta = ag_graph_input(g, "a", AG_F32, 2, s), *tb = ag_graph_input(g, "b", AG_F32, 2, s);
  ag_tensor *loss = ag_graph_output(g, ag_clip_loss(g, p, ta, tb, 1));
  ASSERT_EQ(ag_backward(g, loss), AG_OK) << ag_last_error() << ag_graph_error(g);
  ag_sched *sc = nullptr;
  ASSERT_EQ(ag_sched_new(g, nullptr, &sc), AG_OK) << ag_last_error();
  ASSERT_EQ(ag_tensor_write(ta, a.data(), a.size() * 4), AG_OK);
  ASSERT_EQ(ag_tensor_write(tb, b.data(), b.size() * 4), AG_OK);
  ASSERT_EQ(ag_sched_run(sc), AG_OK) << ag_last_error();
  float got = 0, scale = 0, gscale = 0;
  ASSERT_EQ(ag_tensor_read(loss, &got, 4), AG_OK);
  ag_tensor *ls = ag_params_find(p, "logit_scale");
  ASSERT_NE(ls, nullptr);
  ASSERT_EQ(ag_tensor_read(ls, &scale, 4), AG_OK);
  EXPECT_FLOAT_EQ(scale, std::log(1 / 0.07f));
  ASSERT_EQ(ag_tensor_read(ag_graph_grad(g, ls), &gscale, 4), AG_OK);
  double want_grad = 0;
  const double want = info_nce(a, b, n, e, scale, &want_grad);
  EXPECT_NEAR(got, want, 1e-5 * std::fabs(want));
  EXPECT_NEAR(gscale, want_grad, 1e-4 * std::fabs(want_grad) + 1e-6);
  // Identical embeddings give a smaller loss than mismatched ones.
  EXPECT_LT(info_nce(a, a, n, e, scale, &want_grad), want);
  ag_sched_free(sc);
  ag_graph_free(g);
  ag_params_free(p);
}

TEST(ClipLoss, LogitScaleIsClamped) {
  ag_params *p = ag_params_new(ag_backend_cpu(), 1);
  ag_clip_config c = ag_clip_default_config();
  c.vision.dim = c.text.dim = c.embed_dim = 8;
  c.vision.heads = c.text.heads = 2;
  c.vision.layers = c.text.layers = 1;
  ASSERT_EQ(ag_clip_init(p, &c), AG_OK) << ag_last_error();
  ag_tensor *ls = ag_params_find(p, "logit_scale");
  for (float v : {7.0f, -1.0f, 3.0f}) {
    ASSERT_EQ(ag_tensor_write(ls, &v, 4), AG_OK);
    float out = 0, back = 0;
    ASSERT_EQ(ag_clip_clamp_logit_scale(p, &out), AG_OK);
    ASSERT_EQ(ag_tensor_read(ls, &back, 4), AG_OK);
    const float want = v > AG_CLIP_LOGIT_SCALE_MAX ? AG_CLIP_LOGIT_SCALE_MAX : v < 0 ? 0.0f : v;
    EXPECT_FLOAT_EQ(out, want);
    EXPECT_FLOAT_EQ(back, want);
  }
  EXPECT_NEAR(AG_CLIP_LOGIT_SCALE_MAX, std::log(100.0), 1e-6);
  EXPECT_NEAR(AG_CLIP_LOGIT_SCALE_INIT, std::log(1 / 0.07), 1e-6);
  ag_params_free(p);
}

// ---- the image tower ---------------------------------------------------------

TEST(Vit, ClassTokenFeatureAndPatchGrid) {
  const ag_vit_config c = {28, 28, 1, 7, 16, 1, 2};
  EXPECT_EQ(ag_vit_tokens(&c), 17);
  ag_params *p = ag_params_new(ag_backend_cpu(), 2);
  ag_graph *g = ag_graph_new(ag_backend_cpu());
  const int64_t xs[4] = {3, 1, 28, 28};
  ag_tensor *y = ag_vit_forward(g, p, "v", &c, ag_graph_input(g, "x", AG_F32, 4, xs));
  ASSERT_NE(y, nullptr) << ag_graph_error(g);
  EXPECT_EQ(y->ndim, 2);
  EXPECT_EQ(y->shape[0], 3);
  EXPECT_EQ(y->shape[1], 16);
  const ag_tensor *pos = ag_params_find(p, "v.pos"), *w = ag_params_find(p, "v.patch.weight");
  ASSERT_NE(pos, nullptr);
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(pos->shape[1], 17);
  EXPECT_EQ(w->shape[2], 7);
  EXPECT_NE(ag_params_find(p, "v.cls"), nullptr);
  EXPECT_NE(ag_params_find(p, "v.ln_post.weight"), nullptr);
  ag_graph_free(g);
  g = ag_graph_new(ag_backend_cpu());
  const ag_vit_config bad = {28, 28, 1, 5, 16, 1, 2};
  EXPECT_EQ(ag_vit_forward(g, p, "w", &bad, ag_graph_input(g, "x", AG_F32, 4, xs)), nullptr);
  EXPECT_NE(std::string(ag_graph_error(g)).find("patch 5 does not divide"), std::string::npos)
      << ag_graph_error(g);
  ag_graph_free(g);
  ag_params_free(p);
}

// ---- training, text embeddings, checkpoints --------------------------------

ag_clip_config tiny_config() {
  ag_clip_config c = ag_clip_default_config();
  c.vision.patch = 7;
  c.vision.dim = c.text.dim = c.embed_dim = 32;
  c.vision.heads = c.text.heads = 2;
  c.vision.layers = c.text.layers = 1;
  return c;
}

// The first n training images of Fashion-MNIST.
struct Data {
  ag_mnist raw{};
  Data(int64_t n) {
    EXPECT_EQ(ag_mnist_load(AG_FASHION_MNIST_DIR, "train", &raw), AG_OK) << ag_last_error();
    if (raw.n > n) raw.n = n;
  }
  ~Data() { ag_mnist_free(&raw); }
};

struct TrainRun {
  ag_status st = AG_ERR_INVALID;
  ag_params *p = nullptr;
  ag_clip_train_result res{};
};

TrainRun train(const ag_clip_config &c, const ag_clip_train_opts &o, const ag_mnist &raw) {
  TrainRun r;
  ag_comm *comm = nullptr;
  const ag_comm_opts co = {AG_COMM_SINGLE, 0};
  r.st = ag_comm_open(ag_backend_cpu(), &co, &comm);
  if (r.st == AG_OK) r.st = ag_clip_train(comm, &c, &o, &raw, &r.p, &r.res);
  ag_comm_close(comm);
  return r;
}

ag_clip_train_opts short_opts(int64_t steps) {
  ag_clip_train_opts o = ag_clip_default_train_opts();
  o.steps = steps;
  o.batch = 64;
  o.warmup = 5;
  o.progress = 0;
  return o;
}

std::vector<float> read_all(const ag_tensor *t) {
  std::vector<float> v(ag_tensor_numel(t));
  EXPECT_EQ(ag_tensor_read(t, v.data(), v.size() * 4), AG_OK);
  return v;
}

std::string temp_path(const char *name) {
  return testing::TempDir() + "aigc_clip_" + name + ".safetensors";
}

TEST(ClipTrain, LossFallsInAShortRun) {
  Data d(4096);
  const ag_clip_config c = tiny_config();
  TrainRun r = train(c, short_opts(200), d.raw);
  ASSERT_EQ(r.st, AG_OK) << ag_last_error();
  // Chance is ln(64) = 4.16 (every logit equal); a model that learned
  // nothing stays there.
  EXPECT_LT(r.res.last_loss, 0.75 * std::log(64.0)) << r.res.last_loss;
  EXPECT_EQ(r.res.steps_done, 200);
  EXPECT_GE(r.res.logit_scale, 0.0f);
  EXPECT_LE(r.res.logit_scale, AG_CLIP_LOGIT_SCALE_MAX);
  ag_params_free(r.p);
}

// Mixed precision: bf16 compute over f32 master weights (the GPU default)
// learns as f32 does from the same weights and batches; the embeddings for
// other pipelines stay f32 and unit length.
TEST(ClipTrain, Bf16OverF32MasterWeightsLearnsLikeF32) {
  Data d(4096);
  const ag_clip_config c = tiny_config();
  ag_clip_train_opts o = short_opts(100);
  TrainRun f32 = train(c, o, d.raw);
  o.dtype = AG_BF16;
  TrainRun bf16 = train(c, o, d.raw);
  ASSERT_EQ(f32.st, AG_OK) << ag_last_error();
  ASSERT_EQ(bf16.st, AG_OK) << ag_last_error();
  std::printf("last loss after 100 updates: f32 %.4f, bf16 %.4f\n", f32.res.last_loss,
              bf16.res.last_loss);
  EXPECT_LT(bf16.res.last_loss, 0.8 * std::log(64.0));
  EXPECT_NEAR(bf16.res.last_loss, f32.res.last_loss, 0.15);
  EXPECT_NE(bf16.res.last_loss, f32.res.last_loss);
  for (int i = 0; i < ag_params_count(bf16.p); i++)
    EXPECT_EQ(ag_params_tensor(bf16.p, i)->dtype, AG_F32) << ag_params_name(bf16.p, i);
  ag_params_free(f32.p);
  ag_params_free(bf16.p);
}

TEST(ClipEncodeText, ShapesNormsAndIndependence) {
  const ag_clip_config c = tiny_config();
  ag_params *p = ag_params_new(ag_backend_cpu(), 3);
  ASSERT_EQ(ag_clip_init(p, &c), AG_OK) << ag_last_error();
  const char *caps[3] = {"a photo of a dark shirt", "a bag", "a large, light sneaker"};
  ag_clip_text_out o, one;
  ASSERT_EQ(ag_clip_encode_text(p, &c, caps, 3, 1, &o), AG_OK) << ag_last_error();
  ASSERT_EQ(o.embeddings->ndim, 2);
  EXPECT_EQ(o.embeddings->shape[0], 3);
  EXPECT_EQ(o.embeddings->shape[1], c.embed_dim);
  ASSERT_NE(o.tokens, nullptr);
  EXPECT_EQ(o.tokens->ndim, 3);
  EXPECT_EQ(o.tokens->shape[1], c.text.context);
  EXPECT_EQ(o.tokens->shape[2], c.text.dim);
  std::vector<int32_t> len(3);
  ASSERT_EQ(ag_tensor_read(o.lengths, len.data(), 12), AG_OK);
  for (int i = 0; i < 3; i++) EXPECT_EQ(len[i], (int32_t)strlen(caps[i]) + 2);
  const auto emb = read_all(o.embeddings);
  for (int i = 0; i < 3; i++) {
    double n2 = 0;
    for (int k = 0; k < c.embed_dim; k++) n2 += emb[i * c.embed_dim + k] * emb[i * c.embed_dim + k];
    EXPECT_NEAR(n2, 1.0, 1e-5);
  }
  // Caption 2 alone embeds as it did among the others.
  ASSERT_EQ(ag_clip_encode_text(p, &c, caps + 2, 1, 0, &one), AG_OK) << ag_last_error();
  EXPECT_EQ(one.tokens, nullptr);
  const auto alone = read_all(one.embeddings);
  for (int k = 0; k < c.embed_dim; k++) EXPECT_NEAR(alone[k], emb[2 * c.embed_dim + k], 1e-5);
  ag_clip_text_out_free(&o);
  ag_clip_text_out_free(&one);
  const std::string longer(c.text.context - 1, 'x');
  const char *bad[1] = {longer.c_str()};
  EXPECT_EQ(ag_clip_encode_text(p, &c, bad, 1, 0, &o), AG_ERR_INVALID);
  EXPECT_NE(std::string(ag_last_error()).find("caption 0"), std::string::npos) << ag_last_error();
  ag_params_free(p);
}

TEST(ClipCheckpoint, RoundTripsAndRefusesOtherModels) {
  Data d(1024);
  const ag_clip_config c = tiny_config();
  const std::string path = temp_path("roundtrip");
  ag_clip_train_opts o = short_opts(3);
  o.out = path.c_str();
  TrainRun r = train(c, o, d.raw);
  ASSERT_EQ(r.st, AG_OK) << ag_last_error();
  ag_params *q = nullptr;
  ag_clip_config c2;
  ASSERT_EQ(ag_clip_load(path.c_str(), ag_backend_cpu(), &q, &c2), AG_OK) << ag_last_error();
  EXPECT_EQ(c2.vision.patch, 7);
  EXPECT_EQ(c2.text.context, c.text.context);
  EXPECT_FLOAT_EQ(c2.norm_std, c.norm_std);
  ASSERT_EQ(ag_params_count(q), ag_params_count(r.p));
  for (int i = 0; i < ag_params_count(q); i++)
    EXPECT_EQ(read_all(ag_params_tensor(q, i)), read_all(ag_params_tensor(r.p, i)))
        << ag_params_name(q, i);
  ag_params_free(q);
  ag_params_free(r.p);
  // A classifier checkpoint is refused by name.
  const ag_classifier_config cc = ag_classifier_default_config();
  ag_params *cp = ag_params_new(ag_backend_cpu(), 1);
  ASSERT_EQ(ag_classifier_init(cp, &cc), AG_OK);
  const std::string other = temp_path("classifier");
  ag_classifier_meta meta = {1, -1.0, "x"};
  ASSERT_EQ(ag_classifier_save(other.c_str(), cp, &cc, &meta), AG_OK) << ag_last_error();
  EXPECT_EQ(ag_clip_load(other.c_str(), ag_backend_cpu(), &q, &c2), AG_ERR_INVALID);
  EXPECT_NE(std::string(ag_last_error()).find("a 'classifier' checkpoint, not a clip"),
            std::string::npos)
      << ag_last_error();
  ag_params_free(cp);
}

TEST(ClipCheckpoint, ResumeContinuesTheSameRun) {
  Data d(1024);
  const ag_clip_config c = tiny_config();
  const std::string half = temp_path("half");
  TrainRun whole = train(c, short_opts(12), d.raw);
  ASSERT_EQ(whole.st, AG_OK) << ag_last_error();
  // The same 12-update run cut after update 5 (batches 5.. cross an epoch
  // boundary of 1024 / 64 = 16 batches only when resumed mid-epoch: here
  // the loader skips 5 batches), then resumed from its checkpoint.
  ag_clip_train_opts cut = short_opts(12);
  cut.until = 5;
  cut.out = half.c_str();
  TrainRun a = train(c, cut, d.raw);
  ASSERT_EQ(a.st, AG_OK) << ag_last_error();
  EXPECT_EQ(a.res.steps_done, 5);
  ag_clip_train_opts rest = short_opts(12);
  rest.resume = half.c_str();
  TrainRun b = train(c, rest, d.raw);
  ASSERT_EQ(b.st, AG_OK) << ag_last_error();
  EXPECT_EQ(b.res.resumed_at, 5);
  EXPECT_EQ(b.res.steps_done, 12);
  // Same batches, captions, schedule and optimizer state: the same weights.
  for (int i = 0; i < ag_params_count(whole.p); i++)
    EXPECT_EQ(read_all(ag_params_tensor(b.p, i)), read_all(ag_params_tensor(whole.p, i)))
        << ag_params_name(whole.p, i);
  ag_params_free(a.p);
  ag_params_free(b.p);
  ag_params_free(whole.p);
  // A model of other shapes is refused.
  ag_clip_config wider = c;
  wider.vision.dim = wider.text.dim = wider.embed_dim = 48;
  rest.steps = 30;
  TrainRun bad = train(wider, rest, d.raw);
  EXPECT_EQ(bad.st, AG_ERR_INVALID);
  EXPECT_NE(std::string(ag_last_error()).find("other shapes"), std::string::npos)
      << ag_last_error();
  EXPECT_NE(std::string(ag_last_error()).find("vision.dim 32 vs 48"), std::string::npos)
      << ag_last_error();
}

}  // namespace
