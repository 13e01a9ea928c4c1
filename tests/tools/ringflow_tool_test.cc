// tests/tools/ringflow_tool_test.cc
//
// The `ringflow` tool against hostile command lines and hostile files in
// /dev/shm. Every test runs the tool as a child process (ChildProcess::Spawn
// of /bin/sh, which execs the tool with stderr in a file) and reads its stdout,
// stderr and exit status; a deadline kills a tool that hangs, so a hang
// fails the test instead of hanging it. Rings are created in this process
// (SharedRing<Tick>) or, where a producer must die, in a forked child; each
// test uses unique names and removes what it made (RAII).

#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ringflow/shm/internal/control.h"
#include "ringflow/shm/shared_byte_ring.h"
#include "ringflow/shm/shared_consumer.h"
#include "ringflow/shm/shared_ring.h"
#include "support/shm_process.h"
#include "support/status_matchers.h"
#include "tools/demo_record.h"
#include "tools/http_get.h"
#ifdef RINGFLOW_TOOL_BRIDGE
#include "tools/internal/nats_cluster.h"
#endif
#include "tools/tick.h"

namespace ringflow::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using tools::Tick;

// Hang guard for one run of the tool: far above what any run needs; a tool
// still running then is killed and the test fails. Not a timing assertion.
constexpr absl::Duration kToolDeadline = absl::Seconds(30);

// ---------------------------------------------------------------------------
// Running the tool.

// A file that is unlinked on destruction.
class FileRemover {
 public:
  explicit FileRemover(std::string path) : path_(std::move(path)) {}
  FileRemover(const FileRemover&) = delete;
  FileRemover& operator=(const FileRemover&) = delete;
  ~FileRemover() { ::unlink(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string ReadWholeFile(const std::string& path) {
  std::string out;
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return out;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), f)) > 0)
    out.append(buffer, n);
  std::fclose(f);
  return out;
}

std::string NewStderrPath() {
  const char* base = std::getenv("TMPDIR");
  std::string path =
      absl::StrCat(base != nullptr && *base != '\0' ? base : "/tmp",
                   "/ringflow-tool-test-XXXXXX");
  const int fd = ::mkstemp(path.data());
  if (fd >= 0) ::close(fd);
  return path;
}

struct ToolResult {
  bool finished = false;  // false: killed at the deadline
  int wait_status = -1;
  std::string out;
  std::string err;

  bool ExitedWith(int code) const {
    return finished && WIFEXITED(wait_status) &&
           WEXITSTATUS(wait_status) == code;
  }
  std::string Describe() const {
    return absl::StrCat(finished ? DescribeWaitStatus(wait_status)
                                 : "killed at the deadline (it hung)",
                        "\n--- stdout:\n", out, "--- stderr:\n", err);
  }
};

// `ringflow args...` running: stdout on a pipe (ChildProcess, read line by
// line), stderr in a file.
class Tool {
 public:
  explicit Tool(const std::vector<std::string>& args)
      : stderr_file_(NewStderrPath()),
        child_(ChildProcess::Spawn(ShellArgv(stderr_file_.path(), args))) {}

  bool started() const { return child_.ok(); }
  // The next stdout line, or empty on EOF or after `timeout`.
  std::optional<std::string> ReadLine(absl::Duration timeout = kToolDeadline) {
    if (!child_.ok()) return std::nullopt;
    std::optional<std::string> line = child_->ReadLine(timeout);
    if (line) absl::StrAppend(&out_, *line, "\n");
    return line;
  }
  bool Signal(int signal) { return child_.ok() && child_->Kill(signal); }

  // Reads stdout to EOF and waits for the exit, all before the deadline;
  // then kills the tool if it is still running.
  ToolResult Finish(absl::Duration timeout = kToolDeadline) {
    ToolResult result;
    if (!child_.ok()) {
      result.err = "could not start the tool: " + child_.status().ToString();
      return result;
    }
    const absl::Time deadline = absl::Now() + timeout;
    while (ReadLine(deadline - absl::Now())) {
    }
    const std::optional<int> status =
        child_->Wait(std::max(deadline - absl::Now(), absl::ZeroDuration()));
    result.finished = status.has_value();
    result.wait_status =
        status ? *status : child_->WaitOrKill(absl::ZeroDuration());
    result.out = out_;
    result.err = ReadWholeFile(stderr_file_.path());
    return result;
  }

 private:
  // sh execs the tool (same pid) with stderr redirected to `stderr_path`.
  static std::vector<std::string> ShellArgv(
      const std::string& stderr_path, const std::vector<std::string>& args) {
    std::vector<std::string> argv = {
        "/bin/sh", "-c",        "f=$1; shift; exec \"$@\" 2>\"$f\"",
        "sh",      stderr_path, RINGFLOW_TOOL};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  FileRemover stderr_file_;  // before child_: the path is in its argv
  absl::StatusOr<ChildProcess> child_;
  std::string out_;
};

ToolResult RunTool(const std::vector<std::string>& args) {
  return Tool(args).Finish();
}

// A SharedRing<Tick> owned by this process, removed on destruction.
class TickRing {
 public:
  explicit TickRing(std::string_view tag,
                    std::string_view type_tag = tools::kTickTypeTag)
      : remover_(UniqueRingName(tag)) {
    shm::SharedRingOptions options;
    options.ring.name = remover_.name();
    options.ring.capacity = 64;
    auto ring = shm::SharedRing<Tick>::Create(options, type_tag);
    status_ = ring.status();
    if (ring.ok()) ring_ = std::move(*ring);
  }
  const std::string& name() const { return remover_.name(); }
  const absl::Status& status() const { return status_; }
  shm::SharedRing<Tick>* ring() { return ring_.get(); }

 private:
  RingRemover remover_;  // outlives ring_
  absl::Status status_;
  std::unique_ptr<shm::SharedRing<Tick>> ring_;
};

// A producer of ticks in a forked child (ChildProcess::Fork, stdin and
// stdout on pipes): creates the ring, prints "created", publishes `count`
// ticks on a "go" line, prints "published", then waits on its stdin until
// it is killed. The destructor kills and reaps it (a zombie would still
// count as a live producer).
class ForkedTickProducer {
 public:
  ForkedTickProducer(const std::string& ring, int64_t capacity, int64_t count,
                     absl::Duration consumer_timeout)
      : child_(ChildProcess::Fork([&] {
          return RunChild(ring, capacity, count, consumer_timeout);
        })) {}

  // Reads the child's next line (a word), or "" after `timeout`.
  std::string ReadWord(absl::Duration timeout = kToolDeadline) {
    if (!child_.ok()) return "";
    return child_->ReadLine(timeout).value_or("");
  }
  bool Go() { return child_.ok() && child_->WriteLine("go"); }
  // SIGKILL and reap.
  void Kill() {
    if (child_.ok()) child_->WaitOrKill(absl::ZeroDuration());
  }

