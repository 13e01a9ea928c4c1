// Tests for ringflow::bridge against real nats-server processes on
// 127.0.0.1 (nats_cluster.h). Each suite starts its own servers once
// (SetUpTestSuite) and each test uses its own stream. Every flow is checked
// by content: the receiving ring holds every event exactly once, in order,
// with its checksum (Verifier), and nothing more.
//
// The binary is also its own child process (bridge_child.cc): `sink` and
// `source` verbs run a bridge in a process the tests kill with SIGKILL.

#include <signal.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ringflow/bridge/jetstream.h"
#include "ringflow/bridge/jetstream_byte_sink.h"
#include "ringflow/bridge/jetstream_sink.h"
#include "ringflow/bridge/jetstream_source.h"
#include "ringflow/bridge/msg_id.h"
#include "ringflow/bridge/shm_source_mark_store.h"
#include "ringflow/core/byte_ring.h"
#include "ringflow/core/internal/counters_block.h"
#include "ringflow/core/internal/status_macros.h"
#include "ringflow/core/ring_buffer.h"
#include "ringflow/shm/internal/control.h"
#include "ringflow/shm/shared_consumer.h"
#include "ringflow/shm/shared_ring.h"
#include "support/status_matchers.h"
#include "tests/bridge/bridge_test_util.h"
#include "tests/bridge/nats_cluster.h"
#include "tools/internal/child_process.h"

namespace ringflow::bridge_testing {
namespace {

using ::ringflow::testing::IsOk;
using ::ringflow::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr absl::Duration kDeadline = absl::Seconds(60);  // hang guard

uint64_t RandomEpoch() { return std::random_device{}() | 1; }

std::string UniqueName(std::string_view base) {
  return absl::StrCat(std::string(base), getpid() % 100000);
}

// Polls `pred` until true or the hang guard.
template <typename Pred>
bool PollUntil(Pred&& pred, absl::Duration limit = kDeadline) {
  const absl::Time deadline = absl::Now() + limit;
  while (!pred()) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(2));  // between polls
  }
  return true;
}

// An in-process consumer of `ring` feeding a Verifier.
template <typename Ring>
class RingReader {
 public:
  explicit RingReader(Ring& ring)
      : ring_(ring),
        handle_(*ring.RegisterConsumer("verify")),
        barrier_(ring.NewBarrier({})) {}
  // Reads what is there; true when `want` events were seen.
  bool Drain(Verifier& v, int64_t want) {
    const int64_t next = handle_.sequence().LoadRelaxed() + 1;
    const int64_t available = barrier_->Available(next);
    for (int64_t s = next; s <= available; ++s) v.See(ring_.slots()[s]);
    if (available >= next) handle_.sequence().StoreRelease(available);
    return v.seen() >= want;
  }

 private:
  Ring& ring_;
  core_internal::ConsumerHandle handle_;
  std::unique_ptr<SequenceBarrier> barrier_;
};

