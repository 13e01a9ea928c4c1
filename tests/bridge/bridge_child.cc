// The bridge tests' main: runs the tests, or, with a verb, one bridge as a
// child process that a test kills with SIGKILL:
//
//   sink RING SERVERS STREAM SUBJECT
//       JetStreamSink::Attach to the shared ring RING; prints "ready
//       <start sequence>", runs until stdin closes, prints "done <status>".
//   source RING SERVERS STREAM DURABLE
//       creates (or resumes) the shared ring RING as its producer; prints
//       "ready [resumed]", waits for a "go" line, runs the JetStreamSource
//       with the mark in the ring until stdin closes, prints "done <status>
//       applied <stream sequence>".
// Both die with their parent (PR_SET_PDEATHSIG).

#include <signal.h>
#include <sys/prctl.h>

#include <atomic>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "ringflow/bridge/jetstream_sink.h"
#include "ringflow/bridge/jetstream_source.h"
#include "ringflow/bridge/shm_source_mark_store.h"
#include "ringflow/shm/shared_ring.h"
#include "tests/bridge/bridge_test_util.h"

namespace ringflow::bridge_testing {
namespace {

bridge::BridgeOptions ChildOptions(const std::string& servers,
                                   const std::string& stream) {
  bridge::BridgeOptions o;
  o.servers = servers;
  o.stream = stream;
  o.ack_timeout = absl::Seconds(2);
  o.request_timeout = absl::Seconds(2);
  return o;
}

void Say(const std::string& line) {
  std::cout << line << std::endl;  // flushed: the parent waits for it
}

// Runs `run(stop)` on a thread until stdin closes.
template <typename Run>
absl::Status RunUntilStdinCloses(Run run) {
  std::atomic<bool> stop{false};
  absl::Status status;
  std::thread t([&] { status = run(stop); });
  std::string line;
  while (std::getline(std::cin, line)) {
  }
  stop = true;
  t.join();
  return status;
}

int Sink(char** argv) {
  bridge::BridgeOptions o = ChildOptions(argv[3], argv[4]);
  o.subject = argv[5];
  o.window = 64;
  auto sink = bridge::JetStreamSink<Event>::Attach(argv[2], Encode, o);
  if (!sink.ok()) {
    Say("error " + sink.status().ToString());
    return 1;
  }
  Say("ready " + std::to_string((*sink)->start_sequence()));
  const absl::Status s = RunUntilStdinCloses(
      [&](const std::atomic<bool>& stop) { return (*sink)->Run(stop); });
  Say(s.ok() ? "done OK" : "done " + s.ToString());
  return 0;
}

int Source(char** argv) {
  auto ring = shm::SharedRing<Event>::Create(
      {.ring = {.capacity = 256,
                .producer_type = ProducerType::kSingle,
                .name = argv[2]}});
  if (!ring.ok()) {
    Say("error " + ring.status().ToString());
    return 1;
  }
  bridge::ShmSourceMarkStore marks((*ring)->control());
  bridge::BridgeOptions o = ChildOptions(argv[3], argv[4]);
  o.durable = argv[5];
  o.window = 64;
  using Source = bridge::JetStreamSource<shm::SharedRing<Event>>;
  auto source = Source::Create(**ring, Decode, o, &marks);
  if (!source.ok()) {
    Say("error " + source.status().ToString());
    return 1;
  }
  Say((*ring)->resumed() ? "ready resumed" : "ready");
  std::string go;
  if (!std::getline(std::cin, go)) return 1;
  const absl::Status s = RunUntilStdinCloses(
      [&](const std::atomic<bool>& stop) { return (*source)->Run(stop); });
  Say(absl::StrCat(s.ok() ? "done OK" : "done " + s.ToString(), " applied ",
                   (*source)->applied_sequence()));
  return 0;
}

}  // namespace
}  // namespace ringflow::bridge_testing

int main(int argc, char** argv) {
  if (argc >= 6 && std::string(argv[1]) == "sink") {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    return ringflow::bridge_testing::Sink(argv);
  }
  if (argc >= 6 && std::string(argv[1]) == "source") {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    return ringflow::bridge_testing::Source(argv);
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
