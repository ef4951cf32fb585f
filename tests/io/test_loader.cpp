// The dataset interface and the batch loader over it, with a tiny in-memory
// dataset defined here (proof that the interface is generic): determinism for
// a seed, coverage, partial batches, shards of every rank, prefetch == no
// prefetch, errors from either thread, batches into tensors.
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "ag_test_util.h"
#include "runtime/data/ag_loader.h"

namespace {

// ---- a dataset implemented in the test ------------------------------------

// Item i: "id" i32[] = i and "pair" f32[2] = {i, -i / 2}, so a batch says
// exactly which items it holds. Reading item `fail_at` fails (-1: never).
struct Counting {
  int64_t n;
  int64_t fail_at;
  int *frees;  // counts ctx releases, to check ownership on errors
  ag_field fields[2] = {{"id", {AG_I32, 0, {0}}}, {"pair", {AG_F32, 1, {2}}}};
};

int64_t counting_length(const ag_dataset *ds) { return static_cast<Counting *>(ds->ctx)->n; }

const ag_field *counting_fields(const ag_dataset *ds, int *count) {
  *count = 2;
  return static_cast<Counting *>(ds->ctx)->fields;
}

ag_status counting_fill(ag_dataset *ds, const int64_t *indices, int n, void *const *buffers) {
  const auto *c = static_cast<Counting *>(ds->ctx);
  auto *ids = static_cast<int32_t *>(buffers[0]);
  auto *pairs = static_cast<float *>(buffers[1]);
  for (int i = 0; i < n; i++) {
    if (indices[i] == c->fail_at)
      return ag_set_error(AG_ERR_IO, "dataset '%s': item %lld is unreadable", ds->name,
                          (long long)indices[i]);
    ids[i] = (int32_t)indices[i];
    pairs[2 * i] = (float)indices[i];
    pairs[2 * i + 1] = -(float)indices[i] / 2;
  }
  return AG_OK;
}

void counting_free(void *ctx) {
  auto *c = static_cast<Counting *>(ctx);
  if (c->frees) ++*c->frees;
  delete c;
}

const ag_dataset_ops kCountingOps = {counting_length, counting_fields, counting_fill,
                                     counting_free};

// Owns a dataset for the length of a test.
struct Dataset {
  explicit Dataset(int64_t n, int64_t fail_at = -1) {
    EXPECT_EQ(ag_dataset_new(&kCountingOps, new Counting{n, fail_at, nullptr}, "counting", &ds),
              AG_OK)
        << ag_last_error();
  }
  ~Dataset() { ag_dataset_free(ds); }
  ag_dataset *ds = nullptr;
};

// ---- running a loader -------------------------------------------------------

struct Batch {
  std::vector<int32_t> ids;
  std::vector<float> pairs;
  uint64_t epoch;
  int64_t index;
};

// Runs one epoch; returns its batches (the end marker is consumed).
std::vector<Batch> run_epoch(ag_loader *l) {
  std::vector<Batch> out;
  for (;;) {
    const ag_batch *b = nullptr;
    EXPECT_EQ(ag_loader_next(l, &b), AG_OK) << ag_last_error();
    if (!b) return out;
    EXPECT_EQ(b->n_fields, 2);
    EXPECT_STREQ(b->fields[0].name, "id");
    EXPECT_EQ(b->fields[0].item.dtype, AG_I32);
    EXPECT_LE(b->count, b->capacity);
    const auto *ids = static_cast<const int32_t *>(b->data[0]);
    const auto *pairs = static_cast<const float *>(b->data[1]);
    out.push_back({std::vector<int32_t>(ids, ids + b->count),
                   std::vector<float>(pairs, pairs + 2 * b->count), b->epoch, b->index});
    for (int64_t i = 0; i < b->count; i++) EXPECT_EQ(pairs[2 * i], (float)ids[i]);
    if (out.size() > 100000) return out;  // guard against a missing end marker
  }
}

std::vector<int64_t> order_of(const std::vector<Batch> &batches) {
  std::vector<int64_t> order;
  for (auto &b : batches) order.insert(order.end(), b.ids.begin(), b.ids.end());
  return order;
}

ag_loader *open(const Dataset &d, ag_loader_opts o) {
  ag_loader *l = nullptr;
  EXPECT_EQ(ag_loader_open(d.ds, &o, &l), AG_OK) << ag_last_error();
  return l;
}

ag_loader_opts opts(int64_t batch, int prefetch, uint64_t seed = 0) {
  auto o = ag_loader_default_opts();
  o.batch = batch, o.prefetch = prefetch, o.seed = seed;
  return o;
}

bool contains(const std::string &s, const std::string &part) {
  return s.find(part) != std::string::npos;
}

// ---- the interface ------------------------------------------------------------

TEST(Dataset, LengthFieldsAndFill) {
  Dataset d(10);
  EXPECT_EQ(ag_dataset_length(d.ds), 10);
  int count = 0;
  const ag_field *f = ag_dataset_fields(d.ds, &count);
  ASSERT_EQ(count, 2);
  EXPECT_EQ(ag_field_item_bytes(&f[0]), 4u);
  EXPECT_EQ(ag_field_item_bytes(&f[1]), 8u);
  EXPECT_EQ(ag_field_item_numel(&f[1]), 2);
  EXPECT_EQ(ag_dataset_find_field(d.ds, "pair"), 1);
  EXPECT_EQ(ag_dataset_find_field(d.ds, "image"), -1);
  int32_t ids[3];
  float pairs[6];
  void *bufs[2] = {ids, pairs};
  const int64_t idx[3] = {9, 0, 4};
  ASSERT_EQ(ag_dataset_fill(d.ds, idx, 3, bufs), AG_OK) << ag_last_error();
  EXPECT_EQ(ids[0], 9);
  EXPECT_EQ(ids[2], 4);
  EXPECT_EQ(pairs[5], -2.0f);
  const int64_t bad[2] = {1, 10};
  EXPECT_EQ(ag_dataset_fill(d.ds, bad, 2, bufs), AG_ERR_INVALID);
  EXPECT_TRUE(contains(ag_last_error(), "dataset 'counting': index 10 outside 0..9"))
      << ag_last_error();
}

// A kind that declares impossible fields is refused at ag_dataset_new, which
// then releases its context (the caller never has to).
TEST(Dataset, BadFieldDescriptionsAreRefused) {
  struct Case {
    ag_field f[2];
    const char *want;
  } cases[] = {
      {{{"x", {AG_I32, 0, {0}}}, {"x", {AG_F32, 1, {2}}}}, "two fields named 'x'"},
      {{{"x", {AG_I32, 0, {0}}}, {"y", {AG_F32, 4, {1, 2, 3, 4}}}}, "at most 3 fit a batch"},
      {{{"x", {AG_I32, 0, {0}}}, {"y", {AG_F32, 2, {3, 0}}}}, "dim 1 is 0"},
      {{{"x", {AG_I32, 0, {0}}}, {nullptr, {AG_F32, 1, {2}}}}, "field 1 has no name"},
  };
  for (auto &c : cases) {
    int frees = 0;
    auto *ctx = new Counting{4, -1, &frees};
    std::copy(c.f, c.f + 2, ctx->fields);
    ag_dataset *ds = nullptr;
    EXPECT_EQ(ag_dataset_new(&kCountingOps, ctx, "bad", &ds), AG_ERR_INVALID);
    EXPECT_EQ(ds, nullptr);
    EXPECT_EQ(frees, 1);
    EXPECT_TRUE(contains(ag_last_error(), "dataset 'bad': ")) << ag_last_error();
    EXPECT_TRUE(contains(ag_last_error(), c.want)) << ag_last_error();
  }
  int frees = 0;
  const ag_dataset_ops no_fill = {counting_length, counting_fields, nullptr, counting_free};
  ag_dataset *ds = nullptr;
  EXPECT_EQ(ag_dataset_new(&no_fill, new Counting{4, -1, &frees}, "half", &ds), AG_ERR_INVALID);
  EXPECT_EQ(frees, 1);
  EXPECT_TRUE(contains(ag_last_error(), "incomplete ops table")) << ag_last_error();
}

TEST(Batch, WriteFieldIntoTensor) {
  Dataset d(5);
  auto o = opts(4, 0);
  o.shuffle = 0;
  ag_loader *l = open(d, o);
  const ag_batch *b = nullptr;
  ASSERT_EQ(ag_loader_next(l, &b), AG_OK);
  ASSERT_NE(b, nullptr);
  char desc[64];
  const ag_shape shape = ag_batch_field_shape(b, 1);
  EXPECT_STREQ(ag_shape_describe(&shape, desc, sizeof desc), "f32[4,2]");
  const int64_t pshape[2] = {4, 2}, wrong[2] = {4, 3};
  ag_tensor *t = ag_tensor_new(ag_backend_cpu(), AG_F32, 2, pshape);
  ASSERT_EQ(ag_batch_write_field(b, 1, t), AG_OK) << ag_last_error();
  EXPECT_EQ(ag_test::read_floats(t), (std::vector<float>{0, 0, 1, -0.5f, 2, -1, 3, -1.5f}));
  ag_tensor *w = ag_tensor_new(ag_backend_cpu(), AG_F32, 2, wrong);
  EXPECT_EQ(ag_batch_write_field(b, 1, w), AG_ERR_INVALID);
  EXPECT_TRUE(contains(ag_last_error(), "batch field 'pair' is f32[4,2] but the tensor is f32[4,3]"))
      << ag_last_error();
  EXPECT_EQ(ag_batch_write_field(b, 0, t), AG_ERR_INVALID);  // i32[4] into f32[4,2]
  EXPECT_EQ(ag_batch_write_field(b, 2, t), AG_ERR_INVALID);
  ag_tensor_free(t);
  ag_tensor_free(w);
  ag_loader_close(l);
}

// ---- order -----------------------------------------------------------------------

TEST(Permutation, DeterministicAndComplete) {
  const int64_t n = 1000;
  std::vector<int64_t> a(n), b(n), c(n), d(n);
  ag_epoch_permutation(42, 0, n, a.data());
  ag_epoch_permutation(42, 0, n, b.data());
  ag_epoch_permutation(42, 1, n, c.data());
  ag_epoch_permutation(43, 0, n, d.data());
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a, d);
  for (auto *p : {&a, &c, &d}) {
    std::vector<int64_t> s = *p;
    std::sort(s.begin(), s.end());
    for (int64_t i = 0; i < n; i++) ASSERT_EQ(s[i], i);
  }
  // Actually shuffled, not the identity.
  int fixed = 0;
  for (int64_t i = 0; i < n; i++) fixed += a[i] == i;
  EXPECT_LT(fixed, 20);
}

