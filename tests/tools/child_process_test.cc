// tests/tools/child_process_test.cc
//
// tools_internal::ChildProcess with small system programs (/bin/sh,
// /bin/cat) and forked bodies: lines both ways, EOF against a deadline,
// wait statuses, the kill on destruction, output to a file. Every wait
// here has a deadline far above what it needs (a hang guard); none is
// asserted on.

#include "tools/internal/child_process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace ringflow::tools_internal {
namespace {

constexpr absl::Duration kGuard = absl::Seconds(30);

TEST(ChildProcessTest, ReadsLinesThenEofAndExitStatus) {
  absl::StatusOr<ChildProcess> child =
      ChildProcess::Spawn({"/bin/sh", "-c", "echo one; echo two; exit 3"});
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_EQ(child->ReadLine(kGuard), "one");
  EXPECT_EQ(child->ReadLine(kGuard), "two");
  EXPECT_EQ(child->ReadLine(kGuard), std::nullopt);
  EXPECT_TRUE(child->output_closed());
  const std::optional<int> status = child->Wait(kGuard);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(DescribeWaitStatus(*status), "exited 3");
  EXPECT_EQ(child->pid(), -1);
  EXPECT_EQ(child->Wait(kGuard), status);  // reaped once, remembered
}

TEST(ChildProcessTest, EchoesStdinAndEndsWhenItCloses) {
  absl::StatusOr<ChildProcess> child = ChildProcess::Spawn({"/bin/cat"});
  ASSERT_TRUE(child.ok()) << child.status();
  ASSERT_TRUE(child->WriteLine("ready 1"));
  ASSERT_TRUE(child->WriteLine("x"));
  std::string skipped;
  EXPECT_EQ(child->ReadLineStartingWith("x", kGuard, &skipped), "x");
  EXPECT_EQ(skipped, "ready 1\n");
  child->CloseStdin();
  EXPECT_EQ(child->ReadToEnd(kGuard), "");
  EXPECT_EQ(child->WaitOrKill(kGuard), 0);
}

TEST(ChildProcessTest, TimesOutWithoutEofAndKillsOnRequest) {
  absl::StatusOr<ChildProcess> child = ChildProcess::Spawn({"/bin/cat"});
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_EQ(child->ReadLine(absl::Milliseconds(20)), std::nullopt);
  EXPECT_FALSE(child->output_closed());
  EXPECT_EQ(child->Wait(absl::ZeroDuration()), std::nullopt);
  EXPECT_TRUE(child->Running());
  const int status = child->WaitOrKill(absl::Milliseconds(20));
  EXPECT_EQ(DescribeWaitStatus(status), "killed by signal 9");
  EXPECT_FALSE(child->Running());
}

TEST(ChildProcessTest, DestructorKillsAndReapsARunningChild) {
  pid_t pid = -1;
  {
    absl::StatusOr<ChildProcess> child = ChildProcess::Spawn({"/bin/cat"});
    ASSERT_TRUE(child.ok()) << child.status();
    pid = child->pid();
  }
  // Reaped: no such child of ours any more.
  EXPECT_EQ(::waitpid(pid, nullptr, WNOHANG), -1);
}

// The first `n` words of `path`, or "" (no such file, nothing written yet).
std::string FirstWords(const std::string& path, int n) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return "";
  std::string words;
  char word[16];
  for (int i = 0; i < n && std::fscanf(f, "%15s", word) == 1; ++i) {
    words += (i == 0 ? "" : " ") + std::string(word);
  }
  std::fclose(f);
  return words;
}

TEST(ChildProcessTest, DestructorSendsSigtermFirstWhenGivenAGrace) {
  // The shell writes "term" when SIGTERM arrives and exits 0; SIGKILL would
  // not let it. Its output goes to a file, read after the destructor.
  const std::string file = ::testing::TempDir() + "child_process_term.log";
  std::remove(file.c_str());
  pid_t pid = -1;
  {
    absl::StatusOr<ChildProcess> child = ChildProcess::Spawn(
        {"/bin/sh", "-c",
         "trap 'echo term; exit 0' TERM; echo up; while :; do sleep 1; done"},
        {.stdin_from = SpawnOptions::Input::kDevNull,
         .stdout_to = SpawnOptions::Output::kFile,
         .output_file = file,
         .sigterm_grace = kGuard});
    ASSERT_TRUE(child.ok()) << child.status();
    pid = child->pid();
    // "up": the trap is set. Polls the file, with a hang guard.
    const absl::Time deadline = absl::Now() + kGuard;
    while (FirstWords(file, 1) != "up") {
      ASSERT_TRUE(child->Running());
      ASSERT_LT(absl::Now(), deadline);
    }
  }
  EXPECT_EQ(::waitpid(pid, nullptr, WNOHANG), -1);  // reaped
  EXPECT_EQ(FirstWords(file, 2), "up term");
  std::remove(file.c_str());
}

TEST(ChildProcessTest, ForkRunsTheBodyWithPipedStreams) {
  absl::StatusOr<ChildProcess> child = ChildProcess::Fork([] {
    char c = 0;
    if (::read(STDIN_FILENO, &c, 1) != 1) return 1;
    const char reply[] = {'g', 'o', 't', ' ', c, '\n'};
    return ::write(STDOUT_FILENO, reply, sizeof(reply)) ==
                   static_cast<ssize_t>(sizeof(reply))
               ? 7
               : 2;
  });
  ASSERT_TRUE(child.ok()) << child.status();
  ASSERT_TRUE(child->WriteLine("z"));
  EXPECT_EQ(child->ReadLine(kGuard), "got z");
  EXPECT_EQ(DescribeWaitStatus(child->WaitOrKill(kGuard)), "exited 7");
}

TEST(ChildProcessTest, SpawnNamesAProgramThatDoesNotExist) {
  absl::StatusOr<ChildProcess> child =
      ChildProcess::Spawn({"/nonexistent/ringflow-no-such-program"});
  ASSERT_FALSE(child.ok());
  EXPECT_NE(child.status().message().find("no-such-program"), std::string::npos)
      << child.status();
}

}  // namespace
}  // namespace ringflow::tools_internal