 private:
  // In the child: stdin and stdout are the pipes to the test.
  static int RunChild(const std::string& name, int64_t capacity, int64_t count,
                      absl::Duration consumer_timeout) {
    const auto say = [](const char* word) {
      return ::write(STDOUT_FILENO, word, std::strlen(word)) > 0;
    };
    // False at EOF: the test closed the pipe (or died).
    const auto read_line = [] {
      char c;
      while (::read(STDIN_FILENO, &c, 1) == 1) {
        if (c == '\n') return true;
      }
      return false;
    };
    shm::SharedRingOptions options;
    options.ring.name = name;
    options.ring.capacity = capacity;
    options.consumer_timeout = consumer_timeout;
    auto ring = shm::SharedRing<Tick>::Create(options, tools::kTickTypeTag);
    if (!ring.ok()) {
      say("error\n");
      return 1;
    }
    say("created\n");
    if (!read_line()) return 1;
    for (int64_t i = 0; i < count; ++i) {
      (*ring)->PublishEvent([](Tick& tick, int64_t sequence) {
        tools::FillTick(tick, sequence);
      });
    }
    say("published\n");
    // Until killed (or the test closes the pipe).
    (void)read_line();
    return 0;
  }

  absl::StatusOr<ChildProcess> child_;
};

// ---------------------------------------------------------------------------
// A strict JSON reader (RFC 8259), enough to check what `stat --json`
// prints: a raw control character in a string, a bad escape or trailing
// garbage is an error.

struct Json {
  enum Kind { kNull, kBool, kNumber, kString, kArray, kObject } kind = kNull;
  std::string text;  // kString: decoded; kNumber, kBool: as written
  std::vector<Json> items;
  std::map<std::string, Json> fields;

  const Json* Field(const std::string& name) const {
    auto it = fields.find(name);
    return it == fields.end() ? nullptr : &it->second;
  }
};

class JsonReader {
 public:
  static std::optional<Json> Parse(std::string_view s, std::string* error) {
    JsonReader r(s);
    std::optional<Json> value = r.Value();
    r.SkipSpace();
    if (value && r.at_ != s.size()) r.Error("trailing characters");
    if (!r.error_.empty()) {
      *error = r.error_;
      return std::nullopt;
    }
    return value;
  }

 private:
  explicit JsonReader(std::string_view s) : s_(s) {}

  std::optional<Json> Error(std::string_view what) {
    if (error_.empty())
      error_ = absl::StrCat(std::string(what), " at offset ", at_);
    return std::nullopt;
  }
  void SkipSpace() {
    while (at_ < s_.size() && (s_[at_] == ' ' || s_[at_] == '\n' ||
                               s_[at_] == '\r' || s_[at_] == '\t')) {
      ++at_;
    }
  }
  bool Eat(char c) {
    SkipSpace();
    if (at_ < s_.size() && s_[at_] == c) {
      ++at_;
      return true;
    }
    return false;
  }
  bool Literal(std::string_view word) {
    if (s_.substr(at_, word.size()) != word) return false;
    at_ += word.size();
    return true;
  }

  std::optional<Json> Value() {
    SkipSpace();
    if (at_ >= s_.size()) return Error("unexpected end");
    Json v;
    const char c = s_[at_];
    if (c == '{') return Object();
    if (c == '[') return Array();
    if (c == '"') {
      v.kind = Json::kString;
      if (!String(&v.text)) return std::nullopt;
      return v;
    }
    for (const char* word : {"true", "false"}) {
      if (Literal(word)) {
        v.kind = Json::kBool;
        v.text = word;
        return v;
      }
    }
    if (Literal("null")) return v;
    const size_t start = at_;
    if (at_ < s_.size() && s_[at_] == '-') ++at_;
    while (at_ < s_.size() && std::strchr("0123456789.eE+-", s_[at_]) &&
           s_[at_] != '\0') {
      ++at_;
    }
    if (at_ == start) return Error("unexpected character");
    v.kind = Json::kNumber;
    v.text = std::string(s_.substr(start, at_ - start));
    return v;
  }

  std::optional<Json> Object() {
    Json v;
    v.kind = Json::kObject;
    ++at_;  // '{'
    if (Eat('}')) return v;
    do {
      SkipSpace();
      std::string key;
      if (at_ >= s_.size() || s_[at_] != '"' || !String(&key)) {
        return Error("expected a key");
      }
      if (!Eat(':')) return Error("expected ':'");
      std::optional<Json> item = Value();
      if (!item) return std::nullopt;
      v.fields[key] = std::move(*item);
    } while (Eat(','));
    if (!Eat('}')) return Error("expected '}'");
    return v;
  }

  std::optional<Json> Array() {
    Json v;
    v.kind = Json::kArray;
    ++at_;  // '['
    if (Eat(']')) return v;
    do {
      std::optional<Json> item = Value();
      if (!item) return std::nullopt;
      v.items.push_back(std::move(*item));
    } while (Eat(','));
    if (!Eat(']')) return Error("expected ']'");
    return v;
  }

