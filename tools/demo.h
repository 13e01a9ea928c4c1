// tools/demo.h — `ringflow demo`.
#ifndef RINGFLOW_TOOLS_DEMO_H_
#define RINGFLOW_TOOLS_DEMO_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "ringflow/core/ring_options.h"
#include "tools/internal/child_process.h"

namespace ringflow::tools {

struct DemoOptions {
  int64_t events = 0;  // 0: publish for `seconds`
  double seconds = 3.0;
  std::string metrics_address = "127.0.0.1:9464";
  std::string ring_name = "ringflow-demo";
  int consumer_processes = 2;
  bool keep = false;
  RingOptions ring{.capacity = 65'536,
                   .producer_type = ProducerType::kSingle,
                   .wait_strategy = WaitStrategyKind::kBlocking};
};

// Entry point of the subcommand; returns the process exit code.
int DemoCommand(int argc, char** argv);

// Starts `count` processes `ringflow COMMAND RING --name=audit-<i>
// --verify` (consume, or tail for a byte ring) and waits until each says
// it attached, so they see everything published afterwards. The error
// names the process and what it said instead.
absl::StatusOr<std::vector<tools_internal::ChildProcess>>
StartVerifyingProcesses(std::string_view command, const std::string& ring,
                        int count);

// What a verifying process printed once it ended, and whether it exited
// 0. Aborted naming the signal when it was killed. Waits without bound:
// the process ends at its stream's end marker or when the producer goes.
struct VerifierExit {
  std::string output;
  bool exited_zero = false;
};
absl::StatusOr<VerifierExit> AwaitVerifyingProcess(
    tools_internal::ChildProcess& child);

}  // namespace ringflow::tools

#endif  // RINGFLOW_TOOLS_DEMO_H_
