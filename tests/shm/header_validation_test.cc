// Attach-time validation of a shared ring: the event type fingerprint, every
// header field of the control segment (on copies corrupted in memory and
// on live segments), truncated, zeroed and random images, ring names, and
// a creator that died before marking its ring ready.

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ringflow/shm/internal/control.h"
#include "ringflow/shm/internal/layout.h"
#include "ringflow/shm/internal/segment.h"
#include "ringflow/shm/shared_consumer.h"
#include "ringflow/shm/shared_ring.h"
#include "support/shm_event.h"
#include "support/shm_files.h"
#include "support/shm_process.h"
#include "support/status_matchers.h"
#include "support/test_scale.h"

namespace ringflow::shm {
namespace {

using ::ringflow::shm_internal::Segment;
using ::ringflow::testing::ChildProcess;
using ::ringflow::testing::Events;
using ::ringflow::testing::Fields;
using ::ringflow::testing::PlantSegment;
using ::ringflow::testing::RingRemover;
using ::ringflow::testing::StatusIs;
using ::ringflow::testing::UniqueRingName;
using ::testing::AllOf;
using ::testing::AnyOf;
using ::testing::HasSubstr;

struct Event32 {
  int64_t a, b, c, d;
};
struct Event24 {
  int64_t a, b, c;
};
struct Event40 {
  int64_t a, b, c, d, e;
};
struct alignas(16) Event32Aligned16 {
  int64_t a, b, c, d;
};
static_assert(sizeof(Event32) == 32 && alignof(Event32) == 8);
static_assert(sizeof(Event24) == 24 && sizeof(Event40) == 40);
static_assert(sizeof(Event32Aligned16) == 32 && alignof(Event32Aligned16) == 16,
              "same size as Event32, only the alignment differs");

constexpr char kTag[] = "ticks-v1";
constexpr int64_t kCapacity = 64;
constexpr int kMaxConsumers = 4;

SharedRingOptions OptionsFor(const std::string& name) {
  SharedRingOptions options;
  options.ring.name = name;
  options.ring.capacity = kCapacity;
  options.ring.max_consumers = kMaxConsumers;
  return options;
}

SharedConsumerOptions ConsumerOptions(std::string tag = kTag) {
  SharedConsumerOptions options;
  options.type_tag = std::move(tag);
  options.attach_timeout = absl::Milliseconds(200);
  return options;
}

// An exact-size heap copy: under ASan any read past `size` is reported.
using Image = std::vector<uint8_t>;

shm_internal::ControlHeader& HeaderOf(Image& image) {
  return *reinterpret_cast<shm_internal::ControlHeader*>(image.data());
}

absl::Status Validate(const Image& image,
                      const shm_internal::RingIdentity* expected = nullptr) {
  return shm_internal::ValidateControl(image.data(), image.size(), expected);
}

absl::Status ValidatePrefix(const Image& image, size_t size) {
  const std::unique_ptr<uint8_t[]> copy(new uint8_t[size == 0 ? 1 : size]);
  std::memcpy(copy.get(), image.data(), size);
  return shm_internal::ValidateControl(copy.get(), size, nullptr);
}

class ShmHeaderValidationTest : public ::testing::Test {
 protected:
  ShmHeaderValidationTest() : name_(UniqueRingName("hv")), remover_(name_) {}

  // Creates the test's ring with event type Event32 and kTag.
  void CreateRing() {
    ASSERT_OK_AND_ASSIGN(ring_,
                         SharedRing<Event32>::Create(OptionsFor(name_), kTag));
  }

  // The control segment of the ring as it is now, copied through a mapping
  // of our own (the producer's housekeeping thread writes its heartbeat in
  // the original).
  Image CopyOfControl() {
    absl::StatusOr<Segment> segment = Segment::Open(
        shm_internal::ControlSegmentName(name_), Segment::Access::kReadOnly);
    EXPECT_OK(segment.status());
    if (!segment.ok()) return {};
    const auto* bytes = static_cast<const uint8_t*>(segment->data());
    const auto& header =
        *reinterpret_cast<const shm_internal::ControlHeader*>(bytes);
    EXPECT_LE(header.control_bytes, segment->size());
    return Image(bytes, bytes + header.control_bytes);
  }

