#include "tools/command_line.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace ringflow::tools {
namespace {

// The flag of `spec` called `name`, or null when the command has none.
const absl::CommandLineFlag* FindOwnFlag(const CommandSpec& spec,
                                         std::string_view name) {
  for (absl::string_view own : spec.flags) {
    if (std::string_view(own.data(), own.size()) == name) {
      return absl::FindCommandLineFlag(own);
    }
  }
  return nullptr;
}

std::string FlagList(const CommandSpec& spec) {
  if (spec.flags.empty()) return "it takes no flags";
  std::vector<std::string> names;
  for (absl::string_view own : spec.flags)
    names.push_back(absl::StrCat("--", own));
  return absl::StrCat("its flags are ", absl::StrJoin(names, ", "));
}

std::string TypeName(const absl::CommandLineFlag& flag) {
  if (flag.IsOfType<bool>()) return "bool";
  if (flag.IsOfType<int>() || flag.IsOfType<int64_t>()) return "integer";
  if (flag.IsOfType<double>()) return "number";
  if (flag.IsOfType<std::string>()) return "string";
  return "value";
}

}  // namespace

std::string HelpText(const CommandSpec& spec) {
  std::string text = absl::StrCat("usage: ", spec.usage, "\n");
  if (spec.flags.empty()) {
    absl::StrAppend(&text, "\nringflow ", spec.name, " takes no flags.\n");
    return text;
  }
  absl::StrAppend(&text, "\nflags:\n");
  for (absl::string_view own : spec.flags) {
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(own);
    if (flag == nullptr) continue;  // a spec naming an undefined flag
    std::string fallback = flag->DefaultValue();
    if (flag->IsOfType<std::string>())
      fallback = absl::StrCat("\"", fallback, "\"");
    absl::StrAppend(&text, "  --", own, " (", TypeName(*flag), ", default ",
                    fallback, ")\n      ", flag->Help(), "\n");
  }
  return text;
}

std::vector<std::string> ParseCommand(int argc, char** argv,
                                      const CommandSpec& spec) {
  // First pass, before absl sees anything: help, and flags that are not
  // this command's. absl accepts "-f" and "--f", "--f=v" and "--f v"
  // (non-bool flags), "--nof" (bool flags), and stops at "--".
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg.size() < 2 || arg[0] != '-') continue;  // positional, or "-"
    const size_t dashes = arg[1] == '-' ? 2 : 1;
    const std::string_view body = arg.substr(dashes);
    const std::string_view name = body.substr(0, body.find('='));
    if (name == "help" || name == "h" || name == "helpfull" ||
        name == "helpshort") {
      std::fputs(HelpText(spec).c_str(), stdout);
      std::exit(0);
    }
    const absl::CommandLineFlag* flag = FindOwnFlag(spec, name);
    if (flag == nullptr && name.starts_with("no")) {
      flag = FindOwnFlag(spec, name.substr(2));
      if (flag != nullptr && !flag->IsOfType<bool>()) flag = nullptr;
    }
    if (flag == nullptr) {
      std::fprintf(stderr,
                   "ringflow %s: %s is not a flag of `ringflow %s`; %s (see "
                   "`ringflow %s --help`)\n",
                   std::string(spec.name).c_str(),
                   std::string(arg.substr(0, dashes + name.size())).c_str(),
                   std::string(spec.name).c_str(), FlagList(spec).c_str(),
                   std::string(spec.name).c_str());
      std::exit(1);
    }
    // "--name audit": the next argument is the value, not a flag.
    if (body.find('=') == std::string_view::npos && !flag->IsOfType<bool>()) {
      ++i;
    }
  }
  absl::SetProgramUsageMessage(spec.usage);
  std::vector<char*> rest = absl::ParseCommandLine(argc, argv);
  return std::vector<std::string>(rest.begin() + 1, rest.end());
}

absl::Status CheckFlagRange(absl::string_view flag, int64_t value, int64_t min,
                            int64_t max) {
  if (value >= min && value <= max) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "--", flag, "=", value, " is outside [", min, ", ", max, "]"));
}

absl::Status CheckFlagRange(absl::string_view flag, double value, double min,
                            double max) {
  // Also false for NaN.
  if (std::isfinite(value) && value >= min && value <= max) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrFormat("--%s=%g is outside [%g, %g]%s", flag, value, min, max,
                      std::isfinite(value) ? "" : " (not a finite number)"));
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
  // The magnitude as unsigned: -INT64_MIN does not fit an int64_t.
  const uint64_t magnitude = value < 0
                                 ? uint64_t{0} - static_cast<uint64_t>(value)
                                 : static_cast<uint64_t>(value);
  std::string digits = std::to_string(magnitude);
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
