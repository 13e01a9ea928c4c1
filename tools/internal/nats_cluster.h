// tools/internal/nats_cluster.h
//
// NatsCluster: nats-server processes on 127.0.0.1 for the bridge tests,
// `ringflow demo-cluster` and the bridge benchmarks —
// a 3-node JetStream cluster (server names n1..n3, cluster "rf"), or one
// server with a user and password. Ports are chosen free per run; each
// node gets a config file and a store dir in a temp dir:
//
//   jetstream { store_dir, max_mem: 64MB, max_file: 256MB }
//
// Everything is stopped and removed by the destructor (also when a test
// fails); each server is started with PR_SET_PDEATHSIG = SIGKILL, so it
// dies with the test process even when that is killed, and a janitor shell
// (PR_SET_PDEATHSIG = SIGTERM, trapped) removes the temp dir then. Kill
// (SIGKILL) and Stop (SIGTERM, then SIGKILL) a node, Restart it on the same
// ports and store dir. WaitReady polls (a connection and a stream create
// succeeding) until a deadline; nothing here sleeps for a fixed time except
// between polls.

#ifndef RINGFLOW_TOOLS_INTERNAL_NATS_CLUSTER_H_
#define RINGFLOW_TOOLS_INTERNAL_NATS_CLUSTER_H_

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "ringflow/bridge/jetstream.h"

namespace ringflow::tools_internal {

// The nats-server binary: $NATS_SERVER, /usr/sbin/nats-server, or on PATH.
inline std::string NatsServerPath() {
  if (const char* env = getenv("NATS_SERVER"); env != nullptr && *env) {
    return env;
  }
  for (const char* p : {"/usr/sbin/nats-server", "/usr/bin/nats-server",
                        "/usr/local/bin/nats-server"}) {
    if (access(p, X_OK) == 0) return p;
  }
  return "";
}

// A TCP port nobody listens on right now (bound once, then released).
inline int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

class NatsCluster {
 public:
  struct Options {
    int nodes = 3;     // 1: a single server, no cluster block
    std::string user;  // with password: an authorization block
    std::string password;
    bool jetstream = true;
  };

  static absl::StatusOr<std::unique_ptr<NatsCluster>> Start(
      const Options& options) {
    const std::string server = NatsServerPath();
    if (server.empty()) {
      return absl::NotFoundError(
          "nats-server not found (install "
          "nats-server or set NATS_SERVER)");
    }
    std::unique_ptr<NatsCluster> c(new NatsCluster());
    c->server_ = server;
    char tmpl[] = "/tmp/ringflow-nats-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
      return absl::InternalError(absl::StrCat("mkdtemp: ", strerror(errno)));
    }
    c->dir_ = tmpl;
    c->StartJanitor();
    for (int i = 0; i < options.nodes; ++i) {
      c->nodes_.push_back({FreePort(), FreePort(), -1, ""});
    }
    for (int i = 0; i < options.nodes; ++i) {
      Node& n = c->nodes_[i];
      n.config = absl::StrCat(c->dir_, "/n", i + 1, ".conf");
      std::ofstream f(n.config);
      f << "server_name: n" << i + 1 << "\n"
        << "listen: 127.0.0.1:" << n.port << "\n";
      if (options.jetstream) {
        f << "jetstream {\n  store_dir: \"" << c->dir_ << "/n" << i + 1
          << "\"\n  max_mem: 64MB\n  max_file: 256MB\n}\n";
      }
      if (options.nodes > 1) {
        std::vector<std::string> routes;
        for (const Node& m : c->nodes_) {
          routes.push_back(absl::StrCat("nats://127.0.0.1:", m.cluster_port));
        }
        f << "cluster {\n  name: rf\n  listen: 127.0.0.1:" << n.cluster_port
          << "\n  routes: [" << absl::StrJoin(routes, ", ") << "]\n}\n";
      }
      if (!options.user.empty()) {
        f << "authorization {\n  user: \"" << options.user
          << "\"\n  password: \"" << options.password << "\"\n}\n";
      }
      if (!f) return absl::InternalError("cannot write " + n.config);
    }
    for (int i = 0; i < options.nodes; ++i) {
      absl::Status s = c->Launch(i);
      if (!s.ok()) return s;
    }
    return c;
  }

  ~NatsCluster() {
    for (int i = 0; i < size(); ++i) Kill(i);
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
    if (janitor_ > 0) {
      kill(janitor_, SIGTERM);  // it ends its sleep and exits
      waitpid(janitor_, nullptr, 0);
    }
  }