  const std::string name_;
  RingRemover remover_;
  std::unique_ptr<SharedRing<Event32>> ring_;
};

// ---- the event type fingerprint on attach ---------------------------------

TEST_F(ShmHeaderValidationTest, AttachWithTheRingsTypeSucceeds) {
  CreateRing();
  ASSERT_OK_AND_ASSIGN(
      auto consumer, SharedConsumer<Event32>::Attach(name_, ConsumerOptions()));
  EXPECT_EQ(consumer->control().header().event_size, 32u);
  EXPECT_STREQ(consumer->control().header().type_tag, kTag);
}

TEST_F(ShmHeaderValidationTest, AttachRejectsASmallerEvent) {
  CreateRing();
  EXPECT_THAT(
      SharedConsumer<Event24>::Attach(name_, ConsumerOptions()),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               AllOf(HasSubstr("event size 24 != 32"), HasSubstr(name_))));
}

TEST_F(ShmHeaderValidationTest, AttachRejectsALargerEvent) {
  CreateRing();
  EXPECT_THAT(SharedConsumer<Event40>::Attach(name_, ConsumerOptions()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("event size 40 != 32")));
}

TEST_F(ShmHeaderValidationTest, AttachRejectsAnotherAlignment) {
  CreateRing();
  EXPECT_THAT(
      SharedConsumer<Event32Aligned16>::Attach(name_, ConsumerOptions()),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               HasSubstr("event alignment 16 != 8")));
}

TEST_F(ShmHeaderValidationTest, AttachRejectsAnotherTypeTag) {
  CreateRing();
  EXPECT_THAT(
      SharedConsumer<Event32>::Attach(name_, ConsumerOptions("ticks-v2")),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               HasSubstr("type tag 'ticks-v2' != 'ticks-v1'")));
  EXPECT_THAT(SharedConsumer<Event32>::Attach(name_, ConsumerOptions("")),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("type tag '' != 'ticks-v1'")));
}

TEST_F(ShmHeaderValidationTest, RejectedAttachTakesNoSlot) {
  CreateRing();
  for (int i = 0; i < 2 * kMaxConsumers; ++i) {
    ASSERT_FALSE(
        SharedConsumer<Event24>::Attach(name_, ConsumerOptions()).ok());
  }
  for (int i = 0; i < kMaxConsumers; ++i) {
    EXPECT_EQ(
        shm_internal::ConsumerSlot::StateOf(
            ring_->control().slot(i).state.load(std::memory_order_acquire)),
        shm_internal::ConsumerSlot::kFree)
        << "slot " << i;
  }
}

// The bridge source's mark (layout.h) is zero in a new ring, and a
// producer that resumes the ring keeps what the bridge wrote.
TEST_F(ShmHeaderValidationTest, SourceMarkIsZeroAtCreationAndKeptOnResume) {
  CreateRing();
  shm_internal::SourceMark& mark = ring_->control().source_mark();
  EXPECT_EQ(mark.ring_sequence.load(std::memory_order_relaxed), 0);
  EXPECT_EQ(mark.stream_sequence.load(std::memory_order_relaxed), 0u);
  EXPECT_EQ(mark.committed_stream_sequence.load(std::memory_order_relaxed), 0u);
  EXPECT_EQ(mark.stream_id.load(std::memory_order_relaxed), 0u);
  mark.ring_sequence.store(41, std::memory_order_relaxed);
  mark.stream_sequence.store(7, std::memory_order_relaxed);
  mark.committed_stream_sequence.store(6, std::memory_order_relaxed);
  mark.stream_id.store(0xabcdef, std::memory_order_relaxed);
  ring_.reset();
  CreateRing();
  ASSERT_TRUE(ring_->resumed());
  const shm_internal::SourceMark& kept = ring_->control().source_mark();
  EXPECT_EQ(kept.ring_sequence.load(std::memory_order_relaxed), 41);
  EXPECT_EQ(kept.stream_sequence.load(std::memory_order_relaxed), 7u);
  EXPECT_EQ(kept.committed_stream_sequence.load(std::memory_order_relaxed), 6u);
  EXPECT_EQ(kept.stream_id.load(std::memory_order_relaxed), 0xabcdefu);
}

// ---- names and missing rings ----------------------------------------------

TEST_F(ShmHeaderValidationTest, AttachToAMissingRingIsNotFoundNamingIt) {
  EXPECT_THAT(SharedConsumer<Event32>::Attach(name_, ConsumerOptions()),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr(name_)));
  EXPECT_THAT(
      shm_internal::Control::Attach(
          name_,
          shm_internal::AttachOptions{.timeout = absl::Milliseconds(10)}),
      StatusIs(absl::StatusCode::kNotFound, HasSubstr(name_)));
  EXPECT_THAT(shm_internal::Control::Remove(name_),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr(name_)));
}

