// bench/report.cc — the table, the JSON file and the gnuplot plot.

#include "report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace ringflow::bench {

const ImplResult* ScenarioResult::Find(const std::string& column) const {
  for (const ImplResult& impl : impls) {
    if (impl.column == column) return &impl;
  }
  return nullptr;
}

Stat Summarize(std::vector<double> values) {
  if (values.empty()) return {};
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  const double median =
      n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2.0;
  return {median, values.front(), values.back()};
}

std::optional<Stat> PairedRatio(const ImplResult& ringflow,
                                const ImplResult& other, size_t metric) {
  if (metric >= ringflow.samples.size() || metric >= other.samples.size()) {
    return std::nullopt;
  }
  const std::vector<double>& a = ringflow.samples[metric];
  const std::vector<double>& b = other.samples[metric];
  std::vector<double> ratios;
  for (size_t r = 0; r < std::min(a.size(), b.size()); ++r) {
    if (b[r] > 0) ratios.push_back(a[r] / b[r]);
  }
  if (ratios.empty()) return std::nullopt;
  return Summarize(std::move(ratios));
}

const ImplResult* BestPeer(const ScenarioResult& s, size_t metric) {
  const ImplResult* best = nullptr;
  double best_median = 0;
  for (const std::string& column : PeerColumns()) {
    const ImplResult* impl = s.Find(column);
    if (impl == nullptr || metric >= impl->samples.size() ||
        impl->samples[metric].empty()) {
      continue;
    }
    const double median = Summarize(impl->samples[metric]).median;
    const bool better =
        best == nullptr ||
        (s.higher_is_better ? median > best_median : median < best_median);
    if (better) {
      best = impl;
      best_median = median;
    }
  }
  return best;
}

