// tests/support/status_matchers.h
//
// gMock matchers for absl::Status / absl::StatusOr, which Abseil 20220623
// does not ship:
//
//   EXPECT_THAT(ring.status(), IsOk());
//   EXPECT_THAT(RingBuffer<int>::Create({.capacity = 3}),
//               StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("3")));

#ifndef RINGFLOW_TESTS_SUPPORT_STATUS_MATCHERS_H_
#define RINGFLOW_TESTS_SUPPORT_STATUS_MATCHERS_H_

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"

namespace ringflow::testing {

inline const absl::Status& GetStatus(const absl::Status& status) {
  return status;
}
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

MATCHER(IsOk, "is OK") {
  const absl::Status& status = GetStatus(arg);
  if (!status.ok()) *result_listener << "status is " << status.ToString();
  return status.ok();
}

MATCHER_P(StatusIs, code, "has status code " + absl::StatusCodeToString(code)) {
  const absl::Status& status = GetStatus(arg);
  *result_listener << "status is " << status.ToString();
  return status.code() == code;
}

MATCHER_P2(StatusIs, code, message_matcher,
           "has status code " + absl::StatusCodeToString(code) +
               " and a matching message") {
  const absl::Status& status = GetStatus(arg);
  *result_listener << "status is " << status.ToString();
  return status.code() == code &&
         ::testing::Matches(message_matcher)(std::string(status.message()));
}

}  // namespace ringflow::testing

// Unwraps an OK StatusOr in a test, failing the test otherwise.
#define ASSERT_OK_AND_ASSIGN(lhs, rexpr)                                    \
  ASSERT_OK_AND_ASSIGN_IMPL(RINGFLOW_TEST_CONCAT(statusor_, __LINE__), lhs, \
                            rexpr)
#define RINGFLOW_TEST_CONCAT_INNER(a, b) a##b
#define RINGFLOW_TEST_CONCAT(a, b) RINGFLOW_TEST_CONCAT_INNER(a, b)
#define ASSERT_OK_AND_ASSIGN_IMPL(tmp, lhs, rexpr)  \
  auto tmp = (rexpr);                               \
  ASSERT_TRUE(tmp.ok()) << tmp.status().ToString(); \
  lhs = std::move(tmp).value()

#define ASSERT_OK(expr) ASSERT_THAT((expr), ::ringflow::testing::IsOk())
#define EXPECT_OK(expr) EXPECT_THAT((expr), ::ringflow::testing::IsOk())

#endif  // RINGFLOW_TESTS_SUPPORT_STATUS_MATCHERS_H_
