// Segment permissions: 0600 by default whatever the umask, an explicit mode
// (0660 for a group) kept exactly, bad modes rejected, and another user
// (setpriv, as root only) denied unless the mode grants its group access.

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ringflow/shm/internal/control.h"
#include "ringflow/shm/shared_consumer.h"
#include "ringflow/shm/shared_ring.h"
#include "support/shm_event.h"
#include "support/shm_process.h"
#include "support/status_matchers.h"

namespace ringflow::shm {
namespace {

using ::ringflow::testing::ChildProcess;
using ::ringflow::testing::DescribeWaitStatus;
using ::ringflow::testing::Fields;
using ::ringflow::testing::kShmEventTag;
using ::ringflow::testing::RingRemover;
using ::ringflow::testing::ShmEvent;
using ::ringflow::testing::StatusIs;
using ::ringflow::testing::UniqueRingName;
using ::testing::AllOf;
using ::testing::HasSubstr;

using Ring = SharedRing<ShmEvent>;

// Sets the process umask for its lifetime (tests here run one thread).
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : saved_(::umask(mask)) {}
  ScopedUmask(const ScopedUmask&) = delete;
  ScopedUmask& operator=(const ScopedUmask&) = delete;
  ~ScopedUmask() { ::umask(saved_); }

 private:
  mode_t saved_;
};

// Permission bits (and owner) of a POSIX shm segment, via /dev/shm.
struct SegmentFile {
  bool exists = false;
  mode_t mode = 0;
  uid_t uid = 0;
};

SegmentFile StatSegment(const std::string& segment_name) {
  struct stat st {};
  SegmentFile file;
  if (::stat(("/dev/shm" + segment_name).c_str(), &st) == 0) {
    file.exists = true;
    file.mode = st.st_mode & 07777;
    file.uid = st.st_uid;
  }
  return file;
}

SharedRingOptions OptionsFor(const std::string& name, uint32_t mode) {
  SharedRingOptions options;
  options.ring.name = name;
  options.ring.capacity = 64;
  options.ring.max_consumers = 4;
  options.mode = mode;
  return options;
}

void ExpectSegmentsHaveMode(const std::string& name, mode_t mode) {
  for (const std::string& segment : {shm_internal::ControlSegmentName(name),
                                     shm_internal::DataSegmentName(name)}) {
    SCOPED_TRACE(segment);
    const SegmentFile file = StatSegment(segment);
    ASSERT_TRUE(file.exists) << "/dev/shm" << segment << " is missing";
    EXPECT_EQ(file.mode, mode) << std::oct << "mode 0" << file.mode;
    EXPECT_EQ(file.uid, ::geteuid());
  }
}

TEST(ShmPermissionsTest, SegmentsAre0600EvenWithUmaskZero) {
  const ScopedUmask umask(0);
  const std::string name = UniqueRingName("perm");
  RingRemover remover(name);
  ASSERT_OK_AND_ASSIGN(auto ring,
                       Ring::Create(OptionsFor(name, 0600), kShmEventTag));
  ExpectSegmentsHaveMode(name, 0600);
}

TEST(ShmPermissionsTest, TheDefaultModeIs0600) {
  const ScopedUmask umask(0);
  const std::string name = UniqueRingName("perm");
  RingRemover remover(name);
  SharedRingOptions options;
  options.ring.name = name;
  ASSERT_OK_AND_ASSIGN(auto ring, Ring::Create(options, kShmEventTag));
  ExpectSegmentsHaveMode(name, 0600);
}

TEST(ShmPermissionsTest, AGroupModeIsKeptExactlyWhateverTheUmask) {
  for (const mode_t mask : {mode_t{0}, mode_t{022}, mode_t{077}}) {
    SCOPED_TRACE(::testing::Message() << "umask 0" << std::oct << mask);
    const ScopedUmask umask(mask);
    const std::string name = UniqueRingName("perm");
    RingRemover remover(name);
    ASSERT_OK_AND_ASSIGN(auto ring,
                         Ring::Create(OptionsFor(name, 0660), kShmEventTag));
    ExpectSegmentsHaveMode(name, 0660);
  }
}

TEST(ShmPermissionsTest,
     ModesThatAreNotPermissionsOrLockOutTheOwnerAreRejected) {
  for (const uint32_t mode :
       {0u, 0400u, 0200u, 0060u, 01600u, 04600u, 0100600u}) {
    SCOPED_TRACE(::testing::Message() << "mode 0" << std::oct << mode);
    const std::string name = UniqueRingName("perm");
    RingRemover remover(name);
    EXPECT_THAT(
        Ring::Create(OptionsFor(name, mode), kShmEventTag),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("mode")));
    EXPECT_FALSE(StatSegment(shm_internal::ControlSegmentName(name)).exists);
  }
}