  static void AppendUtf8(uint32_t cp, std::string* out) {
    if (cp < 0x80) {
      *out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      *out += static_cast<char>(0xC0 | (cp >> 6));
      *out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      *out += static_cast<char>(0xE0 | (cp >> 12));
      *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      *out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      *out += static_cast<char>(0xF0 | (cp >> 18));
      *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      *out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  bool Hex4(uint32_t* value) {
    if (at_ + 4 > s_.size()) return false;
    *value = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = s_[at_++];
      uint32_t d;
      if (h >= '0' && h <= '9') {
        d = static_cast<uint32_t>(h - '0');
      } else if (h >= 'a' && h <= 'f') {
        d = static_cast<uint32_t>(h - 'a' + 10);
      } else if (h >= 'A' && h <= 'F') {
        d = static_cast<uint32_t>(h - 'A' + 10);
      } else {
        return false;
      }
      *value = *value * 16 + d;
    }
    return true;
  }

  bool String(std::string* out) {
    ++at_;  // '"'
    while (at_ < s_.size()) {
      const auto c = static_cast<unsigned char>(s_[at_++]);
      if (c == '"') return true;
      if (c < 0x20) {
        Error(absl::StrFormat("raw control character 0x%02x in a string", c));
        return false;
      }
      if (c != '\\') {
        *out += static_cast<char>(c);
        continue;
      }
      if (at_ >= s_.size()) break;
      const char e = s_[at_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          *out += e;
          break;
        case 'b':
          *out += '\b';
          break;
        case 'f':
          *out += '\f';
          break;
        case 'n':
          *out += '\n';
          break;
        case 'r':
          *out += '\r';
          break;
        case 't':
          *out += '\t';
          break;
        case 'u': {
          uint32_t cp;
          if (!Hex4(&cp)) {
            Error("bad \\u escape");
            return false;
          }
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t low;
            if (!Literal("\\u") || !Hex4(&low) || low < 0xDC00 ||
                low > 0xDFFF) {
              Error("unpaired surrogate");
              return false;
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            Error("unpaired surrogate");
            return false;
          }
          AppendUtf8(cp, out);
          break;
        }
        default:
          Error(absl::StrCat("bad escape \\", std::string(1, e)));
          return false;
      }
    }
    Error("unterminated string");
    return false;
  }

  std::string_view s_;
  size_t at_ = 0;
  std::string error_;
};

// ---------------------------------------------------------------------------
// 1. Each command knows only its own flags.

struct CommandFlags {
  std::string command;
  std::vector<std::string> own;      // with their "(type, default ...)"
  std::vector<std::string> foreign;  // other commands' flags
};

const std::vector<CommandFlags>& AllCommands() {
  static const auto* commands = new std::vector<CommandFlags>{
      {"list", {}, {"--json", "--events", "--listen"}},
      {"stat",
       {"--json (bool, default false)", "--watch (bool, default false)",
        "--count (integer, default 0)"},
       {"--events", "--listen", "--max_events", "--name"}},
      {"rm", {"--force (bool, default false)"}, {"--json", "--events"}},
      {"consume",
       {"--name (string, default \"\")", "--verify (bool, default false)",
        "--max_events (integer, default 0)",
        "--start (string, default \"latest\")"},
       {"--events", "--json", "--listen", "--seconds"}},
      {"serve-metrics",
       {"--listen (string, default \"127.0.0.1:9464\")",
        "--serve_seconds (number, default 0)"},
       {"--seconds", "--json", "--count", "--events"}},
      {"tail",
       {"--name (string, default \"\")", "--verify (bool, default false)",
        "--hex (bool, default false)", "--max_records (integer, default 0)",
        "--start (string, default \"latest\")"},
       {"--events", "--json", "--listen", "--max_events"}},
#ifdef RINGFLOW_TOOL_BRIDGE
      {"bridge",
       {"--server (string", "--stream (string, default \"\")",
        "--subject (string, default \"\")", "--durable (string, default \"\")",
        "--window (integer, default 256)",
        "--create_stream (bool, default false)",
        "--replicas (integer, default 1)",
        "--ring_capacity (integer, default 65536)",
        "--run_seconds (number, default 0)", "--quiet (bool, default false)"},
       {"--events", "--json", "--max_events", "--name"}},
      {"demo-cluster",
       {"--cluster_events (integer, default 20000)",
        "--rate (integer, default 2000)", "--kill_leader (bool, default true)"},
       {"--events", "--json", "--server", "--seconds"}},
#endif
      {"demo",
       {"--events (integer, default 0)", "--seconds (number, default 3)",
        "--capacity (integer, default 65536)",
        "--wait_strategy (string, default \"blocking\")",
        "--producer (string, default \"single\")", "--ring (string",
        "--consumer_processes (integer, default 2)",
        "--keep (bool, default false)", "--metrics_address (string",
        "--bytes (bool, default false)"},
       {"--json", "--listen", "--max_events", "--serve_seconds"}},
  };
  return *commands;
}

#ifdef RINGFLOW_TOOL_BRIDGE
// `ringflow bridge` without a server: every bad argument is refused by name
// before anything connects, and an unreachable server is a clear error
// within the connect timeout, never a hang.
TEST(RingflowToolTest, BridgeRefusesBadArgumentsAndAnUnreachableServer) {
  const ToolResult none = RunTool({"bridge"});
  EXPECT_TRUE(none.ExitedWith(1)) << none.Describe();
  EXPECT_THAT(none.err, HasSubstr("expected 'out RING' or 'in RING'"));
  const ToolResult sideways = RunTool({"bridge", "across", "x"});
  EXPECT_TRUE(sideways.ExitedWith(1)) << sideways.Describe();
  EXPECT_THAT(sideways.err, HasSubstr("got 'across x'"));
  TickRing ring("bridgeargs");
  ASSERT_TRUE(ring.status().ok()) << ring.status();
  const ToolResult window = RunTool({"bridge", "out", ring.name(), "--stream=S",
                                     "--subject=s", "--window=0"});
  EXPECT_TRUE(window.ExitedWith(1)) << window.Describe();
  EXPECT_THAT(window.err, HasSubstr("--window=0 is outside [1, 65536]"));
  const ToolResult stream =
      RunTool({"bridge", "in", UniqueRingName("bin"), "--durable=d"});
  EXPECT_TRUE(stream.ExitedWith(1)) << stream.Describe();
  EXPECT_THAT(stream.err, HasSubstr("stream"));
  const ToolResult capacity =
      RunTool({"bridge", "in", UniqueRingName("bin"), "--stream=S",
               "--durable=d", "--ring_capacity=1000"});
  EXPECT_TRUE(capacity.ExitedWith(1)) << capacity.Describe();
  EXPECT_THAT(capacity.err, HasSubstr("--ring_capacity=1000"));
  // Port 1 on loopback: nobody listens.
  const ToolResult unreachable =
      RunTool({"bridge", "out", ring.name(), "--server=nats://127.0.0.1:1",
               "--stream=S", "--subject=s"});
  EXPECT_TRUE(unreachable.ExitedWith(1)) << unreachable.Describe();
  EXPECT_THAT(unreachable.err,
              AllOf(HasSubstr("UNAVAILABLE"), HasSubstr("nats://127.0.0.1:1")));
  const ToolResult missing =
      RunTool({"bridge", "out", UniqueRingName("nothere"), "--stream=S",
               "--subject=s"});
  EXPECT_TRUE(missing.ExitedWith(1)) << missing.Describe();
  EXPECT_THAT(missing.err, HasSubstr("NOT_FOUND"));
}
#endif

#ifdef RINGFLOW_TOOL_BRIDGE
// `ringflow demo-cluster` interrupted (Ctrl-C) once its processes run: it
// stops and removes everything it started (the servers with their temp
// directory, the bridge and consumer processes, both rings) and says so.
TEST(RingflowToolTest, DemoClusterInterruptedRemovesEverythingItStarted) {
  if (tools_internal::NatsServerPath().empty()) {
    GTEST_SKIP() << "nats-server not installed (make deps)";
  }
  Tool demo({"demo-cluster", "--cluster_events=1000000", "--rate=1000"});
  ASSERT_TRUE(demo.started());
  std::string dir;
  for (int i = 0; i < 6; ++i) {
    const std::optional<std::string> line = demo.ReadLine();
    ASSERT_TRUE(line.has_value()) << demo.Finish().Describe();
    const size_t at = line->find("store and configs in ");
    if (at != std::string::npos) {
      dir = line->substr(at + 21, line->size() - at - 22);
    }
    if (line->find("host B:") != std::string::npos) break;
  }
  ASSERT_FALSE(dir.empty());
  struct stat st;
  ASSERT_EQ(::stat(dir.c_str(), &st), 0) << dir;
  ASSERT_TRUE(demo.Signal(SIGINT));
  const ToolResult run = demo.Finish();
  EXPECT_TRUE(run.ExitedWith(1)) << run.Describe();
  EXPECT_THAT(run.err, HasSubstr("CANCELLED: interrupted"));
  EXPECT_NE(::stat(dir.c_str(), &st), 0) << dir << " is still there";
  EXPECT_NE(::stat("/dev/shm/ringflow-demo-a", &st), 0);
  EXPECT_NE(::stat("/dev/shm/ringflow-demo-b", &st), 0);
}
#endif

TEST(RingflowToolTest, HelpListsEachCommandsOwnFlagsWithDefaultAndMeaning) {
  for (const CommandFlags& c : AllCommands()) {
    SCOPED_TRACE(c.command);
    const ToolResult help = RunTool({c.command, "--help"});
    ASSERT_TRUE(help.ExitedWith(0)) << help.Describe();
    EXPECT_THAT(help.out, HasSubstr("usage: ringflow " + c.command));
    EXPECT_THAT(help.out, Not(HasSubstr("No flags matched")));
    for (const std::string& own : c.own) {
      // The flag, its type and default, and a line of meaning under it.
      EXPECT_THAT(help.out, HasSubstr("  " + own)) << help.out;
      const size_t at = help.out.find(own);
      if (at == std::string::npos) continue;
      const size_t meaning = help.out.find("\n      ", at);
      ASSERT_NE(meaning, std::string::npos) << own;
      EXPECT_GT(help.out.find('\n', meaning + 1), meaning + 8) << own;
    }
    if (c.own.empty()) {
      EXPECT_THAT(help.out, HasSubstr("takes no flags"));
    }
    for (const std::string& foreign : c.foreign) {
      EXPECT_THAT(help.out, Not(HasSubstr(foreign + " ("))) << help.out;
    }
  }
}

TEST(RingflowToolTest, HelpHasEveryAbseilSpelling) {
  for (const char* spelling : {"--help", "-h", "-help", "--helpfull"}) {
    const ToolResult help = RunTool({"consume", spelling});
    EXPECT_TRUE(help.ExitedWith(0)) << spelling << ": " << help.Describe();
    EXPECT_THAT(help.out, HasSubstr("--max_events (integer, default 0)"))
        << spelling;
  }
}

TEST(RingflowToolTest, RejectsFlagsOfOtherCommandsNamingThemAndOwnFlags) {
  // A live ring, so that a command that ignored the flag would run (and
  // consume / serve-metrics would run until the deadline kills them).
  TickRing ring("foreign");
  ASSERT_THAT(ring.status(), IsOk());
  struct Case {
    std::vector<std::string> args;
    std::string flag;
    std::string own_flags;
  };
  const std::vector<Case> cases = {
      {{"consume", ring.name(), "--events=5"},
       "--events",
       "its flags are --name, --verify, --max_events, --start"},
      {{"list", "--json"}, "--json", "it takes no flags"},
      {{"serve-metrics", ring.name(), "--listen=127.0.0.1:0", "--seconds=1"},
       "--seconds",
       "its flags are --listen, --serve_seconds"},
      {{"stat", ring.name(), "--verify"},
       "--verify",
       "its flags are --json, --watch, --count"},
      {{"rm", ring.name(), "--keep"}, "--keep", "its flags are --force"},
      {{"list", "--force"}, "--force", "it takes no flags"},
      {{"demo", "--json"}, "--json", "its flags are --events, --seconds"},
      // absl's own flags would let a flag file set another command's flags.
      {{"stat", ring.name(), "--flagfile=/dev/null"},
       "--flagfile",
       "its flags are --json, --watch, --count"},
      // The negated form of a bool flag of another command.
      {{"stat", ring.name(), "--noverify"},
       "--noverify",
       "its flags are --json, --watch, --count"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.args[0] + " " + c.flag);
    const ToolResult run = RunTool(c.args);
    EXPECT_TRUE(run.ExitedWith(1)) << run.Describe();
    EXPECT_THAT(run.err,
                AllOf(HasSubstr(c.flag + " is not a flag of `ringflow " +
                                c.args[0] + "`"),
                      HasSubstr(c.own_flags)))
        << run.Describe();
    EXPECT_THAT(run.out, Not(HasSubstr("serving"))) << run.Describe();
  }
  // The ring was not removed by `rm ... --keep`.
  const ToolResult stat = RunTool({"stat", ring.name(), "--json"});
  EXPECT_TRUE(stat.ExitedWith(0)) << stat.Describe();
}

TEST(RingflowToolTest, AcceptsOwnFlagsInEveryAbseilForm) {
  TickRing ring("forms");
  ASSERT_THAT(ring.status(), IsOk());
  // "--flag value", "-flag", "--noflag".
  const ToolResult watch =
      RunTool({"stat", ring.name(), "--watch", "--count", "1", "-json"});
  EXPECT_TRUE(watch.ExitedWith(0)) << watch.Describe();
  EXPECT_THAT(watch.out, HasSubstr("{\"ring\":\"" + ring.name() + "\""));
  const ToolResult table = RunTool({"stat", ring.name(), "--nojson"});
  EXPECT_TRUE(table.ExitedWith(0)) << table.Describe();
  EXPECT_THAT(table.out, HasSubstr("ring " + ring.name() + ": capacity 64"));
}

// ---------------------------------------------------------------------------
// 2. Every number is validated.

TEST(RingflowToolTest, StatRejectsNegativeWatchCount) {
  TickRing ring("count");
  ASSERT_THAT(ring.status(), IsOk());
  const ToolResult run =
      RunTool({"stat", ring.name(), "--watch", "--count=-5"});
  EXPECT_TRUE(run.ExitedWith(1)) << run.Describe();
  EXPECT_THAT(run.err, HasSubstr("--count=-5 is outside [0, 1000000]"));
  EXPECT_EQ(run.out, "");
}

TEST(RingflowToolTest, ServeMetricsRejectsNonFiniteAndOutOfRangeSeconds) {
  TickRing ring("seconds");
  ASSERT_THAT(ring.status(), IsOk());
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"nan", "--serve_seconds=nan is outside [0, 604800]"},
      {"inf", "--serve_seconds=inf is outside [0, 604800]"},
      {"-inf", "--serve_seconds=-inf is outside [0, 604800]"},
      {"1e300", "--serve_seconds=1e+300 is outside [0, 604800]"},
      {"604801", "--serve_seconds=604801 is outside [0, 604800]"},
      {"-1", "--serve_seconds=-1 is outside [0, 604800]"},
  };
  for (const auto& [value, message] : cases) {
    SCOPED_TRACE(value);
    const ToolResult run =
        RunTool({"serve-metrics", ring.name(), "--listen=127.0.0.1:0",
                 "--serve_seconds=" + value});
    EXPECT_TRUE(run.ExitedWith(1)) << run.Describe();
    EXPECT_THAT(run.err, HasSubstr(message));
    EXPECT_THAT(run.out, Not(HasSubstr("serving")));
  }
}

