// Tests for Sequence: its initial value, its layout (one sequence per
// false-sharing range), and that every accessor reads and writes the one
// value it wraps.

#include "ringflow/core/sequence.h"

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "gtest/gtest.h"
#include "ringflow/core/config.h"

namespace ringflow {
namespace {

TEST(SequenceTest, StartsAtMinusOne) {
  EXPECT_EQ(kInitialSequence, -1);
  const Sequence sequence;
  EXPECT_EQ(sequence.LoadAcquire(), -1);
  EXPECT_EQ(sequence.LoadRelaxed(), -1);
  EXPECT_EQ(sequence.LoadSeqCst(), -1);
}

TEST(SequenceTest, StartsAtExplicitInitialValue) {
  const Sequence sequence(41);
  EXPECT_EQ(sequence.LoadAcquire(), 41);
}

TEST(SequenceTest, OccupiesExactlyOneFalseSharingRange) {
  static_assert(kFalseSharingRange == 128);
  static_assert(sizeof(Sequence) == 128);
  static_assert(alignof(Sequence) == 128);
  static_assert(std::is_standard_layout_v<Sequence>);
  static_assert(!std::is_copy_constructible_v<Sequence>);
  static_assert(!std::is_copy_assignable_v<Sequence>);

  // Neighbours in an array sit exactly one range apart, on a range boundary.
  std::array<Sequence, 3> sequences;
  const auto address = [&](int i) {
    return reinterpret_cast<std::uintptr_t>(&sequences[i]);
  };
  EXPECT_EQ(address(0) % 128, 0u);
  EXPECT_EQ(address(1) - address(0), 128u);
  EXPECT_EQ(address(2) - address(1), 128u);
}

TEST(SequenceTest, EveryStoreIsSeenByEveryLoad) {
  Sequence sequence;
  const auto expect_all_loads = [&](int64_t expected) {
    EXPECT_EQ(sequence.LoadAcquire(), expected);
    EXPECT_EQ(sequence.LoadRelaxed(), expected);
    EXPECT_EQ(sequence.LoadSeqCst(), expected);
    EXPECT_EQ(sequence.Load(std::memory_order_acquire), expected);
    EXPECT_EQ(sequence.Load(std::memory_order_seq_cst), expected);
  };

  sequence.StoreRelease(7);
  expect_all_loads(7);
  sequence.StoreSeqCst(-12);
  expect_all_loads(-12);
  sequence.StoreRelaxed(std::numeric_limits<int64_t>::max());
  expect_all_loads(std::numeric_limits<int64_t>::max());
  sequence.StoreRelease(std::numeric_limits<int64_t>::min());
  expect_all_loads(std::numeric_limits<int64_t>::min());
}

TEST(SequenceTest, FetchAddSeqCstReturnsPreviousValue) {
  Sequence sequence;
  EXPECT_EQ(sequence.FetchAddSeqCst(1), -1);
  EXPECT_EQ(sequence.FetchAddSeqCst(16), 0);
  EXPECT_EQ(sequence.FetchAddSeqCst(-3), 16);
  EXPECT_EQ(sequence.LoadAcquire(), 13);
}

TEST(SequenceTest, CompareExchangeFailsAndReportsCurrentValueOnMismatch) {
  Sequence sequence(10);
  int64_t expected = 9;
  EXPECT_FALSE(sequence.CompareExchange(expected, 20));
  EXPECT_EQ(expected, 10);
  EXPECT_EQ(sequence.LoadAcquire(), 10);
}

TEST(SequenceTest, CompareExchangeSwapsWhenExpectedMatches) {
  Sequence sequence(10);
  int64_t expected = 10;
  // A weak CAS may fail spuriously; it then leaves `expected` unchanged.
  while (!sequence.CompareExchange(expected, 20)) {
    ASSERT_EQ(expected, 10);
  }
  EXPECT_EQ(expected, 10);
  EXPECT_EQ(sequence.LoadAcquire(), 20);
}

}  // namespace
}  // namespace ringflow
