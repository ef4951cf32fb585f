// The generator metrics (models/eval/ag_metrics.h): FID, KID and PRDC
// against their NumPy/SciPy statements (tests/models/metrics_peer.py), the
// statistics of KID's subsets, class coverage and memorisation by hand, and
// the sanity anchors on real Fashion-MNIST through a classifier trained here.
#include <gtest/gtest.h>

#include <cjson/cJSON.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

extern "C" {
#include "models/eval/ag_features.h"
#include "models/eval/ag_metrics.h"
}

namespace {

// n correlated features: z A + mu with z ~ N(0, 1), so the covariances are
// far from diagonal and the matrix square roots do real work.
std::vector<float> gaussian_features(int64_t n, int64_t d, uint64_t seed, float shift) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> a(d * d);
  for (auto &v : a) v = normal(rng) / std::sqrt((double)d);
  std::vector<float> x(n * d);
  std::vector<double> z(d);
  for (int64_t i = 0; i < n; i++) {
    for (auto &v : z) v = normal(rng);
    for (int64_t j = 0; j < d; j++) {
      double acc = shift * std::sin(0.3 * j);
      for (int64_t k = 0; k < d; k++) acc += z[k] * a[k * d + j];
      x[i * d + j] = (float)acc;
    }
  }
  return x;
}

struct PeerResult {
  bool ran = false;
  std::string why;
  cJSON *json = nullptr;
  ~PeerResult() { cJSON_Delete(json); }
  double get(const char *key) const {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(json, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
  }
};

// Runs metrics_peer.py on the two sets; `why` says why it did not run.
void run_peer(const std::vector<float> &a, const std::vector<float> &b, int64_t d, PeerResult *r) {
  const std::string py = AG_PEER_PYTHON, script = AG_METRICS_PEER;
  if (FILE *f = std::fopen(py.c_str(), "rb")) std::fclose(f);
  else {
    r->why = "no peer python at " + py;
    return;
  }
  const std::string path = testing::TempDir() + "metrics_peer_sets.bin";
  FILE *f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr) << path;
  const int64_t head[3] = {(int64_t)a.size() / d, (int64_t)b.size() / d, d};
  std::fwrite(head, sizeof head, 1, f);
  std::fwrite(a.data(), 4, a.size(), f);
  std::fwrite(b.data(), 4, b.size(), f);
  std::fclose(f);
  const std::string cmd = py + " " + script + " " + path;
  FILE *p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr) << cmd;
  std::string out;
  char buf[4096];
  for (size_t k; (k = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, k);
  const int status = pclose(p);
  std::remove(path.c_str());
  if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
    r->why = out;
    return;
  }
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << cmd << "\n" << out;
  r->json = cJSON_Parse(out.c_str());
  ASSERT_NE(r->json, nullptr) << out;
  r->ran = true;
}

TEST(Metrics, AgreeWithScipyAndNumpy) {
  const int64_t d = 24, n = 400;
  const std::vector<float> a = gaussian_features(n, d, 1, 0.0f), b = gaussian_features(n, d, 2, 0.4f);
  PeerResult peer;
  run_peer(a, b, d, &peer);
  if (!peer.ran) GTEST_SKIP() << peer.why;
  const ag_feats fa = {a.data(), n, d}, fb = {b.data(), n, d};
  ag_fid_opts fo = ag_fid_default_opts();
  fo.reps = 0;
  ag_estimate fid;
  ASSERT_EQ(ag_fid(&fa, &fb, &fo, &fid), AG_OK) << ag_last_error();
  EXPECT_GT(fid.value, 0.1);
  EXPECT_NEAR(fid.value, peer.get("fid"), 1e-7 * std::fabs(peer.get("fid")) + 1e-9);
  double mmd2 = 0;
  ASSERT_EQ(ag_kid_mmd2(&fa, &fb, &mmd2), AG_OK) << ag_last_error();
  EXPECT_GT(mmd2, 1e-3);
  EXPECT_NEAR(mmd2, peer.get("mmd2"), 1e-9 * std::fabs(peer.get("mmd2")) + 1e-12);
  ag_prdc_opts po = ag_prdc_default_opts();
  po.halves = 0;
  ag_prdc pr;
  ASSERT_EQ(ag_prdc_compute(&fa, &fb, &po, &pr), AG_OK) << ag_last_error();
  EXPECT_DOUBLE_EQ(pr.precision.value, peer.get("precision"));
  EXPECT_DOUBLE_EQ(pr.recall.value, peer.get("recall"));
  EXPECT_DOUBLE_EQ(pr.density.value, peer.get("density"));
  EXPECT_DOUBLE_EQ(pr.coverage.value, peer.get("coverage"));
  // Not every value saturates, so the comparison could tell them apart.
  EXPECT_LT(pr.precision.value, 1.0);
  EXPECT_LT(pr.coverage.value, 1.0);
}