TEST(RingflowToolTest, ConsumeRejectsOutOfRangeMaxEvents) {
  TickRing ring("max");
  ASSERT_THAT(ring.status(), IsOk());
  const ToolResult run = RunTool({"consume", ring.name(), "--max_events=-1"});
  EXPECT_TRUE(run.ExitedWith(1)) << run.Describe();
  EXPECT_THAT(run.err,
              HasSubstr("--max_events=-1 is outside [0, 1000000000000000000]"));
}

TEST(RingflowToolTest, DemoRejectsEveryOutOfRangeNumberBeforeRunning) {
  const RingRemover ring(UniqueRingName("demo"));
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--events=-1"}, "--events=-1 is outside [0, 1000000000000]"},
      {{"--events=1000000000001"},
       "--events=1000000000001 is outside [0, 1000000000000]"},
      {{"--seconds=nan"}, "--seconds=nan is outside [0.001, 3600]"},
      {{"--seconds=0"}, "--seconds=0 is outside [0.001, 3600]"},
      // Checked even when --events makes the demo count instead.
      {{"--events=10", "--seconds=1e300"},
       "--seconds=1e+300 is outside [0.001, 3600]"},
      {{"--events=10", "--seconds=-inf"},
       "--seconds=-inf is outside [0.001, 3600]"},
      {{"--events=10", "--capacity=0"},
       "capacity 0 is not a power of two in [1, 16777216]"},
      {{"--events=10", "--capacity=-4"},
       "capacity -4 is not a power of two in [1, 16777216]"},
      {{"--events=10", "--capacity=33554432"},
       "capacity 33554432 is not a power of two in [1, 16777216]"},
      {{"--events=10", "--consumer_processes=9"},
       "--consumer_processes=9 is outside [0, 8]"},
      {{"--events=10", "--consumer_processes=-1"},
       "--consumer_processes=-1 is outside [0, 8]"},
  };
  for (const auto& [flags, message] : cases) {
    SCOPED_TRACE(flags.back());
    std::vector<std::string> args = {"demo", "--ring=" + ring.name(),
                                     "--metrics_address=127.0.0.1:0",
                                     "--consumer_processes=0"};
    args.insert(args.end(), flags.begin(), flags.end());
    const ToolResult run = RunTool(args);
    EXPECT_TRUE(run.ExitedWith(1)) << run.Describe();
    EXPECT_THAT(run.err, HasSubstr(message)) << run.Describe();
    EXPECT_THAT(run.out, Not(HasSubstr("ringflow demo:")));
  }
}

