// tests/support/obs_process.h
//
// Helpers for the observability tests that talk to external programs
// (curl, promtool, prometheus):
//
//   RunCommand(cmd)      runs `cmd` with /bin/sh, returns its exit status
//                        and standard output.
//   TempDir              a fresh directory under $TMPDIR, removed with its
//                        contents on destruction.
//   FreeLoopbackPort()   a port that was free on 127.0.0.1 a moment ago
//                        (bind port 0, read it back, close).
//   LoopbackPortIsFree   whether 127.0.0.1:port can be bound now.
//   ListeningAddresses   the local addresses of LISTEN sockets on a TCP
//                        port, from /proc/net/tcp{,6} ("0100007F" is
//                        127.0.0.1, "00000000" is every interface).
//   LoggedServerOptions  how to spawn a server (tools/internal's
//                        ChildProcess): stdin from /dev/null, stdout and
//                        stderr appended to a log, SIGTERM + waitpid on
//                        destruction (SIGKILL after a grace period), so a
//                        failing test never leaks it.

#ifndef RINGFLOW_TESTS_SUPPORT_OBS_PROCESS_H_
#define RINGFLOW_TESTS_SUPPORT_OBS_PROCESS_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "absl/time/time.h"
#include "tools/internal/child_process.h"

namespace ringflow::testing {

struct CommandResult {
  int exit_code = -1;  // -1: could not run, or killed by a signal
  std::string output;  // standard output
};

inline CommandResult RunCommand(const std::string& command) {
  CommandResult result;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) {
    result.output.append(buffer, n);
  }
  const int status = ::pclose(pipe);
  if (status != -1 && WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  return result;
}

// Single-quotes `s` for /bin/sh.
inline std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

inline bool FileIsExecutable(const std::string& path) {
  return ::access(path.c_str(), X_OK) == 0;
}

inline std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern =
        std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
        "/ringflow-obs-XXXXXX";
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    if (!path_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(path_, ignored);
    }
  }

  bool ok() const { return !path_.empty(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Binds 127.0.0.1:`port` (0: any); returns the bound port, or 0 on failure.
inline int BindLoopback(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  int bound = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    socklen_t len = sizeof(addr);
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      bound = ntohs(addr.sin_port);
    }
  }
  ::close(fd);
  return bound;
}

inline int FreeLoopbackPort() { return BindLoopback(0); }
inline bool LoopbackPortIsFree(int port) { return BindLoopback(port) == port; }

// Local addresses (hex, as /proc/net/tcp writes them) of the sockets
// listening on TCP `port`, IPv4 and IPv6.
inline std::vector<std::string> ListeningAddresses(int port) {
  std::vector<std::string> out;
  for (const char* file : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(file);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state;
      fields >> slot >> local >> remote >> state;
      const size_t colon = local.rfind(':');
      if (colon == std::string::npos || state != "0A") continue;  // LISTEN
      if (std::stoi(local.substr(colon + 1), nullptr, 16) == port) {
        out.push_back(local.substr(0, colon));
      }
    }
  }
  return out;
}

using tools_internal::ChildProcess;
using tools_internal::SpawnOptions;

// For ChildProcess::Spawn(argv, LoggedServerOptions(log)): argv[0] an
// absolute path, stdin /dev/null, stdout and stderr appended to
// `log_path`; the destructor sends SIGTERM and SIGKILLs after 20 s.
inline SpawnOptions LoggedServerOptions(const std::string& log_path) {
  return {.stdin_from = SpawnOptions::Input::kDevNull,
          .stdout_to = SpawnOptions::Output::kFile,
          .output_file = log_path,
          .sigterm_grace = absl::Seconds(20)};
}

}  // namespace ringflow::testing

#endif  // RINGFLOW_TESTS_SUPPORT_OBS_PROCESS_H_