TEST(Metrics, FidIsZeroForOneSetAndGrowsWithTheShift) {
  const int64_t d = 16, n = 300;
  const std::vector<float> a = gaussian_features(n, d, 3, 0.0f);
  const ag_feats fa = {a.data(), n, d};
  ag_fid_opts fo = ag_fid_default_opts();
  ag_estimate self, near, far;
  ASSERT_EQ(ag_fid(&fa, &fa, &fo, &self), AG_OK) << ag_last_error();
  EXPECT_NEAR(self.value, 0.0, 1e-8);
  const std::vector<float> b1 = gaussian_features(n, d, 3, 0.5f), b2 = gaussian_features(n, d, 3, 2.0f);
  const ag_feats f1 = {b1.data(), n, d}, f2 = {b2.data(), n, d};
  ASSERT_EQ(ag_fid(&fa, &f1, &fo, &near), AG_OK);
  ASSERT_EQ(ag_fid(&fa, &f2, &fo, &far), AG_OK);
  // Same z, shifted mean: the distance is the squared shift alone.
  double shift2 = 0;
  for (int64_t j = 0; j < d; j++) shift2 += std::pow(std::sin(0.3 * j), 2);
  EXPECT_NEAR(near.value, 0.25 * shift2, 1e-6 * shift2);
  EXPECT_NEAR(far.value, 4.0 * shift2, 1e-6 * shift2);
  EXPECT_GT(near.std, 0.0);  // the bootstrap does resample
  EXPECT_LT(near.std, near.value);
}

TEST(Metrics, KidSubsetsAverageToTheWholeSetEstimate) {
  const int64_t d = 16, n = 600;
  const std::vector<float> a = gaussian_features(n, d, 4, 0.0f), b = gaussian_features(n, d, 5, 0.3f);
  const ag_feats fa = {a.data(), n, d}, fb = {b.data(), n, d};
  double whole = 0;
  ASSERT_EQ(ag_kid_mmd2(&fa, &fb, &whole), AG_OK) << ag_last_error();
  ag_kid_opts o = ag_kid_default_opts();
  ag_estimate all, sub;
  ASSERT_EQ(ag_kid(&fa, &fb, &o, &all), AG_OK) << ag_last_error();  // 1000 > n: every subset is all
  EXPECT_NEAR(all.value, whole, 1e-12 + 1e-9 * std::fabs(whole));
  EXPECT_LT(all.std, 1e-9 * std::fabs(whole) + 1e-12);
  o.subset_size = 150;
  ASSERT_EQ(ag_kid(&fa, &fb, &o, &sub), AG_OK);
  // The subset estimates are unbiased for the whole-set one.
  EXPECT_GT(sub.std, 0.0);
  EXPECT_NEAR(sub.value, whole, 4 * sub.std / std::sqrt((double)o.subsets));
}

