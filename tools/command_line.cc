#include "tools/command_line.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ringflow::tools {

void ParseCommandFlags(int argc, char** argv, const char* usage) {
  absl::SetProgramUsageMessage(usage);
  absl::FlagsUsageConfig config;
  // --help lists only the flags of the tools/ sources.
  config.contains_help_flags = [](absl::string_view file) {
    return absl::StrContains(file, "tools/");
  };
  config.normalize_filename = [](absl::string_view file) {
    return std::string(file);
  };
  absl::SetFlagsUsageConfig(config);
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() > 1) {
    std::fprintf(stderr, "%s: unexpected argument '%s'\nusage: %s\n", argv[0],
                 positional[1], usage);
    std::exit(1);
  }
}

absl::StatusOr<WaitStrategyKind> ParseWaitStrategy(std::string_view name) {
  for (WaitStrategyKind kind :
       {WaitStrategyKind::kBusySpin, WaitStrategyKind::kYielding,
        WaitStrategyKind::kSleeping, WaitStrategyKind::kBlocking,
        WaitStrategyKind::kTimeoutBlocking}) {
    if (WaitStrategyName(kind) == name) return kind;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("wait strategy '", std::string(name),
                   "' is not one of busy-spin, yielding, sleeping, blocking, "
                   "timeout-blocking"));
}

absl::StatusOr<ProducerType> ParseProducerType(std::string_view name) {
  if (name == "single") return ProducerType::kSingle;
  if (name == "multi") return ProducerType::kMulti;
  return absl::InvalidArgumentError(absl::StrCat(
      "producer type '", std::string(name), "' is not one of single, multi"));
}

std::string WithSeparators(int64_t value) {
  std::string digits = std::to_string(value < 0 ? -value : value);
  std::string out;
  const int n = static_cast<int>(digits.size());
  for (int i = 0; i < n; ++i) {
    out += digits[i];
    if ((n - i - 1) % 3 == 0 && i != n - 1) out += ',';
  }
  return value < 0 ? "-" + out : out;
}

std::string FormatNanos(int64_t nanos) {
  if (nanos < 1'000) return absl::StrFormat("%d ns", nanos);
  if (nanos < 1'000'000) {
    return absl::StrFormat("%.1f us", static_cast<double>(nanos) / 1e3);
  }
  if (nanos < 1'000'000'000) {
    return absl::StrFormat("%.1f ms", static_cast<double>(nanos) / 1e6);
  }
  return absl::StrFormat("%.2f s", static_cast<double>(nanos) / 1e9);
}

}  // namespace ringflow::tools
