// Tests for Counter and CountersBlock: formatting and attaching (every
// validation names what is wrong and never crashes), group-aligned
// allocation, spec validation, the reuse delay, and ForEach's view. Also the
// ConsumerCounters / ProducerCounters specs and histogram buckets that the
// ring allocates in its block.

#include "ringflow/core/internal/counters_block.h"

#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ringflow/core/internal/consumer_counters.h"
#include "ringflow/core/internal/counter.h"
#include "support/obs_exposition.h"

namespace ringflow::core_internal {
namespace {

using ::ringflow::testing::AlignedBytes;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr int64_t kNoDelay = 0;
// Far beyond any test's lifetime, and NowNanos() + this cannot overflow.
constexpr int64_t kForever = std::numeric_limits<int64_t>::max() / 2;

constexpr size_t kHeaderBytes = sizeof(CountersBlock::BlockHeader);
constexpr size_t kRecordBytes =
    sizeof(CountersBlock::MetadataRecord) + sizeof(Counter);

// A block formatted in its own aligned memory.
class TestBlock {
 public:
  explicit TestBlock(int capacity, int64_t reuse_delay_ns = kNoDelay)
      : memory_(CountersBlock::BytesFor(capacity)) {
    std::string error;
    block_ = CountersBlock::Initialize(memory_.data(), memory_.size(), capacity,
                                       reuse_delay_ns, &error);
    EXPECT_TRUE(block_.valid()) << error;
  }

  CountersBlock& operator*() { return block_; }
  CountersBlock* operator->() { return &block_; }
  std::byte* memory() { return memory_.data(); }
  size_t bytes() const { return memory_.size(); }
  CountersBlock::BlockHeader& header() {
    return *reinterpret_cast<CountersBlock::BlockHeader*>(memory_.data());
  }