// ---------------------------------------------------------------------------
// 3. `stat --json` is valid JSON whatever the strings in the ring hold.

TEST(RingflowToolTest, StatJsonEscapesHostileTypeTagAndConsumerName) {
  // Quotes, backslashes, every short escape, other control characters, DEL,
  // a stray byte, valid UTF-8 (é) and an encoded surrogate (invalid).
  const std::string tag =
      "q\"b\\s\x01\x1f\n\r\t\b\f\x7f"
      "\xff"
      "\xc3\xa9"
      "\xed\xa0\x80"
      "end";
  const std::string kReplacement = "\xef\xbf\xbd";  // U+FFFD
  const std::string expected_tag = "q\"b\\s\x01\x1f\n\r\t\b\f\x7f" +
                                   kReplacement + "\xc3\xa9" + kReplacement +
                                   kReplacement + kReplacement + "end";
  TickRing ring("json", tag);
  ASSERT_THAT(ring.status(), IsOk());
  shm::SharedConsumerOptions options;
  options.name = "plain";
  options.type_tag = tag;
  auto consumer = shm::SharedConsumer<Tick>::Attach(ring.name(), options);
  ASSERT_THAT(consumer.status(), IsOk());
  // What a hostile process with the control segment mapped could write: a
  // name the library would never accept, ending in a cut UTF-8 sequence.
  auto control =
      shm_internal::Control::Attach(ring.name(), shm_internal::AttachOptions{});
  ASSERT_THAT(control.status(), IsOk());
  const int slot = FindSlot(**control, "plain");
  ASSERT_GE(slot, 0);
  const std::string name = "c\"\\\x02\n\xe2\x82";
  char* slot_name = (*control)->slot(slot).name;
  std::memset(slot_name, 0, sizeof((*control)->slot(slot).name));
  std::memcpy(slot_name, name.data(), name.size());
  const std::string expected_name = "c\"\\\x02\n" + kReplacement + kReplacement;

  const ToolResult run = RunTool({"stat", ring.name(), "--json"});
  ASSERT_TRUE(run.ExitedWith(0)) << run.Describe();
  std::string error;
  const std::optional<Json> json = JsonReader::Parse(run.out, &error);
  ASSERT_TRUE(json.has_value()) << error << " in:\n" << run.out;
  ASSERT_EQ(json->kind, Json::kObject);
  const Json* type_tag = json->Field("type_tag");
  ASSERT_NE(type_tag, nullptr);
  EXPECT_EQ(type_tag->text, expected_tag);
  const Json* ring_name = json->Field("ring");
  ASSERT_NE(ring_name, nullptr);
  EXPECT_EQ(ring_name->text, ring.name());
  const Json* consumers = json->Field("consumers");
  ASSERT_NE(consumers, nullptr);
  ASSERT_EQ(consumers->items.size(), 1u);
  const Json* consumer_name = consumers->items[0].Field("name");
  ASSERT_NE(consumer_name, nullptr);
  EXPECT_EQ(consumer_name->text, expected_name);
  const Json* state = consumers->items[0].Field("state");
  ASSERT_NE(state, nullptr);
  EXPECT_EQ(state->text, "active");
  // The counters (names and labels) parse too; the consumer's labels still
  // carry the name it attached with.
  const Json* counters = json->Field("counters");
  ASSERT_NE(counters, nullptr);
  bool labelled = false;
  for (const Json& counter : counters->items) {
    const Json* labels = counter.Field("labels");
    if (labels != nullptr &&
        labels->text == "ring=\"" + ring.name() + "\",consumer=\"plain\"") {
      labelled = true;
    }
  }
  EXPECT_TRUE(labelled) << run.out;
  // Valid UTF-8 out: the only bytes >= 0x80 are the é.
  size_t high = 0;
  for (char c : run.out) high += static_cast<unsigned char>(c) >= 0x80;
  EXPECT_EQ(high, 2u) << run.out;
}

// ---------------------------------------------------------------------------
// 4. `consume` fails when the stream does not end cleanly.

// SUM Checksum(tick) over the ticks of sequences [0, n), as the tool prints.
std::string ChecksumOfFirst(int64_t n) {
  uint64_t sum = 0;
  for (int64_t s = 0; s < n; ++s) {
    Tick tick;
    tools::FillTick(tick, s);
    sum += tools::Checksum(tick);
  }
  return absl::StrFormat("checksum %016x", sum);
}

TEST(RingflowToolTest, ConsumeVerifyFailsWhenTheProducerDies) {
  const RingRemover remover(UniqueRingName("gone"));
  constexpr int64_t kTicks = 1000;
  ForkedTickProducer producer(remover.name(), 1024, kTicks, absl::Seconds(2));
  ASSERT_EQ(producer.ReadWord(), "created");
  Tool consume({"consume", remover.name(), "--name=audit", "--verify"});
  ASSERT_TRUE(consume.started());
  const std::optional<std::string> attached = consume.ReadLine();
  ASSERT_TRUE(attached.has_value()) << consume.Finish().Describe();
  EXPECT_EQ(*attached,
            "consumer audit attached to " + remover.name() + " at sequence -1");
  ASSERT_TRUE(producer.Go());
  ASSERT_EQ(producer.ReadWord(), "published");
  producer.Kill();  // mid-stream: no end-of-stream tick

  const ToolResult run = consume.Finish();
  EXPECT_TRUE(run.ExitedWith(1)) << run.Describe();
  // It still read and verified everything published before the death.
  EXPECT_THAT(run.out,
              HasSubstr("consumer audit: 1,000 events, 0 lost, 0 duplicated, "
                        "0 corrupt, " +
                        ChecksumOfFirst(kTicks) + ", stopped: producer-gone"));
  EXPECT_THAT(run.err, HasSubstr("the producer of ring '" + remover.name() +
                                 "' is gone after 1000 events"));
}

TEST(RingflowToolTest, ConsumeFailsWhenEvicted) {
  const RingRemover remover(UniqueRingName("evict"));
  // A small ring, and a producer that evicts a consumer whose heartbeat is
  // 200 ms old: a stopped `consume` is evicted once the ring is full.
  ForkedTickProducer producer(remover.name(), 64, 1000,
                              absl::Milliseconds(200));
  ASSERT_EQ(producer.ReadWord(), "created");
  Tool consume({"consume", remover.name(), "--name=slow", "--verify"});
  ASSERT_TRUE(consume.started());
  ASSERT_TRUE(consume.ReadLine().has_value()) << consume.Finish().Describe();
  ASSERT_TRUE(consume.Signal(SIGSTOP));
  ASSERT_TRUE(producer.Go());
  // Publishing 1000 ticks into 64 slots finishes only after the eviction.
  ASSERT_EQ(producer.ReadWord(), "published");
  ASSERT_TRUE(consume.Signal(SIGCONT));

  const ToolResult run = consume.Finish();
  EXPECT_TRUE(run.ExitedWith(1)) << run.Describe();
  EXPECT_THAT(run.out, HasSubstr("stopped: evicted"));
  EXPECT_THAT(run.err, HasSubstr("consumer slow was evicted from ring '" +
                                 remover.name() + "'"));
}

