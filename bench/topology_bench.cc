// bench/topology_bench.cc — ringflow_bench: the LMAX-style topology
// benchmarks, ringflow side by side with the queues a user would pick
// instead and with the hardware bounds, all in one process run.
//
// Method (the project's benchmarking rules): every scenario runs each
// implementation once to warm up, then repeats them interleaved (A B C A B C
// ...), so the repetitions of ringflow and of its peers see the same machine;
// the table shows medians with min-max and ratios of paired repetitions. Every
// run verifies what it moved (sums, counts, per-producer order, exactly-once)
// and the process exits 1 with a loud message when it does not.
//
// Usage:
//   ringflow_bench [--smoke] [--events=N] [--reps=N] [--scenarios=a,b]
//                  [--capacity=N] [--pin] [--json=PATH] [--plot=PATH]
//   --smoke      every scenario tiny (a few thousand events), 1 repetition,
//                no warm-up: checks that the harness builds and verifies;
//                with no --scenarios this includes the opt-in Scaling family
//   --events=N   events of OneToOne (default 20000000); every scenario
//                scales from its own default by the same factor
//   --reps=N     repetitions (default 5; CountersOverhead runs 3x as many)
//   --scenarios  names (OneToOne, ...) or families (OneToOneBatch,
//                PingPong, Scaling) to run; default all but Scaling
//   --pin        pin threads to CPUs in scenarios with no more threads than
//                CPUs
//   --json/--plot  also write the results as JSON / a PNG (gnuplot)
//
// Scaling (opt-in; `make bench-scaling`): ScalingP1C1 ... ScalingP8C3,
// producers P in {1, 2, 4, 8} x consumers C in {1, 3}: P producers on a
// kMulti ring publishing one event at a time into one BatchEventProcessor
// (ThreeToOne's checks: sum, per-producer order) or a WorkerPool of 3
// (WorkerPool's: exactly once, count), against the lock-free MPMC peers
// (aq-mpmc, mc-cq). It runs only when named (--scenarios=Scaling or a name)
// and in --smoke, never in the default run: its P + C threads (up to 11)
// need as many cores, and on a 2-core machine they measure the scheduler,
// not the queues. Run it on a machine with at least P + C cores (the
// table: 16), pinned:
//   ringflow_bench --scenarios=Scaling --pin --json=bench/results/scaling.json
// On a machine without the Debian packages, carry the one file that
// `make bench-static` links (build/release/bench/ringflow_bench_static).
//
// Async (issue 15; async_bench.cc says what each row runs): NotifierWake
// (publish -> woken handler, p50/p99 ns: EventNotifier, the kBlocking
// futex, a bare eventfd as the floor), AsyncOneToOne{1,2}T and
// AsyncTwoToTwo{1,2}T (AsyncQueue vs Asio's concurrent_channel vs a
// mutex-guarded deque, M items/s), AsyncIdle (CPU of a waiting receiver).
// In the default run; alone: ringflow_bench --scenarios=Async --pin
//
// Bytes (issue 14; byte_bench.cc says what each row runs and checks):
// ByteOneToOne{16,64,256,1024,4096} and ByteTwoToOne{64,256}, ByteRing
// vs boost::lockfree::spsc_queue<char> with length-prefix framing vs a
// single-thread memcpy ceiling; M records/s, GB/s, claim p50/p99 ns.
// In the default run; alone: ringflow_bench --scenarios=Bytes --pin
//
// Internal (not in --help): --shared_consumer=RING --events=N [--pin] runs
// this binary as SharedOneToOne's consumer process (shared_topologies.h).
//
// Layout: scenario.h describes a scenario as data and says which file
// implements what; scenarios.cc lists the scenarios; this file holds the
// flags, the bounds' runs and the run loop over a scenario's columns.

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "columns.h"
#include "harness.h"
#include "report.h"
#include "scenario.h"
#include "shared_topologies.h"
#include "topology.h"

