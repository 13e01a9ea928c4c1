// bench/columns.h
//
// A scenario's row resolved into runs: each column of the row (scenario.h:
// ringflow, the peers, the other columns, the bound) with the run its
// runner implements for the scenario's topology, and why each peer column
// left out of the row is n/a. The run loop (topology_bench.cc) times what
// this returns; the registry test checks that every row resolves.
//
// Thread-safety: stateless; call from the scenario thread.

#ifndef RINGFLOW_BENCH_COLUMNS_H_
#define RINGFLOW_BENCH_COLUMNS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "scenario.h"

namespace ringflow::bench {

// One column of a row, ready to run.
struct Impl {
  std::string column;
  std::string detail;  // the column's, or the bound's own
  RunFn run;
};

// The row of `s`, in order. InvalidArgument naming the scenario and the
// column when a column's runner does not offer the scenario's topology in
// that setup: a mistake in the registry.
absl::StatusOr<std::vector<Impl>> ImplsOf(const Scenario& s);

// Every peer column left out of the row of `s`, with why it is n/a.
std::map<std::string, std::string> NotApplicable(const Scenario& s);

}  // namespace ringflow::bench

#endif  // RINGFLOW_BENCH_COLUMNS_H_
