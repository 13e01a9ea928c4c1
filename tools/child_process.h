// tools/child_process.h — runs `ringflow <args>` as a child process with
// its stdout on a pipe (the demo's consumer processes). Cold path.
#ifndef RINGFLOW_TOOLS_CHILD_PROCESS_H_
#define RINGFLOW_TOOLS_CHILD_PROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace ringflow::tools {

class ChildProcess {
 public:
  // Starts this executable (/proc/self/exe) with `args`.
  static absl::StatusOr<ChildProcess> StartSelf(
      const std::vector<std::string>& args);

  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&&) = delete;
  ~ChildProcess();  // kills and reaps a child still running

  // The next line of the child's stdout (without '\n'); empty optional-like
  // status at EOF.
  absl::StatusOr<std::string> ReadLine();
  // Everything the child still writes, until it exits; then its exit code.
  absl::StatusOr<int> Wait(std::string* rest_of_output);

 private:
  ChildProcess(pid_t pid, int fd) : pid_(pid), fd_(fd) {}
  pid_t pid_ = -1;
  int fd_ = -1;
  std::string buffer_;
};

}  // namespace ringflow::tools

#endif  // RINGFLOW_TOOLS_CHILD_PROCESS_H_
