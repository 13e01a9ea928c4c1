// tools/command_line.h — helpers shared by the `ringflow` subcommands:
// flag parsing, option parsing with Status errors, number formatting.
#ifndef RINGFLOW_TOOLS_COMMAND_LINE_H_
#define RINGFLOW_TOOLS_COMMAND_LINE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "ringflow/core/ring_options.h"

namespace ringflow::tools {

// Parses the subcommand's flags (absl flags) with `usage` as --help text.
// Exits with status 1 and one clear line on an unknown or malformed flag;
// positional arguments are an error too.
void ParseCommandFlags(int argc, char** argv, const char* usage);

absl::StatusOr<WaitStrategyKind> ParseWaitStrategy(std::string_view name);
absl::StatusOr<ProducerType> ParseProducerType(std::string_view name);

// 1234567 -> "1,234,567".
std::string WithSeparators(int64_t value);
// 1234 -> "1.2 us", 56 -> "56 ns".
std::string FormatNanos(int64_t nanos);

}  // namespace ringflow::tools

#endif  // RINGFLOW_TOOLS_COMMAND_LINE_H_