TEST_F(ShmHeaderValidationTest, AttachWithoutTheDataSegmentIsNotFound) {
  CreateRing();
  ASSERT_OK(Segment::Remove(shm_internal::DataSegmentName(name_)));
  EXPECT_THAT(SharedConsumer<Event32>::Attach(name_, ConsumerOptions()),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr(shm_internal::DataSegmentName(name_))));
}

TEST(ShmRingNameTest, BadNamesAreInvalidArgument) {
  const std::string too_long(40, 'a');
  const std::string one_too_long(kMaxNameLength + 1, 'b');
  for (const std::string& bad :
       {std::string(""), std::string("a/b"), std::string(".x"),
        std::string("a b"), std::string("x\ny"), std::string("ring*"),
        std::string("/abs"), too_long, one_too_long}) {
    SCOPED_TRACE("name '" + bad + "'");
    EXPECT_THAT(shm_internal::ValidateRingName(bad),
                StatusIs(absl::StatusCode::kInvalidArgument));
    SharedRingOptions options = OptionsFor(bad);
    EXPECT_THAT(
        SharedRing<Event32>::Create(options, kTag),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ring name")));
    EXPECT_THAT(
        SharedConsumer<Event32>::Attach(bad, ConsumerOptions()),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ring name")));
    EXPECT_THAT(
        shm_internal::Control::Attach(
            bad,
            shm_internal::AttachOptions{.timeout = absl::Milliseconds(10)}),
        StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(shm_internal::Control::Remove(bad),
                StatusIs(absl::StatusCode::kInvalidArgument));
  }
}

TEST(ShmRingNameTest, NamesUpToTheLimitWork) {
  // 32 characters from the whole alphabet: letters, digits, '_', '.', '-'.
  std::string name = UniqueRingName("");
  name += "aZ9_.-";
  name.resize(kMaxNameLength, 'x');
  ASSERT_EQ(name.size(), kMaxNameLength);
  RingRemover remover(name);
  EXPECT_OK(shm_internal::ValidateRingName(name));
  ASSERT_OK_AND_ASSIGN(auto ring,
                       SharedRing<Event32>::Create(OptionsFor(name), kTag));
  ASSERT_OK_AND_ASSIGN(
      auto consumer, SharedConsumer<Event32>::Attach(name, ConsumerOptions()));
  EXPECT_EQ(consumer->control().ring_name(), name);
}

// ---- ValidateControl on corrupted copies ------------------------------------

TEST_F(ShmHeaderValidationTest, TheImageOfARingIsValid) {
  CreateRing();
  const Image image = CopyOfControl();
  ASSERT_FALSE(image.empty());
  EXPECT_OK(Validate(image));
  const shm_internal::RingIdentity same = IdentityOf<Event32>(kTag);
  EXPECT_OK(Validate(image, &same));
  EXPECT_EQ(
      image.size(),
      shm_internal::ControlLayout::For(kCapacity, kMaxConsumers).control_bytes);
}

TEST_F(ShmHeaderValidationTest, ValidateControlNamesTheExpectedTypeMismatch) {
  CreateRing();
  const Image image = CopyOfControl();
  const shm_internal::RingIdentity size = IdentityOf<Event24>(kTag);
  const shm_internal::RingIdentity alignment =
      IdentityOf<Event32Aligned16>(kTag);
  const shm_internal::RingIdentity tag = IdentityOf<Event32>("other");
  EXPECT_THAT(Validate(image, &size),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("event size 24 != 32")));
  EXPECT_THAT(Validate(image, &alignment),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("event alignment 16 != 8")));
  EXPECT_THAT(Validate(image, &tag),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("type tag 'other' != 'ticks-v1'")));
}

struct Corruption {
  const char* what;
  std::function<void(shm_internal::ControlHeader&)> corrupt;
  absl::StatusCode code;
  std::string message;  // a substring of the status message
};