// A suite's servers: started once per test binary run (each suite runs as
// one ctest test, tests/bridge/CMakeLists.txt).
class ClusterTest : public ::testing::Test {
 protected:
  static void StartCluster(const NatsCluster::Options& options, int replicas) {
    auto c = NatsCluster::Start(options);
    if (!c.ok()) {
      *setup_status_ = c.status();
      return;
    }
    cluster_ = c->release();
    bridge::BridgeOptions auth;
    auth.user = options.user;
    auth.password = options.password;
    *setup_status_ = options.jetstream ? cluster_->WaitReady(absl::Seconds(45),
                                                             replicas, &auth)
                                       : absl::OkStatus();
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  void SetUp() override {
    if (absl::IsNotFound(*setup_status_)) GTEST_SKIP() << *setup_status_;
    ASSERT_THAT(*setup_status_, IsOk());
  }

  static bridge::BridgeOptions Options(std::string_view stream,
                                       std::string_view subject = "") {
    bridge::BridgeOptions o;
    o.servers = cluster_->urls();
    o.stream = std::string(stream);
    o.subject = std::string(subject);
    o.ack_timeout = absl::Seconds(2);
    o.request_timeout = absl::Seconds(2);
    o.connect_timeout = absl::Seconds(2);
    return o;
  }

  // Creates the stream, polling while the cluster elects leaders.
  static void MakeStream(std::string_view name, std::string_view subjects,
                         int replicas, int32_t max_msg_size = -1) {
    bridge::BridgeOptions o = Options(name);
    ASSERT_OK_AND_ASSIGN(auto conn, bridge::NatsConnection::Connect(o));
    ASSERT_OK_AND_ASSIGN(auto js,
                         bridge::JetStream::Create(*conn, absl::Seconds(2)));
    bridge::StreamSpec spec;
    spec.name = std::string(name);
    spec.subjects = {std::string(subjects)};
    spec.replicas = replicas;
    spec.max_msg_size = max_msg_size;
    absl::Status s;
    ASSERT_TRUE(PollUntil([&] { return (s = js->EnsureStream(spec)).ok(); }))
        << s;
  }

  static absl::StatusOr<bridge::StreamState> Stream(std::string_view name) {
    bridge::BridgeOptions o = Options(name);
    RINGFLOW_ASSIGN_OR_RETURN(auto conn, bridge::NatsConnection::Connect(o));
    RINGFLOW_ASSIGN_OR_RETURN(
        auto js, bridge::JetStream::Create(*conn, absl::Seconds(2)));
    return js->GetStream(name);
  }

  static NatsCluster* cluster_;
  static absl::Status* setup_status_;
};
NatsCluster* ClusterTest::cluster_ = nullptr;
absl::Status* ClusterTest::setup_status_ = new absl::Status();

// ring A -> JetStreamSink -> stream -> JetStreamSource -> ring B, all in
// this process; `midway` runs once the stream acknowledged a third of the
// events.
void RoundTrip(
    const bridge::BridgeOptions& base, int64_t n,
    const std::function<void()>& midway,
    const std::function<absl::StatusOr<bridge::StreamState>()>& stream_state) {
  using Ring = RingBuffer<Event>;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Ring> a,
                       Ring::Create({.capacity = 512,
                                     .producer_type = ProducerType::kSingle,
                                     .name = "a"}));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Ring> b,
                       Ring::Create({.capacity = 512,
                                     .producer_type = ProducerType::kSingle,
                                     .name = "b"}));
  bridge::BridgeOptions so = base;
  so.id = "a";
  so.epoch = RandomEpoch();
  so.window = 128;
  ASSERT_OK_AND_ASSIGN(auto sink,
                       bridge::JetStreamSink<Event>::Create(*a, Encode, so));
  bridge::BridgeOptions ro = base;
  ro.durable = "b";
  ro.window = 128;
  ASSERT_OK_AND_ASSIGN(auto source,
                       bridge::JetStreamSource<Ring>::Create(*b, Decode, ro));
  RingReader<Ring> reader(*b);

  std::atomic<bool> stop{false};
  absl::Status sink_status;
  absl::Status source_status;
  std::thread sink_thread([&] { sink_status = sink->Run(stop); });
  std::thread source_thread([&] { source_status = source->Run(stop); });
  std::thread producer([&] {
    for (int64_t k = 0; k < n; ++k) {
      a->PublishEvent([](Event& e, int64_t seq) {
        e.sequence = seq;
        e.checksum = Checksum(seq);
      });
    }
  });
  struct Joiner {
    std::atomic<bool>& stop;
    std::thread& a;
    std::thread& b;
    std::thread& c;
    Ring& ring;
    ~Joiner() {
      stop = true;
      a.join();
      b.join();
      ring.Halt();  // a producer still blocked on a full ring
      c.join();
    }
  } joiner{stop, sink_thread, source_thread, producer, *a};

  Verifier v;
  // Midway for the sink: the rest is published after `midway`.
  ASSERT_TRUE(PollUntil([&] {
    reader.Drain(v, n);
    return sink->acked_sequence() >= n / 3;
  })) << "acked "
      << sink->acked_sequence();
  if (midway) midway();
  if (!PollUntil([&] { return reader.Drain(v, n); })) {
    absl::StatusOr<bridge::StreamState> st = stream_state();
    FAIL() << "saw " << v.seen() << " of " << n << "; sink acked "
           << sink->acked_sequence() << " published "
           << sink->counters().published() << " errors "
           << sink->counters().errors() << " in flight "
           << sink->counters().in_flight() << "; source applied "
           << source->applied_sequence() << " errors "
           << source->counters().errors() << "; stream "
           << (st.ok() ? absl::StrCat("last ", st->last_sequence, " leader '",
                                      st->leader, "'")
                       : st.status().ToString());
  }
  EXPECT_EQ(v.seen(), n);
  EXPECT_EQ(v.errors(), 0) << v.first_error();
  // Exactly once in the stream too: n messages, sequences 1..n. Polled:
  // right after a restart a node may answer stream info before it caught
  // up (once: "0 messages, last 0" after every event had arrived in B).
  absl::StatusOr<bridge::StreamState> state;
  PollUntil(
      [&] {
        state = stream_state();
        return state.ok() && state->messages == static_cast<uint64_t>(n);
      },
      absl::Seconds(20));
  ASSERT_THAT(state.status(), IsOk());
  EXPECT_EQ(state->messages, static_cast<uint64_t>(n));
  EXPECT_EQ(state->last_sequence, static_cast<uint64_t>(n));
  // Nothing beyond n reaches B: the source applied the stream's last.
  ASSERT_TRUE(PollUntil(
      [&] { return source->applied_sequence() == static_cast<uint64_t>(n); }));
  EXPECT_EQ(b->PublishedSequence(), n - 1);
  EXPECT_GE(sink->counters().acked(), static_cast<uint64_t>(n));
  EXPECT_EQ(sink->acked_sequence(), n - 1);
  const bridge::BridgeCountersSnapshot out = sink->counters().Snapshot();
  const bridge::BridgeCountersSnapshot in = source->counters().Snapshot();
  std::cout << "sink: published " << out.published << " acked " << out.acked
            << " duplicates " << out.duplicates << " reconnects "
            << out.reconnects << " errors " << out.errors
            << "; source: published " << in.published << " acked " << in.acked
            << " redelivered_skipped " << in.redelivered_skipped
            << " reconnects " << in.reconnects << " errors " << in.errors
            << "\n";
  stop = true;
  sink_thread.join();
  source_thread.join();
  EXPECT_THAT(sink_status, IsOk());
  EXPECT_THAT(source_status, IsOk());
  sink_thread = std::thread([] {});
  source_thread = std::thread([] {});
}