TEST(Metrics, ClassCoverageByHand) {
  const int64_t n = 100;
  std::vector<int32_t> uniform(n), one(n, 3), req(n);
  for (int64_t i = 0; i < n; i++) uniform[i] = req[i] = (int32_t)(i % 10);
  ag_class_coverage cu, c1;
  ASSERT_EQ(ag_class_coverage_compute(uniform.data(), req.data(), n, 10, 50, 1, &cu), AG_OK);
  EXPECT_NEAR(cu.kl.value, 0.0, 1e-12);
  EXPECT_EQ(cu.covered, 10);
  EXPECT_DOUBLE_EQ(cu.label_accuracy.value, 1.0);
  EXPECT_GT(cu.kl.std, 0.0);
  ASSERT_EQ(ag_class_coverage_compute(one.data(), req.data(), n, 10, 50, 1, &c1), AG_OK);
  EXPECT_NEAR(c1.kl.value, std::log(10.0), 1e-12);
  EXPECT_EQ(c1.covered, 1);
  EXPECT_EQ(c1.hist[3], n);
  EXPECT_DOUBLE_EQ(c1.label_accuracy.value, 0.1);
  ASSERT_EQ(ag_class_coverage_compute(one.data(), nullptr, n, 10, 0, 1, &c1), AG_OK);
  EXPECT_EQ(c1.label_accuracy.value, -1.0);
  one[5] = 10;
  EXPECT_NE(ag_class_coverage_compute(one.data(), nullptr, n, 10, 0, 1, &c1), AG_OK);
  EXPECT_NE(std::string(ag_last_error()).find("image 5"), std::string::npos) << ag_last_error();
}

TEST(Metrics, MemorisationFlagsCopiesOnly) {
  std::mt19937_64 rng(6);
  std::uniform_real_distribution<double> u(2.0, 4.0);
  std::vector<double> test(500), fresh(400), copies(400, 0.0);
  for (auto &v : test) v = u(rng);
  for (auto &v : fresh) v = u(rng);
  const ag_memo_opts o = ag_memo_default_opts();
  ag_memorisation mf, mc;
  ASSERT_EQ(ag_memorisation_compute(fresh.data(), 400, test.data(), 500, &o, &mf), AG_OK);
  EXPECT_FALSE(mf.flagged);
  EXPECT_NEAR(mf.ratio.value, 1.0, 0.05);
  EXPECT_LT(mf.copy_fraction, 0.05);
  EXPECT_GT(mf.ratio.std, 0.0);
  ASSERT_EQ(ag_memorisation_compute(copies.data(), 400, test.data(), 500, &o, &mc), AG_OK);
  EXPECT_TRUE(mc.flagged);
  EXPECT_EQ(mc.ratio.value, 0.0);
  EXPECT_EQ(mc.copy_fraction, 1.0);
}

TEST(Metrics, BadInputsNameTheProblem) {
  const std::vector<float> a = gaussian_features(10, 4, 1, 0), b = gaussian_features(10, 5, 1, 0);
  const ag_feats fa = {a.data(), 10, 4}, fb = {b.data(), 10, 5}, tiny = {a.data(), 1, 4};
  ag_estimate e;
  ag_fid_opts fo = ag_fid_default_opts();
  EXPECT_NE(ag_fid(&fa, &fb, &fo, &e), AG_OK);
  EXPECT_NE(std::string(ag_last_error()).find("feature sizes 4 and 5"), std::string::npos);
  EXPECT_NE(ag_fid(&fa, &tiny, &fo, &e), AG_OK);
  ag_prdc pr;
  ag_prdc_opts po = ag_prdc_default_opts();
  EXPECT_NE(ag_prdc_compute(&fa, &tiny, &po, &pr), AG_OK);
  EXPECT_NE(std::string(ag_last_error()).find("prdc"), std::string::npos);
}

// ---- sanity anchors on Fashion-MNIST ---------------------------------------

constexpr int64_t kN = 1000;           // images per set
constexpr int64_t kTrainForClassifier = 20000;
constexpr int64_t kMemoRef = 5000;     // training images the memorisation check searches
constexpr int64_t kMemoQueries = 400;

struct Set {
  std::vector<float> images, features;
  std::vector<int32_t> predicted;
};

// Everything the anchors share: the data, a classifier trained on part of
// the training split, and the features of each kind of "generator".
struct Anchors {
  bool ok = false;
  std::string why;
  ag_mnist train{}, test{};
  ag_params *p = nullptr;
  ag_classifier_config c{};
  int64_t dim = 0;
  Set real_test, real_train, degraded, collapsed, copier;
  std::vector<float> memo_ref;

