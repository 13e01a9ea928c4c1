// Tests for RingOptions validation, through RingBuffer<E>::Create (the way
// users meet it) and ValidateRingOptions (for limits too large to allocate
// in a test). Every rejection is InvalidArgument and names the bad value.

#include "ringflow/core/ring_options.h"

#include <array>
#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ringflow/core/ring_buffer.h"
#include "support/status_matchers.h"

namespace ringflow {
namespace {

using ::ringflow::testing::IsOk;
using ::ringflow::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

using Ring = RingBuffer<int64_t>;

// 1 MiB: 2^20 of them reach the 1 TiB limit on the event array.
struct MebibyteEvent {
  std::array<std::byte, std::size_t{1} << 20> bytes;
};

RingOptions WithCapacity(int64_t capacity) {
  return RingOptions{.capacity = capacity};
}

TEST(RingBufferTest, RejectsZeroCapacity) {
  EXPECT_THAT(
      Ring::Create(WithCapacity(0)),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("capacity 0")));
}

TEST(RingBufferTest, RejectsNegativeCapacity) {
  EXPECT_THAT(
      Ring::Create(WithCapacity(-8)),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("capacity -8")));
  EXPECT_THAT(Ring::Create(WithCapacity(INT64_MIN)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("-9223372036854775808")));
}

TEST(RingBufferTest, RejectsNonPowerOfTwoCapacity) {
  EXPECT_THAT(
      Ring::Create(WithCapacity(3)),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("capacity 3"), HasSubstr("power of two"))));
  EXPECT_THAT(Ring::Create(WithCapacity(1000)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("1000"), HasSubstr("power of two"))));
  EXPECT_THAT(Ring::Create(WithCapacity(INT64_MAX)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("9223372036854775807")));
}

TEST(RingBufferTest, RejectsCapacityAboveMaximum) {
  EXPECT_THAT(
      Ring::Create(WithCapacity(kMaxCapacity * 2)),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("2147483648"), HasSubstr("1073741824"))));
  EXPECT_THAT(Ring::Create(WithCapacity(int64_t{1} << 62)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("4611686018427387904")));
}

TEST(RingBufferTest, AcceptsMaximumCapacity) {
  // Checked without allocating 8 GiB of events.
  EXPECT_THAT(ValidateRingOptions(WithCapacity(kMaxCapacity), sizeof(int64_t)),
              IsOk());
}

TEST(RingBufferTest, AcceptsCapacityOneAndTwo) {
  for (const int64_t capacity : {1, 2}) {
    SCOPED_TRACE(capacity);
    const auto ring = Ring::Create(WithCapacity(capacity));
    ASSERT_THAT(ring, IsOk());
    EXPECT_EQ((*ring)->capacity(), capacity);
  }
}

TEST(RingBufferTest, RejectsEventArrayAboveByteLimit) {
  // 2^21 slots x 1 MiB = 2 TiB, over the 1 TiB limit. Rejected before
  // anything is allocated.
  EXPECT_THAT(RingBuffer<MebibyteEvent>::Create(WithCapacity(int64_t{1} << 21)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("2097152"), HasSubstr("1048576"))));
}

TEST(RingBufferTest, AcceptsEventArrayAtByteLimit) {
  // 2^20 slots x 1 MiB = exactly 1 TiB: the limit is inclusive.
  EXPECT_THAT(ValidateRingOptions(WithCapacity(int64_t{1} << 20),
                                  sizeof(MebibyteEvent)),
              IsOk());
}

TEST(RingBufferTest, RejectsCapacityTimesEventSizeThatOverflows) {
  // 2^30 slots x 2^34 bytes = 2^64: zero in a size_t if it were multiplied.
  EXPECT_THAT(
      ValidateRingOptions(WithCapacity(kMaxCapacity), std::size_t{1} << 34),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("1073741824"), HasSubstr("17179869184"))));
  // 2^30 slots x (2^64 - 1) bytes.
  EXPECT_THAT(ValidateRingOptions(WithCapacity(kMaxCapacity), SIZE_MAX),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("18446744073709551615")));
}

