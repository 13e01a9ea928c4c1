// tests/support/shm_process.h
//
// Process plumbing for the multi-process shm tests:
//
//   UniqueRingName(tag)  a ring name no other test (or earlier run) uses:
//                        "t<pid>-<counter>-<tag>", cut to 32 characters.
//   RingRemover          removes a ring's segments when constructed (a stale
//                        leftover) and again when destroyed, so nothing is
//                        left under /dev/shm even when an assertion fails.
//   ChildProcess         a spawned helper (posix_spawn) whose stdin and
//                        stdout are pipes: the handshake channel. Lines are
//                        read with a deadline; the destructor SIGKILLs and
//                        reaps a child that is still there.
//   WaitUntil            polls a condition until it holds or a deadline
//                        passes (a hang guard, not a timing assertion).
//   DescribeWaitStatus   "exited 3" / "killed by signal 11" for messages.
//   FindSlot             the consumer slot of a ring holding a name.
//   Watchdog             runs a callback (e.g. ring->Halt()) if it is still
//                        armed after a deadline, so a producer blocked by a
//                        broken consumer fails the test instead of hanging.
//
// No sleeps synchronise anything: a child says what it did on its stdout,
// and the parent reads that line (or times out and fails the test).

#ifndef RINGFLOW_TESTS_SUPPORT_SHM_PROCESS_H_
#define RINGFLOW_TESTS_SUPPORT_SHM_PROCESS_H_

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "ringflow/shm/internal/control.h"

extern char** environ;

namespace ringflow::testing {

// A valid ring name unique to this process and call: "t<pid>-<n>-<tag>".
inline std::string UniqueRingName(std::string_view tag) {
  static std::atomic<int> counter{0};
  std::string name = absl::StrCat(
      "t", ::getpid(), "-", counter.fetch_add(1, std::memory_order_relaxed),
      "-", std::string(tag));
  if (name.size() > kMaxNameLength) name.resize(kMaxNameLength);
  return name;
}

// Removes both segments of a ring on construction and destruction, with
// force: whatever a test left under the name (a planted file, a truncated
// or rewritten ring, a ring a killed process still held) must not outlive
// it, or a later test process that gets the same pid finds it there.
class RingRemover {
 public:
  explicit RingRemover(std::string name) : name_(std::move(name)) {
    (void)shm_internal::Control::Remove(name_, /*force=*/true);
  }
  RingRemover(const RingRemover&) = delete;
  RingRemover& operator=(const RingRemover&) = delete;
  ~RingRemover() { (void)shm_internal::Control::Remove(name_, /*force=*/true); }

  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

// Polls `pred` (yielding) until it holds; false once `limit` passed.
template <typename Pred>
bool WaitUntil(Pred&& pred, absl::Duration limit) {
  const absl::Time deadline = absl::Now() + limit;
  while (!pred()) {
    if (absl::Now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

inline std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) return absl::StrCat("exited ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return absl::StrCat("killed by signal ", WTERMSIG(status));
  }
  return absl::StrCat("wait status ", status);
}

// The index of the active or evicted consumer slot named `name`, or -1.
inline int FindSlot(const shm_internal::Control& control,
                    std::string_view name) {
  for (int i = 0; i < control.max_consumers(); ++i) {
    const shm_internal::ConsumerSlot& slot = control.slot(i);
    const auto state = shm_internal::ConsumerSlot::StateOf(
        slot.state.load(std::memory_order_acquire));
    if ((state == shm_internal::ConsumerSlot::kActive ||
         state == shm_internal::ConsumerSlot::kEvicted) &&
        name == std::string_view(slot.name)) {
      return i;
    }
  }
  return -1;
}

class Watchdog {
 public:
  Watchdog(absl::Duration limit, std::function<void()> on_expiry)
      : thread_([this, limit, on_expiry = std::move(on_expiry)] {
          std::unique_lock<std::mutex> lock(mu_);
          const bool disarmed = cv_.wait_for(
              lock, absl::ToChronoNanoseconds(limit), [this] { return done_; });
          if (!disarmed) {
            fired_ = true;
            on_expiry();
          }
        }) {}
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;
  ~Watchdog() { Disarm(); }

  // Stops the watchdog; true if it had fired. Idempotent.
  bool Disarm() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    std::lock_guard<std::mutex> lock(mu_);
    return fired_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;   // guarded by mu_
  bool fired_ = false;  // guarded by mu_
  std::thread thread_;  // starts after the members above exist
};

class ChildProcess {
 public:
  // Starts argv[0] with argv; its stdin reads what WriteLine writes and its
  // stdout is what ReadLine reads (stderr is inherited, so its complaints
  // reach the test log). Empty when the program could not be started.
  static std::optional<ChildProcess> Spawn(
      const std::vector<std::string>& argv) {
    // A child that died must not kill the test through a write to its pipe.
    ::signal(SIGPIPE, SIG_IGN);
    int in[2];
    int out[2];
    if (::pipe2(in, O_CLOEXEC) != 0) return std::nullopt;
    if (::pipe2(out, O_CLOEXEC) != 0) {
      ::close(in[0]);
      ::close(in[1]);
      return std::nullopt;
    }
    std::vector<char*> args;
    for (const std::string& a : argv)
      args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    ::posix_spawn_file_actions_init(&actions);
    // dup2 clears close-on-exec on the target; every other pipe end (ours
    // and other children's) stays close-on-exec, so EOF works.
    ::posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    ::posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    pid_t pid = -1;
    const int rc =
        ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
    ::posix_spawn_file_actions_destroy(&actions);
    ::close(in[0]);
    ::close(out[1]);
    if (rc != 0) {
      ::close(in[1]);
      ::close(out[0]);
      return std::nullopt;
    }
    return ChildProcess(pid, in[1], out[0]);
  }

  ChildProcess(ChildProcess&& other) noexcept
      : pid_(std::exchange(other.pid_, -1)),
        stdin_(std::exchange(other.stdin_, -1)),
        stdout_(std::exchange(other.stdout_, -1)),
        buffer_(std::move(other.buffer_)),
        status_(other.status_) {}
  ChildProcess& operator=(ChildProcess&&) = delete;
  ChildProcess(const ChildProcess&) = delete;
  ~ChildProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
    }
    if (stdin_ >= 0) ::close(stdin_);
    if (stdout_ >= 0) ::close(stdout_);
  }

