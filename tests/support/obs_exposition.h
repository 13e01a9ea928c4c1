// tests/support/obs_exposition.h
//
// Helpers for the observability tests that read metrics back:
//
//   ParseExposition(text)  the samples, # TYPE and # HELP lines of a
//                          Prometheus text exposition (format 0.0.4). A line
//                          it cannot parse goes to `errors`, never skipped
//                          silently, so a malformed scrape fails the test.
//   Exposition::Value      the value of one series: metric name and its
//                          exact label set.
//   FindMetric / Value     the same over prometheus::MetricFamily vectors
//                          (BuildMetricFamilies, MetricsExporter::Collect).
//   CounterRecords         every allocated record of a CountersBlock, by
//                          (name, labels), for exact content checks.
//   AlignedBytes           128-aligned heap memory for a CountersBlock.

#ifndef RINGFLOW_TESTS_SUPPORT_OBS_EXPOSITION_H_
#define RINGFLOW_TESTS_SUPPORT_OBS_EXPOSITION_H_

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "prometheus/client_metric.h"
#include "prometheus/metric_family.h"
#include "prometheus/metric_type.h"
#include "ringflow/core/internal/counters_block.h"

namespace ringflow::testing {

using MetricLabels = std::map<std::string, std::string>;

struct ExpositionSample {
  std::string name;
  MetricLabels labels;
  double value = 0;
};

struct Exposition {
  std::vector<ExpositionSample> samples;
  std::map<std::string, std::string> types;  // family name -> type
  std::map<std::string, std::string> helps;  // family name -> help
  std::vector<std::string> errors;           // lines that did not parse

  // The value of the sample named `name` with exactly `labels`, if any.
  std::optional<double> Value(std::string_view name,
                              const MetricLabels& labels) const {
    std::optional<double> found;
    for (const ExpositionSample& s : samples) {
      if (s.name == name && s.labels == labels) found = s.value;
    }
    return found;
  }