// Pinned values: the order is part of every training run's reproducibility,
// so a change to the generator must be deliberate.
TEST(Permutation, PinnedOrder) {
  std::vector<int64_t> p(8);
  ag_epoch_permutation(1, 0, 8, p.data());
  EXPECT_EQ(p, (std::vector<int64_t>{3, 1, 4, 7, 2, 5, 0, 6}));
}

TEST(Loader, EveryIndexOncePerEpochAndEpochsDiffer) {
  Dataset d(37);
  ag_loader *l = open(d, opts(8, 0, 7));
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(ag_loader_batches_per_epoch(l), 5);
  EXPECT_EQ(ag_loader_rank_batch(l), 8);
  std::vector<std::vector<int64_t>> orders;
  for (int e = 0; e < 3; e++) {
    EXPECT_EQ(ag_loader_epoch(l), (uint64_t)e);
    auto batches = run_epoch(l);
    ASSERT_EQ(batches.size(), 5u);
    EXPECT_EQ(batches.back().ids.size(), 5u);  // 37 = 4*8 + 5, kept
    EXPECT_EQ(batches.back().epoch, (uint64_t)e);
    EXPECT_EQ(batches.back().index, 4);
    std::vector<int64_t> order = order_of(batches), sorted = order;
    std::sort(sorted.begin(), sorted.end());
    ASSERT_EQ(sorted.size(), 37u);
    for (int64_t i = 0; i < 37; i++) EXPECT_EQ(sorted[i], i);
    // The loader follows the published permutation exactly.
    std::vector<int64_t> perm(37);
    ag_epoch_permutation(7, e, 37, perm.data());
    EXPECT_EQ(order, perm);
    orders.push_back(order);
  }
  EXPECT_NE(orders[0], orders[1]);
  EXPECT_NE(orders[1], orders[2]);
  ag_loader_close(l);
}