// --- one 3-node cluster for these ------------------------------------------

class JetStreamBridgeTest : public ClusterTest {
 protected:
  static void SetUpTestSuite() { StartCluster({}, 3); }
};

TEST_F(JetStreamBridgeTest, RoundTripThroughAnR3StreamIsExactlyOnceInOrder) {
  MakeStream("RT", "rt.>", 3);
  RoundTrip(Options("RT", "rt.a"), 3000, nullptr, [] { return Stream("RT"); });
}

TEST_F(JetStreamBridgeTest, AStreamThatDoesNotExistIsNotFoundNamingIt) {
  auto ring = *RingBuffer<Event>::Create({.capacity = 64, .name = "nf"});
  auto sink = bridge::JetStreamSink<Event>::Create(
      *ring, Encode, Options("NOSUCHSTREAM", "nosuch.a"));
  EXPECT_THAT(sink.status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("NOSUCHSTREAM")));
  bridge::BridgeOptions o = Options("NOSUCHSTREAM");
  o.durable = "d";
  o.window = 16;
  auto source =
      bridge::JetStreamSource<RingBuffer<Event>>::Create(*ring, Decode, o);
  EXPECT_THAT(source.status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("NOSUCHSTREAM")));
}

TEST_F(JetStreamBridgeTest, AnEventLargerThanMaxPayloadIsInvalidArgument) {
  MakeStream("TL", "tl.>", 1);
  auto ring = *RingBuffer<Event>::Create({.capacity = 64, .name = "tl"});
  bridge::BridgeOptions o = Options("TL", "tl.a");
  o.epoch = RandomEpoch();
  int64_t max_payload = 0;
  {
    auto conn = *bridge::NatsConnection::Connect(o);
    max_payload = conn->max_payload();
  }
  ASSERT_GT(max_payload, 0);
  auto sink = bridge::JetStreamSink<Event>::Create(
      *ring,
      [max_payload](const Event&, std::string& out) {
        out.append(static_cast<size_t>(max_payload) + 1, 'x');
      },
      o);
  ASSERT_THAT(sink.status(), IsOk());
  ring->PublishEvent([](Event& e, int64_t seq) { e.sequence = seq; });
  std::atomic<bool> stop{false};
  EXPECT_THAT(
      (*sink)->Run(stop),
      StatusIs(
          absl::StatusCode::kInvalidArgument,
          AllOf(HasSubstr("event 0"), HasSubstr(absl::StrCat(max_payload + 1)),
                HasSubstr(absl::StrCat("max_payload ", max_payload)))));
  EXPECT_EQ((*sink)->acked_sequence(), -1);  // still in the ring
}

TEST_F(JetStreamBridgeTest, AnEventLargerThanTheStreamsMaxMsgSizeIsInvalid) {
  // Under max_payload, over the stream's own limit: the server's error.
  MakeStream("TS", "ts.>", 1, /*max_msg_size=*/64);
  auto ring = *RingBuffer<Event>::Create({.capacity = 64, .name = "ts"});
  bridge::BridgeOptions o = Options("TS", "ts.a");
  o.epoch = RandomEpoch();
  auto sink = bridge::JetStreamSink<Event>::Create(
      *ring, [](const Event&, std::string& out) { out.append(100, 'y'); }, o);
  ASSERT_THAT(sink.status(), IsOk());
  ring->PublishEvent([](Event& e, int64_t seq) { e.sequence = seq; });
  std::atomic<bool> stop{false};
  EXPECT_THAT((*sink)->Run(stop),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("TS"), HasSubstr("100 bytes"))));
}

