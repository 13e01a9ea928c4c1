// ringflow/core/internal/status_macros.h
//
// Provides RINGFLOW_RETURN_IF_ERROR and RINGFLOW_ASSIGN_OR_RETURN, which the
// Abseil release we build against (20220623) does not ship, and their
// co_return forms for coroutines (RINGFLOW_CO_...).
//
// Use them only on setup paths: the hot path never produces a Status.

#ifndef RINGFLOW_CORE_INTERNAL_STATUS_MACROS_H_
#define RINGFLOW_CORE_INTERNAL_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Evaluates `expr` (an absl::Status) once; returns it from the enclosing
// function when it is not OK.
#define RINGFLOW_RETURN_IF_ERROR(expr)                   \
  do {                                                   \
    ::absl::Status ringflow_status_ = (expr);            \
    if (!ringflow_status_.ok()) return ringflow_status_; \
  } while (false)

#define RINGFLOW_INTERNAL_CONCAT_INNER(a, b) a##b
#define RINGFLOW_INTERNAL_CONCAT(a, b) RINGFLOW_INTERNAL_CONCAT_INNER(a, b)

// `lhs` may be a declaration (`auto x`) or an existing lvalue. Evaluates
// `rexpr` (an absl::StatusOr<T>) once; returns its status when not OK,
// otherwise moves the value into `lhs`.
#define RINGFLOW_ASSIGN_OR_RETURN(lhs, rexpr) \
  RINGFLOW_INTERNAL_ASSIGN_OR_RETURN(         \
      RINGFLOW_INTERNAL_CONCAT(ringflow_statusor_, __LINE__), lhs, rexpr)

#define RINGFLOW_INTERNAL_ASSIGN_OR_RETURN(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                                       \
  if (!tmp.ok()) return std::move(tmp).status();            \
  lhs = std::move(tmp).value()

// The same two in a coroutine (co_return instead of return).
#define RINGFLOW_CO_RETURN_IF_ERROR(expr)                   \
  do {                                                      \
    ::absl::Status ringflow_status_ = (expr);               \
    if (!ringflow_status_.ok()) co_return ringflow_status_; \
  } while (false)

#define RINGFLOW_CO_ASSIGN_OR_RETURN(lhs, rexpr) \
  RINGFLOW_INTERNAL_CO_ASSIGN_OR_RETURN(         \
      RINGFLOW_INTERNAL_CONCAT(ringflow_statusor_, __LINE__), lhs, rexpr)

#define RINGFLOW_INTERNAL_CO_ASSIGN_OR_RETURN(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                                          \
  if (!tmp.ok()) co_return std::move(tmp).status();            \
  lhs = std::move(tmp).value()

#endif  // RINGFLOW_CORE_INTERNAL_STATUS_MACROS_H_