TEST(Loader, SameSeedSameOrderOtherSeedOtherOrderAndResume) {
  Dataset d(50);
  auto o = opts(16, 0, 99);
  ag_loader *a = open(d, o), *b = open(d, o);
  run_epoch(a);  // skip epoch 0 on `a`
  auto ea1 = run_epoch(a);
  o.first_epoch = 1;  // `c` resumes directly at epoch 1
  ag_loader *c = open(d, o);
  auto eb0 = run_epoch(b);
  auto eb1 = run_epoch(b);
  auto ec1 = run_epoch(c);
  ASSERT_EQ(ea1.size(), ec1.size());
  for (size_t i = 0; i < ea1.size(); i++) {
    EXPECT_EQ(ea1[i].ids, eb1[i].ids);
    EXPECT_EQ(ea1[i].ids, ec1[i].ids);
    EXPECT_EQ(ea1[i].pairs, ec1[i].pairs);
  }
  EXPECT_NE(eb0[0].ids, eb1[0].ids);
  ag_loader *other = open(d, opts(16, 0, 100));
  EXPECT_NE(order_of(run_epoch(other)), order_of(eb0));
  ag_loader_close(a);
  ag_loader_close(b);
  ag_loader_close(c);
  ag_loader_close(other);
}

TEST(Loader, DropLastAndNoShuffle) {
  Dataset d(37);
  auto o = opts(8, 0);
  o.drop_last = 1, o.shuffle = 0;
  ag_loader *l = open(d, o);
  EXPECT_EQ(ag_loader_batches_per_epoch(l), 4);
  auto batches = run_epoch(l);
  ASSERT_EQ(batches.size(), 4u);
  for (size_t b = 0; b < 4; b++) {
    ASSERT_EQ(batches[b].ids.size(), 8u);
    for (int i = 0; i < 8; i++) EXPECT_EQ(batches[b].ids[i], (int32_t)b * 8 + i);
  }
  ag_loader_close(l);
  // Exact multiple: no partial batch either way.
  Dataset t(32);
  o.drop_last = 0;
  l = open(t, o);
  auto full = run_epoch(l);
  ASSERT_EQ(full.size(), 4u);
  EXPECT_EQ(full.back().ids.size(), 8u);
  ag_loader_close(l);
}