TEST_F(ShmHeaderValidationTest, EveryCorruptedHeaderFieldIsNamed) {
  CreateRing();
  const Image original = CopyOfControl();
  ASSERT_FALSE(original.empty());
  const shm_internal::ControlLayout layout =
      shm_internal::ControlLayout::For(kCapacity, kMaxConsumers);
  const std::vector<Corruption> corruptions = {
      {"magic", [](shm_internal::ControlHeader& h) { h.magic ^= 1; },
       absl::StatusCode::kFailedPrecondition, "magic 0x"},
      {"layout version",
       [](shm_internal::ControlHeader& h) {
         h.layout_version = shm_internal::kLayoutVersion + 1;
       },
       absl::StatusCode::kFailedPrecondition,
       absl::StrCat("layout version ", shm_internal::kLayoutVersion + 1,
                    " != ", shm_internal::kLayoutVersion)},
      {"header size",
       [](shm_internal::ControlHeader& h) { h.header_bytes = 128; },
       absl::StatusCode::kFailedPrecondition, "header size 128 != 256"},
      {"capacity not a power of two",
       [](shm_internal::ControlHeader& h) { h.capacity = 1000; },
       absl::StatusCode::kFailedPrecondition,
       "capacity 1000 is not a power of two"},
      {"capacity zero", [](shm_internal::ControlHeader& h) { h.capacity = 0; },
       absl::StatusCode::kFailedPrecondition, "capacity 0 "},
      {"capacity negative",
       [](shm_internal::ControlHeader& h) { h.capacity = -64; },
       absl::StatusCode::kFailedPrecondition, "capacity -64 "},
      {"capacity too large",
       [](shm_internal::ControlHeader& h) { h.capacity = int64_t{1} << 40; },
       absl::StatusCode::kFailedPrecondition, "capacity 1099511627776 "},
      {"capacity another power of two",
       [](shm_internal::ControlHeader& h) { h.capacity = 2 * kCapacity; },
       absl::StatusCode::kFailedPrecondition, "does not match capacity 128"},
      {"max consumers zero",
       [](shm_internal::ControlHeader& h) { h.max_consumers = 0; },
       absl::StatusCode::kFailedPrecondition, "max consumers 0 "},
      {"max consumers huge",
       [](shm_internal::ControlHeader& h) { h.max_consumers = 100000; },
       absl::StatusCode::kFailedPrecondition, "max consumers 100000 "},
      {"max consumers another",
       [](shm_internal::ControlHeader& h) {
         h.max_consumers = kMaxConsumers + 1;
       },
       absl::StatusCode::kFailedPrecondition, "control layout"},
      {"wait strategy",
       [](shm_internal::ControlHeader& h) { h.wait_strategy = 7; },
       absl::StatusCode::kFailedPrecondition, "wait strategy 7 is unknown"},
      {"producer type",
       [](shm_internal::ControlHeader& h) { h.producer_type = 2; },
       absl::StatusCode::kFailedPrecondition, "producer type 2 is unknown"},
      {"event size zero",
       [](shm_internal::ControlHeader& h) { h.event_size = 0; },
       absl::StatusCode::kFailedPrecondition, "event size 0 "},
      {"event size huge",
       [](shm_internal::ControlHeader& h) { h.event_size = uint64_t{1} << 40; },
       absl::StatusCode::kFailedPrecondition, "event size 1099511627776 "},
      {"event alignment zero",
       [](shm_internal::ControlHeader& h) { h.event_alignment = 0; },
       absl::StatusCode::kFailedPrecondition, "alignment 0 "},
      {"event alignment not a power of two",
       [](shm_internal::ControlHeader& h) { h.event_alignment = 12; },
       absl::StatusCode::kFailedPrecondition, "alignment 12 "},
      {"slots offset",
       [](shm_internal::ControlHeader& h) { h.slots_offset += 128; },
       absl::StatusCode::kFailedPrecondition, "control layout"},
      {"counters offset",
       [](shm_internal::ControlHeader& h) { h.counters_offset -= 128; },
       absl::StatusCode::kFailedPrecondition, "control layout"},
      {"counters size",
       [](shm_internal::ControlHeader& h) { h.counters_bytes = 0; },
       absl::StatusCode::kFailedPrecondition, "control layout"},
      {"control size",
       [](shm_internal::ControlHeader& h) { h.control_bytes = 1; },
       absl::StatusCode::kFailedPrecondition, "control layout (1 bytes"},
      {"data size", [](shm_internal::ControlHeader& h) { h.data_bytes += 1; },
       absl::StatusCode::kFailedPrecondition, "data size 2049 != capacity 64"},
      {"data size matching another event size",
       [](shm_internal::ControlHeader& h) { h.event_size = 24; },
       absl::StatusCode::kFailedPrecondition, "data size 2048 != capacity 64"},
      {"type tag not terminated",
       [](shm_internal::ControlHeader& h) {
         std::memset(h.type_tag, 'x', shm_internal::kTypeTagBytes);
       },
       absl::StatusCode::kFailedPrecondition, "type tag is not terminated"},
      {"ready zero",
       [](shm_internal::ControlHeader& h) {
         h.ready.store(0, std::memory_order_relaxed);
       },
       absl::StatusCode::kUnavailable, "not ready (ready word 0)"},
      {"ready garbage",
       [](shm_internal::ControlHeader& h) {
         h.ready.store(77, std::memory_order_relaxed);
       },
       absl::StatusCode::kUnavailable, "ready word 77"},
  };
  ASSERT_EQ(HeaderOf(const_cast<Image&>(original)).control_bytes,
            layout.control_bytes);
  for (const Corruption& c : corruptions) {
    SCOPED_TRACE(c.what);
    Image image = original;
    c.corrupt(HeaderOf(image));
    EXPECT_THAT(Validate(image), StatusIs(c.code, HasSubstr(c.message)));
  }
}

