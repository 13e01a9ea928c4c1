// bench/columns.cc — a scenario's row resolved into runs (columns.h).

#include "columns.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "bounds.h"
#include "peer_topologies.h"
#include "report.h"
#include "ringflow_topologies.h"
#include "scenario.h"
#include "sharded_topologies.h"
#include "shared_topologies.h"
#include "topology.h"

namespace ringflow::bench {
namespace {

// ---- a scenario's columns --------------------------------------------------

// The run of `column` in `s`, or null when its runner does not offer `s`'s
// topology in that setup. Fills in a bound's detail.
RunFn RunOf(const Scenario& s, const Column& column, std::string& detail) {
  switch (column.runner) {
    case Runner::kRingflow:
      return RingflowRun(s, column.ringflow);
    case Runner::kSharedCrossProcess:
    case Runner::kSharedInProcess:
      return SharedRun(s, column.runner == Runner::kSharedInProcess);
    case Runner::kPeer:
      return PeerRun(s, column.name);
    case Runner::kShardedRing:
    case Runner::kShardedQueue:
      return ShardedRun(s, column.runner);
    case Runner::kOwn:
      return column.run;
    case Runner::kBound:
      if (s.topology == Topology::kPingPong) {
        if (detail.empty()) detail = "two padded atomics, spinning";
        return Floor;
      }
      if (detail.empty()) {
        detail = "raw ring, cursor published every " + std::to_string(s.batch) +
                 " events";
      }
      return [k = s.batch, pauses = column.bound_backoff_pauses](
                 const RunContext& c) { return Ceiling(c, k, pauses); };
  }
  return nullptr;
}

}  // namespace

absl::StatusOr<std::vector<Impl>> ImplsOf(const Scenario& s) {
  std::vector<Column> columns = {s.ringflow};
  for (const std::string& peer : s.peers) {
    columns.push_back({peer, s.peer_detail, Runner::kPeer});
  }
  columns.insert(columns.end(), s.columns.begin(), s.columns.end());
  if (s.bound && std::ranges::none_of(columns, [](const Column& c) {
        return c.name == kBoundColumn;
      })) {
    columns.push_back(Bound());
  }
  std::vector<Impl> impls;
  for (const Column& column : columns) {
    std::string detail = column.detail;
    RunFn run = RunOf(s, column, detail);
    if (!run) {
      return absl::InvalidArgumentError(
          "scenario " + s.name + ": column '" + column.name +
          "' cannot run its topology in that setup (scenarios.cc)");
    }
    impls.push_back({column.name, std::move(detail), std::move(run)});
  }
  return impls;
}

std::map<std::string, std::string> NotApplicable(const Scenario& s) {
  std::map<std::string, std::string> reasons = s.not_applicable;
  for (const std::string& column : PeerColumns()) {
    if (std::ranges::find(s.peers, column) == s.peers.end() &&
        std::ranges::none_of(s.columns, [&](const Column& c) {
          return c.name == column;  // a family's own run of that peer
        })) {
      reasons.emplace(column, s.others);  // keeps a reason given by name
    }
  }
  return reasons;
}

}  // namespace ringflow::bench