  int size() const { return static_cast<int>(nodes_.size()); }
  std::string url(int i) const {
    return absl::StrCat("nats://127.0.0.1:", nodes_[i].port);
  }
  // Every node's URL, comma-separated (BridgeOptions::servers).
  std::string urls() const {
    std::vector<std::string> all;
    for (int i = 0; i < size(); ++i) all.push_back(url(i));
    return absl::StrJoin(all, ",");
  }
  // "n1" -> 0; -1 when unknown.
  int IndexOf(std::string_view server_name) const {
    for (int i = 0; i < size(); ++i) {
      if (server_name == absl::StrCat("n", i + 1)) return i;
    }
    return -1;
  }
  bool running(int i) const { return nodes_[i].pid > 0; }

  // SIGKILL and reap node i.
  void Kill(int i) { Signal(i, SIGKILL, absl::ZeroDuration()); }
  // SIGTERM (a clean shutdown), SIGKILL after 10 s.
  void Stop(int i) { Signal(i, SIGTERM, absl::Seconds(10)); }
  // Starts node i again (same ports, config and store dir).
  absl::Status Restart(int i) { return Launch(i); }

  // Polls until a JetStream stream with `replicas` can be created and
  // deleted through `servers` (default: every node), or the deadline.
  absl::Status WaitReady(absl::Duration limit, int replicas,
                         const bridge::BridgeOptions* auth = nullptr) {
    const absl::Time deadline = absl::Now() + limit;
    absl::Status last = absl::DeadlineExceededError("not tried");
    bridge::BridgeOptions o;
    if (auth != nullptr) o = *auth;
    o.servers = urls();
    o.connect_timeout = absl::Milliseconds(500);
    while (absl::Now() < deadline) {
      auto conn = bridge::NatsConnection::Connect(o);
      if (conn.ok()) {
        auto js = bridge::JetStream::Create(**conn, absl::Seconds(2));
        if (js.ok()) {
          bridge::StreamSpec spec;
          spec.name = "RFREADY";
          spec.subjects = {"rfready"};
          spec.replicas = replicas;
          spec.memory_storage = true;
          last = (*js)->EnsureStream(spec);
          if (last.ok()) {
            (void)(*js)->DeleteStream("RFREADY");
            return absl::OkStatus();
          }
        } else {
          last = js.status();
        }
      } else {
        last = conn.status();
      }
      absl::SleepFor(absl::Milliseconds(100));  // between polls
    }
    return absl::DeadlineExceededError(
        absl::StrCat("cluster ", urls(), " not ready within ",
                     absl::FormatDuration(limit), ": ", last.ToString()));
  }

  const std::string& dir() const { return dir_; }

 private:
  struct Node {
    int port;
    int cluster_port;
    pid_t pid;
    std::string config;
  };

  NatsCluster() = default;

  absl::Status Launch(int i) {
    Node& n = nodes_[i];
    if (n.pid > 0) return absl::OkStatus();
    const std::string log = absl::StrCat(dir_, "/n", i + 1, ".log");
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0) {
      return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
    }
    if (pid == 0) {
      // Dies with the test process, however that ends.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);
      const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
      }
      const int null = open("/dev/null", O_RDONLY);
      if (null >= 0) dup2(null, 0);
      execl(server_.c_str(), server_.c_str(), "-c", n.config.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    n.pid = pid;
    return absl::OkStatus();
  }

  // A shell that removes the temp dir when this process dies without
  // running the destructor (killed, or _exit): PR_SET_PDEATHSIG sends it
  // SIGTERM, which it traps. The servers die with us on their own.
  void StartJanitor() {
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid != 0) {
      janitor_ = pid;
      return;
    }
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(0);
    const int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
      dup2(null, 0);
      dup2(null, 1);
      dup2(null, 2);
    }
    const std::string script = absl::StrCat(
        "trap 'kill $! 2>/dev/null; rm -rf \"", dir_, "\"; exit 0' TERM; ",
        "while :; do sleep 3600 & wait $!; done");
    execl("/bin/sh", "sh", "-c", script.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }

  void Signal(int i, int sig, absl::Duration grace) {
    Node& n = nodes_[i];
    if (n.pid <= 0) return;
    kill(n.pid, sig);
    const absl::Time deadline = absl::Now() + grace;
    for (;;) {
      int status = 0;
      const pid_t r = waitpid(n.pid, &status, WNOHANG);
      if (r == n.pid || (r < 0 && errno != EINTR)) break;
      if (absl::Now() >= deadline) {
        kill(n.pid, SIGKILL);
        waitpid(n.pid, &status, 0);
        break;
      }
      absl::SleepFor(absl::Milliseconds(10));  // between polls
    }
    n.pid = -1;
  }

  std::string server_;
  std::string dir_;
  pid_t janitor_ = -1;
  std::vector<Node> nodes_;
};

}  // namespace ringflow::tools_internal

#endif  // RINGFLOW_TOOLS_INTERNAL_NATS_CLUSTER_H_