TEST_F(ShmHeaderValidationTest, TruncatedImagesAreNamedNeverRead) {
  CreateRing();
  const Image image = CopyOfControl();
  ASSERT_FALSE(image.empty());
  EXPECT_THAT(
      shm_internal::ValidateControl(nullptr, 0, nullptr),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("truncated")));
  EXPECT_THAT(shm_internal::ValidateControl(nullptr, image.size(), nullptr),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  for (const size_t size : {size_t{0}, size_t{1}, size_t{8}, size_t{100},
                            sizeof(shm_internal::ControlHeader) - 1}) {
    SCOPED_TRACE(size);
    EXPECT_THAT(
        ValidatePrefix(image, size),
        StatusIs(absl::StatusCode::kFailedPrecondition,
                 AllOf(HasSubstr("truncated"), HasSubstr("256-byte header"))));
  }
  // The header is whole, the structures after it are not.
  for (const size_t size : {sizeof(shm_internal::ControlHeader),
                            sizeof(shm_internal::ControlHeader) + 1,
                            size_t{shm_internal::kAvailableOffset},
                            image.size() / 2, image.size() - 1}) {
    SCOPED_TRACE(size);
    EXPECT_THAT(ValidatePrefix(image, size),
                StatusIs(absl::StatusCode::kFailedPrecondition,
                         AllOf(HasSubstr("truncated"),
                               HasSubstr(std::to_string(image.size())))));
  }
  EXPECT_OK(ValidatePrefix(image, image.size()));
}

// A zeroed image is what a creator leaves between sizing the segment and
// writing the header: "not ready yet" (Attach waits, then DeadlineExceeded,
// see ShmCreatorDiedTest), never a crash.
TEST_F(ShmHeaderValidationTest, AZeroedImageIsNotReadyYet) {
  CreateRing();
  const Image image(CopyOfControl().size(), 0);
  EXPECT_THAT(Validate(image), StatusIs(absl::StatusCode::kUnavailable,
                                        HasSubstr("zero-filled")));
}