// ---- another user (needs root to switch users) ------------------------------

std::string FindSetpriv() {
  for (const char* path : {"/usr/bin/setpriv", "/bin/setpriv"}) {
    if (::access(path, X_OK) == 0) return path;
  }
  return "";
}

// A copy of shm_child that any user can run: the build tree may sit under
// a directory other users cannot enter (e.g. /root in CI).
class PublicHelper {
 public:
  PublicHelper() {
    std::string pattern = "/tmp/ringflow-shm-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) return;
    dir_ = pattern;
    std::error_code error;
    std::filesystem::permissions(dir_, std::filesystem::perms(0755), error);
    const std::filesystem::path copy = dir_ / "shm_child";
    std::filesystem::copy_file(RINGFLOW_SHM_CHILD, copy, error);
    if (error) return;
    std::filesystem::permissions(copy, std::filesystem::perms(0755), error);
    if (!error) path_ = copy.string();
  }
  PublicHelper(const PublicHelper&) = delete;
  PublicHelper& operator=(const PublicHelper&) = delete;
  ~PublicHelper() {
    std::error_code ignored;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
  }

  const std::string& path() const { return path_; }

 private:
  std::filesystem::path dir_;
  std::string path_;
};

class ShmOtherUserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "switching users needs root";
    setpriv_ = FindSetpriv();
    if (setpriv_.empty()) GTEST_SKIP() << "setpriv (util-linux) is missing";
    ASSERT_FALSE(helper_.path().empty()) << "cannot copy the helper to /tmp";
  }

  // Runs `shm_child attach ring=<name> <extra...>` as uid 65534 (nobody)
  // with group `gid` and no supplementary groups; returns its "status ..."
  // line.
  std::string AttachAs(gid_t gid, const std::string& name,
                       const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {
        setpriv_,         "--reuid=65534", "--regid=" + std::to_string(gid),
        "--clear-groups", helper_.path(),  "attach",
        "ring=" + name,   "name=stranger"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    absl::StatusOr<ChildProcess> child = ChildProcess::Spawn(argv);
    if (!child.ok()) return "cannot start setpriv";
    std::string skipped;
    std::optional<std::string> line =
        child->ReadLineStartingWith("status", absl::Seconds(60), &skipped);
    const int status = child->WaitOrKill(absl::Seconds(60));
    if (!line) {
      return "no status line (" + DescribeWaitStatus(status) + "): " + skipped;
    }
    // The helper exits 0 exactly when the attach succeeded.
    const bool ok = Fields(*line).Get("code") == "OK";
    EXPECT_EQ(WIFEXITED(status) && WEXITSTATUS(status) == 0, ok)
        << DescribeWaitStatus(status);
    return *line;
  }

  std::string setpriv_;
  PublicHelper helper_;
};