  // Number of samples named `name` (any labels).
  size_t Count(std::string_view name) const {
    size_t n = 0;
    for (const ExpositionSample& s : samples) n += s.name == name ? 1 : 0;
    return n;
  }
};

namespace observability_internal {

inline bool IsNameChar(char c, bool first) {
  const bool alpha =
      (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
  return alpha || (!first && c >= '0' && c <= '9');
}

// Parses `{a="x",b="y"}` at `line[i]` (which is '{'); advances `i` past
// '}'. False on a syntax error.
inline bool ParseLabelSet(std::string_view line, size_t& i, MetricLabels& out) {
  ++i;  // '{'
  while (i < line.size() && line[i] != '}') {
    const size_t start = i;
    while (i < line.size() && IsNameChar(line[i], i == start)) ++i;
    if (i == start || i + 1 >= line.size() || line[i] != '=' ||
        line[i + 1] != '"') {
      return false;
    }
    const std::string key(line.substr(start, i - start));
    i += 2;
    std::string value;
    while (i < line.size() && line[i] != '"') {
      if (line[i] == '\\' && i + 1 < line.size()) {
        ++i;
        value += line[i] == 'n' ? '\n' : line[i];
      } else {
        value += line[i];
      }
      ++i;
    }
    if (i >= line.size()) return false;
    ++i;  // closing quote
    if (!out.emplace(key, std::move(value)).second) return false;
    if (i < line.size() && line[i] == ',') ++i;
  }
  if (i >= line.size()) return false;
  ++i;  // '}'
  return true;
}

inline bool ParseDouble(std::string_view text, double& out) {
  if (text.empty()) return false;
  const std::string s(text);
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

}  // namespace observability_internal

// Parses the text exposition format strictly enough for exact checks.
inline Exposition ParseExposition(std::string_view text) {
  Exposition out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    const std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    if (line.empty()) continue;
    if (line[0] == '#') {
      // "# TYPE name type" / "# HELP name text"; other comments are fine.
      const bool type = line.rfind("# TYPE ", 0) == 0;
      const bool help = line.rfind("# HELP ", 0) == 0;
      if (!type && !help) continue;
      const std::string_view rest = line.substr(7);
      const size_t space = rest.find(' ');
      if (space == std::string_view::npos) {
        out.errors.emplace_back(line);
        continue;
      }
      auto& map = type ? out.types : out.helps;
      map[std::string(rest.substr(0, space))] =
          std::string(rest.substr(space + 1));
      continue;
    }
    ExpositionSample sample;
    size_t i = 0;
    while (i < line.size() &&
           observability_internal::IsNameChar(line[i], i == 0))
      ++i;
    sample.name = std::string(line.substr(0, i));
    bool ok = !sample.name.empty();
    if (ok && i < line.size() && line[i] == '{') {
      ok = observability_internal::ParseLabelSet(line, i, sample.labels);
    }
    if (ok && (i >= line.size() || line[i] != ' ')) ok = false;
    if (ok) {
      std::string_view value = line.substr(i + 1);
      // An optional timestamp follows the value.
      if (const size_t sp = value.find(' '); sp != std::string_view::npos) {
        value = value.substr(0, sp);
      }
      ok = observability_internal::ParseDouble(value, sample.value);
    }
    if (ok) {
      out.samples.push_back(std::move(sample));
    } else {
      out.errors.emplace_back(line);
    }
  }
  return out;
}

// ---- prometheus::MetricFamily lookups -------------------------------------

inline MetricLabels LabelsOf(const prometheus::ClientMetric& metric) {
  MetricLabels labels;
  for (const auto& l : metric.label) labels[l.name] = l.value;
  return labels;
}

inline const prometheus::MetricFamily* FindFamily(
    const std::vector<prometheus::MetricFamily>& families,
    std::string_view name) {
  for (const auto& f : families) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

// The metric of family `name` with exactly `labels`, or null.
inline const prometheus::ClientMetric* FindMetric(
    const std::vector<prometheus::MetricFamily>& families,
    std::string_view name, const MetricLabels& labels) {
  const prometheus::MetricFamily* family = FindFamily(families, name);
  if (family == nullptr) return nullptr;
  const prometheus::ClientMetric* found = nullptr;
  for (const auto& m : family->metric) {
    if (LabelsOf(m) == labels) {
      if (found != nullptr) return nullptr;  // duplicates are an error
      found = &m;
    }
  }
  return found;
}

// The value of a counter or gauge series, if present.
inline std::optional<double> Value(
    const std::vector<prometheus::MetricFamily>& families,
    std::string_view name, const MetricLabels& labels) {
  const prometheus::MetricFamily* family = FindFamily(families, name);
  const prometheus::ClientMetric* m = FindMetric(families, name, labels);
  if (family == nullptr || m == nullptr) return std::nullopt;
  switch (family->type) {
    case prometheus::MetricType::Counter:
      return m->counter.value;
    case prometheus::MetricType::Gauge:
      return m->gauge.value;
    default:
      return std::nullopt;
  }
}

inline std::vector<std::string> FamilyNames(
    const std::vector<prometheus::MetricFamily>& families) {
  std::vector<std::string> names;
  for (const auto& f : families) names.push_back(f.name);
  return names;
}

// ---- CountersBlock ----------------------------------------------------------

struct CounterRecord {
  core_internal::CounterType type;
  uint64_t le;
  std::string help;
  uint64_t value;
};

// Every allocated record, keyed by (name, labels, le).
using CounterRecordKey = std::tuple<std::string, std::string, uint64_t>;
inline std::map<CounterRecordKey, CounterRecord> CounterRecords(
    const core_internal::CountersBlock& block) {
  std::map<CounterRecordKey, CounterRecord> out;
  block.ForEach([&](const core_internal::CounterView& c) {
    out[{std::string(c.name), std::string(c.labels), c.le}] =
        CounterRecord{c.type, c.le, std::string(c.help), c.value};
  });
  return out;
}

// 128-aligned, zero-filled heap memory for a CountersBlock.
class AlignedBytes {
 public:
  explicit AlignedBytes(size_t size)
      : size_(size),
        data_(static_cast<std::byte*>(
            ::operator new (size == 0 ? 1 : size, std::align_val_t{128}))) {
    std::memset(data_, 0, size_ == 0 ? 1 : size_);
  }
  AlignedBytes(const AlignedBytes&) = delete;
  AlignedBytes& operator=(const AlignedBytes&) = delete;
  ~AlignedBytes() { ::operator delete (data_, std::align_val_t{128}); }

  std::byte* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  size_t size_;
  std::byte* data_;
};

}  // namespace ringflow::testing

#endif  // RINGFLOW_TESTS_SUPPORT_OBS_EXPOSITION_H_
