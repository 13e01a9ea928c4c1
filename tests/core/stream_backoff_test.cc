// Tests for core_internal::StreamBackoff: when a consumer loop pauses after
// a batch, and how long. The pause count is the policy; its effect on
// throughput is measured by the OneToOne benchmark, not here.

#include "ringflow/core/internal/stream_backoff.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ringflow::core_internal {
namespace {

using ::testing::ElementsAre;

constexpr int64_t kSmall = StreamBackoff::kSmallBatch - 1;
constexpr int64_t kMedium = StreamBackoff::kSmallBatch;
constexpr int64_t kLarge = StreamBackoff::kLargeBatch;

// The pauses taken after each of `batches` (size, waited).
std::vector<int> PausesAfter(
    int max_pauses, const std::vector<std::pair<int64_t, bool>>& batches) {
  StreamBackoff backoff(max_pauses);
  std::vector<int> pauses;
  for (const auto& [size, waited] : batches) {
    backoff.AfterBatch(size, waited);
    pauses.push_back(backoff.pauses());
  }
  return pauses;
}

TEST(StreamBackoffTest, SmallBatchesReadyAtOnceGrowThePauseUpToTheMaximum) {
  EXPECT_THAT(PausesAfter(16, {{1, false},
                               {1, false},
                               {kSmall, false},
                               {2, false},
                               {1, false},
                               {1, false}}),
              ElementsAre(1, 3, 7, 15, 16, 16));
}

TEST(StreamBackoffTest, ALoneEventWaitedForDropsThePauseAtOnce) {
  EXPECT_THAT(
      PausesAfter(16,
                  {{1, false}, {1, false}, {1, false}, {1, true}, {1, false}}),
      ElementsAre(1, 3, 7, 0, 1));
}

TEST(StreamBackoffTest, CatchingUpWithADenseStreamStartsThePause) {
  // Two or more events gathered while the consumer spun without pausing:
  // it caught up with a dense stream. Without this rule a consumer faster
  // than its producer never pauses (every batch is waited for) and reads
  // after every event or two.
  EXPECT_THAT(PausesAfter(256, {{2, true}, {kSmall, false}, {kMedium, false}}),
              ElementsAre(StreamBackoff::kFirstPause,
                          2 * StreamBackoff::kFirstPause + 1,
                          2 * StreamBackoff::kFirstPause + 1));
  // Never beyond the maximum.
  EXPECT_THAT(PausesAfter(4, {{kLarge, true}}), ElementsAre(4));
}

TEST(StreamBackoffTest, AWaitAfterAPauseHalvesIt) {
  // The pause outlasted the gap between events: the stream is not dense
  // enough for it.
  EXPECT_THAT(
      PausesAfter(256, {{2, true}, {2, true}, {2, true}, {5, true}}),
      ElementsAre(StreamBackoff::kFirstPause, StreamBackoff::kFirstPause / 2,
                  StreamBackoff::kFirstPause / 4,
                  StreamBackoff::kFirstPause / 8));
  // A large batch waited for after a pause halves it too.
  EXPECT_THAT(PausesAfter(16, {{1, false}, {1, false}, {kLarge, true}}),
              ElementsAre(1, 3, 1));
}

TEST(StreamBackoffTest, NextReturnsThePauseWithoutTakingIt) {
  StreamBackoff backoff(16);
  EXPECT_EQ(backoff.Next(1, false), 1);
  EXPECT_EQ(backoff.Next(1, false), 3);
  EXPECT_EQ(backoff.pauses(), 3);
  EXPECT_EQ(backoff.Next(1, true), 0);
}

TEST(StreamBackoffTest, PauseNanosIsMeasuredOnceAndPositive) {
  const int64_t first = StreamBackoff::PauseNanos();
  EXPECT_GE(first, 1);
  EXPECT_EQ(StreamBackoff::PauseNanos(), first);
}

TEST(StreamBackoffTest, RequestReplyNeverPauses) {
  // A PingPong consumer waits for every event.
  std::vector<std::pair<int64_t, bool>> batches(100, {1, true});
  for (const int pauses : PausesAfter(1024, batches)) EXPECT_EQ(pauses, 0);
}

TEST(StreamBackoffTest, MediumBatchesKeepThePauseAndLargeOnesHalveIt) {
  EXPECT_THAT(PausesAfter(16, {{1, false},
                               {1, false},
                               {1, false},
                               {kMedium, false},
                               {kLarge - 1, false},
                               {kLarge, false},
                               {kLarge, false},
                               {kLarge, false}}),
              ElementsAre(1, 3, 7, 7, 7, 3, 1, 0));
}

TEST(StreamBackoffTest, ZeroMaximumNeverPauses) {
  EXPECT_THAT(PausesAfter(0, {{1, false}, {1, false}, {kSmall, false}}),
              ElementsAre(0, 0, 0));
}

TEST(StreamBackoffTest, TheLargestMaximumIsReachedAndHeld) {
  StreamBackoff backoff(StreamBackoff::kMaxPauses);
  for (int i = 0; i < 12; ++i) backoff.AfterBatch(1, false);
  EXPECT_EQ(backoff.pauses(), StreamBackoff::kMaxPauses);
}

TEST(StreamBackoffTest, ValidateNamesAValueOutOfRange) {
  EXPECT_TRUE(StreamBackoff::Validate(0).ok());
  EXPECT_TRUE(StreamBackoff::Validate(StreamBackoff::kMaxPauses).ok());
  for (const int bad : {-1, StreamBackoff::kMaxPauses + 1}) {
    const absl::Status status = StreamBackoff::Validate(bad);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(status.message()),
                ::testing::HasSubstr(absl::StrCat("stream_backoff_pauses ", bad,
                                                  " must be in [0, 1024]")));
  }
}

}  // namespace
}  // namespace ringflow::core_internal