 private:
  AlignedBytes memory_;
  CountersBlock block_;
};

// Allocates `n` plain counters named c0, c1, ...; returns Allocate's
// result.
int AllocateN(CountersBlock& block, int n, std::string* error = nullptr) {
  std::vector<std::string> names;
  for (int i = 0; i < n; ++i) names.push_back("c" + std::to_string(i));
  std::vector<CounterSpec> specs;
  for (const std::string& name : names) {
    specs.push_back({name, "help", "", CounterType::kCounter});
  }
  return block.Allocate(specs, error);
}

// What ForEach reported for one counter.
struct Seen {
  int index;
  CounterType type;
  uint64_t le;
  std::string name;
  std::string help;
  std::string labels;
  uint64_t value;
  bool operator==(const Seen&) const = default;
};

void PrintTo(const Seen& s, std::ostream* os) {
  *os << "{#" << s.index << " type " << static_cast<int>(s.type) << " le "
      << s.le << " " << s.name << " help '" << s.help << "' {" << s.labels
      << "} = " << s.value << "}";
}

std::vector<Seen> Visit(const CountersBlock& block) {
  std::vector<Seen> out;
  block.ForEach([&](const CounterView& c) {
    out.push_back(Seen{c.index, c.type, c.le, std::string(c.name),
                       std::string(c.help), std::string(c.labels), c.value});
  });
  return out;
}

// ---- Counter --------------------------------------------------------------

TEST(CounterTest, StartsAtZero) {
  Counter c;
  EXPECT_EQ(c.Load(), 0u);
}

TEST(CounterTest, IncrementAddsOneOrN) {
  Counter c;
  c.Increment();
  c.Increment(41);
  EXPECT_EQ(c.Load(), 42u);
}

TEST(CounterTest, AddAddsOneOrN) {
  Counter c;
  c.Add();
  c.Add(9);
  EXPECT_EQ(c.Load(), 10u);
}

TEST(CounterTest, StoreMaxKeepsTheLargestValue) {
  Counter c;
  c.StoreMax(5);
  c.StoreMax(3);
  EXPECT_EQ(c.Load(), 5u);
  c.StoreMax(7);
  EXPECT_EQ(c.Load(), 7u);
}

TEST(CounterTest, SetOverwritesTheValue) {
  Counter c;
  c.Increment(100);
  c.Set(3);
  EXPECT_EQ(c.Load(), 3u);
}

TEST(CounterTest, IncrementCarriesAcrossThe32BitBoundary) {
  Counter c;
  c.Set(0xFFFF'FFFFu);
  c.Increment();
  EXPECT_EQ(c.Load(), 0x1'0000'0000u);
}

// ---- Initialize -----------------------------------------------------------
TEST(CountersBlockTest, BytesForRoundsUpToWholeGroups) {
  EXPECT_EQ(CountersBlock::BytesFor(1), kHeaderBytes + 16 * kRecordBytes);
  EXPECT_EQ(CountersBlock::BytesFor(16), kHeaderBytes + 16 * kRecordBytes);
  EXPECT_EQ(CountersBlock::BytesFor(17), kHeaderBytes + 32 * kRecordBytes);
  EXPECT_EQ(kHeaderBytes + 16 * kRecordBytes, 128u + 16 * 264u);
}

TEST(CountersBlockTest, InitializeFormatsAnEmptyBlockOfWholeGroups) {
  TestBlock block(20);
  EXPECT_TRUE(block->valid());
  EXPECT_EQ(block->capacity(), 32);
  EXPECT_THAT(Visit(*block), IsEmpty());
  EXPECT_EQ(block.header().magic, CountersBlock::kMagic);
  EXPECT_EQ(block.header().version, CountersBlock::kVersion);
  EXPECT_EQ(block.header().ready.load(), 1u);
}

TEST(CountersBlockTest, DefaultConstructedBlockIsInvalid) {
  CountersBlock block;
  EXPECT_FALSE(block.valid());
  EXPECT_EQ(block.capacity(), 0);
  EXPECT_THAT(Visit(block), IsEmpty());
}

TEST(CountersBlockTest, InitializeRejectsTooSmallMemory) {
  const size_t needed = CountersBlock::BytesFor(16);
  AlignedBytes memory(needed);
  std::string error;
  const CountersBlock block = CountersBlock::Initialize(
      memory.data(), needed - 1, 16, kNoDelay, &error);
  EXPECT_FALSE(block.valid());
  EXPECT_THAT(error, AllOf(HasSubstr("capacity 16"),
                           HasSubstr("needs " + std::to_string(needed)),
                           HasSubstr("got " + std::to_string(needed - 1))));
}

TEST(CountersBlockTest, InitializeRejectsMisalignedMemory) {
  const size_t needed = CountersBlock::BytesFor(16);
  AlignedBytes memory(needed + 128);
  for (size_t offset : {size_t{8}, size_t{64}}) {
    std::string error;
    const CountersBlock block = CountersBlock::Initialize(
        memory.data() + offset, needed, 16, kNoDelay, &error);
    EXPECT_FALSE(block.valid()) << "offset " << offset;
    EXPECT_THAT(error, HasSubstr("128-byte alignment")) << "offset " << offset;
  }
  // The memory was not touched: it is still all zero.
  for (size_t i = 0; i < memory.size(); ++i) {
    ASSERT_EQ(memory.data()[i], std::byte{0}) << "byte " << i;
  }
}

TEST(CountersBlockTest, InitializeRejectsCapacityBelowOne) {
  AlignedBytes memory(CountersBlock::BytesFor(16));
  for (int capacity : {0, -1, -16}) {
    std::string error;
    const CountersBlock block = CountersBlock::Initialize(
        memory.data(), memory.size(), capacity, kNoDelay, &error);
    EXPECT_FALSE(block.valid()) << "capacity " << capacity;
    EXPECT_THAT(error, HasSubstr("capacity " + std::to_string(capacity)));
  }
}

TEST(CountersBlockTest, InitializeRejectsNullMemory) {
  std::string error;
  const CountersBlock block =
      CountersBlock::Initialize(nullptr, 1 << 20, 16, kNoDelay, &error);
  EXPECT_FALSE(block.valid());
  EXPECT_THAT(error, HasSubstr("capacity 16"));
}

TEST(CountersBlockTest, InitializeAcceptsANullErrorPointer) {
  AlignedBytes memory(64);
  EXPECT_FALSE(
      CountersBlock::Initialize(memory.data(), 64, 16, kNoDelay, nullptr)
          .valid());
}

// ---- Attach ---------------------------------------------------------------
TEST(CountersBlockTest, AttachSeesTheSameCountersAndValues) {
  TestBlock block(32);
  const CounterSpec specs[] = {
      {"ringflow_a_total", "A.", "ring=\"r\"", CounterType::kCounter},
      {"ringflow_b", "B.", "ring=\"r\"", CounterType::kGauge}};
  const int first = block->Allocate(specs, nullptr);
  ASSERT_EQ(first, 0);
  block->value(0).Increment(7);
  block->value(1).Set(11);

  std::string error;
  CountersBlock attached =
      CountersBlock::Attach(block.memory(), block.bytes(), &error);
  ASSERT_TRUE(attached.valid()) << error;
  EXPECT_EQ(attached.capacity(), 32);
  EXPECT_EQ(Visit(attached), Visit(*block));
  EXPECT_THAT(Visit(attached),
              ElementsAre(Seen{0, CounterType::kCounter, 0, "ringflow_a_total",
                               "A.", "ring=\"r\"", 7},
                          Seen{1, CounterType::kGauge, 0, "ringflow_b", "B.",
                               "ring=\"r\"", 11}));

  // Writes through either view land in the same memory.
  attached.value(0).Increment(3);
  EXPECT_EQ(block->value(0).Load(), 10u);
  block->value(1).Set(12);
  EXPECT_EQ(attached.value(1).Load(), 12u);
  // So do allocations.
  const CounterSpec more[] = {
      {"ringflow_c_total", "C.", "", CounterType::kCounter}};
  EXPECT_EQ(attached.Allocate(more, nullptr), 16);
  EXPECT_EQ(Visit(*block).size(), 3u);
}

TEST(CountersBlockTest, AttachRejectsZeroedMemory) {
  AlignedBytes memory(CountersBlock::BytesFor(16));
  std::string error;
  EXPECT_FALSE(
      CountersBlock::Attach(memory.data(), memory.size(), &error).valid());
  EXPECT_THAT(error, HasSubstr("not initialised"));
}

TEST(CountersBlockTest, AttachRejectsBadMagic) {
  TestBlock block(16);
  block.header().magic ^= 1;
  std::string error;
  EXPECT_FALSE(
      CountersBlock::Attach(block.memory(), block.bytes(), &error).valid());
  EXPECT_THAT(error, HasSubstr("bad magic"));
}

TEST(CountersBlockTest, AttachRejectsAnotherVersion) {
  TestBlock block(16);
  block.header().version = CountersBlock::kVersion + 1;
  std::string error;
  EXPECT_FALSE(
      CountersBlock::Attach(block.memory(), block.bytes(), &error).valid());
  EXPECT_THAT(error, HasSubstr("version " +
                               std::to_string(CountersBlock::kVersion + 1)));
}

TEST(CountersBlockTest, AttachRejectsABlockThatIsNotReady) {
  TestBlock block(16);
  block.header().ready.store(0);
  std::string error;
  EXPECT_FALSE(
      CountersBlock::Attach(block.memory(), block.bytes(), &error).valid());
  EXPECT_THAT(error, HasSubstr("not initialised"));
}

TEST(CountersBlockTest, AttachRejectsTruncatedMemory) {
  TestBlock block(32);
  for (size_t bytes :
       {size_t{0}, kHeaderBytes - 1, kHeaderBytes, block.bytes() - 1}) {
    std::string error;
    EXPECT_FALSE(CountersBlock::Attach(block.memory(), bytes, &error).valid())
        << bytes << " bytes";
    EXPECT_THAT(error, HasSubstr(std::to_string(bytes) + " bytes"));
  }
  std::string error;
  EXPECT_TRUE(
      CountersBlock::Attach(block.memory(), block.bytes(), &error).valid())
      << error;
}

TEST(CountersBlockTest, AttachRejectsNullMemory) {
  std::string error;
  EXPECT_FALSE(CountersBlock::Attach(nullptr, 1 << 20, &error).valid());
  EXPECT_THAT(error, HasSubstr("smaller than its header"));
}

TEST(CountersBlockTest, AttachRejectsAForeignRecordSize) {
  TestBlock block(16);
  block.header().metadata_bytes = 128;
  std::string error;
  EXPECT_FALSE(
      CountersBlock::Attach(block.memory(), block.bytes(), &error).valid());
  EXPECT_THAT(error, HasSubstr("capacity 16"));
}

TEST(CountersBlockTest, AttachRejectsACapacityOfPartialGroups) {
  TestBlock block(32);
  block.header().capacity = 17;
  std::string error;
  EXPECT_FALSE(
      CountersBlock::Attach(block.memory(), block.bytes(), &error).valid());
  EXPECT_THAT(error, HasSubstr("capacity 17"));
}

TEST(CountersBlockTest, AttachRejectsACapacityLargerThanTheMemory) {
  TestBlock block(16);
  block.header().capacity = 32;
  std::string error;
  EXPECT_FALSE(
      CountersBlock::Attach(block.memory(), block.bytes(), &error).valid());
  EXPECT_THAT(error,
              AllOf(HasSubstr("capacity 32"),
                    HasSubstr(std::to_string(block.bytes()) + " bytes")));
}

// BUG (core/include/ringflow/core/internal/counters_block.h, then
// observability/.../counters_block.h, CountersBlock::Attach): the size check is
// `bytes < BytesFor(static_cast<int>(header->capacity))`. A header whose
// capacity is 0xFFFFFFF0 (a multiple of 16) becomes int -16, RoundUp(-16)
// is 0 and BytesFor returns 128, so a 4 KiB mapping with that corrupt
// header attaches as valid: capacity() then returns -16, and value(i)
// would index 0xFFFFFFF0 * 256 bytes past the header. Attach should check
// the capacity in unsigned 64-bit arithmetic.
TEST(CountersBlockTest, AttachRejectsACapacityThatOverflowsInt) {
  TestBlock block(16);
  block.header().capacity = 0xFFFF'FFF0u;
  std::string error;
  const CountersBlock attached =
      CountersBlock::Attach(block.memory(), block.bytes(), &error);
  EXPECT_FALSE(attached.valid()) << "capacity() is " << attached.capacity();
  EXPECT_THAT(error, HasSubstr("capacity 4294967280"));
}

// Random memory, and random headers behind a valid preamble: Attach either
// refuses with a message, or the block it returns lies inside the memory.
TEST(CountersBlockTest, AttachNeverAcceptsRandomBytes) {
  std::mt19937_64 rng(20240611);
  const size_t bytes = CountersBlock::BytesFor(64);
  AlignedBytes memory(bytes);
  auto* header = reinterpret_cast<CountersBlock::BlockHeader*>(memory.data());
  int accepted = 0;
  for (int round = 0; round < 4000; ++round) {
    for (size_t i = 0; i < bytes; i += 8) {
      const uint64_t r = rng();
      std::memcpy(memory.data() + i, &r, 8);
    }
    const bool preamble = round % 2 == 1;
    if (preamble) {
      header->magic = CountersBlock::kMagic;
      header->version = CountersBlock::kVersion;
      header->ready.store(1);
      if (rng() % 2 == 0) header->metadata_bytes = 256;
      // Half small multiples of 16 (some fit), half any multiple of 16.
      header->capacity = rng() % 2 == 0 ? static_cast<uint32_t>(rng() % 8) * 16
                                        : static_cast<uint32_t>(rng()) & ~15u;
    }
    const size_t offered = preamble ? bytes : rng() % (bytes + 1);
    std::string error;
    const CountersBlock block =
        CountersBlock::Attach(memory.data(), offered, &error);
    if (!block.valid()) {
      EXPECT_FALSE(error.empty()) << "round " << round;
      continue;
    }
    ++accepted;
    ASSERT_TRUE(preamble) << "random bytes attached in round " << round;
    ASSERT_EQ(static_cast<uint64_t>(block.capacity()), header->capacity);
    ASSERT_LE(kHeaderBytes + uint64_t{header->capacity} * kRecordBytes, offered)
        << "round " << round;
    // Reading the random records never leaves the memory (ASan checks).
    int visited = 0;
    block.ForEach([&](const CounterView& c) {
      ASSERT_LE(c.name.size(), 63u);
      ASSERT_LE(c.labels.size(), 95u);
      ++visited;
    });
    EXPECT_LE(visited, block.capacity());
  }
  EXPECT_GT(accepted, 0) << "no header ever fitted: the test checks nothing";
}

// ---- Allocate -------------------------------------------------------------
TEST(CountersBlockTest, AllocateReturnsGroupAlignedIndices) {
  TestBlock block(128);
  EXPECT_EQ(AllocateN(*block, 1), 0);
  EXPECT_EQ(AllocateN(*block, 3), 16);
  EXPECT_EQ(AllocateN(*block, 16), 32);
  EXPECT_EQ(AllocateN(*block, 17), 48);  // two groups: 48..79
  EXPECT_EQ(AllocateN(*block, 1), 80);
  EXPECT_EQ(AllocateN(*block, 32), 96);
}

TEST(CountersBlockTest, AllocationsNeverShareALinePair) {
  TestBlock block(256);
  std::set<uintptr_t> line_pairs;
  for (int n : {1, 2, 5, 16, 17, 1, 30, 3}) {
    const int first = AllocateN(*block, n);
    ASSERT_GE(first, 0) << n << " counters";
    EXPECT_EQ(first % CountersBlock::kGroup, 0);
    const auto address = [&](int i) {
      return reinterpret_cast<uintptr_t>(&block->value(i));
    };
    EXPECT_EQ(address(first) % 128, 0u) << "allocation at " << first;
    std::set<uintptr_t> mine;
    for (int i = first; i < first + n; ++i) mine.insert(address(i) / 128);
    for (uintptr_t pair : mine) {
      EXPECT_TRUE(line_pairs.insert(pair).second)
          << "allocation at " << first << " shares line pair " << pair;
    }
  }
}

TEST(CountersBlockTest, ValuesAreSeparateFromMetadata) {
  TestBlock block(16);
  ASSERT_EQ(AllocateN(*block, 16), 0);
  const auto* begin = reinterpret_cast<const std::byte*>(&block->value(0));
  const auto* end = reinterpret_cast<const std::byte*>(&block->value(15) + 1);
  EXPECT_EQ(begin, block.memory() + kHeaderBytes +
                       16 * sizeof(CountersBlock::MetadataRecord));
  EXPECT_EQ(end, block.memory() + block.bytes());
}

TEST(CountersBlockTest, AllocateZeroesTheValues) {
  TestBlock block(16, kNoDelay);
  ASSERT_EQ(AllocateN(*block, 3), 0);
  for (int i = 0; i < 16; ++i) block->value(i).Set(1000 + i);
  block->Free(0, 3);
  ASSERT_EQ(AllocateN(*block, 3), 0);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(block->value(i).Load(), 0u) << i;
}

TEST(CountersBlockTest, AllocateFailsWhenTheBlockIsFull) {
  TestBlock block(32);
  ASSERT_EQ(AllocateN(*block, 1), 0);
  ASSERT_EQ(AllocateN(*block, 16), 16);
  std::string error;
  EXPECT_EQ(AllocateN(*block, 1, &error), -1);
  EXPECT_THAT(error, AllOf(HasSubstr("full"), HasSubstr("1 counters"),
                           HasSubstr("in 32")));
}

TEST(CountersBlockTest, AllocateFailsForARunLargerThanTheBlock) {
  TestBlock block(32);
  std::string error;
  EXPECT_EQ(AllocateN(*block, 33, &error), -1);
  EXPECT_THAT(error, HasSubstr("33 counters"));
  EXPECT_THAT(Visit(*block), IsEmpty());
  EXPECT_EQ(AllocateN(*block, 32), 0) << "a failed run leaves nothing claimed";
}

TEST(CountersBlockTest, AllocateSkipsGroupsThatAreTaken) {
  TestBlock block(64);
  ASSERT_EQ(AllocateN(*block, 1), 0);
  ASSERT_EQ(AllocateN(*block, 1), 16);
  ASSERT_EQ(AllocateN(*block, 1), 32);
  block->Free(16, 1);
  // Two adjacent free groups: none (16 is free but 32 is taken, and
  // 48..79 would pass the end). One group fits at 16, then at 48.
  std::string error;
  EXPECT_EQ(AllocateN(*block, 20, &error), -1);
  EXPECT_EQ(AllocateN(*block, 5), 16);
  EXPECT_EQ(AllocateN(*block, 5), 48);
}

TEST(CountersBlockTest, AllocateRejectsBadNames) {
  TestBlock block(16);
  const std::string too_long(64, 'a');
  for (const std::string& name :
       {std::string("9lives"), std::string("bad-name"), std::string("a b"),
        std::string("caf\xc3\xa9"), std::string("x{y}"), too_long}) {
    const CounterSpec spec[] = {{name, "help", "", CounterType::kCounter}};
    std::string error;
    EXPECT_EQ(block->Allocate(spec, &error), -1) << "'" << name << "'";
    EXPECT_THAT(error, HasSubstr("'" + name + "'"));
  }
  const CounterSpec empty[] = {{"", "help", "", CounterType::kCounter}};
  std::string error;
  EXPECT_EQ(block->Allocate(empty, &error), -1);
  EXPECT_THAT(error, HasSubstr("counter name ''"));
  EXPECT_THAT(Visit(*block), IsEmpty());
}

TEST(CountersBlockTest, AllocateAcceptsPrometheusNamesUpTo63Characters) {
  TestBlock block(5 * CountersBlock::kGroup);
  const std::string longest(63, 'z');
  for (const std::string& name :
       {std::string("a"), std::string("_x:y9"), std::string("A_b_0"),
        std::string(":colon"), longest}) {
    const CounterSpec spec[] = {{name, "", "", CounterType::kCounter}};
    std::string error;
    EXPECT_GE(block->Allocate(spec, &error), 0) << name << ": " << error;
  }
  std::vector<std::string> names;
  for (const Seen& s : Visit(*block)) names.push_back(s.name);
  EXPECT_THAT(names, ElementsAre("a", "_x:y9", "A_b_0", ":colon", longest));
}

TEST(CountersBlockTest, AllocateRejectsHelpOf64Characters) {
  TestBlock block(32);
  const std::string help63(63, 'h');
  const std::string help64(64, 'h');
  const CounterSpec ok[] = {{"ok_total", help63, "", CounterType::kCounter}};
  EXPECT_EQ(block->Allocate(ok, nullptr), 0);
  const CounterSpec bad[] = {{"bad_total", help64, "", CounterType::kCounter}};
  std::string error;
  EXPECT_EQ(block->Allocate(bad, &error), -1);
  EXPECT_THAT(error, AllOf(HasSubstr("help"), HasSubstr("'bad_total'")));
  EXPECT_EQ(Visit(*block).at(0).help, help63);
}

TEST(CountersBlockTest, AllocateRejectsLabelsOf96Characters) {
  TestBlock block(32);
  const std::string labels95 = "ring=\"" + std::string(88, 'r') + "\"";
  const std::string labels96 = "ring=\"" + std::string(89, 'r') + "\"";
  ASSERT_EQ(labels95.size(), 95u);
  const CounterSpec ok[] = {{"ok_total", "", labels95, CounterType::kCounter}};
  EXPECT_EQ(block->Allocate(ok, nullptr), 0);
  const CounterSpec bad[] = {
      {"bad_total", "", labels96, CounterType::kCounter}};
  std::string error;
  EXPECT_EQ(block->Allocate(bad, &error), -1);
  EXPECT_THAT(error,
              AllOf(HasSubstr("'" + labels96 + "'"), HasSubstr("'bad_total'")));
  EXPECT_EQ(Visit(*block).at(0).labels, labels95);
}

TEST(CountersBlockTest, AllocateWithOneBadSpecAllocatesNothing) {
  TestBlock block(16);
  const CounterSpec specs[] = {{"good_total", "", "", CounterType::kCounter},
                               {"bad name", "", "", CounterType::kCounter}};
  std::string error;
  EXPECT_EQ(block->Allocate(specs, &error), -1);
  EXPECT_THAT(error, HasSubstr("'bad name'"));
  EXPECT_THAT(Visit(*block), IsEmpty());
  EXPECT_EQ(AllocateN(*block, 16), 0) << "the group is still free";
}

// ---- Free and reuse -------------------------------------------------------
TEST(CountersBlockTest, FreedCountersAreReusableAfterAZeroDelay) {
  TestBlock block(32, kNoDelay);
  ASSERT_EQ(AllocateN(*block, 4), 0);
  ASSERT_EQ(AllocateN(*block, 4), 16);
  block->Free(0, 4);
  EXPECT_EQ(AllocateN(*block, 4), 0);
}

TEST(CountersBlockTest, FreedCountersRestDuringTheReuseDelay) {
  TestBlock block(32, kForever);
  ASSERT_EQ(AllocateN(*block, 4), 0);
  ASSERT_EQ(AllocateN(*block, 4), 16);
  block->Free(0, 4);
  std::string error;
  EXPECT_EQ(AllocateN(*block, 4, &error), -1) << "group 0 is resting";
  EXPECT_THAT(error, HasSubstr("full"));
}

TEST(CountersBlockTest, RestingGroupsAreSkippedForFreeOnes) {
  TestBlock block(48, kForever);
  ASSERT_EQ(AllocateN(*block, 1), 0);
  block->Free(0, 1);
  EXPECT_EQ(AllocateN(*block, 1), 16);
  EXPECT_EQ(AllocateN(*block, 1), 32);
}

TEST(CountersBlockTest, FreeReleasesEveryGroupOfARun) {
  TestBlock block(48, kNoDelay);
  ASSERT_EQ(AllocateN(*block, 20), 0);  // groups 0 and 1
  ASSERT_EQ(AllocateN(*block, 1), 32);
  block->Free(0, 20);
  EXPECT_EQ(AllocateN(*block, 32), 0);
}

TEST(CountersBlockTest, ForEachSkipsFreedCounters) {
  TestBlock block(32, kForever);
  ASSERT_EQ(AllocateN(*block, 2), 0);
  ASSERT_EQ(AllocateN(*block, 1), 16);
  block->Free(0, 2);
  EXPECT_THAT(Visit(*block), ElementsAre(Seen{16, CounterType::kCounter, 0,
                                              "c0", "help", "", 0}));
}

// ---- ForEach --------------------------------------------------------------
TEST(CountersBlockTest, ForEachVisitsExactlyTheAllocatedCounters) {
  TestBlock block(64);
  const std::string labels = "ring=\"r1\",consumer=\"c\"";
  const CounterSpec first_specs[] = {
      {"ringflow_x_total", "X total.", labels, CounterType::kCounter},
      {"ringflow_g", "A gauge.", labels, CounterType::kGauge},
      {"ringflow_h", "H.", labels, CounterType::kHistogramBucket, 4},
      {"ringflow_h", "H.", labels, CounterType::kHistogramBucket,
       std::numeric_limits<uint64_t>::max()},
      {"ringflow_h", "H.", labels, CounterType::kHistogramSum},
      {"ringflow_h", "H.", labels, CounterType::kHistogramCount},
  };
  const CounterSpec second_specs[] = {
      {"ringflow_y_total", "", "", CounterType::kCounter}};
  ASSERT_EQ(block->Allocate(first_specs, nullptr), 0);
  ASSERT_EQ(block->Allocate(second_specs, nullptr), 16);
  for (int i = 0; i < 6; ++i) block->value(i).Set(10 + i);
  block->value(16).Increment(99);

  EXPECT_THAT(
      Visit(*block),
      ElementsAre(
          Seen{0, CounterType::kCounter, 0, "ringflow_x_total", "X total.",
               labels, 10},
          Seen{1, CounterType::kGauge, 0, "ringflow_g", "A gauge.", labels, 11},
          Seen{2, CounterType::kHistogramBucket, 4, "ringflow_h", "H.", labels,
               12},
          Seen{3, CounterType::kHistogramBucket,
               std::numeric_limits<uint64_t>::max(), "ringflow_h", "H.", labels,
               13},
          Seen{4, CounterType::kHistogramSum, 0, "ringflow_h", "H.", labels,
               14},
          Seen{5, CounterType::kHistogramCount, 0, "ringflow_h", "H.", labels,
               15},
          Seen{16, CounterType::kCounter, 0, "ringflow_y_total", "", "", 99}));
}

TEST(CountersBlockTest, ForEachSeesValuesAsTheyChange) {
  TestBlock block(16);
  ASSERT_EQ(AllocateN(*block, 1), 0);
  for (uint64_t i = 1; i <= 5; ++i) {
    block->value(0).Increment();
    ASSERT_EQ(Visit(*block).at(0).value, i);
  }
}

// ---- ConsumerCounters / ProducerCounters ----------------------------------
TEST(ConsumerCountersTest, BucketsArePowersOfTwoUpTo2To18ThenInf) {
  EXPECT_EQ(ConsumerCounters::BucketOf(0), 0);
  EXPECT_EQ(ConsumerCounters::BucketOf(1), 0);
  EXPECT_EQ(ConsumerCounters::BucketOf(2), 1);
  EXPECT_EQ(ConsumerCounters::BucketOf(3), 2);
  EXPECT_EQ(ConsumerCounters::BucketOf(4), 2);
  EXPECT_EQ(ConsumerCounters::BucketOf(5), 3);
  EXPECT_EQ(ConsumerCounters::BucketOf(8), 3);
  EXPECT_EQ(ConsumerCounters::BucketOf(9), 4);
  EXPECT_EQ(ConsumerCounters::BucketOf(int64_t{1} << 18), 18);
  EXPECT_EQ(ConsumerCounters::BucketOf((int64_t{1} << 18) + 1), 19);
  EXPECT_EQ(ConsumerCounters::BucketOf(int64_t{1} << 40), 19);
  EXPECT_EQ(ConsumerCounters::kBuckets, 20);
}

TEST(ConsumerCountersTest, SpecsAreValidAndLabelled) {
  std::string labels;
  const std::vector<CounterSpec> specs =
      ConsumerCounters::Specs("ring-1", "journal#2", labels);
  EXPECT_EQ(labels, "ring=\"ring-1\",consumer=\"journal#2\"");
  ASSERT_EQ(specs.size(), static_cast<size_t>(ConsumerCounters::kCount));
  TestBlock block(32);
  std::string error;
  ASSERT_EQ(block->Allocate(specs, &error), 0) << error;
  std::vector<uint64_t> buckets;
  for (const Seen& s : Visit(*block)) {
    EXPECT_EQ(s.labels, labels);
    EXPECT_EQ(s.name.rfind("ringflow_consumer_", 0), 0u) << s.name;
    if (s.type == CounterType::kCounter) {
      EXPECT_THAT(s.name, ::testing::EndsWith("_total"));
    }
    if (s.type == CounterType::kHistogramBucket) buckets.push_back(s.le);
  }
  std::vector<uint64_t> expected;
  for (int i = 0; i < 19; ++i) expected.push_back(uint64_t{1} << i);
  expected.push_back(std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(buckets, expected);
}

TEST(ConsumerCountersTest, OnBatchUpdatesFourRecords) {
  std::string labels;
  const auto specs = ConsumerCounters::Specs("r", "c", labels);
  TestBlock block(32);
  ASSERT_EQ(block->Allocate(specs, nullptr), 0);
  ConsumerCounters counters(&block->value(0));
  counters.OnBatch(3, 10);
  counters.OnBatch(1, 4);
  counters.OnEmptyPoll();
  counters.OnException();
  EXPECT_EQ(counters.Get(ConsumerCounters::kEvents), 4u);
  EXPECT_EQ(counters.Get(ConsumerCounters::kBatches), 2u);
  EXPECT_EQ(counters.Get(ConsumerCounters::kBatchSizeSum), 4u);
  EXPECT_EQ(counters.Get(ConsumerCounters::kMaxLag), 10u);
  EXPECT_EQ(counters.Get(ConsumerCounters::kEmptyPolls), 1u);
  EXPECT_EQ(counters.Get(ConsumerCounters::kExceptions), 1u);
  EXPECT_EQ(counters.Get(ConsumerCounters::kFirstBucket + 0), 1u);  // 1
  EXPECT_EQ(counters.Get(ConsumerCounters::kFirstBucket + 2), 1u);  // 3
}

TEST(ConsumerCountersTest, NullViewIgnoresUpdates) {
  ConsumerCounters counters;
  counters.OnBatch(3, 10);
  counters.OnEmptyPoll();
  EXPECT_FALSE(counters.enabled());
  EXPECT_EQ(counters.Get(ConsumerCounters::kEvents), 0u);
}

TEST(ProducerCountersTest, SpecsAreLabelledWithTheRing) {
  std::string labels;
  const auto specs = ProducerCounters::Specs("orders", labels);
  EXPECT_EQ(labels, "ring=\"orders\"");
  TestBlock block(16);
  ASSERT_EQ(block->Allocate(specs, nullptr), 0);
  EXPECT_THAT(Visit(*block),
              ElementsAre(Seen{0, CounterType::kCounter, 0,
                               "ringflow_producer_full_waits_total",
                               std::string(specs[0].help), labels, 0},
                          Seen{1, CounterType::kCounter, 0,
                               "ringflow_producer_try_next_failures_total",
                               std::string(specs[1].help), labels, 0}));
}

}  // namespace
}  // namespace ringflow::core_internal
