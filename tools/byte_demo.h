// tools/byte_demo.h — `ringflow demo --bytes`: variable-length records
// through a byte ring in shared memory, read by verifying reader
// processes (byte_demo.cc).
#ifndef RINGFLOW_TOOLS_BYTE_DEMO_H_
#define RINGFLOW_TOOLS_BYTE_DEMO_H_

#include "absl/status/status.h"
#include "tools/demo.h"

namespace ringflow::tools {

// Runs the byte-ring demo with `options` (validated by the demo command):
// events = records, ring.capacity in bytes, producer kMulti = two producer
// threads; consumer_processes reader processes. DataLoss when a record was
// lost, duplicated or corrupt.
absl::Status RunByteDemo(const DemoOptions& options);

}  // namespace ringflow::tools

#endif  // RINGFLOW_TOOLS_BYTE_DEMO_H_