// Random images (seeded, so a failure reproduces): never a crash, never a
// read past the size (ASan), always a named error. Half of them carry the
// magic and a ready word so the checks behind those run too.
TEST_F(ShmHeaderValidationTest, RandomImagesGiveANamedStatus) {
  CreateRing();
  const Image valid = CopyOfControl();
  ASSERT_FALSE(valid.empty());
  std::mt19937_64 random(20240601);
  const int64_t kIterations = Events(20'000);
  int64_t ok = 0;
  for (int64_t i = 0; i < kIterations; ++i) {
    const size_t size =
        std::uniform_int_distribution<size_t>(0, valid.size() + 512)(random);
    Image image(size);
    for (size_t at = 0; at < size; at += 8) {
      const uint64_t word = random();
      std::memcpy(image.data() + at, &word, std::min<size_t>(8, size - at));
    }
    if (i % 2 == 1 && size >= sizeof(shm_internal::ControlHeader)) {
      HeaderOf(image).magic = shm_internal::kMagic;
      HeaderOf(image).ready.store(1, std::memory_order_relaxed);
    }
    const absl::Status status = Validate(image);
    if (status.ok()) {
      ++ok;
      continue;
    }
    ASSERT_THAT(status, AnyOf(StatusIs(absl::StatusCode::kFailedPrecondition),
                              StatusIs(absl::StatusCode::kUnavailable)))
        << "iteration " << i;
    ASSERT_FALSE(status.message().empty()) << "iteration " << i;
  }
  EXPECT_EQ(ok, 0) << "random bytes passed as a ring";
}

// A valid image with a few random bytes changed anywhere in its header or
// in the structures after it: OK (a reserved or unchecked byte) or a named
// error, and OK only if every checked field still holds its value.
TEST_F(ShmHeaderValidationTest, RandomlyMutatedImagesGiveANamedStatus) {
  CreateRing();
  const Image valid = CopyOfControl();
  ASSERT_FALSE(valid.empty());
  const shm_internal::ControlHeader& h0 = HeaderOf(const_cast<Image&>(valid));
  std::mt19937_64 random(7);
  int64_t rejected = 0;
  const int64_t kIterations = Events(20'000);
  for (int64_t i = 0; i < kIterations; ++i) {
    Image image = valid;
    const int flips = 1 + static_cast<int>(random() % 8);
    for (int f = 0; f < flips; ++f) {
      // Three in four flips land in the 256-byte header.
      const size_t at = random() % 4 != 0
                            ? random() % sizeof(shm_internal::ControlHeader)
                            : random() % image.size();
      image[at] ^= static_cast<uint8_t>(1 + random() % 255);
    }
    const absl::Status status = Validate(image);
    if (!status.ok()) {
      ++rejected;
      ASSERT_THAT(status, AnyOf(StatusIs(absl::StatusCode::kFailedPrecondition),
                                StatusIs(absl::StatusCode::kUnavailable)))
          << "iteration " << i;
      ASSERT_FALSE(status.message().empty());
      continue;
    }
    const shm_internal::ControlHeader& h = HeaderOf(image);
    ASSERT_EQ(h.magic, h0.magic) << "iteration " << i;
    ASSERT_EQ(h.layout_version, h0.layout_version);
    ASSERT_EQ(h.capacity, h0.capacity) << "iteration " << i;
    ASSERT_EQ(h.max_consumers, h0.max_consumers) << "iteration " << i;
    ASSERT_EQ(h.control_bytes, h0.control_bytes) << "iteration " << i;
    ASSERT_EQ(h.data_bytes, h0.data_bytes) << "iteration " << i;
    ASSERT_EQ(h.slots_offset, h0.slots_offset) << "iteration " << i;
  }
  EXPECT_GT(rejected, kIterations / 2);
}

// ---- live segments ----------------------------------------------------------

TEST_F(ShmHeaderValidationTest, AttachNamesACorruptedLiveHeader) {
  CreateRing();
  ASSERT_OK_AND_ASSIGN(Segment writable,
                       Segment::Open(shm_internal::ControlSegmentName(name_),
                                     Segment::Access::kReadWrite));
  shm_internal::ControlHeader& header =
      *static_cast<shm_internal::ControlHeader*>(writable.data());
  header.layout_version = 7;
  EXPECT_THAT(
      SharedConsumer<Event32>::Attach(name_, ConsumerOptions()),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               AllOf(HasSubstr("ring '" + name_ + "'"),
                     HasSubstr(absl::StrCat("layout version 7 != ",
                                            shm_internal::kLayoutVersion)))));
  header.layout_version = shm_internal::kLayoutVersion;
  header.capacity = 48;
  EXPECT_THAT(SharedConsumer<Event32>::Attach(name_, ConsumerOptions()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("capacity 48 is not a power of two")));
  header.capacity = kCapacity;
  EXPECT_OK(SharedConsumer<Event32>::Attach(name_, ConsumerOptions()).status());
}

TEST_F(ShmHeaderValidationTest, AttachNamesATruncatedControlSegment) {
  ASSERT_OK_AND_ASSIGN(
      Segment segment,
      PlantSegment(shm_internal::ControlSegmentName(name_), 100, 0600));
  EXPECT_THAT(SharedConsumer<Event32>::Attach(name_, ConsumerOptions()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr(name_), HasSubstr("truncated"))));
}

TEST_F(ShmHeaderValidationTest, AttachNamesATruncatedDataSegment) {
  CreateRing();
  ASSERT_OK(Segment::Remove(shm_internal::DataSegmentName(name_)));
  ASSERT_OK_AND_ASSIGN(
      Segment data,
      PlantSegment(shm_internal::DataSegmentName(name_), 16, 0600));
  EXPECT_THAT(
      SharedConsumer<Event32>::Attach(name_, ConsumerOptions()),
      StatusIs(
          absl::StatusCode::kFailedPrecondition,
          AllOf(HasSubstr("data segment is 16 bytes"),
                HasSubstr(absl::StrCat(
                    "expected ", shm_internal::kDataHeaderBytes + 2048)))));
}

// ---- a creator that died before marking the ring ready ----------------------

// Writes a control segment for the test's ring holding `image` (what a
// creator had written when it died).
void WriteStaleControl(const std::string& name, const Image& image) {
  ASSERT_OK_AND_ASSIGN(
      Segment segment,
      PlantSegment(shm_internal::ControlSegmentName(name), image.size(), 0600));
  std::memcpy(segment.data(), image.data(), image.size());
}

