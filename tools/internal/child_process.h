// tools/internal/child_process.h
//
// A child process for ringflow's own programs: the `ringflow` tool (the
// demo's consumer processes), the benchmarks (SharedOneToOne's consumer
// process) and the multi-process tests. Not installed, not public API.
//
//   ChildProcess::Spawn(argv)      starts argv[0] (a path) with argv
//   ChildProcess::SpawnSelf(argv)  starts /proc/self/exe with argv (argv[0]
//                                  is only the name the child sees)
//   ChildProcess::Fork(body)       forks; the child runs body() and _exits
//                                  with what it returns
//   ReadLine(timeout)              the next line of the child's stdout
//   ReadToEnd(timeout)             all it still writes, until it closes stdout
//   WriteLine / CloseStdin         the child's stdin
//   Wait(timeout)                  reaps it: its wait status, or empty
//   WaitOrKill(timeout)            waits, then SIGKILLs and reaps it
//   DescribeWaitStatus(status)     "exited 3" / "killed by signal 9"
//
// The destructor kills (SIGKILL, or SIGTERM first when
// SpawnOptions::sigterm_grace is set) and reaps a child still running, so a
// caller that returns early, or a test that fails, never leaks one.
//
// Threads: one ChildProcess is used by one thread at a time. Every pipe end
// and the pidfd are close-on-exec, so a child never holds another child's
// pipes open (EOF works). Waits with a deadline sleep in poll(2) on the
// child's stdout or on a pidfd; nothing here sleeps for a fixed time.
// Cold path: everything allocates and makes system calls.

#ifndef RINGFLOW_TOOLS_INTERNAL_CHILD_PROCESS_H_
#define RINGFLOW_TOOLS_INTERNAL_CHILD_PROCESS_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace ringflow::tools_internal {

struct SpawnOptions {
  enum class Input {
    kPipe,     // WriteLine and CloseStdin write to it
    kInherit,  // the parent's stdin
    kDevNull,
  };
  enum class Output {
    kPipe,     // ReadLine and ReadToEnd read it; stderr is inherited
    kInherit,  // the parent's stdout and stderr
    kFile,     // stdout and stderr appended to `output_file`
  };
  // kPipe makes Spawn ignore SIGPIPE in this process, so that a write to a
  // child that died fails instead of killing the parent.
  Input stdin_from = Input::kPipe;
  Output stdout_to = Output::kPipe;
  std::string output_file;  // Output::kFile only; created (0644) if absent
  // How the destructor ends a child still running: SIGKILL at once when
  // zero; else SIGTERM, and SIGKILL after this long.
  absl::Duration sigterm_grace = absl::ZeroDuration();
};

class ChildProcess {
 public:
  static constexpr char kSelf[] = "/proc/self/exe";

  // Starts the program at argv[0] (a path; PATH is not searched) with
  // `argv` and the parent's environment. Fails (naming the program) when it
  // could not be started (glibc's posix_spawn reports a failed exec, e.g.
  // no such file, here too).
  static absl::StatusOr<ChildProcess> Spawn(
      const std::vector<std::string>& argv, const SpawnOptions& options = {});
  // Starts this executable again (/proc/self/exe); argv[0] is the name the
  // child sees.
  static absl::StatusOr<ChildProcess> SpawnSelf(
      const std::vector<std::string>& argv, const SpawnOptions& options = {});
  // Forks; the child sets up its stdin and stdout as `options` say, runs
  // `body` and _exits with its result (without running destructors or
  // flushing stdio; 127 if setting up the streams failed). Only for
  // single-purpose children of a test: after a fork of a multi-threaded process
  // `body` may call only what is safe there in practice (no lock another thread
  // may have held).
  static absl::StatusOr<ChildProcess> Fork(absl::FunctionRef<int()> body,
                                           const SpawnOptions& options = {});

  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&&) = delete;
  ChildProcess(const ChildProcess&) = delete;
  ~ChildProcess();

  // The next line the child wrote to stdout (without '\n'); empty on EOF
  // (output_closed() is then true) or when `timeout` passed first
  // (absl::InfiniteDuration(): no deadline).
  std::optional<std::string> ReadLine(absl::Duration timeout);
  // Reads lines until one starts with `prefix` and returns it; the lines
  // before it are appended to `skipped` when given. Empty as ReadLine.
  std::optional<std::string> ReadLineStartingWith(
      std::string_view prefix, absl::Duration timeout,
      std::string* skipped = nullptr);
  // Everything the child writes to stdout until it closes it (and what
  // ReadLine read but did not return yet); empty when `timeout` passed
  // first (what was read stays for the next call).
  std::optional<std::string> ReadToEnd(absl::Duration timeout);
  // Whether the child's stdout reached EOF (or was never a pipe).
  bool output_closed() const { return stdout_ < 0; }

  // Writes `line` and '\n' to the child's stdin; false if it is closed or
  // the child is gone.
  bool WriteLine(std::string_view line);
  void CloseStdin();

  // Sends `signal`; false once the child is reaped.
  bool Kill(int signal);
  // Reaps the child: its wait status (also on later calls), or empty when
  // `timeout` passed first (the child is left running) or waitpid failed.
  std::optional<int> Wait(absl::Duration timeout);
  // Waits; SIGKILLs and reaps a child still running by then. The wait
  // status, or -1 if waitpid failed.
  int WaitOrKill(absl::Duration timeout);
  // Whether the child has not ended yet (reaps it if it has).
  bool Running() { return !Wait(absl::ZeroDuration()).has_value(); }

  // -1 once reaped.
  pid_t pid() const { return pid_; }

 private:
  static absl::StatusOr<ChildProcess> Start(
      const char* path, const std::vector<std::string>& argv,
      const SpawnOptions& options);
  ChildProcess(pid_t pid, int stdin_fd, int stdout_fd,
               absl::Duration sigterm_grace);
  // Waits until `deadline` for output and appends one read to buffer_, or
  // closes stdout_ at EOF; false if the deadline passed first.
  bool Fill(absl::Time deadline);

  pid_t pid_;           // -1 once reaped
  int pidfd_;           // readable once the child ended; -1 without pidfd_open
  int stdin_;           // write end of the child's stdin; -1 if none or closed
  int stdout_;          // read end of the child's stdout; -1 if none or at EOF
  std::string buffer_;  // read from stdout_, not returned yet
  std::optional<int> status_;  // set once reaped
  absl::Duration sigterm_grace_;
};

// "exited 3", "killed by signal 11", or "wait status N": for messages.
std::string DescribeWaitStatus(int status);

}  // namespace ringflow::tools_internal

#endif  // RINGFLOW_TOOLS_INTERNAL_CHILD_PROCESS_H_