TEST_F(JetStreamBridgeTest,
       AStreamThatLostAckedEventsStopsTheSinkWithDataLoss) {
  MakeStream("PG", "pg.a", 1);
  auto ring = *RingBuffer<Event>::Create(
      {.capacity = 256, .producer_type = ProducerType::kSingle, .name = "pg"});
  bridge::BridgeOptions o = Options("PG", "pg.a");
  o.id = "pg";
  ASSERT_OK_AND_ASSIGN(auto sink,
                       bridge::JetStreamSink<Event>::Create(*ring, Encode, o));
  auto publish = [&](int64_t n) {
    for (int64_t k = 0; k < n; ++k) {
      ring->PublishEvent([](Event& e, int64_t seq) {
        e.sequence = seq;
        e.checksum = Checksum(seq);
      });
    }
  };
  publish(100);
  std::atomic<bool> stop{false};
  std::atomic<bool> returned{false};
  absl::Status status;
  std::thread t([&] {
    status = sink->Run(stop);
    returned = true;
  });
  const bool acked = PollUntil([&] { return sink->acked_sequence() == 99; });
  // Everything acknowledged disappears: the stream is created again empty
  // (as a cluster that lost its store would come back).
  {
    auto conn = *bridge::NatsConnection::Connect(o);
    auto js = *bridge::JetStream::Create(*conn, absl::Seconds(2));
    EXPECT_THAT(js->DeleteStream("PG"), IsOk());
  }
  MakeStream("PG", "pg.a", 1);
  publish(10);
  // The next publish expects event 99 as the stream's last: it never is.
  const bool stopped = PollUntil([&] { return returned.load(); });
  stop = true;
  t.join();
  ASSERT_TRUE(acked);
  ASSERT_TRUE(stopped);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kDataLoss,
                               AllOf(HasSubstr("PG"), HasSubstr("up to 99"))));
  EXPECT_EQ(sink->acked_sequence(), 99);  // the new events stay in the ring
}

// A byte record: its index k (8 bytes), then k % 200 bytes of a pattern.
std::string RecordOf(int64_t k) {
  std::string r(8 + static_cast<size_t>(k % 200), '\0');
  std::memcpy(r.data(), &k, 8);
  for (size_t i = 8; i < r.size(); ++i) {
    r[i] = static_cast<char>((k * 31 + static_cast<int64_t>(i)) & 0xff);
  }
  return r;
}
// Back to an Event: the index, and its checksum only when every byte and
// the length are right.
void DecodeRecord(const char* data, size_t size, Event& out) {
  out = Event{};
  if (size < 8) return;
  std::memcpy(&out.sequence, data, 8);
  const std::string want = RecordOf(out.sequence);
  if (want.size() == size && std::memcmp(want.data(), data, size) == 0) {
    out.checksum = Checksum(out.sequence);
  }
}

TEST_F(JetStreamBridgeTest, ByteRingRecordsArrivePublishedAsTheyAre) {
  constexpr int64_t kRecords = 3000;
  MakeStream("BY", "by.a", 3);
  auto ring = *ByteRing::Create({.capacity = 16 * 1024,
                                 .producer_type = ProducerType::kSingle,
                                 .name = "by"});
  ASSERT_OK_AND_ASSIGN(ByteReader reader, ring->RegisterReader("bridge"));
  bridge::BridgeOptions o = Options("BY", "by.a");
  o.window = 64;
  ASSERT_OK_AND_ASSIGN(
      auto sink, bridge::JetStreamByteSink<ByteReader>::Create(reader, o));
  std::atomic<bool> stop{false};
  absl::Status sink_status;
  std::thread t([&] { sink_status = sink->Run(stop); });
  for (int64_t k = 0; k < kRecords; ++k) {
    const std::string r = RecordOf(k);
    ASSERT_TRUE(ring->Publish(std::as_bytes(std::span(r.data(), r.size()))));
  }
  const bool all = PollUntil([&] { return sink->acked_records() == kRecords; });
  stop = true;
  t.join();
  ASSERT_TRUE(all) << sink->acked_records();
  EXPECT_THAT(sink_status, IsOk());
  // Read back: every record once, in order, byte for byte.
  auto back = *RingBuffer<Event>::Create(
      {.capacity = 4096, .producer_type = ProducerType::kSingle, .name = "bb"});
  bridge::BridgeOptions ro = Options("BY");
  ro.durable = "check";
  ASSERT_OK_AND_ASSIGN(auto source,
                       bridge::JetStreamSource<RingBuffer<Event>>::Create(
                           *back, DecodeRecord, ro));
  RingReader<RingBuffer<Event>> check(*back);
  std::atomic<bool> stop_source{false};
  std::thread s([&] { (void)source->Run(stop_source); });
  Verifier v;
  const bool back_all = PollUntil([&] { return check.Drain(v, kRecords); });
  stop_source = true;
  s.join();
  ASSERT_TRUE(back_all) << v.seen();
  EXPECT_EQ(v.errors(), 0) << v.first_error();
  EXPECT_EQ(back->PublishedSequence(), kRecords - 1);
}