// ---- shards ------------------------------------------------------------------------

// Every rank's batches, epoch by epoch, for world size w.
std::vector<std::vector<Batch>> shard_epochs(const Dataset &d, ag_loader_opts o, int w, int rank,
                                             int epochs) {
  o.world_size = w, o.rank = rank;
  ag_loader *l = open(d, o);
  std::vector<std::vector<Batch>> out;
  for (int e = 0; e < epochs; e++) out.push_back(run_epoch(l));
  ag_loader_close(l);
  return out;
}

// In each global batch the ranks' shards are disjoint, equal in size, and
// together are that batch of the unsharded loader, in rank order.
TEST(Loader, ShardsAreDisjointEqualAndCoverEachGlobalBatch) {
  Dataset d(96);
  auto o = opts(12, 0, 5);
  auto whole = shard_epochs(d, o, 1, 0, 2);
  for (int w : {2, 3, 4, 6}) {
    std::vector<std::vector<std::vector<Batch>>> ranks;
    for (int r = 0; r < w; r++) ranks.push_back(shard_epochs(d, o, w, r, 2));
    for (int e = 0; e < 2; e++) {
      std::set<int64_t> seen;
      for (size_t k = 0; k < whole[e].size(); k++) {
        std::vector<int32_t> joined;
        for (int r = 0; r < w; r++) {
          ASSERT_EQ(ranks[r][e].size(), whole[e].size()) << "world " << w << " rank " << r;
          const auto &ids = ranks[r][e][k].ids;
          EXPECT_EQ(ids.size(), 12u / w);
          joined.insert(joined.end(), ids.begin(), ids.end());
        }
        EXPECT_EQ(joined, whole[e][k].ids) << "world " << w << " epoch " << e << " batch " << k;
        for (int32_t id : joined) EXPECT_TRUE(seen.insert(id).second) << "item " << id << " twice";
      }
      EXPECT_EQ(seen.size(), 96u);  // the epoch is covered
    }
  }
}

