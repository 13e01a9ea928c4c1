// ringflow/processors/internal/thread_affinity.h
//
// CPU pinning for processor threads. Setup path only.

#ifndef RINGFLOW_PROCESSORS_INTERNAL_THREAD_AFFINITY_H_
#define RINGFLOW_PROCESSORS_INTERNAL_THREAD_AFFINITY_H_

#include <thread>
#include <vector>

#include "absl/status/status.h"

namespace ringflow::processors_internal {

// InvalidArgument naming the first CPU this process may not run on.
absl::Status ValidateCpuAffinity(const std::vector<int>& cpus);

// Pins `thread` to `cpu`. InvalidArgument naming the CPU on failure.
absl::Status PinThread(std::thread& thread, int cpu);

}  // namespace ringflow::processors_internal

#endif  // RINGFLOW_PROCESSORS_INTERNAL_THREAD_AFFINITY_H_