namespace {

std::string Number(double v) {
  char buf[32];
  if (v >= 100) {
    std::snprintf(buf, sizeof(buf), "%.0f", v);
  } else if (v >= 10) {
    std::snprintf(buf, sizeof(buf), "%.1f", v);
  } else {
    std::snprintf(buf, sizeof(buf), "%.2f", v);
  }
  return buf;
}

std::string Ratio(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f", v);
  return buf;
}

std::string Cell(const Stat& s) {
  return Number(s.median) + " [" + Number(s.min) + "-" + Number(s.max) + "]";
}
// "-" for a metric the column does not measure (Bytes: claim ns).
std::string Cell(const std::vector<double>& samples) {
  return samples.empty() ? "-" : Cell(Summarize(samples));
}

// median [min-max] of paired ratios.
std::string RatioRange(const Stat& s) {
  return Ratio(s.median) + " [" + Ratio(s.min) + "-" + Ratio(s.max) + "]";
}

std::string RatioCell(const Stat& s, const std::string& against) {
  return RatioRange(s) + " " + against;
}

// A row's comparison `c` for metric `m`: both columns and the paired ratio
// a / b; empty when either column did not run or has no sample of `m`.
struct Compared {
  const ImplResult* a;
  const ImplResult* b;
  Stat ratio;
};
std::optional<Compared> Compare(const ScenarioResult& s, const Comparison& c,
                                size_t m) {
  const ImplResult* a = s.Find(c.a);
  const ImplResult* b = c.b == kBestPeer ? BestPeer(s, m) : s.Find(c.b);
  if (a == nullptr || b == nullptr) return std::nullopt;
  const std::optional<Stat> r = PairedRatio(*a, *b, m);
  if (!r) return std::nullopt;
  return Compared{a, b, *r};
}

// Whether a ratio meets the comparison's target (>= when higher is better,
// <= when lower is); call only when it has one.
bool Met(const ScenarioResult& s, const Comparison& c, const Stat& ratio) {
  return s.higher_is_better ? ratio.median >= c.target
                            : ratio.median <= c.target;
}

std::string RowName(const ScenarioResult& s, size_t metric) {
  if (s.metrics.size() <= 1) return s.name;
  return s.name + " " + s.metrics[metric];
}

// One row of strings per metric of each scenario.
std::vector<std::vector<std::string>> Rows(
    const std::vector<ScenarioResult>& results) {
  std::vector<std::vector<std::string>> rows;
  const std::vector<std::string> peers = PeerColumns();
  for (const ScenarioResult& s : results) {
    if (!s.status.empty()) {
      std::vector<std::string> row = {s.name, "-", s.status};
      for (size_t i = 0; i < peers.size(); ++i) row.push_back("-");
      row.insert(row.end(), {"-", "-", "-"});
      rows.push_back(std::move(row));
      continue;
    }
    const ImplResult* ringflow = s.Find(kRingflowColumn);
    const ImplResult* bound = s.Find(kBoundColumn);
    for (size_t m = 0; m < s.metrics.size(); ++m) {
      std::vector<std::string> row = {RowName(s, m), s.unit};
      row.push_back(ringflow != nullptr ? Cell(ringflow->samples[m]) : "-");
      for (const std::string& column : peers) {
        const ImplResult* impl = s.Find(column);
        row.push_back(impl != nullptr ? Cell(impl->samples[m]) : "n/a");
      }
      row.push_back(bound != nullptr ? Cell(bound->samples[m]) : "-");
      const ImplResult* against = nullptr;
      std::string against_name;
      if (!s.compare_to.empty()) {
        against = s.Find(s.compare_to);
        against_name = "vs " + s.compare_to;
      } else {
        against = BestPeer(s, m);
        if (against != nullptr) against_name = against->column;
      }
      std::optional<Stat> peer_ratio;
      if (ringflow != nullptr && against != nullptr) {
        peer_ratio = PairedRatio(*ringflow, *against, m);
      }
      row.push_back(peer_ratio ? RatioCell(*peer_ratio, against_name) : "-");
      std::optional<Stat> bound_ratio;
      if (ringflow != nullptr && bound != nullptr) {
        bound_ratio = PairedRatio(*ringflow, *bound, m);
      }
      row.push_back(bound_ratio ? RatioCell(*bound_ratio, s.bound_label) : "-");
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string JsonNumber(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%.6g", v);
  return buf;
}

std::string JsonStat(const Stat& s) {
  return "{\"median\": " + JsonNumber(s.median) +
         ", \"min\": " + JsonNumber(s.min) + ", \"max\": " + JsonNumber(s.max) +
         "}";
}

}  // namespace

void PrintTable(std::FILE* out, const std::vector<ScenarioResult>& results,
                const RunInfo& info) {
  const std::string method =
      info.smoke ? "SMOKE: tiny runs, 1 repetition, no warm-up"
                 : std::to_string(info.reps) +
                       " repetitions interleaved after a warm-up";
  std::fprintf(out,
               "\nringflow topology benchmarks: %d CPUs (%s), %s, %s, "
               "capacity %lld, pinning %s\n",
               info.cpus, info.cpu_model.c_str(), info.date.c_str(),
               method.c_str(), static_cast<long long>(info.capacity),
               info.pinned ? "on" : "off");
  if (info.load_before >= 0 && info.cpu_pressure >= 0) {
    std::fprintf(out,
                 "Machine load: 1-min load average %.2f before the run; some "
                 "task waited for a CPU %.0f%% of the run (Linux PSI, "
                 "includes our own 4-thread scenarios).%s\n",
                 info.load_before, 100 * info.cpu_pressure,
                 info.load_before > 0.5 * info.cpus
                     ? " Other work was running: spinning hand-offs degrade "
                       "towards one ring per scheduler tick."
                     : "");
  }
  std::fprintf(out,
               "Cells: median [min-max]. M ev/s: millions of events per "
               "second, higher is better. ns: round-trip time (NotifierWake: "
               "publish to handler), lower is better. us CPU: process CPU "
               "time, lower is better.\n\n");

  std::vector<std::string> header = {"scenario", "unit", kRingflowColumn};
  for (const std::string& p : PeerColumns()) header.push_back(p);
  header.insert(header.end(),
                {"bound", "ringflow / best peer", "ringflow / bound"});
  std::vector<std::vector<std::string>> rows = Rows(results);
  std::vector<size_t> width(header.size(), 0);
  for (size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size() && c < width.size(); ++c) {
      width[c] = std::max(width[c], row[c].size());
    }
  }
  auto print_row = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t c = 0; c < header.size(); ++c) {
      std::string cell = c < row.size() ? row[c] : "";
      cell.resize(width[c], ' ');
      line += (c == 0 ? "" : " | ") + cell;
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::fprintf(out, "%s\n", line.c_str());
  };
  print_row(header);
  std::string rule;
  for (size_t c = 0; c < header.size(); ++c) {
    rule += (c == 0 ? "" : "-+-") + std::string(width[c], '-');
  }
  std::fprintf(out, "%s\n", rule.c_str());
  for (const auto& row : rows) print_row(row);

  std::fprintf(
      out,
      "\nRatios: median [min-max] of per-repetition ratios ringflow/other. "
      "Throughput: above 1 means ringflow moved more events. Latency: below "
      "1 means ringflow's round trip was shorter. \"best peer\" is the peer "
      "with the best median in that row.\n"
      "Bounds: ceiling k = a featureless single-producer ring publishing "
      "its cursor once per k events (2 threads); floor = one value bounced "
      "through two padded atomics.\n"
      "Peers: aq-* atomic_queue::AtomicQueueB2 (SPSC / MPMC: its optimist "
      "push/pop with 2 threads, try_push/try_pop plus spin-then-yield when "
      "threads outnumber cores); rwq moodycamel::ReaderWriterQueue "
      "(BlockingReaderWriterQueue in PingPongBlocking); mc-cq "
      "moodycamel::ConcurrentQueue with tokens, enqueue() bounded by a "
      "size_approx() check every 1024 pushes (its try_enqueue can fail "
      "forever: concurrentqueue #193, #292; BlockingConcurrentQueue in "
      "PingPongBlocking); boost-spsc "
      "boost::lockfree::spsc_queue; boost-q "
      "boost::lockfree::queue; mutex std::mutex + std::deque + "
      "std::condition_variable (always blocking).\n");
  for (const ScenarioResult& s : results) {
    std::map<std::string, std::vector<std::string>> by_reason;
    for (const auto& [column, reason] : s.not_applicable) {
      by_reason[reason].push_back(column);
    }
    std::string line;
    for (const auto& [reason, columns] : by_reason) {
      std::string names;
      for (const std::string& c : columns)
        names += (names.empty() ? "" : ", ") + c;
      line += (line.empty() ? "" : "; ") + names + " n/a: " + reason;
    }
    if (!s.note.empty()) line += (line.empty() ? "" : ". ") + s.note;
    std::string fewer;
    for (const ImplResult& impl : s.impls) {
      if (s.higher_is_better && impl.events > 0 && impl.events < s.events) {
        char buf[64];
        std::snprintf(buf, sizeof(buf), "%s %.2fM", impl.column.c_str(),
                      static_cast<double>(impl.events) / 1e6);
        fewer += (fewer.empty() ? "" : ", ") + std::string(buf);
      }
    }
    if (!fewer.empty()) {
      char buf[64];
      std::snprintf(buf, sizeof(buf), "%.2fM",
                    static_cast<double>(s.events) / 1e6);
      line += ". Events per run " + std::string(buf) +
              " except (slower, sized for a quarter second): " + fewer;
    }
    if (!line.empty()) {
      std::fprintf(out, "  %s: %s\n", s.name.c_str(), line.c_str());
    }
  }
  // The columns outside the table (another ringflow setup, a family's own
  // columns): each metric, with the paired ratio of ringflow to it.
  bool titled = false;
  const std::vector<std::string> peers = PeerColumns();
  for (const ScenarioResult& s : results) {
    const ImplResult* ringflow = s.Find(kRingflowColumn);
    if (!s.status.empty() || ringflow == nullptr) continue;
    for (const ImplResult& impl : s.impls) {
      if (&impl == ringflow || impl.column == kBoundColumn ||
          std::ranges::find(peers, impl.column) != peers.end()) {
        continue;
      }
      if (!titled) {
        std::fprintf(out, "\nOther columns:\n");
        titled = true;
      }
      for (size_t m = 0; m < s.metrics.size(); ++m) {
        const std::optional<Stat> r = PairedRatio(*ringflow, impl, m);
        std::fprintf(out, "  %s: %s %s %s (%s); ringflow / %s = %s\n",
                     RowName(s, m).c_str(), impl.column.c_str(),
                     Cell(impl.samples[m]).c_str(), s.unit.c_str(),
                     impl.detail.c_str(), impl.column.c_str(),
                     r ? RatioRange(*r).c_str() : "-");
      }
    }
  }
  // What each row asks to compare (Scenario::comparisons), judged against
  // its target where it has one.
  titled = false;
  for (const ScenarioResult& s : results) {
    if (!s.status.empty()) continue;
    for (const Comparison& c : s.comparisons) {
      for (size_t m = 0; m < s.metrics.size(); ++m) {
        const std::optional<Compared> r = Compare(s, c, m);
        if (!r) continue;
        if (!titled) {
          std::fprintf(out,
                       "\nComparisons (median [min-max] of paired "
                       "repetitions):\n");
          titled = true;
        }
        std::string verdict;
        if (c.target > 0) {
          const bool met = Met(s, c, r->ratio);
          verdict = std::string("; target ") +
                    (s.higher_is_better ? ">= " : "<= ") + Number(c.target) +
                    ": " +
                    (info.smoke ? "not judged in smoke mode"
                     : met      ? "met"
                                : "NOT met on this run (noisy machine: "
                                  "rerun with --scenarios=" +
                                 s.name + " --reps=15)");
        }
        std::fprintf(out, "  %s: %s / %s = %s%s%s%s\n", RowName(s, m).c_str(),
                     r->a->column.c_str(), r->b->column.c_str(),
                     RatioRange(r->ratio).c_str(), verdict.c_str(),
                     c.why.empty() ? "" : "; ", c.why.c_str());
      }
    }
  }
  std::fprintf(out, "\nWall time: %.1f s\n", info.wall_s);
}

bool WriteJson(const std::string& path,
               const std::vector<ScenarioResult>& results,
               const RunInfo& info) {
  std::ostringstream j;
  j << "{\n  \"benchmark\": \"ringflow_bench\",\n";
  j << "  \"date\": " << JsonString(info.date) << ",\n";
  j << "  \"machine\": {\"cpus\": " << info.cpus
    << ", \"cpu_model\": " << JsonString(info.cpu_model) << "},\n";
  j << "  \"config\": {\"repetitions\": " << info.reps
    << ", \"capacity\": " << info.capacity
    << ", \"pinned\": " << (info.pinned ? "true" : "false")
    << ", \"smoke\": " << (info.smoke ? "true" : "false") << "},\n";
  j << "  \"wall_s\": " << JsonNumber(info.wall_s) << ",\n";
  j << "  \"load_average_before\": "
    << (info.load_before >= 0 ? JsonNumber(info.load_before) : "null")
    << ",\n  \"cpu_pressure_some\": "
    << (info.cpu_pressure >= 0 ? JsonNumber(info.cpu_pressure) : "null")
    << ",\n";
  j << "  \"ratio_method\": \"median [min,max] of per-repetition ratios "
       "ringflow/other\",\n";
  j << "  \"scenarios\": [\n";
  for (size_t i = 0; i < results.size(); ++i) {
    const ScenarioResult& s = results[i];
    j << "    {\"name\": " << JsonString(s.name);
    if (!s.status.empty()) {
      j << ", \"status\": " << JsonString(s.status) << "}";
      j << (i + 1 < results.size() ? ",\n" : "\n");
      continue;
    }
    j << ", \"status\": \"measured\", \"unit\": " << JsonString(s.unit)
      << ", \"higher_is_better\": " << (s.higher_is_better ? "true" : "false")
      << ", \"events\": " << s.events << ", \"repetitions\": " << s.reps
      << ", \"bound\": " << JsonString(s.bound_label)
      << ", \"note\": " << JsonString(s.note) << ",\n";
    j << "     \"not_applicable\": {";
    bool first = true;
    for (const auto& [column, reason] : s.not_applicable) {
      j << (first ? "" : ", ") << JsonString(column) << ": "
        << JsonString(reason);
      first = false;
    }
    j << "},\n     \"implementations\": {";
    first = true;
    for (const ImplResult& impl : s.impls) {
      j << (first ? "\n" : ",\n") << "       " << JsonString(impl.column)
        << ": {\"detail\": " << JsonString(impl.detail)
        << ", \"events_per_run\": " << impl.events << ", \"metrics\": {";
      for (size_t m = 0; m < s.metrics.size(); ++m) {
        const std::vector<double>& v = impl.samples[m];
        j << (m == 0 ? "" : ", ") << JsonString(s.metrics[m])
          << ": {\"stat\": " << JsonStat(Summarize(v)) << ", \"samples\": [";
        for (size_t r = 0; r < v.size(); ++r) {
          j << (r == 0 ? "" : ", ") << JsonNumber(v[r]);
        }
        j << "]}";
      }
      j << "}}";
      first = false;
    }
    j << "},\n     \"ratios\": {";
    const ImplResult* ringflow = s.Find(kRingflowColumn);
    const ImplResult* bound = s.Find(kBoundColumn);
    for (size_t m = 0; m < s.metrics.size(); ++m) {
      const ImplResult* against =
          s.compare_to.empty() ? BestPeer(s, m) : s.Find(s.compare_to);
      j << (m == 0 ? "" : ", ") << JsonString(s.metrics[m]) << ": {";
      std::optional<Stat> r;
      if (ringflow != nullptr && against != nullptr) {
        r = PairedRatio(*ringflow, *against, m);
      }
      j << "\"against\": "
        << (against != nullptr ? JsonString(against->column) : "null")
        << ", \"ringflow_over_against\": " << (r ? JsonStat(*r) : "null");
      std::optional<Stat> b;
      if (ringflow != nullptr && bound != nullptr) {
        b = PairedRatio(*ringflow, *bound, m);
      }
      j << ", \"ringflow_over_bound\": " << (b ? JsonStat(*b) : "null") << "}";
    }
    j << "},\n     \"comparisons\": [";
    bool first_comparison = true;
    for (const Comparison& c : s.comparisons) {
      for (size_t m = 0; m < s.metrics.size(); ++m) {
        const std::optional<Compared> r = Compare(s, c, m);
        if (!r) continue;
        j << (first_comparison ? "" : ", ")
          << "{\"metric\": " << JsonString(s.metrics[m])
          << ", \"a\": " << JsonString(r->a->column)
          << ", \"b\": " << JsonString(r->b->column)
          << ", \"a_over_b\": " << JsonStat(r->ratio);
        if (c.target > 0) {
          j << ", \"target\": " << JsonNumber(c.target) << ", \"met\": "
            << (info.smoke            ? "null"  // not judged
                : Met(s, c, r->ratio) ? "true"
                                      : "false");
        }
        j << "}";
        first_comparison = false;
      }
    }
    j << "]}" << (i + 1 < results.size() ? ",\n" : "\n");
  }
  j << "  ]\n}\n";
  std::ofstream file(path, std::ios::trunc);
  file << j.str();
  file.close();
  if (!file) {
    std::fprintf(stderr, "ringflow_bench: cannot write %s\n", path.c_str());
    return false;
  }
  return true;
}

bool WritePlot(const std::string& path,
               const std::vector<ScenarioResult>& results,
               const RunInfo& info) {
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
    std::printf("plot skipped: gnuplot is not installed (make deps)\n");
    return true;
  }
  std::vector<std::string> columns = {kRingflowColumn};
  for (const std::string& p : PeerColumns()) columns.push_back(p);
  columns.push_back(kBoundColumn);
  // Other ringflow setups compared in a row (CountersOverhead).
  for (const ScenarioResult& s : results) {
    if (!s.compare_to.empty() && std::find(columns.begin(), columns.end(),
                                           s.compare_to) == columns.end()) {
      columns.push_back(s.compare_to);
    }
  }
  // ringflow red, peers in pairs of related colours, bound dark grey.
  const std::map<std::string, std::string> colour = {
      {kRingflowColumn, "#e41a1c"}, {"aq-spsc", "#377eb8"},
      {"aq-mpmc", "#9ecae1"},       {"rwq", "#4daf4a"},
      {"mc-cq", "#b2df8a"},         {"boost-spsc", "#984ea3"},
      {"boost-q", "#cab2d6"},       {"mutex", "#ff7f00"},
      {kBoundColumn, "#404040"}};

