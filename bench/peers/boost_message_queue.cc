// bench/peers/boost_message_queue.cc — the message_queue peer: the parent's
// run and the child process (boost_message_queue.h).

#include "boost_message_queue.h"

#include <cinttypes>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "../byte_framing.h"
#include "../harness.h"
#include "../shared_topologies.h"
#include "../topology.h"
#include "tools/internal/child_process.h"
#include "warnings.h"

RINGFLOW_BENCH_PEER_WARNINGS_OFF
#include "boost/interprocess/ipc/message_queue.hpp"
#include "boost/interprocess/permissions.hpp"
RINGFLOW_BENCH_PEER_WARNINGS_ON

namespace ringflow::bench {
namespace {

namespace bip = boost::interprocess;
using shared_internal::CrossProcessRun;
using shared_internal::MonotonicNs;
using shared_internal::Say;
using tools_internal::ChildProcess;

// Removes the queue on construction (a stale one of a recycled pid) and on
// destruction.
class QueueRemover {
 public:
  explicit QueueRemover(std::string name) : name_(std::move(name)) {
    bip::message_queue::remove(name_.c_str());
  }
  QueueRemover(const QueueRemover&) = delete;
  QueueRemover& operator=(const QueueRemover&) = delete;
  ~QueueRemover() { Remove(); }
  void Remove() const { bip::message_queue::remove(name_.c_str()); }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

Metrics MessageQueueBytes(const RunContext& ctx, int64_t n) {
  const int64_t events = ctx.events;
  QueueRemover remover(shared_internal::UniqueName("rfbench-mq"));
  CrossProcessRun run(ctx, [&] { remover.Remove(); });
  const size_t messages = static_cast<size_t>(ctx.capacity / (n + 8));
  std::optional<bip::message_queue> queue;
  try {
    bip::permissions mode;
    mode.set_permissions(0600);
    queue.emplace(bip::create_only, remover.name().c_str(), messages,
                  static_cast<size_t>(n), mode);
  } catch (const bip::interprocess_exception& e) {
    run.Fail("boost::interprocess::message_queue '" + remover.name() + "' (" +
             std::to_string(messages) + " x " + std::to_string(n) +
             " bytes): " + e.what());
  }
  ChildProcess& child = run.Spawn(
      "bmq-bytes:" + remover.name() + ":" + std::to_string(n), events);
  if (const std::string line = run.Line(child, "ready"); line != "ready") {
    run.Fail("consumer process: " + line);
  }
  int64_t start_ns = 0;  // written by the producer, read after join
  std::thread producer = Spawn(0, 2, [&] {
    const Framing framing(n);
    std::vector<std::byte> record(static_cast<size_t>(n));
    framing.Write(record.data(), 0);
    start_ns = MonotonicNs();
    for (int64_t i = 0; i < events; ++i) {
      framing.Stamp(record.data(), i);
      queue->send(record.data(), record.size(), 0);  // waits while full
    }
  });
  const std::string done = run.Line(child, "done");
  producer.join();  // the child received every record: the producer is done
  run.ExpectExitZero(child, "consumer process");
  std::string problem;
  const int64_t end_ns = ParseByteReport(done, Framing(n), events, problem);
  if (!problem.empty()) run.Fail(problem);
  if (end_ns <= start_ns) run.Fail("the consumer finished before the start");
  return ByteRates(events, n, end_ns - start_ns);
}

int RunConsumer(std::string_view arg, int64_t events, bool pin) {
  shared_internal::ChildSetup(pin, 1);
  std::string name;
  int64_t n = 0;
  if (!ParseByteRoleArg(arg, name, n)) {
    Say("error bad argument '" + std::string(arg) + "', expected QUEUE:N");
    return 1;
  }
  std::optional<bip::message_queue> queue;
  try {
    queue.emplace(bip::open_only, name.c_str());
  } catch (const bip::interprocess_exception& e) {
    Say("error boost::interprocess::message_queue open '" + name +
        "': " + e.what());
    return 1;
  }
  const Framing framing(n);
  ByteSink sink(framing, 1);
  std::vector<std::byte> buffer(queue->get_max_msg_size());
  Say("ready");
  while (sink.count < events) {
    size_t received = 0;
    unsigned int priority = 0;
    queue->receive(buffer.data(), buffer.size(), received, priority);
    sink.Take(buffer.data(), static_cast<int64_t>(received));
  }
  Say(sink.Report(MonotonicNs()));
  return 0;
}

}  // namespace

RunFn BoostMessageQueueRun(const Scenario& s) {
  if (s.record_bytes == 0 || s.producers != 1) return nullptr;
  return [n = s.record_bytes](const RunContext& ctx) {
    return MessageQueueBytes(ctx, n);
  };
}

std::optional<int> RunBoostMessageQueueChild(std::string_view role,
                                             std::string_view arg,
                                             int64_t events, bool pin) {
  if (role != "bmq-bytes") return std::nullopt;
  return RunConsumer(arg, events, pin);
}

}  // namespace ringflow::bench
