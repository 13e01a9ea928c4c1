#include "ringflow/processors/internal/thread_affinity.h"

#include <pthread.h>
#include <sched.h>

#include <cstring>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"

namespace ringflow::processors_internal {

absl::Status ValidateCpuAffinity(const std::vector<int>& cpus) {
  if (cpus.empty()) return absl::OkStatus();
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0) {
    return absl::InternalError(
        absl::StrCat("sched_getaffinity failed: ", std::strerror(errno)));
  }
  for (size_t i = 0; i < cpus.size(); ++i) {
    const int cpu = cpus[i];
    if (cpu < 0 || cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, &allowed)) {
      return absl::InvalidArgumentError(
          absl::StrCat("cpu_affinity[", i, "] = ", cpu,
                       " is not a CPU this process may run on"));
    }
  }
  return absl::OkStatus();
}

absl::Status PinThread(std::thread& thread, int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  const int rc =
      pthread_setaffinity_np(thread.native_handle(), sizeof(set), &set);
  if (rc != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot pin a processor thread to cpu ", cpu, ": ", std::strerror(rc)));
  }
  return absl::OkStatus();
}

}  // namespace ringflow::processors_internal