TEST(RingBufferTest, RejectsZeroMaxConsumers) {
  EXPECT_THAT(Ring::Create({.capacity = 8, .max_consumers = 0}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("max_consumers 0")));
}

TEST(RingBufferTest, RejectsMaxConsumersAboveLimit) {
  EXPECT_THAT(
      Ring::Create({.capacity = 8, .max_consumers = 257}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("max_consumers 257"), HasSubstr("256"))));
  EXPECT_THAT(Ring::Create({.capacity = 8, .max_consumers = -1}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("max_consumers -1")));
}

TEST(RingBufferTest, AcceptsMaxConsumersAtBounds) {
  for (const int max_consumers : {1, kMaxConsumers}) {
    SCOPED_TRACE(max_consumers);
    const auto ring =
        Ring::Create({.capacity = 8, .max_consumers = max_consumers});
    ASSERT_THAT(ring, IsOk());
    EXPECT_EQ((*ring)->consumers().capacity(), max_consumers);
  }
}

TEST(RingBufferTest, RejectsTimeoutBlockingWithoutPositiveTimeout) {
  EXPECT_THAT(Ring::Create({.capacity = 8,
                            .wait_strategy = WaitStrategyKind::kTimeoutBlocking,
                            .wait_timeout = absl::ZeroDuration()}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("wait_timeout 0")));
  EXPECT_THAT(Ring::Create({.capacity = 8,
                            .wait_strategy = WaitStrategyKind::kTimeoutBlocking,
                            .wait_timeout = absl::Milliseconds(-5)}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("wait_timeout -5ms")));
}

TEST(RingBufferTest, IgnoresTimeoutForOtherWaitStrategies) {
  for (const WaitStrategyKind kind :
       {WaitStrategyKind::kBusySpin, WaitStrategyKind::kYielding,
        WaitStrategyKind::kSleeping, WaitStrategyKind::kBlocking}) {
    SCOPED_TRACE(WaitStrategyName(kind));
    EXPECT_THAT(Ring::Create({.capacity = 8,
                              .wait_strategy = kind,
                              .wait_timeout = absl::ZeroDuration()}),
                IsOk());
  }
}

TEST(RingBufferTest, RejectsUnknownEnumValues) {
  EXPECT_THAT(Ring::Create({.capacity = 8,
                            .producer_type = static_cast<ProducerType>(7)}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("producer_type 7")));
  EXPECT_THAT(Ring::Create({.capacity = 8,
                            .wait_strategy = static_cast<WaitStrategyKind>(9)}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("wait_strategy 9")));
}

TEST(RingBufferTest, KeepsTheOptionsItWasCreatedWith) {
  const RingOptions options{.capacity = 16,
                            .producer_type = ProducerType::kSingle,
                            .wait_strategy = WaitStrategyKind::kYielding,
                            .max_consumers = 3};
  const auto ring = Ring::Create(options);
  ASSERT_THAT(ring, IsOk());
  EXPECT_EQ((*ring)->capacity(), 16);
  EXPECT_EQ((*ring)->options().producer_type, ProducerType::kSingle);
  EXPECT_EQ((*ring)->wait_strategy().kind(), WaitStrategyKind::kYielding);
  EXPECT_EQ((*ring)->consumers().capacity(), 3);
  EXPECT_EQ((*ring)->Cursor(), kInitialSequence);
}

TEST(RingBufferTest, NamesProducerTypesAndWaitStrategies) {
  EXPECT_EQ(ProducerTypeName(ProducerType::kSingle), "single");
  EXPECT_EQ(ProducerTypeName(ProducerType::kMulti), "multi");
  EXPECT_EQ(WaitStrategyName(WaitStrategyKind::kBusySpin), "busy-spin");
  EXPECT_EQ(WaitStrategyName(WaitStrategyKind::kYielding), "yielding");
  EXPECT_EQ(WaitStrategyName(WaitStrategyKind::kSleeping), "sleeping");
  EXPECT_EQ(WaitStrategyName(WaitStrategyKind::kBlocking), "blocking");
  EXPECT_EQ(WaitStrategyName(WaitStrategyKind::kTimeoutBlocking),
            "timeout-blocking");
}

}  // namespace
}  // namespace ringflow
