// The caching allocator: size classes, reuse, statistics and the
// out-of-memory message.
#include <cstdlib>
#include <map>
#include <string>

#include "ag_test_util.h"
#include "runtime/backends/ag_alloc.h"

namespace {

// A fake device with a fixed capacity, counting its calls.
struct FakeDevice {
  explicit FakeDevice(size_t cap) : capacity(cap) {}
  size_t capacity, used = 0, allocs = 0, frees = 0;
  std::map<void *, size_t> sizes;
};

ag_status fake_alloc(void *ctx, size_t bytes, void **ptr) {
  auto *d = static_cast<FakeDevice *>(ctx);
  if (d->used + bytes > d->capacity) return AG_ERR_OOM;
  *ptr = std::malloc(bytes);
  d->sizes[*ptr] = bytes;
  d->used += bytes;
  d->allocs++;
  return AG_OK;
}

void fake_free(void *ctx, void *ptr) {
  auto *d = static_cast<FakeDevice *>(ctx);
  d->frees++;
  d->used -= d->sizes[ptr];
  d->sizes.erase(ptr);
  std::free(ptr);
}

size_t fake_free_bytes(void *ctx) {
  auto *d = static_cast<FakeDevice *>(ctx);
  return d->capacity - d->used;
}

ag_allocator *make(FakeDevice *d, size_t limit = 0) {
  return ag_allocator_create("fake:0", ag_raw_allocator{d, fake_alloc, fake_free, fake_free_bytes},
                             limit);
}

}  // namespace

TEST(Alloc, SizeClasses) {
  EXPECT_EQ(ag_alloc_round(1), 512u);
  EXPECT_EQ(ag_alloc_round(512), 512u);
  EXPECT_EQ(ag_alloc_round(513), 1024u);
  EXPECT_EQ(ag_alloc_round(1 << 20), 1u << 20);
  size_t big = (size_t)3 << 28;  // 768 MiB
  size_t r = ag_alloc_round(big + 1);
  EXPECT_GE(r, big + 1);
  EXPECT_LE(r, (big + 1) + (big + 1) / 8);
}

TEST(Alloc, ReusesFreedBlocksAndTracksStats) {
  FakeDevice dev{1 << 24};
  ag_allocator *a = make(&dev);
  void *p = nullptr, *q = nullptr;
  ASSERT_EQ(ag_allocator_alloc(a, 1000, &p), AG_OK);
  ASSERT_EQ(ag_allocator_alloc(a, 3000, &q), AG_OK);
  ag_alloc_stats s = ag_allocator_stats(a);
  EXPECT_EQ(s.in_use, 1024u + 3072u);
  EXPECT_EQ(s.peak, s.in_use);
  ag_allocator_free(a, p);
  s = ag_allocator_stats(a);
  EXPECT_EQ(s.in_use, 3072u);
  EXPECT_EQ(s.cached, 1024u);
  void *r = nullptr;
  ASSERT_EQ(ag_allocator_alloc(a, 900, &r), AG_OK);  // same class: served from the cache
  EXPECT_EQ(r, p);
  s = ag_allocator_stats(a);
  EXPECT_EQ(s.n_cache_hits, 1u);
  EXPECT_EQ(s.n_device_allocs, 2u);
  EXPECT_EQ(s.cached, 0u);
  EXPECT_EQ(s.peak, 1024u + 3072u);
  ag_allocator_free(a, q);
  ag_allocator_free(a, r);
  ag_allocator_release_cached(a);
  EXPECT_EQ(ag_allocator_stats(a).cached, 0u);
  EXPECT_EQ(dev.frees, 2u);
  ag_allocator_destroy(a);
}

TEST(Alloc, EmptiesCacheBeforeGivingUp) {
  FakeDevice dev{4096};
  ag_allocator *a = make(&dev);
  void *p = nullptr, *q = nullptr;
  ASSERT_EQ(ag_allocator_alloc(a, 4096, &p), AG_OK);
  ag_allocator_free(a, p);  // cached, device still full
  ASSERT_EQ(ag_allocator_alloc(a, 2048, &q), AG_OK) << ag_last_error();
  EXPECT_EQ(dev.frees, 1u);
  ag_allocator_free(a, q);
  ag_allocator_destroy(a);
}

TEST(Alloc, OutOfMemoryNamesRequestAndState) {
  FakeDevice dev{1 << 20};
  ag_allocator *a = make(&dev);
  void *p = nullptr, *q = nullptr;
  ASSERT_EQ(ag_allocator_alloc(a, 512 << 10, &p), AG_OK);
  EXPECT_EQ(ag_allocator_alloc(a, 3 << 20, &q), AG_ERR_OOM);
  EXPECT_EQ(q, nullptr);
  std::string msg = ag_last_error();
  EXPECT_NE(msg.find("out of memory on fake:0"), std::string::npos) << msg;
  EXPECT_NE(msg.find("3.00 MiB"), std::string::npos) << msg;
  EXPECT_NE(msg.find("in use 512.00 KiB"), std::string::npos) << msg;
  EXPECT_NE(msg.find("device free 512.00 KiB"), std::string::npos) << msg;
  // The failed request changed nothing.
  EXPECT_EQ(ag_allocator_stats(a).in_use, 512u << 10);
  ag_allocator_free(a, p);
  ag_allocator_destroy(a);
}

TEST(Alloc, LimitIsEnforced) {
  FakeDevice dev{1 << 30};
  ag_allocator *a = make(&dev, 1 << 20);
  void *p = nullptr, *q = nullptr;
  ASSERT_EQ(ag_allocator_alloc(a, 768 << 10, &p), AG_OK);
  EXPECT_EQ(ag_allocator_alloc(a, 512 << 10, &q), AG_ERR_OOM);
  EXPECT_NE(std::string(ag_last_error()).find("limit 1.00 MiB"), std::string::npos)
      << ag_last_error();
  ag_allocator_free(a, p);
  ag_allocator_destroy(a);
}

TEST(Alloc, ManyLiveBlocks) {
  FakeDevice dev{(size_t)1 << 30};
  ag_allocator *a = make(&dev);
  std::vector<void *> ptrs(5000);
  for (auto &p : ptrs) ASSERT_EQ(ag_allocator_alloc(a, 100, &p), AG_OK);
  EXPECT_EQ(ag_allocator_stats(a).in_use, 5000u * 512u);
  for (size_t i = 0; i < ptrs.size(); i += 2) ag_allocator_free(a, ptrs[i]);
  EXPECT_EQ(ag_allocator_stats(a).in_use, 2500u * 512u);
  for (size_t i = 1; i < ptrs.size(); i += 2) ag_allocator_free(a, ptrs[i]);
  EXPECT_EQ(ag_allocator_stats(a).in_use, 0u);
  EXPECT_EQ(ag_allocator_stats(a).cached, 5000u * 512u);
  ag_allocator_destroy(a);
}
