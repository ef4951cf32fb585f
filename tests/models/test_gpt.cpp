// The byte-level GPT: the tokenizer; incremental decoding with a KV cache
// against full re-evaluation (logits and sampled ids); training lowers the
// loss; checkpoints round-trip, resume exactly, and refuse other models.
// Where the emulator is built, decoding and a training step on the CUDA
// kernels (emulated) against the CPU.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#ifdef AG_GPT_TEST_EMU
#include "runtime/backends/ag_backend_emu.h"
#endif
extern "C" {
#include "models/ag_classifier.h"
#include "models/transformer/ag_gpt.h"
#include "models/transformer/ag_tokenizer.h"
}

namespace {

// Small enough for the CPU in milliseconds; two heads and two layers still
// exercise head splitting and cache hand-over between layers.
ag_gpt_config small_config() {
  ag_gpt_config c = ag_gpt_default_config();
  c.context = 32;
  c.layers = 2;
  c.width = 32;
  c.heads = 2;
  return c;
}

ag_params *random_model(const ag_gpt_config &c, uint64_t seed) {
  ag_params *p = ag_params_new(ag_backend_cpu(), seed);
  EXPECT_EQ(ag_gpt_init(p, &c), AG_OK) << ag_last_error();
  return p;
}

std::vector<int32_t> ids_of(const std::string &s) {
  std::vector<int32_t> ids(s.size());
  ag_tok_encode(s.data(), s.size(), ids.data());
  return ids;
}

std::string text_of(const std::vector<int32_t> &ids) {
  std::vector<char> buf(ids.size() + 1);
  size_t n = 0;
  EXPECT_EQ(ag_tok_decode(ids.data(), (int64_t)ids.size(), buf.data(), buf.size(), &n), AG_OK);
  return std::string(buf.data(), n);
}

TEST(Tokenizer, BytesRoundTrip) {
  const std::string s =
      "Gr\xc3\xbc\xc3\x9f"
      "e\n\x01\xff";
  const std::vector<int32_t> ids = ids_of(s);
  ASSERT_EQ(ids.size(), s.size());
  EXPECT_EQ(ids[2], 0xc3);
  EXPECT_EQ(ids.back(), 255);
  EXPECT_EQ(text_of(ids), s);
}

TEST(Tokenizer, PaddedRowsEndWithEot) {
  std::vector<int32_t> row(8);
  int64_t used = 0;
  ASSERT_EQ(ag_tok_encode_padded("abc", 3, 8, row.data(), &used), AG_OK);
  EXPECT_EQ(row, (std::vector<int32_t>{AG_TOK_SOT, 'a', 'b', 'c', AG_TOK_EOT, AG_TOK_PAD,
                                       AG_TOK_PAD, AG_TOK_PAD}));
  EXPECT_EQ(used, 5);
  ASSERT_EQ(ag_tok_encode_padded("abcdefgh", 8, 5, row.data(), &used), AG_OK);
  EXPECT_EQ(std::vector<int32_t>(row.begin(), row.begin() + 5),
            (std::vector<int32_t>{AG_TOK_SOT, 'a', 'b', 'c', AG_TOK_EOT}));
  EXPECT_EQ(used, 5);
  EXPECT_EQ(text_of(row), "abc");  // SOT skipped, EOT ends it
  EXPECT_NE(ag_tok_encode_padded("a", 1, 1, row.data(), &used), AG_OK);
  EXPECT_NE(std::string(ag_last_error()).find("no room"), std::string::npos);
}

TEST(Tokenizer, RejectsIdsOutsideTheVocabulary) {
  const int32_t bad[2] = {'a', AG_TOK_VOCAB};
  char out[8];
  size_t n = 0;
  EXPECT_EQ(ag_tok_decode(bad, 2, out, sizeof out, &n), AG_ERR_INVALID);
  EXPECT_NE(std::string(ag_last_error()).find("259"), std::string::npos) << ag_last_error();
}

TEST(Pick, GreedyTopKAndInverseCdf) {
  const float logits[5] = {0.5f, 2.0f, -1.0f, 2.0f, 1.0f};
  EXPECT_EQ(ag_gpt_pick(logits, 5, 0.0f, 0, 0.7), 1);  // the first maximum
  EXPECT_EQ(ag_gpt_pick(logits, 5, 1.0f, 1, 0.7), 1);  // top-1 is greedy
  // Top-2 keeps ids 1 and 3 (equal logits, so each half of [0, 1)).
  EXPECT_EQ(ag_gpt_pick(logits, 5, 1.0f, 2, 0.25), 1);
  EXPECT_EQ(ag_gpt_pick(logits, 5, 1.0f, 2, 0.75), 3);
  for (double u = 0; u < 1; u += 0.01) {
    const int32_t id = ag_gpt_pick(logits, 5, 1.0f, 3, u);
    EXPECT_TRUE(id == 1 || id == 3 || id == 4) << u;
  }
  // Without top-k, u near 1 reaches the last id.
  EXPECT_EQ(ag_gpt_pick(logits, 5, 1.0f, 0, 0.999999), 4);
}

// Full evaluation over a longer padded sequence: causal attention keeps the
// padding from reaching the rows compared.
std::vector<float> full_logits(ag_params *p, const ag_gpt_config &c,
                               const std::vector<int32_t> &ids, int64_t batch, int64_t len,
                               int64_t padded) {
  std::vector<int32_t> in(batch * padded, 'x');
  for (int64_t b = 0; b < batch; b++)
    std::copy(ids.begin() + b * len, ids.begin() + (b + 1) * len, in.begin() + b * padded);
  ag_gpt_eval *e = nullptr;
  EXPECT_EQ(ag_gpt_eval_new(p, &c, batch, padded, &e), AG_OK) << ag_last_error();
  std::vector<float> all(batch * padded * c.vocab), out(batch * len * c.vocab);
  EXPECT_EQ(ag_gpt_eval_run(e, in.data(), all.data()), AG_OK) << ag_last_error();
  ag_gpt_eval_free(e);
  for (int64_t b = 0; b < batch; b++)
    std::copy(all.begin() + b * padded * c.vocab, all.begin() + (b * padded + len) * c.vocab,
              out.begin() + b * len * c.vocab);
  return out;
}

float max_diff(const float *a, const float *b, size_t n) {
  float d = 0;
  for (size_t i = 0; i < n; i++) d = std::fmax(d, std::fabs(a[i] - b[i]));
  return d;
}

TEST(GptDecode, PrefillAndStepsMatchFullEvaluation) {
  const ag_gpt_config c = small_config();
  ag_params *p = random_model(c, 3);
  const int64_t batch = 2, prompt = 7, steps = 9, total = prompt + steps;
  std::vector<int32_t> seq = ids_of("The quick brown fox jumps over th");  // 2 x 16 ids
  seq.resize(batch * total);
  std::vector<int32_t> prompts(batch * prompt);
  for (int64_t b = 0; b < batch; b++)
    std::copy(seq.begin() + b * total, seq.begin() + b * total + prompt,
              prompts.begin() + b * prompt);

  ag_gpt_decoder *d = nullptr;
  ASSERT_EQ(ag_gpt_decoder_new(p, &c, batch, prompt, total, &d), AG_OK) << ag_last_error();
  std::vector<float> pre(batch * prompt * c.vocab);
  ASSERT_EQ(ag_gpt_decoder_prefill(d, prompts.data(), pre.data()), AG_OK) << ag_last_error();
  const std::vector<float> ref = full_logits(p, c, prompts, batch, prompt, c.context);
  EXPECT_LE(max_diff(pre.data(), ref.data(), pre.size()), 1e-5f);

  // Each step against a full evaluation of the sequence so far.
  const std::vector<float> all = full_logits(p, c, seq, batch, total, c.context);
  float worst = 0;
  for (int64_t s = 0; s < steps; s++) {
    const int64_t pos = prompt + s;
    const int32_t tokens[batch] = {seq[pos], seq[total + pos]};
    std::vector<float> step(batch * c.vocab);
    ASSERT_EQ(ag_gpt_decoder_step(d, tokens, step.data()), AG_OK) << ag_last_error();
    for (int64_t b = 0; b < batch; b++)
      worst = std::fmax(worst, max_diff(step.data() + b * c.vocab,
                                        all.data() + (b * total + pos) * c.vocab, c.vocab));
  }
  EXPECT_LE(worst, 1e-5f);
  std::printf("decode steps vs full evaluation: max |logit difference| %.3g\n", worst);
  // The cache holds `total` ids; one more step is refused.
  const int32_t more[batch] = {'a', 'b'};
  std::vector<float> step(batch * c.vocab);
  EXPECT_EQ(ag_gpt_decoder_step(d, more, step.data()), AG_ERR_INVALID);
  EXPECT_NE(std::string(ag_last_error()).find("full"), std::string::npos) << ag_last_error();
  ag_gpt_decoder_free(d);
  ag_params_free(p);
}

// bf16 compute over the same f32 weights: the KV cache holds bf16 keys and
// values, and the decode steps still follow a full bf16 evaluation. Both
// round their activations to bf16 (8 bits of mantissa) at different points
// of different reduction orders, so they agree to bf16 rounding of the
// logits' scale, not to f32's; and both stay near the f32 logits.
TEST(GptDecode, Bf16CacheFollowsFullBf16Evaluation) {
  const ag_gpt_config c = small_config();
  ag_params *p = random_model(c, 3);
  const int64_t batch = 2, prompt = 5, total = 12;
  const std::vector<int32_t> seq = ids_of("Mixed precisionDecoding ok");  // 2 x 12 (+2) ids
  std::vector<int32_t> prompts(batch * prompt);
  for (int64_t b = 0; b < batch; b++)
    std::copy(seq.begin() + b * total, seq.begin() + b * total + prompt,
              prompts.begin() + b * prompt);
  const std::vector<float> f32 = full_logits(p, c, seq, batch, total, c.context);
  ASSERT_EQ(ag_params_set_compute_dtype(p, AG_BF16), AG_OK) << ag_last_error();
  const std::vector<float> bf16 = full_logits(p, c, seq, batch, total, c.context);
  float scale = 0;
  for (float v : f32) scale = std::fmax(scale, std::fabs(v));
  ASSERT_GT(scale, 0.0f);
  const float to_f32 = max_diff(bf16.data(), f32.data(), f32.size());
  EXPECT_LE(to_f32, 0.05f * scale);
  EXPECT_GT(to_f32, 0.0f);  // it did compute in bf16

  ag_gpt_decoder *d = nullptr;
  ASSERT_EQ(ag_gpt_decoder_new(p, &c, batch, prompt, total, &d), AG_OK) << ag_last_error();
  std::vector<float> pre(batch * prompt * c.vocab), step(batch * c.vocab);
  ASSERT_EQ(ag_gpt_decoder_prefill(d, prompts.data(), pre.data()), AG_OK) << ag_last_error();
  float worst = 0;
  for (int64_t b = 0; b < batch; b++)
    worst = std::fmax(worst, max_diff(pre.data() + b * prompt * c.vocab,
                                      bf16.data() + b * total * c.vocab, prompt * c.vocab));
  for (int64_t pos = prompt; pos < total; pos++) {
    const int32_t tokens[batch] = {seq[pos], seq[total + pos]};
    ASSERT_EQ(ag_gpt_decoder_step(d, tokens, step.data()), AG_OK) << ag_last_error();
    for (int64_t b = 0; b < batch; b++)
      worst = std::fmax(worst, max_diff(step.data() + b * c.vocab,
                                        bf16.data() + (b * total + pos) * c.vocab, c.vocab));
  }
  std::printf("bf16: full vs f32 %.3g, decode vs full bf16 %.3g (logit scale %.3g)\n", to_f32,
              worst, scale);
  EXPECT_LE(worst, 0.05f * scale);
  ag_gpt_decoder_free(d);
  ag_params_free(p);
}

std::vector<int32_t> sample(ag_params *p, const ag_gpt_config &c, const std::string &prompt,
                            ag_gpt_sample_opts o, double *seconds = nullptr) {
  std::vector<int32_t> out(o.n * o.max_new);
  const std::vector<int32_t> ids = ids_of(prompt);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(ag_gpt_sample(p, &c, ids.data(), (int64_t)ids.size(), &o, out.data()), AG_OK)
      << ag_last_error();
  if (seconds)
    *seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

TEST(GptSample, CacheGivesTheSameIdsAsFullEvaluation) {
  const ag_gpt_config c = small_config();
  ag_params *p = random_model(c, 5);
  ag_gpt_sample_opts o = ag_gpt_default_sample_opts();
  o.n = 3;
  o.max_new = 20;
  const struct {
    float temperature;
    int64_t top_k;
  } modes[] = {{0.0f, 0}, {1.0f, 0}, {0.8f, 20}};
  for (const auto &m : modes) {
    o.temperature = m.temperature;
    o.top_k = m.top_k;
    o.use_cache = 1;
    const std::vector<int32_t> cached = sample(p, c, "Once upon", o);
    o.use_cache = 0;
    const std::vector<int32_t> full = sample(p, c, "Once upon", o);
    EXPECT_EQ(cached, full) << "temperature " << m.temperature << ", top-k " << m.top_k;
    const bool same_rows =
        std::equal(cached.begin(), cached.begin() + o.max_new, cached.begin() + o.max_new);
    // Greedy rows repeat each other; sampled rows draw their own ids.
    EXPECT_EQ(same_rows, m.temperature == 0.0f);
  }
  o.use_cache = 1;
  ag_gpt_sample_opts other = o;
  other.seed = o.seed + 1;
  EXPECT_NE(sample(p, c, "Once upon", o), sample(p, c, "Once upon", other));
  ag_params_free(p);
}

TEST(GptSample, RefusesPromptsThatDoNotFit) {
  const ag_gpt_config c = small_config();
  ag_params *p = random_model(c, 5);
  ag_gpt_sample_opts o = ag_gpt_default_sample_opts();
  std::vector<int32_t> out(64);
  const std::vector<int32_t> longer(c.context + 1, 'a');
  o.max_new = 1;
  EXPECT_EQ(ag_gpt_sample(p, &c, longer.data(), (int64_t)longer.size(), &o, out.data()),
            AG_ERR_INVALID);
  EXPECT_NE(std::string(ag_last_error()).find("longer than the context"), std::string::npos)
      << ag_last_error();
  o.max_new = c.context;
  EXPECT_EQ(ag_gpt_sample(p, &c, longer.data(), 1, &o, out.data()), AG_ERR_INVALID);
  EXPECT_NE(std::string(ag_last_error()).find("exceed the context"), std::string::npos);
  EXPECT_EQ(ag_gpt_sample(p, &c, longer.data(), 0, &o, out.data()), AG_ERR_INVALID);
  ag_params_free(p);
}

// Printed, not asserted: the machine is shared.
TEST(GptSample, TimesCachedAgainstFullDecoding) {
  ag_gpt_config c = ag_gpt_default_config();
  ag_params *p = random_model(c, 9);
  ag_gpt_sample_opts o = ag_gpt_default_sample_opts();
  o.max_new = 90;
  double cached = 0, full = 0;
  const std::vector<int32_t> a = sample(p, c, "The GNU General Public License", o, &cached);
  o.use_cache = 0;
  const std::vector<int32_t> b = sample(p, c, "The GNU General Public License", o, &full);
  EXPECT_EQ(a, b);
  std::printf("default model, 30-byte prompt, 90 new ids: KV cache %.3f s, full %.3f s (%.1fx)\n",
              cached, full, full / cached);
  ag_params_free(p);
}

// ---- training and checkpoints -------------------------------------------

std::string some_text() {
  std::string s;
  for (int i = 0; i < 40; i++)
    s += "the cat sat on the mat. the dog sat on the log. a bird sang in the tree.\n";
  return s;
}

std::string temp_path(const char *name) {
  return testing::TempDir() + "aigc_gpt_" + name + ".safetensors";
}

struct TrainRun {
  std::vector<double> losses;
  ag_params *p = nullptr;
  ag_status st = AG_OK;
};

TrainRun train(const ag_gpt_config &c, ag_gpt_train_opts o, const std::string &text) {
  ag_comm *comm = nullptr;
  const ag_comm_opts co = {AG_COMM_SINGLE, 0};
  TrainRun r;
  r.st = ag_comm_open(ag_backend_cpu(), &co, &comm);
  EXPECT_EQ(r.st, AG_OK) << ag_last_error();
  if (r.st != AG_OK) return r;
  r.losses.assign(o.steps, NAN);
  o.losses = r.losses.data();
  o.progress = 0;
  r.st = ag_gpt_train(comm, &c, &o, text.data(), text.size(), &r.p);
  ag_comm_close(comm);
  return r;
}

ag_gpt_config train_config() {
  ag_gpt_config c = small_config();
  c.context = 24;
  return c;
}

ag_gpt_train_opts train_opts(int64_t steps) {
  ag_gpt_train_opts o = ag_gpt_default_train_opts();
  o.steps = steps;
  o.batch = 8;
  o.warmup = 5;
  return o;
}

// Entropy of the text's bytes in nats: the best a model that ignores the
// context can reach.
double unigram_entropy(const std::string &text) {
  std::vector<double> count(256, 0);
  for (unsigned char ch : text) count[ch]++;
  double h = 0;
  for (double k : count)
    if (k > 0) h -= k / text.size() * std::log(k / text.size());
  return h;
}

TEST(GptTrain, LossFalls) {
  const std::string text = some_text();
  const TrainRun r = train(train_config(), train_opts(60), text);
  ASSERT_EQ(r.st, AG_OK) << ag_last_error();
  double last = 0;
  for (int i = 55; i < 60; i++) last += r.losses[i] / 5;
  const double unigram = unigram_entropy(text);
  std::printf("loss: step 0 %.3f, mean of steps 55..59 %.3f (unigram entropy %.3f)\n", r.losses[0],
              last, unigram);
  EXPECT_NEAR(r.losses[0], std::log((double)AG_TOK_VOCAB), 0.3);  // near uniform at first
  // Below what bytes alone give: the model uses the context.
  EXPECT_LT(last, unigram - 0.5);
  ag_params_free(r.p);
}

// Mixed precision: bf16 compute over f32 master weights learns as f32 does
// (the same windows and initial weights), and the weights stay f32.
TEST(GptTrain, Bf16OverF32MasterWeightsLearnsLikeF32) {
  const std::string text = some_text();
  ag_gpt_train_opts o = train_opts(60);
  const TrainRun f32 = train(train_config(), o, text);
  o.dtype = AG_BF16;
  const TrainRun bf16 = train(train_config(), o, text);
  ASSERT_EQ(f32.st, AG_OK) << ag_last_error();
  ASSERT_EQ(bf16.st, AG_OK) << ag_last_error();
  double last32 = 0, last16 = 0;
  for (int i = 55; i < 60; i++) {
    last32 += f32.losses[i] / 5;
    last16 += bf16.losses[i] / 5;
  }
  std::printf("loss: step 0 f32 %.4f bf16 %.4f; steps 55..59 f32 %.4f bf16 %.4f\n", f32.losses[0],
              bf16.losses[0], last32, last16);
  EXPECT_NE(f32.losses[0], bf16.losses[0]);  // bf16 really rounds
  EXPECT_NEAR(bf16.losses[0], f32.losses[0], 0.02);
  EXPECT_LT(last16, unigram_entropy(text) - 0.5);
  EXPECT_NEAR(last16, last32, 0.1);
  for (int i = 0; i < ag_params_count(bf16.p); i++)
    EXPECT_EQ(ag_params_tensor(bf16.p, i)->dtype, AG_F32) << ag_params_name(bf16.p, i);
  ag_params_free(f32.p);
  ag_params_free(bf16.p);
}

std::vector<float> values(const ag_tensor *t) {
  std::vector<float> v(ag_tensor_numel(t));
  EXPECT_EQ(ag_tensor_read(t, v.data(), v.size() * 4), AG_OK);
  return v;
}

TEST(GptTrain, CheckpointRoundTripsAndResumesExactly) {
  const ag_gpt_config c = train_config();
  const std::string text = some_text(), half = temp_path("half"), whole = temp_path("whole");
  ag_gpt_train_opts o = train_opts(12);
  o.out = whole.c_str();
  TrainRun straight = train(c, o, text);
  ASSERT_EQ(straight.st, AG_OK) << ag_last_error();

  ag_params *q = nullptr;
  ag_gpt_config c2;
  int64_t steps = 0;
  ASSERT_EQ(ag_gpt_load(whole.c_str(), ag_backend_cpu(), &q, &c2, &steps), AG_OK)
      << ag_last_error();
  EXPECT_EQ(std::memcmp(&c, &c2, sizeof c), 0);
  EXPECT_EQ(steps, 12);
  ASSERT_EQ(ag_params_count(q), ag_params_count(straight.p));
  for (int i = 0; i < ag_params_count(q); i++)
    EXPECT_EQ(values(ag_params_tensor(q, i)), values(ag_params_tensor(straight.p, i)))
        << ag_params_name(q, i);

  // Stopped after 6 of the 12 steps, saved, then resumed: the same losses
  // and weights as without the stop.
  ag_gpt_train_opts first = train_opts(12);
  first.until = 6;
  first.out = half.c_str();
  TrainRun a = train(c, first, text);
  ASSERT_EQ(a.st, AG_OK) << ag_last_error();
  ag_gpt_train_opts rest = train_opts(12);
  rest.resume = half.c_str();
  TrainRun b = train(c, rest, text);
  ASSERT_EQ(b.st, AG_OK) << ag_last_error();
  for (int s = 0; s < 6; s++) EXPECT_EQ(a.losses[s], straight.losses[s]) << "step " << s;
  for (int s = 6; s < 12; s++) EXPECT_EQ(b.losses[s], straight.losses[s]) << "step " << s;
  for (int i = 0; i < ag_params_count(b.p); i++)
    EXPECT_EQ(values(ag_params_tensor(b.p, i)), values(ag_params_tensor(straight.p, i)))
        << ag_params_name(b.p, i);
  ag_params_free(a.p);
  ag_params_free(b.p);
  ag_params_free(q);
  ag_params_free(straight.p);
  std::remove(half.c_str());
  std::remove(whole.c_str());
}

TEST(GptTrain, RefusesBadRequests) {
  const ag_gpt_config c = train_config();
  EXPECT_EQ(train(c, train_opts(2), "").st, AG_ERR_INVALID);
  EXPECT_NE(std::string(ag_last_error()).find("empty"), std::string::npos) << ag_last_error();
  EXPECT_EQ(train(c, train_opts(2), "too short").st, AG_ERR_INVALID);
  EXPECT_NE(std::string(ag_last_error()).find("9 bytes"), std::string::npos) << ag_last_error();

  // Resuming with another shape names both configs.
  const std::string path = temp_path("shape");
  ag_gpt_train_opts o = train_opts(2);
  o.out = path.c_str();
  TrainRun r = train(c, o, some_text());
  ASSERT_EQ(r.st, AG_OK) << ag_last_error();
  ag_params_free(r.p);
  ag_gpt_config wider = c;
  wider.width = 64;
  ag_gpt_train_opts again = train_opts(4);
  again.resume = path.c_str();
  EXPECT_EQ(train(wider, again, some_text()).st, AG_ERR_INVALID);
  EXPECT_NE(std::string(ag_last_error()).find("\"width\":32"), std::string::npos)
      << ag_last_error();
  std::remove(path.c_str());
}

TEST(GptCheckpoint, RefusesOtherModels) {
  const std::string path = temp_path("classifier");
  ag_classifier_config cc = ag_classifier_default_config();
  ag_params *p = ag_params_new(ag_backend_cpu(), 1);
  ASSERT_EQ(ag_classifier_init(p, &cc), AG_OK) << ag_last_error();
  ag_classifier_meta meta = {1, -1, "fashion-mnist"};
  ASSERT_EQ(ag_classifier_save(path.c_str(), p, &cc, &meta), AG_OK) << ag_last_error();
  ag_params *q = nullptr;
  ag_gpt_config c;
  EXPECT_EQ(ag_gpt_load(path.c_str(), ag_backend_cpu(), &q, &c, nullptr), AG_ERR_INVALID);
  EXPECT_NE(std::string(ag_last_error()).find("a 'classifier' checkpoint, not a gpt"),
            std::string::npos)
      << ag_last_error();
  EXPECT_EQ(q, nullptr);
  ag_params_free(p);
  std::remove(path.c_str());
}

#ifdef AG_GPT_TEST_EMU
// The decoding graphs on the CUDA kernels (emulated) against the CPU: the
// prefill, gather/concat/split of the caches and the padded attention.
TEST(GptEmu, DecodingMatchesTheCpu) {
  ag_backend *emu = ag_backend_emu();
  ASSERT_NE(emu, nullptr) << ag_last_error();
  ag_gpt_config c = small_config();
  c.context = 12;
  c.layers = 1;
  c.width = 64;  // head dim 32: one the fused CUDA attention takes
  c.heads = 2;
  ag_params *cpu = ag_params_new(ag_backend_cpu(), 4), *gpu = ag_params_new(emu, 4);
  ASSERT_EQ(ag_gpt_init(cpu, &c), AG_OK) << ag_last_error();
  ASSERT_EQ(ag_gpt_init(gpu, &c), AG_OK) << ag_last_error();
  ag_gpt_sample_opts o = ag_gpt_default_sample_opts();
  o.max_new = 6;
  o.n = 2;
  const std::vector<int32_t> a = sample(cpu, c, "Hello", o), b = sample(gpu, c, "Hello", o);
  EXPECT_EQ(a, b);
  // The logits of a prefill and two steps, to f32 rounding: the two sides
  // sum in different orders (GEMM tiles, flash attention).
  const std::vector<int32_t> prompt = ids_of("HelloWorld"), step1 = {'!', '?'}, step2 = {' ', 'x'};
  std::vector<std::vector<float>> out[2];
  ag_params *ps[2] = {cpu, gpu};
  for (int side = 0; side < 2; side++) {
    ag_gpt_decoder *d = nullptr;
    ASSERT_EQ(ag_gpt_decoder_new(ps[side], &c, 2, 5, 7, &d), AG_OK) << ag_last_error();
    std::vector<float> pre(2 * 5 * c.vocab), s1(2 * c.vocab), s2(2 * c.vocab);
    EXPECT_EQ(ag_gpt_decoder_prefill(d, prompt.data(), pre.data()), AG_OK) << ag_last_error();
    EXPECT_EQ(ag_gpt_decoder_step(d, step1.data(), s1.data()), AG_OK) << ag_last_error();
    EXPECT_EQ(ag_gpt_decoder_step(d, step2.data(), s2.data()), AG_OK) << ag_last_error();
    out[side] = {pre, s1, s2};
    ag_gpt_decoder_free(d);
  }
  for (int k = 0; k < 3; k++)
    EXPECT_LE(max_diff(out[0][k].data(), out[1][k].data(), out[0][k].size()), 1e-5f) << k;
  ag_params_free(gpu);
  ag_params_free(cpu);
}

// One training step's loss and gradients on the emulated CUDA kernels
// against the CPU: embeddings, causal attention and cross-entropy backward.
struct StepGrads {
  float loss = 0;
  std::vector<std::vector<float>> grads;
};

StepGrads first_step(ag_backend *be, const ag_gpt_config &c, const std::vector<int32_t> &ids,
                     const std::vector<int32_t> &targets, ag_dtype compute = AG_F32) {
  StepGrads out;
  ag_params *p = ag_params_new(be, 8);
  EXPECT_EQ(ag_params_set_compute_dtype(p, compute), AG_OK) << ag_last_error();
  EXPECT_EQ(ag_gpt_init(p, &c), AG_OK) << ag_last_error();
  ag_graph *g = ag_graph_new(be);
  const int64_t shape[2] = {2, (int64_t)ids.size() / 2}, n = (int64_t)targets.size();
  ag_tensor *x = ag_graph_input(g, "ids", AG_I32, 2, shape);
  ag_tensor *y = ag_graph_input(g, "targets", AG_I32, 1, &n);
  ag_tensor *loss = ag_graph_output(g, ag_cross_entropy(g, ag_gpt_logits(g, p, &c, x), y));
  EXPECT_EQ(ag_backward(g, loss), AG_OK) << ag_last_error();
  ag_sched *s = nullptr;
  EXPECT_EQ(ag_sched_new(g, nullptr, &s), AG_OK) << ag_last_error();
  EXPECT_EQ(ag_tensor_write(x, ids.data(), ids.size() * 4), AG_OK);
  EXPECT_EQ(ag_tensor_write(y, targets.data(), targets.size() * 4), AG_OK);
  EXPECT_EQ(ag_sched_run(s), AG_OK) << ag_last_error();
  EXPECT_EQ(ag_tensor_read(loss, &out.loss, 4), AG_OK);
  for (int i = 0; i < ag_params_count(p); i++) {
    ag_tensor *gr = ag_graph_grad(g, ag_params_tensor(p, i));
    EXPECT_NE(gr, nullptr) << ag_params_name(p, i);
    if (gr) out.grads.push_back(values(gr));
  }
  ag_sched_free(s);
  ag_graph_free(g);
  ag_params_free(p);
  return out;
}

struct StepCase {
  ag_gpt_config c;
  std::vector<int32_t> ids, targets;
};

StepCase step_case() {
  StepCase k{small_config(), {}, {}};
  k.c.context = 8;
  k.c.layers = 1;
  k.c.width = 64;
  k.c.heads = 2;
  const std::string text = "the cat sat on th";  // two windows of 8 + 1
  for (int w = 0; w < 2; w++)
    for (int i = 0; i < 8; i++) {
      k.ids.push_back((unsigned char)text[w * 8 + i]);
      k.targets.push_back((unsigned char)text[w * 8 + i + 1]);
    }
  return k;
}

// The largest gradient of all: tolerances scale with it, because the key
// bias's gradient is zero but for rounding (a shift of every key leaves the
// softmax as is), so its own scale would measure noise against noise.
float grad_scale(const StepGrads &s) {
  float scale = 0;
  for (const auto &gr : s.grads)
    for (float v : gr) scale = std::fmax(scale, std::fabs(v));
  return scale;
}

void expect_same_step(const StepGrads &a, const StepGrads &b, float rel) {
  ASSERT_EQ(a.grads.size(), b.grads.size());
  ASSERT_FALSE(a.grads.empty());
  EXPECT_NEAR(a.loss, b.loss, rel * std::fabs(a.loss));
  const float scale = grad_scale(a);
  ASSERT_GT(scale, 0.0f);
  for (size_t t = 0; t < a.grads.size(); t++)
    EXPECT_LE(max_diff(a.grads[t].data(), b.grads[t].data(), a.grads[t].size()), rel * scale)
        << "gradient " << t;
}

TEST(GptEmu, TrainingStepMatchesTheCpu) {
  const StepCase k = step_case();
  ag_backend *emu = ag_backend_emu();
  ASSERT_NE(emu, nullptr) << ag_last_error();
  expect_same_step(first_step(ag_backend_cpu(), k.c, k.ids, k.targets),
                   first_step(emu, k.c, k.ids, k.targets), 1e-5f);
}

// The bf16 step (the GPU's default) on the emulated CUDA kernels against the
// CPU's bf16 kernels, to bf16 rounding, and both near the f32 step: the
// gradients reach the f32 masters through the casts.
TEST(GptEmu, Bf16TrainingStepMatchesTheCpu) {
  const StepCase k = step_case();
  ag_backend *emu = ag_backend_emu();
  ASSERT_NE(emu, nullptr) << ag_last_error();
  const StepGrads f32 = first_step(ag_backend_cpu(), k.c, k.ids, k.targets);
  const StepGrads cpu = first_step(ag_backend_cpu(), k.c, k.ids, k.targets, AG_BF16);
  const StepGrads gpu = first_step(emu, k.c, k.ids, k.targets, AG_BF16);
  EXPECT_NE(cpu.loss, f32.loss);
  expect_same_step(cpu, gpu, 3e-2f);
  expect_same_step(f32, cpu, 5e-2f);
}
#endif

}  // namespace