// ---------------------------------------------------------------------------
// `tail`: the records of a byte ring, printed or verified.

// A shm::SharedByteRing owned by this process, removed on destruction.
class ByteRingFixture {
 public:
  explicit ByteRingFixture(std::string_view tag)
      : remover_(UniqueRingName(tag)) {
    shm::SharedByteRingOptions options;
    options.ring.name = remover_.name();
    options.ring.capacity = 4096;
    auto ring = shm::SharedByteRing::Create(options);
    status_ = ring.status();
    if (ring.ok()) ring_ = std::move(*ring);
  }
  const std::string& name() const { return remover_.name(); }
  const absl::Status& status() const { return status_; }
  bool Publish(std::string_view text) {
    return ring_->Publish(std::as_bytes(std::span<const char>(text)));
  }

 private:
  RingRemover remover_;  // outlives ring_
  absl::Status status_;
  std::unique_ptr<shm::SharedByteRing> ring_;
};

// Starts `ringflow tail NAME flags...` and reads its ready line.
std::unique_ptr<Tool> StartTail(const std::string& ring,
                                std::vector<std::string> flags,
                                int64_t position = 0) {
  std::vector<std::string> args = {"tail", ring};
  args.insert(args.end(), flags.begin(), flags.end());
  auto tool = std::make_unique<Tool>(args);
  const std::optional<std::string> ready = tool->ReadLine();
  EXPECT_TRUE(ready.has_value() &&
              ready->find(absl::StrCat("attached to ", ring, " at byte ",
                                       position)) != std::string::npos)
      << ready.value_or("(no line)");
  return tool;
}

std::string DemoRecord(int producer, int64_t seq) {
  char line[tools::kMaxDemoRecordBytes];
  return std::string(line, tools::FormatDemoRecord(producer, seq, line));
}
std::string DemoEnd(int producer, int64_t count, int producers) {
  char line[tools::kMaxDemoRecordBytes];
  return std::string(line,
                     tools::FormatDemoEnd(producer, count, producers, line));
}

TEST(RingflowToolTest, TailPrintsRecordsAsTextWithEscapesAndAsHex) {
  ByteRingFixture ring("tail");
  ASSERT_TRUE(ring.status().ok()) << ring.status();
  std::unique_ptr<Tool> text =
      StartTail(ring.name(), {"--name=text", "--max_records=2"});
  std::unique_ptr<Tool> hex =
      StartTail(ring.name(), {"--name=hex", "--hex", "--max_records=1"});
  ASSERT_TRUE(ring.Publish("hello ring"));
  ASSERT_TRUE(ring.Publish(std::string_view("a\x01\\b\n", 5)));
  const ToolResult printed = text->Finish();
  ASSERT_TRUE(printed.ExitedWith(0)) << printed.Describe();
  // Position, length, then the bytes; record 2 starts after record 1's
  // 8-byte header and 10 bytes padded to 16.
  EXPECT_THAT(printed.out, HasSubstr("\n0 10 hello ring\n"));
  EXPECT_THAT(printed.out, HasSubstr("\n24 5 a\\x01\\x5cb\\x0a\n"));
  const ToolResult dumped = hex->Finish();
  ASSERT_TRUE(dumped.ExitedWith(0)) << dumped.Describe();
  EXPECT_THAT(dumped.out, HasSubstr("0 10\n  00000000  68 65 6c 6c 6f 20 72 "
                                    "69 6e 67\n"));
}

TEST(RingflowToolTest, ListAndStatShowAByteRingItsCountersAndReaders) {
  ByteRingFixture ring("bytestat");
  ASSERT_TRUE(ring.status().ok()) << ring.status();
  // A reader that reads one record, then holds its position.
  std::unique_ptr<Tool> tail =
      StartTail(ring.name(), {"--name=slow", "--max_records=1"});
  ASSERT_TRUE(ring.Publish("first record"));  // 8 + 16 bytes
  const ToolResult read = tail->Finish();
  ASSERT_TRUE(read.ExitedWith(0)) << read.Describe();
  std::unique_ptr<Tool> held = StartTail(ring.name(), {"--name=held"}, 24);
  ASSERT_TRUE(held->Signal(SIGSTOP));   // it reads nothing from now on
  ASSERT_TRUE(ring.Publish("second"));  // 8 + 8 bytes
  const ToolResult list = RunTool({"list"});
  ASSERT_TRUE(list.ExitedWith(0)) << list.Describe();
  EXPECT_THAT(list.out, ::testing::ContainsRegex(
                            ring.name() + " +4096 +- +40 +alive +1 bytes"));
  const ToolResult stat = RunTool({"stat", ring.name(), "--json"});
  ASSERT_TRUE(stat.ExitedWith(0)) << stat.Describe();
  EXPECT_THAT(stat.out,
              AllOf(HasSubstr("\"kind\":\"bytes\",\"capacity\":4096"),
                    HasSubstr("\"tail\":40"), HasSubstr("\"records\":2,"),
                    HasSubstr("\"payload_bytes\":18,")));
  // The held reader joined at 24 and was stopped: 16 bytes behind.
  EXPECT_THAT(stat.out, HasSubstr("\"name\":\"held\",\"state\":\"active\""));
  EXPECT_THAT(stat.out, HasSubstr("\"position\":24,\"lag_bytes\":16,"
                                  "\"lag_records\":1,"));
  const ToolResult table = RunTool({"stat", ring.name()});
  ASSERT_TRUE(table.ExitedWith(0)) << table.Describe();
  EXPECT_THAT(table.out, HasSubstr("byte ring " + ring.name() +
                                   ": capacity 4,096 bytes, multi producer"));
  EXPECT_THAT(table.out, HasSubstr("records 2 (18 payload bytes)"));
  ASSERT_TRUE(held->Signal(SIGKILL));
}

TEST(RingflowToolTest, TailVerifyPassesTwoProducersStreamsAndStopsAtTheEnds) {
  ByteRingFixture ring("tailok");
  ASSERT_TRUE(ring.status().ok()) << ring.status();
  std::unique_ptr<Tool> tail =
      StartTail(ring.name(), {"--name=audit", "--verify"});
  // Interleaved producers, each in order; 3 + 2 records.
  for (const auto& [p, seq] : std::vector<std::pair<int, int64_t>>{
           {0, 0}, {1, 0}, {0, 1}, {0, 2}, {1, 1}}) {
    ASSERT_TRUE(ring.Publish(DemoRecord(p, seq)));
  }
  ASSERT_TRUE(ring.Publish(DemoEnd(1, 2, 2)));
  ASSERT_TRUE(ring.Publish(DemoEnd(0, 3, 2)));
  const ToolResult run = tail->Finish();
  EXPECT_TRUE(run.ExitedWith(0)) << run.Describe();
  EXPECT_THAT(run.out, HasSubstr("reader audit: 5 records, "));
  EXPECT_THAT(run.out, HasSubstr(" 0 lost, 0 duplicated, 0 corrupt, 0 "
                                 "skipped bytes, stopped: done"));
}