// --- kill -9 of a bridge process -------------------------------------------

TEST_F(JetStreamBridgeTest, ASinkKilledAndRestartedResumesExactlyOnce) {
  const std::string ring_name = UniqueName("rfsink");
  constexpr int64_t kEvents = 3000;
  MakeStream("SK", "sk.a", 3);
  ASSERT_OK_AND_ASSIGN(auto ring,
                       shm::SharedRing<Event>::Create(
                           {.ring = {.capacity = 256,
                                     .producer_type = ProducerType::kSingle,
                                     .name = ring_name}}));
  struct Remover {
    std::string name;
    ~Remover() { (void)shm_internal::Control::Remove(name, true); }
  } remover{ring_name};
  ASSERT_OK_AND_ASSIGN(auto guard, bridge::ShmSinkGuard::Create(*ring));
  const std::vector<std::string> argv = {"bridge_child",   "sink", ring_name,
                                         cluster_->urls(), "SK",   "sk.a"};
  ASSERT_OK_AND_ASSIGN(auto child,
                       tools_internal::ChildProcess::SpawnSelf(argv));
  ASSERT_EQ(child.ReadLineStartingWith("ready", kDeadline), "ready 0");

  std::thread producer([&] {
    for (int64_t k = 0; k < kEvents; ++k) {
      ring->PublishEvent([](Event& e, int64_t seq) {
        e.sequence = seq;
        e.checksum = Checksum(seq);
      });
    }
  });
  struct Join {
    std::thread& t;
    shm::SharedRing<Event>& r;
    ~Join() {
      r.Halt();
      t.join();
    }
  } join{producer, *ring};

  // Kill it a third of the way in, with publishes in flight.
  ASSERT_TRUE(PollUntil([&] {
    auto s = Stream("SK");
    return s.ok() && s->last_sequence >= kEvents / 3;
  }));
  child.Kill(SIGKILL);
  child.Wait(kDeadline);
  ASSERT_OK_AND_ASSIGN(auto again,
                       tools_internal::ChildProcess::SpawnSelf(argv));
  std::optional<std::string> ready =
      again.ReadLineStartingWith("ready", kDeadline);
  ASSERT_TRUE(ready.has_value());
  // It resumed after what the stream holds, not from the start.
  EXPECT_NE(*ready, "ready 0");
  ASSERT_TRUE(PollUntil([&] {
    auto s = Stream("SK");
    return s.ok() && s->messages >= kEvents;
  }));
  again.CloseStdin();
  EXPECT_EQ(again.ReadLineStartingWith("done", kDeadline), "done OK");

  // The stream holds every event once, in order: read it back.
  absl::StatusOr<bridge::StreamState> state = Stream("SK");
  ASSERT_THAT(state.status(), IsOk());
  EXPECT_EQ(state->messages, static_cast<uint64_t>(kEvents));
  auto back = *RingBuffer<Event>::Create(
      {.capacity = 4096, .producer_type = ProducerType::kSingle, .name = "bk"});
  bridge::BridgeOptions o = Options("SK");
  o.durable = "check";
  ASSERT_OK_AND_ASSIGN(
      auto source,
      bridge::JetStreamSource<RingBuffer<Event>>::Create(*back, Decode, o));
  RingReader<RingBuffer<Event>> reader(*back);
  std::atomic<bool> stop{false};
  absl::Status source_status;
  std::thread t([&] { source_status = source->Run(stop); });
  Verifier v;
  const bool all = PollUntil([&] { return reader.Drain(v, kEvents); });
  stop = true;
  t.join();
  ASSERT_TRUE(all) << v.seen();
  EXPECT_EQ(v.errors(), 0) << v.first_error();
  EXPECT_EQ(back->PublishedSequence(), kEvents - 1);
  EXPECT_THAT(source_status, IsOk());
}

