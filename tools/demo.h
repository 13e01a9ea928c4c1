// tools/demo.h — `ringflow demo`.
#ifndef RINGFLOW_TOOLS_DEMO_H_
#define RINGFLOW_TOOLS_DEMO_H_

#include <cstdint>
#include <string>

#include "ringflow/core/ring_options.h"

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

}  // namespace ringflow::tools

#endif  // RINGFLOW_TOOLS_DEMO_H_