// A kept last batch of b items gives every rank floor(b / w); when that is 0
// the batch is dropped, on every rank alike.
TEST(Loader, ShardsOfAKeptLastBatch) {
  struct Case {
    int64_t n;
    int w;
    int64_t per_epoch, last;
  } cases[] = {{100, 4, 9, 1}, {101, 3, 9, 1}, {98, 4, 8, 3}, {96, 4, 8, 3}};
  for (auto &c : cases) {
    Dataset d(c.n);
    std::set<int64_t> seen;
    for (int r = 0; r < c.w; r++) {
      auto e = shard_epochs(d, opts(12, r % 2, 3), c.w, r, 1)[0];
      ASSERT_EQ((int64_t)e.size(), c.per_epoch) << "n " << c.n << " world " << c.w;
      EXPECT_EQ((int64_t)e.back().ids.size(), c.last);
      for (auto &b : e)
        for (int32_t id : b.ids) EXPECT_TRUE(seen.insert(id).second);
    }
    const int64_t rest = c.n % 12;
    const int64_t used = c.n - rest + (rest / c.w) * c.w;
    EXPECT_EQ((int64_t)seen.size(), used) << "n " << c.n << " world " << c.w;
  }
}

TEST(Loader, BadOptions) {
  Dataset d(5);
  ag_loader *l = nullptr;
  auto o = opts(0, 1);
  EXPECT_EQ(ag_loader_open(d.ds, &o, &l), AG_ERR_INVALID);
  o.batch = 8, o.drop_last = 1;
  EXPECT_EQ(ag_loader_open(d.ds, &o, &l), AG_ERR_INVALID);
  EXPECT_TRUE(contains(ag_last_error(), "drop_last")) << ag_last_error();
  o.drop_last = 0, o.batch = 6, o.world_size = 4;
  EXPECT_EQ(ag_loader_open(d.ds, &o, &l), AG_ERR_INVALID);
  EXPECT_TRUE(contains(ag_last_error(), "batch 6 does not split into 4 equal shards"))
      << ag_last_error();
  o.batch = 8, o.rank = 4;
  EXPECT_EQ(ag_loader_open(d.ds, &o, &l), AG_ERR_INVALID);
  EXPECT_TRUE(contains(ag_last_error(), "rank 4 of 4")) << ag_last_error();
  o.rank = 0, o.world_size = 0;
  EXPECT_EQ(ag_loader_open(d.ds, &o, &l), AG_ERR_INVALID);
  o.world_size = 8, o.batch = 16;  // 5 items: the kept batch gives each of 8 ranks 0
  EXPECT_EQ(ag_loader_open(d.ds, &o, &l), AG_ERR_INVALID);
  EXPECT_TRUE(contains(ag_last_error(), "5 items give no batch of 16 over 8 ranks"))
      << ag_last_error();
  EXPECT_EQ(ag_loader_open(nullptr, &o, &l), AG_ERR_INVALID);
  EXPECT_EQ(l, nullptr);
}

// ---- prefetch ----------------------------------------------------------------------