  // Two data blocks: throughput rows and latency rows; "?" is missing.
  auto block = [&](bool throughput) {
    std::string data;
    for (const ScenarioResult& s : results) {
      if (!s.status.empty() || s.higher_is_better != throughput) continue;
      if (!throughput && s.unit != "ns") continue;  // AsyncIdle: CPU time
      for (size_t m = 0; m < s.metrics.size(); ++m) {
        std::string label = RowName(s, m);
        std::replace(label.begin(), label.end(), ' ', '_');
        data += "\"" + label + "\"";
        for (const std::string& c : columns) {
          const ImplResult* impl = s.Find(c);
          data += " ";
          data += impl != nullptr
                      ? JsonNumber(Summarize(impl->samples[m]).median)
                      : "?";
        }
        data += "\n";
      }
    }
    return data;
  };
  const std::string throughput = block(true);
  const std::string latency = block(false);

  std::string script;
  script += "set terminal pngcairo size 1600,1100 font ',9'\n";
  script += "set output '" + path + "'\n";
  script += "set datafile missing '?'\n";
  script += "$throughput << EOD\n" + throughput + "EOD\n";
  script += "$latency << EOD\n" + latency + "EOD\n";
  script +=
      "set style data histograms\n"
      "set style histogram clustered gap 1\n"
      "set style fill solid 0.85 border -1\n"
      "set boxwidth 0.9\n"
      "set logscale y\n"
      "set grid ytics\n"
      "set key outside right top vertical\n"
      "set xtics rotate by -30 noenhanced\n"
      "set multiplot layout 2,1 title 'ringflow topology benchmarks, " +
      std::to_string(info.cpus) + " CPUs, " + info.date +
      " (medians; bound = ceiling or floor)' noenhanced\n";
  // Columns with at least one value among the rows of that kind (gnuplot
  // warns about a column with none).
  auto has_data = [&](bool rate, const std::string& column) {
    for (const ScenarioResult& s : results) {
      if (s.status.empty() && s.higher_is_better == rate &&
          (rate || s.unit == "ns") && s.Find(column) != nullptr) {
        return true;
      }
    }
    return false;
  };
  auto plot = [&](const std::string& block_name, const std::string& ylabel,
                  const std::string& title) {
    const bool rate = block_name == "$throughput";
    std::string cmd = "set title '" + title + "' noenhanced\nset ylabel '" +
                      ylabel + "'\nplot ";
    bool first = true;
    for (size_t i = 0; i < columns.size(); ++i) {
      if (!has_data(rate, columns[i])) continue;
      const auto c = colour.find(columns[i]);
      cmd += (first ? "" : ", ") + block_name + " using " +
             std::to_string(i + 2) + (first ? ":xtic(1)" : "") + " title '" +
             columns[i] + "' noenhanced linecolor rgb '" +
             (c != colour.end() ? c->second : std::string("#f781bf")) + "'";
      first = false;
    }
    return cmd + "\n";
  };
  if (!throughput.empty()) {
    script += plot("$throughput", "M events/s (log)",
                   "Throughput (higher is better)");
  }
  if (!latency.empty()) {
    script += plot("$latency", "ns (log)",
                   "PingPong round trip, NotifierWake one way (lower is "
                   "better)");
  }
  script += "unset multiplot\n";

  std::FILE* gp = popen("gnuplot", "w");
  if (gp == nullptr) {
    std::fprintf(stderr, "ringflow_bench: cannot start gnuplot\n");
    return false;
  }
  std::fwrite(script.data(), 1, script.size(), gp);
  const int status = pclose(gp);
  if (status != 0) {
    std::fprintf(stderr, "ringflow_bench: gnuplot failed (status %d)\n",
                 status);
    return false;
  }
  return true;
}

}  // namespace ringflow::bench