namespace ringflow::bench {
namespace {

// A throughput run aims at this long; slower implementations run fewer
// events (see RunScenario).
constexpr double kTargetRunSeconds = 0.25;

// ---- flags -----------------------------------------------------------------

struct Flags {
  bool smoke = false;
  bool pin = false;
  int64_t events = 0;  // 0: defaults
  int reps = 5;
  int64_t capacity = kDefaultCapacity;
  std::vector<std::string> scenarios;
  std::string json;
  std::string plot;
  std::string shared_consumer;  // internal: run as SharedOneToOne's consumer
};

void Usage(std::FILE* out) {
  std::fprintf(out,
               "usage: ringflow_bench [--smoke] [--events=N] [--reps=N] "
               "[--scenarios=a,b,...] [--capacity=N] [--pin] [--json=PATH] "
               "[--plot=PATH]\n");
}

bool ParseInt(std::string_view text, int64_t& out) {
  if (text.empty()) return false;
  int64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9' || v > (INT64_MAX - 9) / 10) return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

std::vector<std::string> Split(std::string_view text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    if (comma > start) parts.emplace_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return parts;
}

// Exits 2 with a message on a bad flag.
Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&](std::string_view name) -> std::optional<std::string_view> {
      if (arg.substr(0, name.size()) == name && arg.size() > name.size() &&
          arg[name.size()] == '=') {
        return arg.substr(name.size() + 1);
      }
      return std::nullopt;
    };
    int64_t number = 0;
    if (arg == "--smoke") {
      flags.smoke = true;
    } else if (arg == "--pin") {
      flags.pin = true;
    } else if (arg == "--help" || arg == "-h") {
      Usage(stdout);
      std::exit(0);
    } else if (auto events = value("--events")) {
      if (!ParseInt(*events, number) || number < 1000) {
        std::fprintf(stderr, "--events must be an integer >= 1000\n");
        std::exit(2);
      }
      flags.events = number;
    } else if (auto reps = value("--reps")) {
      if (!ParseInt(*reps, number) || number < 1 || number > 1000) {
        std::fprintf(stderr, "--reps must be an integer in [1, 1000]\n");
        std::exit(2);
      }
      flags.reps = static_cast<int>(number);
    } else if (auto capacity = value("--capacity")) {
      if (!ParseInt(*capacity, number) || number < 64 ||
          number > (int64_t{1} << 24) || (number & (number - 1)) != 0) {
        std::fprintf(stderr,
                     "--capacity must be a power of two in [64, 2^24]\n");
        std::exit(2);
      }
      flags.capacity = number;
    } else if (auto names = value("--scenarios")) {
      flags.scenarios = Split(*names);
    } else if (auto json = value("--json")) {
      flags.json = std::string(*json);
    } else if (auto plot = value("--plot")) {
      flags.plot = std::string(*plot);
    } else if (auto ring = value("--shared_consumer")) {
      flags.shared_consumer = std::string(*ring);
    } else {
      std::fprintf(stderr, "ringflow_bench: unknown flag '%s'\n", argv[i]);
      Usage(stderr);
      std::exit(2);
    }
  }
  return flags;
}

std::string CpuModel() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos && colon + 2 <= line.size()) {
        return line.substr(colon + 2);
      }
    }
  }
  return "unknown CPU";
}

// 1-minute load average, or -1.
double LoadAverage() {
  std::ifstream file("/proc/loadavg");
  double load = -1;
  if (!(file >> load)) return -1;
  return load;
}

// Microseconds in which some runnable task waited for a CPU since boot
// (Linux PSI), or -1.
int64_t CpuPressureMicros() {
  std::ifstream file("/proc/pressure/cpu");
  std::string line;
  while (std::getline(file, line)) {
    const size_t total = line.find("total=");
    if (line.rfind("some", 0) == 0 && total != std::string::npos) {
      return std::atoll(line.c_str() + total + 6);
    }
  }
  return -1;
}

std::string Today() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

// Runs one scenario: warm-up, then reps interleaved.
ScenarioResult RunScenario(const Scenario& s, const Flags& flags) {
  const Measure& measure = s.measure;
  ScenarioResult result;
  result.name = s.name;
  result.family = s.family;
  result.unit = measure.unit;
  result.higher_is_better = measure.higher_is_better;
  result.metrics = measure.metrics;
  result.note = s.note;
  result.bound_label = measure.bound_label.empty()
                           ? "ceil k=" + std::to_string(s.batch)
                           : measure.bound_label;
  result.compare_to = s.compare_to;
  result.comparisons = s.comparisons;
  result.not_applicable = NotApplicable(s);
  if (!s.skip.empty()) {
    result.status = s.skip;
    std::fprintf(stderr, "%-20s skipped: %s\n", s.name.c_str(), s.skip.c_str());
    return result;
  }
  const absl::StatusOr<std::vector<Impl>> row = ImplsOf(s);
  if (!row.ok()) {
    std::fprintf(stderr, "ringflow_bench: %s\n",
                 row.status().ToString().c_str());
    std::exit(2);
  }
  const std::vector<Impl>& impls = *row;

  int64_t events = s.smoke_events;
  if (!flags.smoke) {
    events =
        flags.events == 0
            ? s.events
            : std::max<int64_t>(
                  1000, static_cast<int64_t>(static_cast<double>(s.events) *
                                             static_cast<double>(flags.events) /
                                             static_cast<double>(kBaseEvents)));
  }
  events -= events % s.multiple_of;
  const int reps = flags.smoke ? 1 : flags.reps * s.rep_factor;
  const int64_t capacity =
      s.capacity == kDefaultCapacity ? flags.capacity : s.capacity;
  const int timeout_s = flags.smoke ? 120 : 600;
  result.events = events;
  result.reps = reps;
  for (const Impl& impl : impls) {
    result.impls.push_back(
        {impl.column, impl.detail, events,
         std::vector<std::vector<double>>(result.metrics.size())});
  }

  const auto started = std::chrono::steady_clock::now();
  std::fprintf(stderr, "%-20s %lld events, %zu implementations x %d reps ...",
               s.name.c_str(), static_cast<long long>(events), impls.size(),
               reps);
  const int64_t budget_ns =
      (flags.smoke ? s.smoke_budget_ms : s.budget_ms) * 1'000'000;
  // Events per implementation: the scenario's count, or fewer for an
  // implementation that would need more than kTargetRunSeconds for it
  // (calibrated on the warm-up run), but never fewer than a tenth.
  std::vector<int64_t> impl_events(impls.size(), events);
  if (!flags.smoke) {
    const int64_t warm = std::min(
        events, std::max<int64_t>(s.multiple_of * 1000,
                                  events / 10 - (events / 10) % s.multiple_of));
    for (size_t i = 0; i < impls.size(); ++i) {
      const Impl& impl = impls[i];
      const auto t0 = std::chrono::steady_clock::now();
      impl.run({s.name, impl.column, warm, capacity, timeout_s, budget_ns / 5});
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
              .count();
      if (measure.by_budget || seconds <= 0) continue;  // budget, not events
      const double rate = static_cast<double>(warm) / seconds;
      int64_t n = std::clamp(static_cast<int64_t>(rate * kTargetRunSeconds),
                             warm, events);
      n -= n % s.multiple_of;
      impl_events[i] = n;
    }
  }
  for (size_t i = 0; i < impls.size(); ++i) {
    result.impls[i].events = impl_events[i];
  }
  for (int r = 0; r < reps; ++r) {
    for (size_t i = 0; i < impls.size(); ++i) {
      const Metrics m = impls[i].run({s.name, impls[i].column, impl_events[i],
                                      capacity, timeout_s, budget_ns});
      for (size_t k = 0; k < m.size() && k < result.metrics.size(); ++k) {
        result.impls[i].samples[k].push_back(m[k]);
      }
    }
  }
  std::fprintf(
      stderr, " %.1f s\n",
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
          .count());
  return result;
}

