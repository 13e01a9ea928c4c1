// tools/command_line.h — helpers shared by the `ringflow` subcommands:
// per-command flag parsing, range checks with Status errors, number
// formatting.
//
// All subcommands live in one binary and so share one absl flag registry.
// Each command therefore names the flags it accepts in a CommandSpec;
// ParseCommand rejects any other flag given on its command line (another
// command's, absl's own such as --flagfile, or an unknown one) before absl
// parses anything, and its --help lists only the command's own flags.
#ifndef RINGFLOW_TOOLS_COMMAND_LINE_H_
#define RINGFLOW_TOOLS_COMMAND_LINE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "ringflow/core/ring_options.h"

namespace ringflow::tools {

// What a subcommand accepts; constexpr, e.g.
//   constexpr absl::string_view kStatFlags[] = {"json", "watch", "count"};
//   constexpr CommandSpec kStatSpec{"stat", "ringflow stat NAME ...",
//                                   kStatFlags};
struct CommandSpec {
  absl::string_view name;   // "stat"
  absl::string_view usage;  // "ringflow stat NAME [--json] [--watch] ..."
  // The absl flags (ABSL_FLAG names, without "--") this command reads.
  absl::Span<const absl::string_view> flags;
};

// Parses the subcommand's command line (argv[0] is "ringflow <command>")
// and returns its positional arguments (without argv[0]).
//   --help, -h, --helpfull, --helpshort: prints HelpText(spec) on stdout
//     and exits with status 0;
//   a flag not in spec.flags: one line on stderr naming it and listing the
//     command's flags, exit status 1;
//   a malformed value (--count=abc): absl's message, exit status 1.
// Cold path.
std::vector<std::string> ParseCommand(int argc, char** argv,
                                      const CommandSpec& spec);

// The --help text: usage, then each flag with its type, default and
// meaning (the ABSL_FLAG help string).
std::string HelpText(const CommandSpec& spec);

// Range checks for numeric flags. The error names the flag, its value and
// the allowed range: "--count=-5 is outside [0, 1000000]". The double
// overload also rejects NaN and infinities.
absl::Status CheckFlagRange(absl::string_view flag, int64_t value, int64_t min,
                            int64_t max);
absl::Status CheckFlagRange(absl::string_view flag, double value, double min,
                            double max);

absl::StatusOr<WaitStrategyKind> ParseWaitStrategy(std::string_view name);
absl::StatusOr<ProducerType> ParseProducerType(std::string_view name);

// 1234567 -> "1,234,567".
std::string WithSeparators(int64_t value);
// 1234 -> "1.2 us", 56 -> "56 ns".
std::string FormatNanos(int64_t nanos);

}  // namespace ringflow::tools

#endif  // RINGFLOW_TOOLS_COMMAND_LINE_H_
