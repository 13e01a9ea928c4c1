#include "ringflow/core/ring_options.h"

#include <cstdint>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "ringflow/core/internal/status_macros.h"

namespace ringflow {

std::string_view ProducerTypeName(ProducerType type) {
  switch (type) {
    case ProducerType::kSingle:
      return "single";
    case ProducerType::kMulti:
      return "multi";
  }
  return "unknown";
}

std::string_view WaitStrategyName(WaitStrategyKind kind) {
  switch (kind) {
    case WaitStrategyKind::kBusySpin:
      return "busy-spin";
    case WaitStrategyKind::kYielding:
      return "yielding";
    case WaitStrategyKind::kSleeping:
      return "sleeping";
    case WaitStrategyKind::kBlocking:
      return "blocking";
    case WaitStrategyKind::kTimeoutBlocking:
      return "timeout-blocking";
  }
  return "unknown";
}

namespace {
bool NameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-' || c == '#';
}
}  // namespace

absl::Status ValidateName(std::string_view what, std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(what), " '", std::string(name),
                     "' must be 1 to ", kMaxNameLength, " characters"));
  }
  for (char c : name) {
    if (!NameChar(c)) {
      return absl::InvalidArgumentError(absl::StrCat(
          std::string(what), " '", std::string(name),
          "' may only use letters, digits and '_', '.', '-', '#'"));
    }
  }
  return absl::OkStatus();
}

std::string SanitizeName(std::string_view name) {
  // A C++ type name: drop template arguments and namespaces.
  if (const size_t lt = name.find('<'); lt != std::string_view::npos) {
    name = name.substr(0, lt);
  }
  if (const size_t colon = name.rfind("::"); colon != std::string_view::npos) {
    name = name.substr(colon + 2);
  }
  std::string out;
  for (char c : name) {
    if (out.size() == kMaxNameLength) break;
    out += NameChar(c) ? c : '_';
  }
  return out.empty() ? std::string("consumer") : out;
}

absl::Status ValidateProducerAndWait(ProducerType producer_type,
                                     WaitStrategyKind wait_strategy,
                                     absl::Duration wait_timeout) {
  if (producer_type != ProducerType::kSingle &&
      producer_type != ProducerType::kMulti) {
    return absl::InvalidArgumentError(
        absl::StrCat("producer_type ", static_cast<int>(producer_type),
                     " is not a ProducerType"));
  }
  if (static_cast<uint8_t>(wait_strategy) >
      static_cast<uint8_t>(WaitStrategyKind::kTimeoutBlocking)) {
    return absl::InvalidArgumentError(
        absl::StrCat("wait_strategy ", static_cast<int>(wait_strategy),
                     " is not a WaitStrategyKind"));
  }
  if (wait_strategy == WaitStrategyKind::kTimeoutBlocking &&
      wait_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("wait_timeout ", absl::FormatDuration(wait_timeout),
                     " must be positive for the timeout-blocking strategy"));
  }
  return absl::OkStatus();
}

absl::Status ValidateRingOptions(const RingOptions& options,
                                 std::size_t event_size) {
  const int64_t capacity = options.capacity;
  if (capacity < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("capacity ", capacity, " must be at least 1"));
  }
  if ((capacity & (capacity - 1)) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("capacity ", capacity, " is not a power of two"));
  }
  if (capacity > kMaxCapacity) {
    return absl::InvalidArgumentError(absl::StrCat(
        "capacity ", capacity, " exceeds the maximum ", kMaxCapacity));
  }
  // 1 TiB of events is far beyond any sane ring and keeps the product of
  // capacity and event size away from overflow.
  constexpr uint64_t kMaxBytes = uint64_t{1} << 40;
  if (event_size != 0 &&
      static_cast<uint64_t>(capacity) > kMaxBytes / event_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("capacity ", capacity, " x event size ", event_size,
                     " bytes exceeds the 1 TiB limit"));
  }
  RINGFLOW_RETURN_IF_ERROR(ValidateProducerAndWait(
      options.producer_type, options.wait_strategy, options.wait_timeout));
  RINGFLOW_RETURN_IF_ERROR(ValidateName("ring name", options.name));
  if (options.max_consumers < 1 || options.max_consumers > kMaxConsumers) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_consumers ", options.max_consumers,
                     " is outside [1, ", kMaxConsumers, "]"));
  }
  return absl::OkStatus();
}

}  // namespace ringflow