  // The next line the child printed (without '\n'); empty on EOF or when
  // `timeout` passed first.
  std::optional<std::string> ReadLine(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    for (;;) {
      const size_t nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      if (stdout_ < 0) return std::nullopt;
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) return std::nullopt;
      pollfd p{stdout_, POLLIN, 0};
      const int ready =
          ::poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) continue;  // deadline re-checked above
      char chunk[4096];
      const ssize_t n = ::read(stdout_, chunk, sizeof(chunk));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {  // EOF: the child closed stdout or died
        ::close(stdout_);
        stdout_ = -1;
        continue;
      }
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }

  // Reads lines until one starts with `prefix`, which it returns; the lines
  // before it are appended to `skipped` when given.
  std::optional<std::string> ReadLineStartingWith(
      std::string_view prefix, absl::Duration timeout,
      std::string* skipped = nullptr) {
    const absl::Time deadline = absl::Now() + timeout;
    for (;;) {
      std::optional<std::string> line = ReadLine(deadline - absl::Now());
      if (!line) return std::nullopt;
      if (line->compare(0, prefix.size(), prefix) == 0) return line;
      if (skipped != nullptr) absl::StrAppend(skipped, *line, "\n");
    }
  }

  // Writes `line` and a newline to the child's stdin.
  bool WriteLine(std::string_view line) {
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

  void CloseStdin() {
    if (stdin_ >= 0) ::close(std::exchange(stdin_, -1));
  }

  bool Kill(int signal) { return pid_ > 0 && ::kill(pid_, signal) == 0; }

  // Waits for the child to end and reaps it: its wait status, or empty when
  // `timeout` passed first (the child is then left running).
  std::optional<int> Wait(absl::Duration timeout) {
    if (pid_ < 0) return status_;
    const absl::Time deadline = absl::Now() + timeout;
    for (;;) {
      int status = 0;
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        status_ = status;
        return status;
      }
      if (r < 0 && errno != EINTR) return std::nullopt;
      if (absl::Now() > deadline) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  // Waits; kills and reaps the child if it has not ended by then.
  int WaitOrKill(absl::Duration timeout) {
    if (std::optional<int> status = Wait(timeout)) return *status;
    Kill(SIGKILL);
    return Wait(absl::InfiniteDuration()).value_or(-1);
  }

  pid_t pid() const { return pid_; }

 private:
  ChildProcess(pid_t pid, int in, int out)
      : pid_(pid), stdin_(in), stdout_(out) {}

  pid_t pid_;   // -1 once reaped
  int stdin_;   // write end of the child's stdin
  int stdout_;  // read end of the child's stdout
  std::string buffer_;
  std::optional<int> status_;  // set once reaped
};

}  // namespace ringflow::testing

#endif  // RINGFLOW_TESTS_SUPPORT_SHM_PROCESS_H_
