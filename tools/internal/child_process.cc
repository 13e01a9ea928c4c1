#include "tools/internal/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

extern char** environ;

namespace ringflow::tools_internal {
namespace {

using Input = SpawnOptions::Input;
using Output = SpawnOptions::Output;

// poll(2)'s timeout for `left`: -1 when infinite, 0 when none, else the
// milliseconds rounded up (at most an hour; callers loop on their deadline).
int PollMs(absl::Duration left) {
  if (left == absl::InfiniteDuration()) return -1;
  if (left <= absl::ZeroDuration()) return 0;
  return static_cast<int>(
      std::min<int64_t>(absl::ToInt64Milliseconds(left) + 1, 3'600'000));
}

// The pipes a child's streams need: the parent keeps in[1] and out[0]
// (Take), the child gets in[0] and out[1]. All close-on-exec; whatever is
// still open on destruction is closed.
struct Pipes {
  int in[2] = {-1, -1};
  int out[2] = {-1, -1};

  Pipes() = default;
  Pipes(const Pipes&) = delete;
  Pipes& operator=(const Pipes&) = delete;
  ~Pipes() {
    for (int fd : {in[0], in[1], out[0], out[1]}) {
      if (fd >= 0) ::close(fd);
    }
  }

  absl::Status Open(const SpawnOptions& options) {
    if (options.stdin_from == Input::kPipe) {
      if (::pipe2(in, O_CLOEXEC) != 0) {
        return absl::ErrnoToStatus(errno, "pipe2 (stdin)");
      }
      // A child that died must not kill the parent through a write to its
      // pipe: the write fails with EPIPE instead.
      ::signal(SIGPIPE, SIG_IGN);
    }
    if (options.stdout_to == Output::kPipe && ::pipe2(out, O_CLOEXEC) != 0) {
      return absl::ErrnoToStatus(errno, "pipe2 (stdout)");
    }
    return absl::OkStatus();
  }

  // In the parent after the child started: closes the child's ends.
  void CloseChildEnds() {
    if (in[0] >= 0) ::close(std::exchange(in[0], -1));
    if (out[1] >= 0) ::close(std::exchange(out[1], -1));
  }
};

// In a forked child: stdin and stdout as `options` say; false on failure.
// Only async-signal-safe calls.
bool SetUpForkedChild(const SpawnOptions& options, Pipes& pipes) {
  // The parent's ends: held here, they would keep this child's stdin open.
  if (pipes.in[1] >= 0) ::close(pipes.in[1]);
  if (pipes.out[0] >= 0) ::close(pipes.out[0]);
  switch (options.stdin_from) {
    case Input::kPipe:
      if (::dup2(pipes.in[0], STDIN_FILENO) < 0) return false;
      break;
    case Input::kDevNull: {
      const int fd = ::open("/dev/null", O_RDONLY);
      if (fd < 0 || ::dup2(fd, STDIN_FILENO) < 0) return false;
      break;
    }
    case Input::kInherit:
      break;
  }
  switch (options.stdout_to) {
    case Output::kPipe:
      if (::dup2(pipes.out[1], STDOUT_FILENO) < 0) return false;
      break;
    case Output::kFile: {
      const int fd = ::open(options.output_file.c_str(),
                            O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd < 0 || ::dup2(fd, STDOUT_FILENO) < 0 ||
          ::dup2(STDOUT_FILENO, STDERR_FILENO) < 0) {
        return false;
      }
      break;
    }
    case Output::kInherit:
      break;
  }
  return true;
}

absl::StatusOr<pid_t> PosixSpawn(const char* path,
                                 const std::vector<std::string>& argv,
                                 const SpawnOptions& options, Pipes& pipes) {
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  // dup2 clears close-on-exec on the target; every other pipe end (ours and
  // other children's) stays close-on-exec, so EOF works.
  switch (options.stdin_from) {
    case Input::kPipe:
      ::posix_spawn_file_actions_adddup2(&actions, pipes.in[0], STDIN_FILENO);
      break;
    case Input::kDevNull:
      ::posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null",
                                         O_RDONLY, 0);
      break;
    case Input::kInherit:
      break;
  }
  switch (options.stdout_to) {
    case Output::kPipe:
      ::posix_spawn_file_actions_adddup2(&actions, pipes.out[1], STDOUT_FILENO);
      break;
    case Output::kFile:
      ::posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO,
                                         options.output_file.c_str(),
                                         O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO,
                                         STDERR_FILENO);
      break;
    case Output::kInherit:
      break;
  }
  pid_t pid = -1;
  const int rc =
      ::posix_spawn(&pid, path, &actions, nullptr, args.data(), environ);
  ::posix_spawn_file_actions_destroy(&actions);
  if (rc != 0)
    return absl::ErrnoToStatus(rc, absl::StrCat("posix_spawn ", path));
  return pid;
}

}  // namespace

absl::StatusOr<ChildProcess> ChildProcess::Spawn(
    const std::vector<std::string>& argv, const SpawnOptions& options) {
  if (argv.empty()) return absl::InvalidArgumentError("Spawn: empty argv");
  return Start(argv[0].c_str(), argv, options);
}

absl::StatusOr<ChildProcess> ChildProcess::SpawnSelf(
    const std::vector<std::string>& argv, const SpawnOptions& options) {
  if (argv.empty()) return absl::InvalidArgumentError("SpawnSelf: empty argv");
  return Start(kSelf, argv, options);
}