TEST_F(JetStreamBridgeTest, ASourceKilledAndRestartedIsExactlyOnceIntoItsRing) {
  const std::string ring_name = UniqueName("rfsrc");
  constexpr int64_t kEvents = 3000;
  MakeStream("SR", "sr.a", 3);
  struct Remover {
    std::string name;
    ~Remover() { (void)shm_internal::Control::Remove(name, true); }
  } remover{ring_name};
  // Fill the stream through an in-process sink.
  {
    auto a = *RingBuffer<Event>::Create({.capacity = 4096,
                                         .producer_type = ProducerType::kSingle,
                                         .name = "sa"});
    bridge::BridgeOptions o = Options("SR", "sr.a");
    o.id = "sa";
    o.epoch = RandomEpoch();
    ASSERT_OK_AND_ASSIGN(auto sink,
                         bridge::JetStreamSink<Event>::Create(*a, Encode, o));
    for (int64_t k = 0; k < kEvents; ++k) {
      a->PublishEvent([](Event& e, int64_t seq) {
        e.sequence = seq;
        e.checksum = Checksum(seq);
      });
    }
    std::atomic<bool> stop{false};
    absl::Status s;
    std::thread t([&] { s = sink->Run(stop); });
    const bool done =
        PollUntil([&] { return sink->acked_sequence() == kEvents - 1; });
    stop = true;
    t.join();
    ASSERT_TRUE(done);
    ASSERT_THAT(s, IsOk());
  }
  const std::vector<std::string> argv = {"bridge_child",   "source", ring_name,
                                         cluster_->urls(), "SR",     "srd"};
  ASSERT_OK_AND_ASSIGN(auto child,
                       tools_internal::ChildProcess::SpawnSelf(argv));
  ASSERT_TRUE(child.ReadLineStartingWith("ready", kDeadline).has_value());
  ASSERT_OK_AND_ASSIGN(
      auto consumer,
      shm::SharedConsumer<Event>::Attach(
          ring_name, {.name = "verify", .start = shm::StartPosition::kOldest}));
  ASSERT_TRUE(child.WriteLine("go"));
  Verifier v;
  auto drain = [&](int64_t want) {
    consumer->Poll([&](const Event& e, int64_t, bool) { v.See(e); });
    return v.seen() >= want;
  };
  ASSERT_TRUE(PollUntil([&] { return drain(kEvents / 3); })) << v.seen();
  child.Kill(SIGKILL);
  child.Wait(kDeadline);
  ASSERT_OK_AND_ASSIGN(auto again,
                       tools_internal::ChildProcess::SpawnSelf(argv));
  std::optional<std::string> ready =
      again.ReadLineStartingWith("ready", kDeadline);
  ASSERT_TRUE(ready.has_value());
  EXPECT_THAT(*ready, HasSubstr("resumed"));
  ASSERT_TRUE(again.WriteLine("go"));
  ASSERT_TRUE(PollUntil([&] { return drain(kEvents); }))
      << v.seen() << " of " << kEvents;
  again.CloseStdin();
  std::optional<std::string> done =
      again.ReadLineStartingWith("done", kDeadline);
  ASSERT_TRUE(done.has_value());
  EXPECT_THAT(*done, HasSubstr(absl::StrCat("done OK applied ", kEvents)));
  drain(kEvents);
  EXPECT_EQ(v.seen(), kEvents);
  EXPECT_EQ(v.errors(), 0) << v.first_error();
  EXPECT_EQ(consumer->PublishedSequence(), kEvents - 1);
}

// The counters of a bridge on a shared ring live in that ring's counters
// block (ringflow_bridge_*{ring, bridge="out"|"in"}), where `ringflow stat`
// and every metrics source of the ring read them from any process; they
// leave with the bridge.
uint64_t BlockValue(std::string_view ring, std::string_view name,
                    std::string_view role, bool* found) {
  *found = false;
  absl::StatusOr<std::unique_ptr<shm_internal::Control>> control =
      shm_internal::Control::Inspect(ring);
  if (!control.ok()) return 0;
  // One call, kept: g++ 12 cannot see that a second call of counters()
  // returns the same non-null block (-Wnull-dereference, an error in ci).
  const core_internal::CountersBlock* block = (*control)->counters();
  if (block == nullptr) return 0;
  const std::string labels = absl::StrCat(
      "ring=\"", std::string(ring), "\",bridge=\"", std::string(role), "\"");
  uint64_t value = 0;
  block->ForEach([&](const core_internal::CounterView& c) {
    if (c.name == name && c.labels == labels) {
      value = c.value;
      *found = true;
    }
  });
  return value;
}