  ~Anchors() {
    ag_params_free(p);
    ag_mnist_free(&train);
    ag_mnist_free(&test);
  }
};

// Box blur of radius 2 plus Gaussian noise (sd 0.25), clamped: a generator
// whose images are the right garments, badly made.
void degrade(std::vector<float> *img, int64_t n, int64_t h, int64_t w, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> noise(0.0f, 0.25f);
  std::vector<float> src(h * w);
  for (int64_t i = 0; i < n; i++) {
    float *im = img->data() + i * h * w;
    std::copy(im, im + h * w, src.begin());
    for (int64_t y = 0; y < h; y++)
      for (int64_t x = 0; x < w; x++) {
        float acc = 0;
        int cnt = 0;
        for (int64_t dy = -2; dy <= 2; dy++)
          for (int64_t dx = -2; dx <= 2; dx++)
            if (y + dy >= 0 && y + dy < h && x + dx >= 0 && x + dx < w) {
              acc += src[(y + dy) * w + x + dx];
              cnt++;
            }
        im[y * w + x] = std::min(1.0f, std::max(0.0f, acc / cnt + noise(rng)));
      }
  }
}

void featurize(Anchors *an, Set *s) {
  ag_featurizer *f = nullptr;
  ASSERT_EQ(ag_featurizer_new(an->p, &an->c, 250, &f), AG_OK) << ag_last_error();
  const int64_t n = (int64_t)s->images.size() / (an->c.height * an->c.width);
  s->features.resize(n * an->dim);
  s->predicted.resize(n);
  EXPECT_EQ(ag_featurizer_run(f, s->images.data(), n, s->features.data(), s->predicted.data()),
            AG_OK)
      << ag_last_error();
  ag_featurizer_free(f);
}

void unit_images(const ag_mnist &ds, int64_t first, int64_t n, std::vector<float> *out) {
  out->resize(n * ds.h * ds.w);
  ag_mnist_unit_images(&ds, first, n, out->data());
}

void build_anchors(Anchors *an) {
  if (ag_mnist_load(AG_FASHION_MNIST_DIR, "train", &an->train) != AG_OK ||
      ag_mnist_load(AG_FASHION_MNIST_DIR, "t10k", &an->test) != AG_OK) {
    an->why = std::string("no Fashion-MNIST: ") + ag_last_error();
    return;
  }
  an->c = ag_classifier_default_config();
  ag_classifier_train_opts o = ag_classifier_default_train_opts();
  o.epochs = 1;
  o.progress = 0;
  o.warmup = 20;
  ag_mnist part = an->train;
  part.n = kTrainForClassifier;
  ASSERT_EQ(ag_classifier_train(ag_backend_cpu(), &an->c, &o, &part, &an->p), AG_OK)
      << ag_last_error();
  an->dim = an->c.hidden;
  const int64_t hw = an->c.height * an->c.width;
  unit_images(an->test, 0, kN, &an->real_test.images);
  unit_images(an->train, 30000, kN, &an->real_train.images);  // unseen by the classifier
  unit_images(an->train, 40000, kN, &an->degraded.images);
  degrade(&an->degraded.images, kN, an->c.height, an->c.width, 9);
  unit_images(an->train, 0, kN, &an->copier.images);  // inside the memorisation reference
  an->collapsed.images.resize(kN * hw);
  for (int64_t i = 0; i < kN; i++)
    std::copy(an->copier.images.begin() + 7 * hw, an->copier.images.begin() + 8 * hw,
              an->collapsed.images.begin() + i * hw);
  for (Set *s : {&an->real_test, &an->real_train, &an->degraded, &an->collapsed, &an->copier})
    featurize(an, s);
  unit_images(an->train, 0, kMemoRef, &an->memo_ref);
  an->ok = true;
}