// The pid of a process that has exited and been reaped (-1 on failure).
pid_t ReapedPid() {
  auto child = ChildProcess::Spawn({RINGFLOW_SHM_CHILD, "no-such-verb"});
  if (!child.ok()) return -1;
  const pid_t pid = child->pid();
  child->WaitOrKill(absl::Seconds(60));
  return pid;
}

class ShmCreatorDiedTest : public ShmHeaderValidationTest {
 protected:
  // The complete image of a ring whose `ready` word was never written and
  // whose creator is `creator` (started at `start_ticks`); the ring's own
  // segments are removed, as after a crash before the data segment existed.
  Image StaleImage(int32_t creator, uint64_t start_ticks) {
    CreateRing();
    ring_.reset();
    Image image = CopyOfControl();
    (void)shm_internal::Control::Remove(name_);
    if (image.empty()) return image;
    HeaderOf(image).ready.store(0, std::memory_order_relaxed);
    HeaderOf(image).creator_pid = creator;
    HeaderOf(image).creator_start_ticks = start_ticks;
    return image;
  }
};

TEST_F(ShmCreatorDiedTest, AttachTimesOutNamingTheCreator) {
  const pid_t dead = ReapedPid();
  ASSERT_GT(dead, 0);
  const Image image = StaleImage(dead, 12345);
  ASSERT_FALSE(image.empty());
  WriteStaleControl(name_, image);
  const absl::Time start = absl::Now();
  EXPECT_THAT(SharedConsumer<Event32>::Attach(name_, ConsumerOptions()),
              StatusIs(absl::StatusCode::kDeadlineExceeded,
                       AllOf(HasSubstr(name_), HasSubstr("creator"),
                             HasSubstr("200ms"))));
  const absl::Duration waited = absl::Now() - start;
  // It waited for the ready word up to attach_timeout (200 ms), and gave up
  // instead of spinning forever (bound: generous, for a loaded machine).
  EXPECT_GE(waited, absl::Milliseconds(200));
  EXPECT_LT(waited, absl::Seconds(30));
  EXPECT_THAT(
      shm_internal::Control::Attach(
          name_, shm_internal::AttachOptions{.timeout = absl::ZeroDuration()}),
      StatusIs(absl::StatusCode::kDeadlineExceeded));
}

TEST_F(ShmCreatorDiedTest, AttachSucceedsOnceTheCreatorMarksTheRingReady) {
  CreateRing();
  ASSERT_OK_AND_ASSIGN(Segment writable,
                       Segment::Open(shm_internal::ControlSegmentName(name_),
                                     Segment::Access::kReadWrite));
  std::atomic<uint32_t>& ready =
      static_cast<shm_internal::ControlHeader*>(writable.data())->ready;
  ready.store(0, std::memory_order_release);
  absl::Status attached;
  std::thread consumer([&] {
    SharedConsumerOptions options = ConsumerOptions();
    options.attach_timeout = absl::Seconds(60);
    attached = SharedConsumer<Event32>::Attach(name_, options).status();
  });
  ready.store(1, std::memory_order_release);
  consumer.join();
  EXPECT_OK(attached);
}

// A control segment that never became ready cannot have been made by this
// ringflow (a creator names its segments only once they are complete):
// Create refuses it rather than unlink what it cannot validate, `rm`
// without force refuses it too, and once force removed it Create works.
TEST_F(ShmCreatorDiedTest, CreateRefusesAnUnreadyRingUntilItIsForceRemoved) {
  const pid_t dead = ReapedPid();
  ASSERT_GT(dead, 0);
  const Image image = StaleImage(dead, 12345);
  ASSERT_FALSE(image.empty());
  WriteStaleControl(name_, image);
  EXPECT_THAT(SharedRing<Event32>::Create(OptionsFor(name_), kTag),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       AllOf(HasSubstr(name_), HasSubstr("not ready"))));
  EXPECT_THAT(shm_internal::Control::Remove(name_),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("not a ringflow ring")));
  ASSERT_OK(shm_internal::Control::Remove(name_, /*force=*/true));
  ASSERT_OK_AND_ASSIGN(auto ring,
                       SharedRing<Event32>::Create(OptionsFor(name_), kTag));
  EXPECT_FALSE(ring->resumed());
  ASSERT_OK_AND_ASSIGN(
      auto consumer, SharedConsumer<Event32>::Attach(name_, ConsumerOptions()));
  ASSERT_TRUE(ring->PublishEvent([](Event32& e, int64_t s) { e.a = s + 5; }));
  auto lease = consumer->TryLease();
  ASSERT_TRUE(lease.has_value());
  EXPECT_EQ(lease->sequence(), 0);
  EXPECT_EQ((*lease)->a, 5);
}