TEST_F(JetStreamBridgeTest, CountersShowInTheSharedRingsCountersBlock) {
  constexpr int64_t kEvents = 200;
  MakeStream("CB", "cb.a", 1);
  const std::string a_name = UniqueName("rfcba");
  const std::string b_name = UniqueName("rfcbb");
  struct Remover {
    std::vector<std::string> names;
    ~Remover() {
      for (const std::string& n : names) {
        (void)shm_internal::Control::Remove(n, true);
      }
    }
  } remover{{a_name, b_name}};
  shm::SharedRingOptions ao;
  ao.ring.name = a_name;
  ao.ring.capacity = 1024;
  ASSERT_OK_AND_ASSIGN(auto a, shm::SharedRing<Event>::Create(ao));
  shm::SharedRingOptions bo = ao;
  bo.ring.name = b_name;
  ASSERT_OK_AND_ASSIGN(auto b, shm::SharedRing<Event>::Create(bo));
  bool found = false;
  {
    ASSERT_OK_AND_ASSIGN(auto sink, bridge::JetStreamSink<Event>::Create(
                                        *a, Encode, Options("CB", "cb.a")));
    bridge::BridgeOptions ro = Options("CB");
    ro.durable = "cbd";
    bridge::ShmSourceMarkStore marks(b->control());
    ASSERT_OK_AND_ASSIGN(
        auto source, bridge::JetStreamSource<shm::SharedRing<Event>>::Create(
                         *b, Decode, ro, &marks));
    for (int64_t k = 0; k < kEvents; ++k) {
      a->PublishEvent([](Event& e, int64_t seq) {
        e.sequence = seq;
        e.checksum = Checksum(seq);
      });
    }
    std::atomic<bool> stop{false};
    std::thread sink_thread([&] { (void)sink->Run(stop); });
    std::thread source_thread([&] { (void)source->Run(stop); });
    const bool applied = PollUntil([&] {
      return source->applied_sequence() == static_cast<uint64_t>(kEvents);
    });
    stop = true;
    sink_thread.join();
    source_thread.join();
    ASSERT_TRUE(applied) << source->applied_sequence();
    EXPECT_EQ(BlockValue(a_name, "ringflow_bridge_acked_total", "out", &found),
              sink->counters().acked());
    EXPECT_TRUE(found);
    EXPECT_GE(sink->counters().acked(), static_cast<uint64_t>(kEvents));
    EXPECT_EQ(
        BlockValue(b_name, "ringflow_bridge_published_total", "in", &found),
        static_cast<uint64_t>(kEvents));
    EXPECT_TRUE(found);
    EXPECT_EQ(
        BlockValue(a_name, "ringflow_bridge_in_flight_messages", "out", &found),
        0u);
    EXPECT_TRUE(found);
  }
  // Gone with the bridges.
  (void)BlockValue(a_name, "ringflow_bridge_acked_total", "out", &found);
  EXPECT_FALSE(found);
  (void)BlockValue(b_name, "ringflow_bridge_published_total", "in", &found);
  EXPECT_FALSE(found);
}

// --- failover: each test changes the cluster, so its own cluster -----------

class JetStreamFailoverTest : public ClusterTest {
 protected:
  static void SetUpTestSuite() { StartCluster({}, 3); }
};

TEST_F(JetStreamFailoverTest, KillingTheStreamLeaderMidStreamLosesNothing) {
  MakeStream("KL", "kl.>", 3);
  int killed = -1;
  RoundTrip(
      Options("KL", "kl.a"), 3000,
      [&] {
        absl::StatusOr<bridge::StreamState> s = Stream("KL");
        ASSERT_THAT(s.status(), IsOk());
        killed = cluster_->IndexOf(s->leader);
        ASSERT_GE(killed, 0) << "leader '" << s->leader << "'";
        cluster_->Kill(killed);
      },
      [] { return Stream("KL"); });
  EXPECT_GE(killed, 0);
}

// Its own cluster, one that was never degraded before the stop.
class JetStreamClusterRestartTest : public ClusterTest {
 protected:
  static void SetUpTestSuite() { StartCluster({}, 3); }
};

TEST_F(JetStreamClusterRestartTest,
       TheWholeClusterStoppedAndRestartedLosesNothing) {
  MakeStream("CR", "cr.>", 3);
  RoundTrip(
      Options("CR", "cr.a"), 3000,
      [&] {
        for (int i = 0; i < cluster_->size(); ++i) cluster_->Stop(i);
        for (int i = 0; i < cluster_->size(); ++i) {
          ASSERT_THAT(cluster_->Restart(i), IsOk());
        }
      },
      [] { return Stream("CR"); });
}

