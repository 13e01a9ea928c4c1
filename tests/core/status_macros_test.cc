// Tests for RINGFLOW_RETURN_IF_ERROR and RINGFLOW_ASSIGN_OR_RETURN: each
// evaluates its argument exactly once, returns the error unchanged, and
// otherwise lets the function go on (assigning the value).

#include "ringflow/core/internal/status_macros.h"

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "support/status_matchers.h"

namespace ringflow {
namespace {

using ::ringflow::testing::IsOk;
using ::ringflow::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Pointee;

// Returns `result` and counts how often it was called.
class Source {
 public:
  absl::Status Status(absl::Status result) {
    ++calls_;
    return result;
  }
  absl::StatusOr<int> Int(absl::StatusOr<int> result) {
    ++calls_;
    return result;
  }
  int calls() const { return calls_; }

 private:
  int calls_ = 0;
};

absl::Status CheckTwice(Source& source, absl::Status first, absl::Status second,
                        bool& finished) {
  RINGFLOW_RETURN_IF_ERROR(source.Status(std::move(first)));
  RINGFLOW_RETURN_IF_ERROR(source.Status(std::move(second)));
  finished = true;
  return absl::OkStatus();
}

TEST(StatusMacrosTest, ReturnIfErrorGoesOnWhenOk) {
  Source source;
  bool finished = false;
  EXPECT_THAT(CheckTwice(source, absl::OkStatus(), absl::OkStatus(), finished),
              IsOk());
  EXPECT_TRUE(finished);
  EXPECT_EQ(source.calls(), 2);
}

TEST(StatusMacrosTest, ReturnIfErrorReturnsTheError) {
  Source source;
  bool finished = false;
  EXPECT_THAT(
      CheckTwice(source, absl::NotFoundError("no ring named x"),
                 absl::OkStatus(), finished),
      StatusIs(absl::StatusCode::kNotFound, HasSubstr("no ring named x")));
  EXPECT_FALSE(finished);
  // Evaluated once, and the statements after it did not run.
  EXPECT_EQ(source.calls(), 1);

  source = Source();
  EXPECT_THAT(CheckTwice(source, absl::OkStatus(),
                         absl::InvalidArgumentError("capacity 3"), finished),
              StatusIs(absl::StatusCode::kInvalidArgument, "capacity 3"));
  EXPECT_FALSE(finished);
  EXPECT_EQ(source.calls(), 2);
}

absl::StatusOr<std::string> DescribeOrError(absl::Status status) {
  RINGFLOW_RETURN_IF_ERROR(status);
  return std::string("fine");
}

TEST(StatusMacrosTest, ReturnIfErrorWorksInFunctionsReturningStatusOr) {
  EXPECT_THAT(DescribeOrError(absl::OkStatus()), IsOk());
  EXPECT_EQ(*DescribeOrError(absl::OkStatus()), "fine");
  EXPECT_THAT(DescribeOrError(absl::DataLossError("torn")),
              StatusIs(absl::StatusCode::kDataLoss, "torn"));
}

absl::StatusOr<int> AddOne(Source& source, absl::StatusOr<int> input,
                           bool& finished) {
  RINGFLOW_ASSIGN_OR_RETURN(const int value, source.Int(std::move(input)));
  finished = true;
  return value + 1;
}

TEST(StatusMacrosTest, AssignOrReturnDeclaresAndAssignsOnOk) {
  Source source;
  bool finished = false;
  const absl::StatusOr<int> result = AddOne(source, 41, finished);
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(*result, 42);
  EXPECT_TRUE(finished);
  EXPECT_EQ(source.calls(), 1);
}

TEST(StatusMacrosTest, AssignOrReturnReturnsTheError) {
  Source source;
  bool finished = false;
  EXPECT_THAT(
      AddOne(source, absl::ResourceExhaustedError("all 2 slots"), finished),
      StatusIs(absl::StatusCode::kResourceExhausted, "all 2 slots"));
  EXPECT_FALSE(finished);
  EXPECT_EQ(source.calls(), 1);
}

// Assigns into an existing variable; `target` keeps its value on error.
absl::Status AssignTwice(Source& source, absl::StatusOr<int> first,
                         absl::StatusOr<int> second, int& target) {
  RINGFLOW_ASSIGN_OR_RETURN(target, source.Int(std::move(first)));
  RINGFLOW_ASSIGN_OR_RETURN(target, source.Int(std::move(second)));
  return absl::OkStatus();
}

TEST(StatusMacrosTest, AssignOrReturnAssignsAnExistingVariable) {
  Source source;
  int target = -1;
  EXPECT_THAT(AssignTwice(source, 1, 2, target), IsOk());
  EXPECT_EQ(target, 2);
  EXPECT_EQ(source.calls(), 2);

  source = Source();
  target = -1;
  EXPECT_THAT(AssignTwice(source, 7, absl::UnavailableError("gone"), target),
              StatusIs(absl::StatusCode::kUnavailable, "gone"));
  // The first assignment happened; the failed second one left it alone.
  EXPECT_EQ(target, 7);
  EXPECT_EQ(source.calls(), 2);
}

absl::StatusOr<std::unique_ptr<int>> MakeBox(bool ok) {
  if (!ok) return absl::InternalError("no box");
  return std::make_unique<int>(5);
}

absl::StatusOr<int> Unbox(bool ok) {
  RINGFLOW_ASSIGN_OR_RETURN(std::unique_ptr<int> box, MakeBox(ok));
  return *box * 2;
}

TEST(StatusMacrosTest, AssignOrReturnMovesMoveOnlyValues) {
  EXPECT_THAT(Unbox(true), IsOk());
  EXPECT_EQ(*Unbox(true), 10);
  EXPECT_THAT(Unbox(false), StatusIs(absl::StatusCode::kInternal, "no box"));

  std::unique_ptr<int> target;
  const auto assign = [&](bool ok) -> absl::Status {
    RINGFLOW_ASSIGN_OR_RETURN(target, MakeBox(ok));
    return absl::OkStatus();
  };
  EXPECT_THAT(assign(true), IsOk());
  EXPECT_THAT(target, Pointee(5));
}

}  // namespace
}  // namespace ringflow