int Main(int argc, char** argv) {
  const Flags flags = ParseFlags(argc, argv);
  if (!flags.shared_consumer.empty()) {
    if (flags.events == 0) {
      std::fprintf(stderr, "--shared_consumer needs --events\n");
      return 2;
    }
    return RunSharedConsumer(flags.shared_consumer, flags.events, flags.pin);
  }
  if (flags.pin) Pinning::Get().Enable();
  std::vector<Scenario> scenarios = AllScenarios();

  std::vector<const Scenario*> selected;
  for (const Scenario& s : scenarios) {
    // No --scenarios: everything but the opt-in scenarios, which --smoke
    // still runs (tiny) so that the harness check covers them.
    bool wanted = flags.scenarios.empty() && (!s.opt_in || flags.smoke);
    for (const std::string& name : flags.scenarios) {
      wanted |= name == s.name || name == s.family;
    }
    if (wanted) selected.push_back(&s);
  }
  for (const std::string& name : flags.scenarios) {
    bool known = false;
    for (const Scenario& s : scenarios) {
      known |= name == s.name || name == s.family;
    }
    if (!known) {
      std::fprintf(stderr, "ringflow_bench: unknown scenario '%s'; known:",
                   name.c_str());
      for (const Scenario& s : scenarios) {
        std::fprintf(stderr, " %s", s.name.c_str());
      }
      std::fprintf(stderr, "\n");
      return 2;
    }
  }

  RunInfo info;
  info.date = Today();
  info.cpu_model = CpuModel();
  info.cpus = Pinning::Get().cpus();
  info.reps = flags.smoke ? 1 : flags.reps;
  info.capacity = flags.capacity;
  info.pinned = flags.pin && Pinning::Get().Applies(2);
  info.smoke = flags.smoke;
  if (flags.pin && !info.pinned) {
    std::fprintf(stderr, "--pin: fewer than 2 CPUs available; not pinning\n");
  }

  info.load_before = LoadAverage();
  const int64_t pressure_before = CpuPressureMicros();
  const auto started = std::chrono::steady_clock::now();
  std::vector<ScenarioResult> results;
  for (const Scenario* s : selected) results.push_back(RunScenario(*s, flags));
  info.wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
          .count();
  const int64_t pressure_after = CpuPressureMicros();
  if (pressure_before >= 0 && pressure_after >= pressure_before &&
      info.wall_s > 0) {
    info.cpu_pressure =
        std::min(1.0, static_cast<double>(pressure_after - pressure_before) /
                          1e6 / info.wall_s);
  }

  PrintTable(stdout, results, info);
  bool ok = true;
  if (!flags.json.empty()) {
    ok &= WriteJson(flags.json, results, info);
    if (ok) std::printf("JSON written to %s\n", flags.json.c_str());
  }
  if (!flags.plot.empty()) {
    const bool plotted = WritePlot(flags.plot, results, info);
    ok &= plotted;
    if (plotted && std::system("command -v gnuplot >/dev/null 2>&1") == 0) {
      std::printf("plot written to %s\n", flags.plot.c_str());
    }
  }
  std::printf("all scenarios verified\n");
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace ringflow::bench

int main(int argc, char** argv) { return ringflow::bench::Main(argc, argv); }