class Anchor : public testing::Test {
 protected:
  static Anchors *an;
  static void SetUpTestSuite() {
    an = new Anchors;
    build_anchors(an);
  }
  static void TearDownTestSuite() {
    delete an;
    an = nullptr;
  }
  void SetUp() override {
    if (!an->ok) GTEST_SKIP() << an->why;
  }
  ag_feats feats(const Set &s) const { return {s.features.data(), (int64_t)s.predicted.size(), an->dim}; }
  ag_prdc prdc(const Set &s) const {
    ag_prdc_opts o = ag_prdc_default_opts();
    o.halves = 0;
    ag_prdc out{};
    const ag_feats r = feats(an->real_test), f = feats(s);
    EXPECT_EQ(ag_prdc_compute(&r, &f, &o, &out), AG_OK) << ag_last_error();
    return out;
  }
  double fid(const Set &s) const {
    ag_fid_opts o = ag_fid_default_opts();
    o.reps = 0;
    ag_estimate e{};
    const ag_feats r = feats(an->real_test), f = feats(s);
    EXPECT_EQ(ag_fid(&r, &f, &o, &e), AG_OK) << ag_last_error();
    return e.value;
  }
  ag_memorisation memo(const Set &s) const {
    const int64_t hw = an->c.height * an->c.width;
    const ag_feats ref = {an->memo_ref.data(), kMemoRef, hw};
    const ag_feats q = {s.images.data(), kMemoQueries, hw};
    // Held-out real images: test images the training set has not seen.
    const ag_feats held = {an->real_test.images.data() + kMemoQueries * hw, kMemoQueries, hw};
    std::vector<double> dq(kMemoQueries), dh(kMemoQueries);
    EXPECT_EQ(ag_nearest_distances(&q, &ref, dq.data()), AG_OK);
    EXPECT_EQ(ag_nearest_distances(&held, &ref, dh.data()), AG_OK);
    ag_memorisation m{};
    const ag_memo_opts o = ag_memo_default_opts();
    EXPECT_EQ(ag_memorisation_compute(dq.data(), kMemoQueries, dh.data(), kMemoQueries, &o, &m), AG_OK);
    return m;
  }
};
Anchors *Anchor::an = nullptr;

TEST_F(Anchor, RealImagesScoreFarBelowADegradedGenerator) {
  const double real = fid(an->real_train), bad = fid(an->degraded);
  std::printf("FID real train vs test %.3f, degraded %.3f\n", real, bad);
  EXPECT_LT(real * 10, bad);
}

TEST_F(Anchor, ACollapsedGeneratorLosesCoverageAndRecall) {
  const ag_prdc real = prdc(an->real_train), one = prdc(an->collapsed);
  std::printf("recall real %.3f collapsed %.3f; coverage real %.3f collapsed %.3f\n",
              real.recall.value, one.recall.value, real.coverage.value, one.coverage.value);
  EXPECT_GT(real.recall.value, 0.5);
  EXPECT_GT(real.coverage.value, 0.5);
  EXPECT_LT(one.recall.value, 0.05);
  EXPECT_LT(one.coverage.value, 0.05);
  ag_class_coverage cc{};
  ASSERT_EQ(ag_class_coverage_compute(an->collapsed.predicted.data(), nullptr, kN, 10, 0, 1, &cc), AG_OK);
  EXPECT_EQ(cc.covered, 1);
  ASSERT_EQ(ag_class_coverage_compute(an->real_train.predicted.data(), nullptr, kN, 10, 0, 1, &cc), AG_OK);
  EXPECT_EQ(cc.covered, 10);
  EXPECT_LT(cc.kl.value, 0.1);
}

TEST_F(Anchor, ACopyingGeneratorIsPreciseAndFlagged) {
  const ag_prdc copy = prdc(an->copier);
  std::printf("copier precision %.3f\n", copy.precision.value);
  EXPECT_GT(copy.precision.value, 0.9);
  const ag_memorisation mc = memo(an->copier), mr = memo(an->real_train);
  std::printf("memorisation ratio: copier %.3f (copies %.2f), real %.3f (copies %.2f)\n",
              mc.ratio.value, mc.copy_fraction, mr.ratio.value, mr.copy_fraction);
  EXPECT_TRUE(mc.flagged);
  EXPECT_FALSE(mr.flagged);
  EXPECT_GT(mr.ratio.value, 0.8);
}

}  // namespace
