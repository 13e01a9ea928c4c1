// bench/report.h
//
// What one topology run produced, and the three ways it is shown: the
// table on stdout, a JSON file, and a PNG plot drawn by gnuplot.
//
// Every figure is the median over repetitions with its min–max; every
// ratio is the median of the per-repetition ratios (repetitions run
// interleaved, so repetition r of ringflow and of a peer saw the same
// machine), with their min–max.
//
// Thread-safety: plain values; one thread builds and prints them.

#ifndef RINGFLOW_BENCH_REPORT_H_
#define RINGFLOW_BENCH_REPORT_H_

#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ringflow::bench {

// Table columns, in order: ringflow first, then the peers.
inline constexpr const char* kRingflowColumn = "ringflow";
inline constexpr const char* kBoundColumn = "bound";
// Scaling's ShardedRing / ShardedQueue column.
inline constexpr const char* kShardedColumn = "sharded";
// OneToOne's two extra references (listed under "Other columns").
inline constexpr const char* kOneToOneNoBackoff = "ringflow, no backoff";
inline constexpr const char* kRawRingWithBackoff = "raw ring + backoff";
// The peers' columns, in table order (peers.cc).
std::vector<std::string> PeerColumns();

// A ratio the summary below the table reports for a row: column `a` over
// column `b` (kBestPeer: the row's best peer), per metric, as the median
// [min-max] of the paired repetitions; with a target, whether a / b met it
// (>= when higher is better, <= when lower is).
inline constexpr const char* kBestPeer = "best peer";
struct Comparison {
  std::string a = kRingflowColumn;
  std::string b;
  double target = 0;  // 0: none
  std::string why;    // what the ratio shows
};

struct ImplResult {
  std::string column;  // ringflow, a peer, "bound", or another ringflow setup
  std::string detail;  // what exactly ran (API, wait strategy, bound's k)
  int64_t events = 0;  // per repetition (latency: the most round trips)
  std::vector<std::vector<double>> samples;  // [metric][repetition]
};

struct ScenarioResult {
  std::string name;
  std::string family;  // Scenario::family (Sharded, Scaling, ...)
  std::string unit;    // "M ev/s" or "ns"
  bool higher_is_better = true;
  std::vector<std::string> metrics;  // {"throughput"} or percentiles
  std::string status;                // empty when measured, else why not
  std::string note;
  std::string bound_label;  // e.g. "ceiling k=1", "floor"
  // When set, ringflow is compared with this column instead of the best
  // peer (CountersOverhead: counters off).
  std::string compare_to;
  std::vector<Comparison> comparisons;  // Scenario::comparisons
  int64_t events = 0;  // the scenario's count (the most any run makes)
  int reps = 0;
  std::vector<ImplResult> impls;
  std::map<std::string, std::string> not_applicable;  // column -> reason

  const ImplResult* Find(const std::string& column) const;
};

struct Stat {
  double median = 0;
  double min = 0;
  double max = 0;
};
Stat Summarize(std::vector<double> values);

// Ratio of ringflow to `other` for one metric: median and range of the
// per-repetition ratios.
std::optional<Stat> PairedRatio(const ImplResult& ringflow,
                                const ImplResult& other, size_t metric);

// The peer with the best median for `metric`, or null when none ran.
const ImplResult* BestPeer(const ScenarioResult& s, size_t metric);

struct RunInfo {
  std::string date;
  std::string cpu_model;
  int cpus = 0;
  int reps = 0;
  int64_t capacity = 0;
  bool pinned = false;
  bool smoke = false;
  double wall_s = 0;
  // How busy the machine was: 1-minute load average before the run, and
  // the share of the run's wall time in which some runnable task waited
  // for a CPU (/proc/pressure/cpu; includes this benchmark's own
  // oversubscribed scenarios). Negative when unknown.
  double load_before = -1;
  double cpu_pressure = -1;
};

void PrintTable(std::FILE* out, const std::vector<ScenarioResult>& results,
                const RunInfo& info);
bool WriteJson(const std::string& path,
               const std::vector<ScenarioResult>& results, const RunInfo& info);
// Draws the plot with gnuplot; prints why and returns true (nothing to
// fail) when gnuplot is not installed. False when gnuplot failed.
bool WritePlot(const std::string& path,
               const std::vector<ScenarioResult>& results, const RunInfo& info);

}  // namespace ringflow::bench

#endif  // RINGFLOW_BENCH_REPORT_H_