// --- connecting ------------------------------------------------------------

TEST(JetStreamConnectTest, AnUnreachableServerIsUnavailableNamingIt) {
  bridge::BridgeOptions o;
  o.servers = absl::StrCat("nats://127.0.0.1:", FreePort());
  o.stream = "S";
  o.subject = "s";
  o.connect_timeout = absl::Milliseconds(500);
  EXPECT_THAT(bridge::NatsConnection::Connect(o).status(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr(o.servers)));
  auto ring = *RingBuffer<Event>::Create({.capacity = 64, .name = "ur"});
  EXPECT_THAT(bridge::JetStreamSink<Event>::Create(*ring, Encode, o).status(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr(o.servers)));
}

TEST(JetStreamConnectTest,
     AnAddressThatNeverAnswersIsUnavailableInBoundedTime) {
  // A blackhole address (or, without a route, an immediate refusal): either
  // way Unavailable, after at most the connect timeout, never a hang.
  bridge::BridgeOptions o;
  o.servers = "nats://10.255.255.1:4222";
  o.connect_timeout = absl::Milliseconds(300);
  EXPECT_THAT(bridge::NatsConnection::Connect(o).status(),
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(HasSubstr(o.servers), HasSubstr("300ms"))));
}

TEST(JetStreamConnectTest, AMalformedServerUrlIsAnError) {
  bridge::BridgeOptions o;
  o.servers = "nats://127.0.0.1:notaport";
  o.connect_timeout = absl::Milliseconds(500);
  EXPECT_FALSE(bridge::NatsConnection::Connect(o).ok());
}

class JetStreamAuthTest : public ClusterTest {
 protected:
  static void SetUpTestSuite() {
    StartCluster(
        {.nodes = 1, .user = "ring", .password = "flow", .jetstream = false},
        1);
  }
};

TEST_F(JetStreamAuthTest, WrongCredentialsAreUnauthenticated) {
  bridge::BridgeOptions o;
  o.servers = cluster_->urls();
  o.user = "ring";
  o.password = "wrong";
  // The server may still be starting: poll past "connection refused".
  absl::Status s;
  ASSERT_TRUE(PollUntil([&] {
    s = bridge::NatsConnection::Connect(o).status();
    return !absl::IsUnavailable(s);
  })) << s;
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnauthenticated,
                          AllOf(HasSubstr(o.servers), HasSubstr("ring"))));
  o.password = "flow";
  EXPECT_THAT(bridge::NatsConnection::Connect(o).status(), IsOk());
}

// --- message ids -------------------------------------------------------------

TEST(MsgIdTest, FormatsAndParsesRingEpochAndSequence) {
  bridge::MsgIdFormatter f("ticks", 0x5eed);
  EXPECT_STREQ(f.Format(42), "ticks:5eed:42");
  auto p = bridge::ParseMsgId(f.Format(9007199254740993));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->ring, "ticks");
  EXPECT_EQ(p->epoch, 0x5eedu);
  EXPECT_EQ(p->sequence, 9007199254740993);
  EXPECT_FALSE(bridge::ParseMsgId("nocolons").has_value());
  EXPECT_FALSE(bridge::ParseMsgId("a:zz:1").has_value());
  EXPECT_FALSE(bridge::ParseMsgId("a:1:").has_value());
}

TEST(SourceMarkTest, AppliedDecidesEveryCrashPointByTheRingsCursor) {
  using bridge::SourceMarkStore;
  bridge::InMemorySourceMarkStore m;
  EXPECT_EQ(SourceMarkStore::Applied(m.Load(), 100), 0u);  // never written
  m.StoreStreamId(7);
  m.StoreBatch(9, 10);  // events 0..9 <- stream 1..10
  m.StoreCommitted(10);
  // Next batch: ring 10..19 <- stream 11..20.
  m.StoreBatch(19, 10);  // crashed between (1) and (2)
  EXPECT_EQ(SourceMarkStore::Applied(m.Load(), 9), 10u);
  m.StoreBatch(19, 20);  // crashed between (2) and (3)
  EXPECT_EQ(SourceMarkStore::Applied(m.Load(), 9), 10u);
  EXPECT_EQ(SourceMarkStore::Applied(m.Load(), 19), 20u);  // (3)..(4)
  m.StoreCommitted(20);
  EXPECT_EQ(SourceMarkStore::Applied(m.Load(), 19), 20u);
}

}  // namespace
}  // namespace ringflow::bridge_testing