absl::StatusOr<ChildProcess> ChildProcess::Start(
    const char* path, const std::vector<std::string>& argv,
    const SpawnOptions& options) {
  Pipes pipes;
  if (absl::Status s = pipes.Open(options); !s.ok()) return s;
  absl::StatusOr<pid_t> pid = PosixSpawn(path, argv, options, pipes);
  if (!pid.ok()) return pid.status();
  pipes.CloseChildEnds();
  return ChildProcess(*pid, std::exchange(pipes.in[1], -1),
                      std::exchange(pipes.out[0], -1), options.sigterm_grace);
}

absl::StatusOr<ChildProcess> ChildProcess::Fork(absl::FunctionRef<int()> body,
                                                const SpawnOptions& options) {
  Pipes pipes;
  if (absl::Status s = pipes.Open(options); !s.ok()) return s;
  const pid_t pid = ::fork();
  if (pid < 0) return absl::ErrnoToStatus(errno, "fork");
  if (pid == 0) {
    if (!SetUpForkedChild(options, pipes)) ::_exit(127);
    ::_exit(body());
  }
  pipes.CloseChildEnds();
  return ChildProcess(pid, std::exchange(pipes.in[1], -1),
                      std::exchange(pipes.out[0], -1), options.sigterm_grace);
}

ChildProcess::ChildProcess(pid_t pid, int stdin_fd, int stdout_fd,
                           absl::Duration sigterm_grace)
    : pid_(pid),
      // Close-on-exec by default. -1 (ENOSYS before Linux 5.3): Wait polls.
      pidfd_(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0))),
      stdin_(stdin_fd),
      stdout_(stdout_fd),
      sigterm_grace_(sigterm_grace) {}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      pidfd_(std::exchange(other.pidfd_, -1)),
      stdin_(std::exchange(other.stdin_, -1)),
      stdout_(std::exchange(other.stdout_, -1)),
      buffer_(std::move(other.buffer_)),
      status_(other.status_),
      sigterm_grace_(other.sigterm_grace_) {}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    if (sigterm_grace_ > absl::ZeroDuration()) Kill(SIGTERM);
    WaitOrKill(sigterm_grace_);
  }
  for (int fd : {pidfd_, stdin_, stdout_}) {
    if (fd >= 0) ::close(fd);
  }
}

bool ChildProcess::Fill(absl::Time deadline) {
  for (;;) {
    pollfd p{stdout_, POLLIN, 0};
    const int ready = ::poll(&p, 1, PollMs(deadline - absl::Now()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) {
      if (absl::Now() >= deadline) return false;
      continue;  // woke early
    }
    char chunk[4096];
    ssize_t n = -1;  // poll failed (ENOMEM): read as EOF, not a spin
    if (ready > 0) {
      n = ::read(stdout_, chunk, sizeof(chunk));
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    }
    if (n <= 0) {  // EOF: the child closed stdout or died
      ::close(std::exchange(stdout_, -1));
      return true;
    }
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }
}

std::optional<std::string> ChildProcess::ReadLine(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    const size_t newline = buffer_.find('\n');
    if (newline != std::string::npos) {
      std::string line = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      return line;
    }
    if (stdout_ < 0 || !Fill(deadline)) return std::nullopt;
  }
}

std::optional<std::string> ChildProcess::ReadLineStartingWith(
    std::string_view prefix, absl::Duration timeout, std::string* skipped) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    std::optional<std::string> line = ReadLine(deadline - absl::Now());
    if (!line) return std::nullopt;
    if (line->compare(0, prefix.size(), prefix) == 0) return line;
    if (skipped != nullptr) absl::StrAppend(skipped, *line, "\n");
  }
}

std::optional<std::string> ChildProcess::ReadToEnd(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (stdout_ >= 0) {
    if (!Fill(deadline)) return std::nullopt;
  }
  return std::exchange(buffer_, {});
}

bool ChildProcess::WriteLine(std::string_view line) {
  if (stdin_ < 0) return false;
  const std::string data = std::string(line) + "\n";
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(stdin_, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

void ChildProcess::CloseStdin() {
  if (stdin_ >= 0) ::close(std::exchange(stdin_, -1));
}

bool ChildProcess::Kill(int signal) {
  return pid_ > 0 && ::kill(pid_, signal) == 0;
}

std::optional<int> ChildProcess::Wait(absl::Duration timeout) {
  if (pid_ < 0) return status_;
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r < 0 && errno == EINTR) continue;
    if (r != 0) {
      // Reaped, or not ours to wait for (ECHILD): never signal it again.
      pid_ = -1;
      if (pidfd_ >= 0) ::close(std::exchange(pidfd_, -1));
      if (r > 0) status_ = status;
      return status_;
    }
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return std::nullopt;
    if (pidfd_ >= 0) {
      // Readable once the child ended; then waitpid above reaps it.
      pollfd p{pidfd_, POLLIN, 0};
      (void)::poll(&p, 1, PollMs(left));
    } else {
      (void)::poll(nullptr, 0, 1);  // no pidfd (Linux < 5.3): look again
    }
  }
}

int ChildProcess::WaitOrKill(absl::Duration timeout) {
  if (std::optional<int> status = Wait(timeout)) return *status;
  Kill(SIGKILL);
  return Wait(absl::InfiniteDuration()).value_or(-1);
}

std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) return absl::StrCat("exited ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return absl::StrCat("killed by signal ", WTERMSIG(status));
  }
  return absl::StrCat("wait status ", status);
}

}  // namespace ringflow::tools_internal