TEST(Loader, PrefetchMatchesSynchronous) {
  Dataset d(203);
  for (int w : {1, 2}) {
    auto o = opts(10, 0, 11);
    o.world_size = w, o.rank = w - 1;
    ag_loader *sync = open(d, o);
    o.prefetch = 1;
    ag_loader *pre = open(d, o);
    for (int e = 0; e < 3; e++) {
      auto a = run_epoch(sync), b = run_epoch(pre);
      ASSERT_EQ(a.size(), 21u);
      ASSERT_EQ(a.size(), b.size());
      for (size_t i = 0; i < a.size(); i++) {
        ASSERT_EQ(a[i].ids, b[i].ids) << "world " << w << " epoch " << e << " batch " << i;
        ASSERT_EQ(a[i].pairs, b[i].pairs);
        ASSERT_EQ(a[i].index, b[i].index);
      }
    }
    ag_loader_close(sync);
    ag_loader_close(pre);
  }
}

TEST(Loader, CloseMidEpochWithPrefetch) {
  Dataset d(100);
  for (int k = 0; k < 20; k++) {  // repeated to shake out shutdown races
    ag_loader *l = open(d, opts(10, 1));
    const ag_batch *b = nullptr;
    ASSERT_EQ(ag_loader_next(l, &b), AG_OK);
    ASSERT_NE(b, nullptr);
    ag_loader_close(l);
  }
  ag_loader_close(nullptr);
}

// ---- errors from the producing thread ------------------------------------------

// Hook used below: negates ids, fails on batch `fail_at` of epoch 0.
struct Hook {
  int64_t fail_at;
};
ag_status hook_fn(void *ctx, ag_batch *b) {
  auto *h = static_cast<Hook *>(ctx);
  if (b->epoch == 0 && b->index == h->fail_at)
    return ag_set_error(AG_ERR_INVALID, "augment failed at batch %lld", (long long)b->index);
  auto *ids = static_cast<int32_t *>(b->data[0]);
  for (int64_t i = 0; i < b->count; i++) ids[i] = -ids[i];
  return AG_OK;
}

// Reads `good` batches, then expects the same error twice (sticky: no crash,
// no hang) with a message containing every part of `want`.
void expect_error_after(ag_loader *l, int good, ag_status st,
                        const std::vector<std::string> &want, int prefetch) {
  ag_clear_error();
  for (int b = 0; b < good; b++) {
    const ag_batch *batch = nullptr;
    ASSERT_EQ(ag_loader_next(l, &batch), AG_OK) << ag_last_error();
    ASSERT_NE(batch, nullptr);
  }
  for (int k = 0; k < 2; k++) {
    const ag_batch *batch = nullptr;
    EXPECT_EQ(ag_loader_next(l, &batch), st);
    EXPECT_EQ(batch, nullptr);
    for (auto &part : want)
      EXPECT_TRUE(contains(ag_last_error(), part)) << "prefetch " << prefetch << ": " << ag_last_error();
  }
}

// A hook error raised on the prefetch thread reaches the caller, message
// included, at the batch it belongs to; earlier batches are unaffected.
TEST(Loader, TransformAndThreadErrorPropagation) {
  Dataset d(40);
  for (int prefetch = 0; prefetch < 2; prefetch++) {
    Hook h{2};
    auto o = opts(10, prefetch);
    o.shuffle = 0;
    o.transform = hook_fn, o.transform_ctx = &h;
    ag_loader *l = open(d, o);
    const ag_batch *b = nullptr;
    ASSERT_EQ(ag_loader_next(l, &b), AG_OK) << ag_last_error();
    EXPECT_EQ(static_cast<const int32_t *>(b->data[0])[1], -1);  // item 1, negated by the hook
    expect_error_after(l, 1, AG_ERR_INVALID,
                       {"loader over 'counting' (epoch 0, batch 2): transform: augment failed at batch 2"},
                       prefetch);
    ag_loader_close(l);
  }
}

// A dataset's own error (an unreadable item) reaches the caller the same way.
TEST(Loader, FillErrorNamesDatasetAndBatch) {
  Dataset d(40, 25);
  for (int prefetch = 0; prefetch < 2; prefetch++) {
    auto o = opts(10, prefetch);
    o.shuffle = 0;
    ag_loader *l = open(d, o);
    expect_error_after(l, 2, AG_ERR_IO,
                       {"(epoch 0, batch 2)", "dataset 'counting': item 25 is unreadable"},
                       prefetch);
    ag_loader_close(l);
  }
}

}  // namespace
