// tests/support/topo_names.h
//
// CamelCase names of producer types and wait strategies for
// parameterised-test names ("MultiBlocking", "4WorkersYielding"): gtest
// names may hold only letters, digits and underscores, which rules out the
// library's "busy-spin".

#ifndef RINGFLOW_TESTS_SUPPORT_TOPO_NAMES_H_
#define RINGFLOW_TESTS_SUPPORT_TOPO_NAMES_H_

#include "ringflow/core/ring_options.h"

namespace ringflow::testing {

constexpr const char* CamelName(ProducerType type) {
  return type == ProducerType::kSingle ? "Single" : "Multi";
}

constexpr const char* CamelName(WaitStrategyKind kind) {
  switch (kind) {
    case WaitStrategyKind::kBusySpin:
      return "BusySpin";
    case WaitStrategyKind::kYielding:
      return "Yielding";
    case WaitStrategyKind::kSleeping:
      return "Sleeping";
    case WaitStrategyKind::kBlocking:
      return "Blocking";
    case WaitStrategyKind::kTimeoutBlocking:
      return "TimeoutBlocking";
  }
  return "Unknown";
}

}  // namespace ringflow::testing

#endif  // RINGFLOW_TESTS_SUPPORT_TOPO_NAMES_H_