TEST(RingflowToolTest, TailVerifyCountsLostDuplicatedAndCorruptRecords) {
  ByteRingFixture ring("tailbad");
  ASSERT_TRUE(ring.status().ok()) << ring.status();
  std::unique_ptr<Tool> tail =
      StartTail(ring.name(), {"--name=audit", "--verify"});
  ASSERT_TRUE(ring.Publish(DemoRecord(0, 0)));
  ASSERT_TRUE(ring.Publish(DemoRecord(0, 2)));  // 1 lost
  ASSERT_TRUE(ring.Publish(DemoRecord(0, 2)));  // duplicated
  std::string torn = DemoRecord(0, 3);
  torn.back() = torn.back() == 'a' ? 'b' : 'a';  // payload != its hash
  ASSERT_TRUE(ring.Publish(torn));
  ASSERT_TRUE(ring.Publish("rec 0 x"));  // malformed
  // 6 published: 1 never arrived, 3 arrived torn, 4 malformed, 5 never.
  ASSERT_TRUE(ring.Publish(DemoEnd(0, 6, 1)));
  const ToolResult run = tail->Finish();
  EXPECT_TRUE(run.ExitedWith(1)) << run.Describe();
  EXPECT_THAT(run.out, HasSubstr("4 lost, 1 duplicated, 2 corrupt"));
  EXPECT_THAT(run.err, HasSubstr("DATA_LOSS: verification failed: 4 lost, 1 "
                                 "duplicated, 2 corrupt"));
}

TEST(RingflowToolTest, TailRefusesAnEventRingAndBadFlagsNamingThem) {
  TickRing events("tailkind");
  ASSERT_TRUE(events.status().ok()) << events.status();
  const ToolResult kind = RunTool({"tail", events.name()});
  EXPECT_TRUE(kind.ExitedWith(1)) << kind.Describe();
  EXPECT_THAT(kind.err, AllOf(HasSubstr("FAILED_PRECONDITION"),
                              HasSubstr("not a byte ring")));
  const ToolResult start = RunTool({"tail", events.name(), "--start=middle"});
  EXPECT_TRUE(start.ExitedWith(1)) << start.Describe();
  EXPECT_THAT(start.err, HasSubstr("--start=middle is not latest or oldest"));
  const ToolResult max = RunTool({"tail", events.name(), "--max_records=-2"});
  EXPECT_TRUE(max.ExitedWith(1)) << max.Describe();
  EXPECT_THAT(max.err, HasSubstr("--max_records=-2 is outside"));
  const ToolResult missing = RunTool({"tail", UniqueRingName("nothere")});
  EXPECT_TRUE(missing.ExitedWith(1)) << missing.Describe();
  EXPECT_THAT(missing.err, HasSubstr("NOT_FOUND"));
}

// Under ThreadSanitizer the ring never laps: TSan cannot see the reader
// process release its position, so one producer thread reusing bytes the
// other wrote a lap earlier reads to it as a race (as shm_byte_ring_test's
// two-producer test). 20,000 records take about 3.3 MB.
#if defined(__SANITIZE_THREAD__)
constexpr char kDemoBytesCapacity[] = "--capacity=4194304";
#else
constexpr char kDemoBytesCapacity[] = "--capacity=16384";
#endif

TEST(RingflowToolTest, DemoBytesVerifiesEveryRecordOfTwoProducers) {
  const RingRemover remover(UniqueRingName("demobytes"));
  const ToolResult run =
      RunTool({"demo", "--bytes", "--events=20000", "--producer=multi",
               kDemoBytesCapacity, "--consumer_processes=1",
               "--ring=" + remover.name()});
  EXPECT_TRUE(run.ExitedWith(0)) << run.Describe();
  EXPECT_THAT(run.out,
              HasSubstr("audit-1            20,000        0           0        "
                        "0  (process)"));
  EXPECT_THAT(run.out, HasSubstr("verified: 20,000 records, 0 lost"));
  // The demo removed its ring.
  struct stat st;
  EXPECT_NE(::stat(("/dev/shm/" + remover.name()).c_str(), &st), 0);
}

// ---------------------------------------------------------------------------
// 5. `serve-metrics` exports each ring once.

TEST(RingflowToolTest, ServeMetricsRejectsADuplicateRingName) {
  TickRing ring("dup");
  TickRing other("dup-other");
  ASSERT_THAT(ring.status(), IsOk());
  ASSERT_THAT(other.status(), IsOk());
  for (const std::vector<std::string>& names :
       {std::vector<std::string>{ring.name(), ring.name()},
        std::vector<std::string>{ring.name(), other.name(), ring.name()}}) {
    std::vector<std::string> args = {"serve-metrics", "--listen=127.0.0.1:0",
                                     "--serve_seconds=0.1"};
    args.insert(args.end(), names.begin(), names.end());
    const ToolResult run = RunTool(args);
    EXPECT_TRUE(run.ExitedWith(1)) << run.Describe();
    EXPECT_THAT(run.err,
                HasSubstr("ring '" + ring.name() + "' is named twice"));
    EXPECT_THAT(run.out, Not(HasSubstr("serving")));
  }
  // Distinct names are still served.
  const ToolResult run =
      RunTool({"serve-metrics", "--listen=127.0.0.1:0", "--serve_seconds=0.1",
               ring.name(), other.name()});
  EXPECT_TRUE(run.ExitedWith(0)) << run.Describe();
  EXPECT_THAT(run.out, HasSubstr("serving 2 ring(s) on http://127.0.0.1:"));
}

// ---------------------------------------------------------------------------
// 6. Files in /dev/shm that are not regular files never block the tool.

std::string ShmPath(const std::string& name) {
  return absl::StrCat("/dev/shm/", name);
}

TEST(RingflowToolTest, ListSkipsAFifoAndStatConsumeRmNameIt) {
  const std::string name = UniqueRingName("fifo");
  ASSERT_EQ(::mkfifo(ShmPath(name).c_str(), 0600), 0) << std::strerror(errno);
  const FileRemover fifo(ShmPath(name));

  const ToolResult list = RunTool({"list"});
  EXPECT_TRUE(list.ExitedWith(0)) << list.Describe();
  EXPECT_THAT(list.out, HasSubstr("ring"));  // the header
  EXPECT_THAT(list.out, Not(HasSubstr(name)));

  const std::string message = ShmPath(name) + " is not a regular file (a FIFO)";
  for (const char* command : {"stat", "consume", "rm"}) {
    SCOPED_TRACE(command);
    const ToolResult run = RunTool({command, name});
    EXPECT_TRUE(run.ExitedWith(1)) << run.Describe();
    EXPECT_THAT(run.err, HasSubstr(message)) << run.Describe();
  }
  struct stat st;
  EXPECT_EQ(::lstat(ShmPath(name).c_str(), &st), 0) << "rm removed the FIFO";
}

