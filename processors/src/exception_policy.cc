#include "ringflow/processors/exception_policy.h"

#include <cstdio>
#include <exception>
#include <string>

namespace ringflow::processors_internal {

std::string CurrentExceptionMessage() {
  try {
    throw;
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception";
  }
}

void LogHandlerException(std::string_view processor, int64_t sequence,
                         std::string_view what, std::string_view action) {
  std::fprintf(stderr,
               "ringflow: handler '%.*s' threw at sequence %lld: %.*s (%.*s)\n",
               static_cast<int>(processor.size()), processor.data(),
               static_cast<long long>(sequence), static_cast<int>(what.size()),
               what.data(), static_cast<int>(action.size()), action.data());
}

}  // namespace ringflow::processors_internal