TEST_F(ShmCreatorDiedTest, CreateRefusesAnUnreadyRingOfALiveCreator) {
  // A live process (it waits on its stdin) posing as the creator.
  auto creator = ChildProcess::Spawn({"/bin/cat"});
  ASSERT_TRUE(creator.ok());
  const uint64_t ticks = shm_internal::ProcessStartTicks(creator->pid());
  ASSERT_NE(ticks, 0u);
  const Image image = StaleImage(creator->pid(), ticks);
  ASSERT_FALSE(image.empty());
  WriteStaleControl(name_, image);
  EXPECT_THAT(
      SharedRing<Event32>::Create(OptionsFor(name_), kTag),
      StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("not ready")));
}

// Attach during initialisation (regression tests; this one and the two
// below). Control::CreateOrResume creates the control segment (shm_open),
// sizes it (ftruncate: zero-filled), creates the data segment, and only
// then writes the header, `ready` last. An attach that opens the segment in
// the two early windows must wait for `ready` like in the late one: an
// empty segment and an all-zero header are "not ready yet", never "not a
// ringflow ring". (Before the fix these failed at once with
// FailedPrecondition "... is empty (0 bytes)" / "magic 0x0000000000000000
// != ...", and 2-7 of 20 racing attaches failed.)
//
// A creator that died after sizing the control segment but before writing
// its header leaves zeroes: that ring is still being initialised, so an
// attach should wait for it up to attach_timeout, like for a header whose
// ready word is 0.
TEST_F(ShmCreatorDiedTest, AttachTimesOutOnAZeroFilledControlSegment) {
  const Image image(
      shm_internal::ControlLayout::For(kCapacity, kMaxConsumers).control_bytes,
      0);
  WriteStaleControl(name_, image);
  EXPECT_THAT(
      SharedConsumer<Event32>::Attach(name_, ConsumerOptions()),
      StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("creator")));
}

// An empty file under a ring's name is never a ring being created (a
// creator names its segments complete): refused at once, named.
TEST_F(ShmCreatorDiedTest, AttachRefusesAnEmptyControlSegment) {
  const std::string path = shm_internal::ControlSegmentName(name_);
  const int fd = ::shm_open(path.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
  ASSERT_GE(fd, 0);
  ::close(fd);
  EXPECT_THAT(SharedConsumer<Event32>::Attach(name_, ConsumerOptions()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr(name_), HasSubstr("empty"))));
}

// A consumer started together with its producer polls Attach until the ring
// exists. Once the control segment exists, Attach must wait (up to
// attach_timeout) for the creator to mark it ready, never fail on the
// half-initialised segment it may open first.
TEST(ShmAttachRaceTest, AttachRacingTheCreatorNeverSeesAHalfInitialisedRing) {
  const int kRounds = 20;
  int failures = 0;
  std::set<std::string> errors;  // distinct messages, ring name cut out
  for (int round = 0; round < kRounds; ++round) {
    const std::string name = UniqueRingName("race");
    RingRemover remover(name);
    absl::StatusOr<ChildProcess> creator = ChildProcess::Spawn(
        {RINGFLOW_SHM_CHILD, "produce", "ring=" + name, "capacity=65536"});
    ASSERT_TRUE(creator.ok());
    SharedConsumerOptions options;
    options.type_tag = ringflow::testing::kShmEventTag;
    options.attach_timeout = absl::Seconds(30);
    absl::Status attached;
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    do {
      attached =
          SharedConsumer<ringflow::testing::ShmEvent>::Attach(name, options)
              .status();
    } while (absl::IsNotFound(attached) && absl::Now() < deadline);
    if (!attached.ok()) {
      ++failures;
      std::string error = attached.ToString();
      for (size_t at; (at = error.find(name)) != std::string::npos;) {
        error.replace(at, name.size(), "<ring>");
      }
      errors.insert(error);
    }
    ASSERT_TRUE(creator->ReadLineStartingWith("created", absl::Seconds(60))
                    .has_value());
  }
  EXPECT_EQ(failures, 0) << failures << " of " << kRounds
                         << " attaches failed: "
                         << ::testing::PrintToString(errors);
}

}  // namespace
}  // namespace ringflow::shm