TEST(RingflowToolTest, ListAndStatRefuseARingWhoseDataSegmentIsAFifo) {
  // A valid control segment (a copy of a live ring's) whose data segment is
  // a FIFO: opening the data segment would block.
  TickRing ring("real");
  ASSERT_THAT(ring.status(), IsOk());
  const std::string copy = UniqueRingName("copy");
  const FileRemover control_copy(ShmPath(copy));
  const FileRemover data_fifo(ShmPath(copy + ":data"));
  {
    const std::string image = ReadWholeFile(ShmPath(ring.name()));
    ASSERT_FALSE(image.empty());
    FILE* f = std::fopen(control_copy.path().c_str(), "wb");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(std::fwrite(image.data(), 1, image.size(), f), image.size());
    std::fclose(f);
  }
  ASSERT_EQ(::mkfifo(data_fifo.path().c_str(), 0600), 0)
      << std::strerror(errno);

  const std::string message =
      data_fifo.path() + " is not a regular file (a FIFO)";
  const ToolResult list = RunTool({"list"});
  EXPECT_TRUE(list.ExitedWith(0)) << list.Describe();
  EXPECT_THAT(list.out, HasSubstr(copy));
  EXPECT_THAT(list.out, HasSubstr(message));
  // The real ring is still listed, with its capacity.
  EXPECT_THAT(list.out, ::testing::ContainsRegex(ring.name() + " +64 "));

  const ToolResult stat = RunTool({"stat", copy});
  EXPECT_TRUE(stat.ExitedWith(1)) << stat.Describe();
  EXPECT_THAT(stat.err, HasSubstr(message));
}

TEST(RingflowToolTest, ListSkipsASymlinkAndStatNamesIt) {
  TickRing ring("target");
  ASSERT_THAT(ring.status(), IsOk());
  const std::string link = UniqueRingName("link");
  ASSERT_EQ(::symlink(ShmPath(ring.name()).c_str(), ShmPath(link).c_str()), 0)
      << std::strerror(errno);
  const FileRemover remover(ShmPath(link));

  const ToolResult list = RunTool({"list"});
  EXPECT_TRUE(list.ExitedWith(0)) << list.Describe();
  EXPECT_THAT(list.out, HasSubstr(ring.name()));
  EXPECT_THAT(list.out, Not(HasSubstr(link)));

  const ToolResult stat = RunTool({"stat", link});
  EXPECT_TRUE(stat.ExitedWith(1)) << stat.Describe();
  EXPECT_THAT(stat.err, HasSubstr(ShmPath(link) +
                                  " is not a regular file (a symbolic link)"));
}

}  // namespace
}  // namespace ringflow::testing

namespace ringflow::testing {
namespace {

// ---------------------------------------------------------------------------
// Issue 11, item 18: rm of a ring in use is refused, naming the pids.

TEST(RingflowToolTest, RmRefusesALiveRingNamingItsPidsAndForceRemovesIt) {
  TickRing ring("rm-live");
  ASSERT_THAT(ring.status(), IsOk());
  const ToolResult refused = RunTool({"rm", ring.name()});
  EXPECT_TRUE(refused.ExitedWith(1)) << refused.Describe();
  EXPECT_THAT(refused.err,
              AllOf(HasSubstr("in use"),
                    HasSubstr("producer pid " + std::to_string(::getpid())),
                    HasSubstr("force")));
  struct stat st;
  EXPECT_EQ(::lstat(ShmPath(ring.name()).c_str(), &st), 0);
  const ToolResult forced = RunTool({"rm", ring.name(), "--force"});
  EXPECT_TRUE(forced.ExitedWith(0)) << forced.Describe();
  EXPECT_NE(::lstat(ShmPath(ring.name()).c_str(), &st), 0);
  EXPECT_NE(::lstat(ShmPath(ring.name() + ":data").c_str(), &st), 0);
}

// ---------------------------------------------------------------------------
// Issue 11, item 7: a truncated ring never kills the tools that read it.

TEST(RingflowToolTest, StatWatchReportsATruncatedRingInsteadOfDying) {
  // The producer lives in another process: truncation kills it (SIGBUS, by
  // the trust model); the tool must survive.
  const RingRemover ring(UniqueRingName("trunc-stat"));
  ForkedTickProducer producer(ring.name(), 64, 0, absl::Seconds(2));
  ASSERT_EQ(producer.ReadWord(), "created");
  Tool watch({"stat", ring.name(), "--watch", "--count=1000"});
  ASSERT_TRUE(watch.started());
  std::optional<std::string> first = watch.ReadLine();
  ASSERT_TRUE(first.has_value());
  EXPECT_THAT(*first, HasSubstr("ring " + ring.name()));
  ASSERT_EQ(::truncate(ShmPath(ring.name()).c_str(), 0), 0);
  const ToolResult run = watch.Finish();
  EXPECT_TRUE(run.ExitedWith(1)) << run.Describe();
  EXPECT_THAT(run.err, HasSubstr("truncated")) << run.Describe();
}

// The `ringflow_events_published_total` value serve-metrics reports for
// `ring`, or -1 when the series is absent.
int64_t PublishedSeries(int port, const std::string& ring) {
  absl::StatusOr<std::string> body =
      tools::HttpGet("127.0.0.1", port, "/metrics");
  if (!body.ok()) return -2;
  const std::string prefix =
      "ringflow_events_published_total{ring=\"" + ring + "\"} ";
  const size_t at = body->find(prefix);
  if (at == std::string::npos) return -1;
  return std::strtoll(body->c_str() + at + prefix.size(), nullptr, 10);
}

// Issue 11, items 7 and 16: serve-metrics follows a ring removed and
// created again under its name (the new ring's values, not the old
// mapping's), and keeps serving when a ring is truncated under it.
TEST(RingflowToolTest, ServeMetricsFollowsARecreatedRingAndSurvivesTruncation) {
  std::optional<TickRing> ring(std::in_place, "recreate");
  ASSERT_THAT(ring->status(), IsOk());
  const std::string name = ring->name();
  const auto publish = [](TickRing& r, int n) {
    for (int i = 0; i < n; ++i) {
      r.ring()->PublishEvent([](Tick& tick, int64_t sequence) {
        tools::FillTick(tick, sequence);
      });
    }
  };
  publish(*ring, 1000);
  Tool serve(
      {"serve-metrics", "--listen=127.0.0.1:0", "--serve_seconds=60", name});
  ASSERT_TRUE(serve.started());
  std::optional<std::string> serving = serve.ReadLine();
  ASSERT_TRUE(serving.has_value());
  const size_t colon = serving->rfind(':');
  ASSERT_NE(colon, std::string::npos) << *serving;
  const int port = std::atoi(serving->c_str() + colon + 1);
  ASSERT_GT(port, 0) << *serving;
  EXPECT_EQ(PublishedSeries(port, name), 1000);

  // Removed and created again under the same name, with 50 events, by a
  // producer in another process (truncation kills that producer with
  // SIGBUS, by the trust model; only the sidecar must survive it).
  ring.reset();  // removes the ring
  ForkedTickProducer again(name, 64, 50, absl::Seconds(2));
  ASSERT_EQ(again.ReadWord(), "created");
  ASSERT_TRUE(again.Go());
  ASSERT_EQ(again.ReadWord(), "published");
  EXPECT_EQ(PublishedSeries(port, name), 50);

  // Truncated under the sidecar: the scrape is still answered.
  ASSERT_EQ(::truncate(ShmPath(name).c_str(), 0), 0);
  EXPECT_GE(PublishedSeries(port, name), -1);
  again.Kill();
  ASSERT_TRUE(serve.Signal(SIGTERM));
  const ToolResult run = serve.Finish();
  EXPECT_TRUE(run.ExitedWith(0)) << run.Describe();
  (void)shm_internal::Control::Remove(name, /*force=*/true);
}

}  // namespace
}  // namespace ringflow::testing