TEST_F(ShmOtherUserTest, AnotherUserCannotAttachToA0600Ring) {
  const std::string name = UniqueRingName("perm");
  RingRemover remover(name);
  ASSERT_OK_AND_ASSIGN(auto ring,
                       Ring::Create(OptionsFor(name, 0600), kShmEventTag));
  const std::string line = AttachAs(65534, name);
  EXPECT_EQ(Fields(line).Get("code"), "PERMISSION_DENIED") << line;
  EXPECT_THAT(line, HasSubstr(shm_internal::ControlSegmentName(name)));
  // Same group as the owner does not help with 0600.
  const std::string same_group = AttachAs(::getegid(), name);
  EXPECT_EQ(Fields(same_group).Get("code"), "PERMISSION_DENIED") << same_group;
  // The refused stranger left no trace in the slot table.
  for (int i = 0; i < ring->control().max_consumers(); ++i) {
    EXPECT_EQ(
        shm_internal::ConsumerSlot::StateOf(
            ring->control().slot(i).state.load(std::memory_order_acquire)),
        shm_internal::ConsumerSlot::kFree);
  }
}

// A group member may open a 0660 ring, but attaches only when it names
// the ring's group (or owner) as trusted: a ring another user planted is
// never joined by accident.
TEST_F(ShmOtherUserTest, AGroupMemberAttachesToA0660RingOnlyWhenItTrustsIt) {
  const std::string name = UniqueRingName("perm");
  RingRemover remover(name);
  ASSERT_OK_AND_ASSIGN(auto ring,
                       Ring::Create(OptionsFor(name, 0660), kShmEventTag));
  const std::string untrusting = AttachAs(::getegid(), name);
  EXPECT_EQ(Fields(untrusting).Get("code"), "PERMISSION_DENIED") << untrusting;
  EXPECT_THAT(untrusting,
              HasSubstr("belongs to uid " + std::to_string(::geteuid())));
  const std::string member =
      AttachAs(::getegid(), name, {"trust_gid=" + std::to_string(::getegid())});
  EXPECT_EQ(Fields(member).Get("code"), "OK") << member;
  const std::string by_uid =
      AttachAs(::getegid(), name, {"trust_uid=" + std::to_string(::geteuid())});
  EXPECT_EQ(Fields(by_uid).Get("code"), "OK") << by_uid;
  // Trust does not open a file the OS refuses.
  const std::string stranger =
      AttachAs(65534, name, {"trust_uid=" + std::to_string(::geteuid())});
  EXPECT_EQ(Fields(stranger).Get("code"), "PERMISSION_DENIED") << stranger;
}

// Issue 11, item 1: a ring planted by another user (world-writable, its
// producer gone) is never resumed by us: Create names the owner's uid and
// writes nothing into it; our consumers refuse it unless they trust that
// uid.
TEST_F(ShmOtherUserTest, ARingPlantedByAnotherUserIsNeitherResumedNorAttached) {
  const std::string name = UniqueRingName("plant");
  RingRemover remover(name);
  {
    absl::StatusOr<ChildProcess> planter = ChildProcess::Spawn(
        {setpriv_, "--reuid=65534", "--regid=65534", "--clear-groups",
         helper_.path(), "produce", "ring=" + name, "mode=438",
         "world_writable=1", "capacity=64"});
    ASSERT_TRUE(planter.ok());
    std::optional<std::string> created =
        planter->ReadLineStartingWith("created", absl::Seconds(60));
    ASSERT_TRUE(created.has_value());
    planter->CloseStdin();  // it exits: the planted ring has no producer
    planter->WaitOrKill(absl::Seconds(60));
  }
  SharedRingOptions options = OptionsFor(name, 0600);
  options.ring.capacity = 64;
  EXPECT_THAT(Ring::Create(options, kShmEventTag),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       AllOf(HasSubstr("uid 65534"), HasSubstr(name))));
  options.mode = 0666;
  options.world_writable = true;
  EXPECT_THAT(
      Ring::Create(options, kShmEventTag),
      StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("uid 65534")));
  SharedConsumerOptions consumer;
  consumer.type_tag = kShmEventTag;
  EXPECT_THAT(
      SharedConsumer<ShmEvent>::Attach(name, consumer),
      StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("uid 65534")));
  consumer.trusted_uids = {65534};
  EXPECT_OK(SharedConsumer<ShmEvent>::Attach(name, consumer).status());
}

}  // namespace
}  // namespace ringflow::shm
