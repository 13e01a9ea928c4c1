// bench/peers/boost_message_queue.cc — the message_queue peer: the parent's
// run and the child process (boost_message_queue.h).

#include "boost_message_queue.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
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
using tools_internal::ChildProcess;

// Removes a queue (a NameRemover's RemoveFn).
void RemoveQueue(const std::string& name) {
  bip::message_queue::remove(name.c_str());
}

Metrics MessageQueueBytes(const RunContext& ctx, int64_t n) {
  const int64_t events = ctx.events;
  // The queue goes now (a stale one of a recycled pid), at the end and
  // before any Fail.
  shared_internal::NameRemover remover(
      shared_internal::UniqueName("rfbench-mq"), RemoveQueue);
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
  run.AwaitReady(child, "consumer process");
  int64_t start_ns = 0;  // written by the producer, read after join
  std::thread producer = Spawn(0, 2, [&] {
    const Framing framing(n);
    std::vector<std::byte> record(static_cast<size_t>(n));
    framing.Write(record.data(), 0);
    start_ns = shared_internal::MonotonicNs();
    for (int64_t i = 0; i < events; ++i) {
      framing.Stamp(record.data(), i);
      queue->send(record.data(), record.size(), 0);  // waits while full
    }
  });
  const std::string done = run.Line(child, "done");
  producer.join();  // the child received every record: the producer is done
  run.ExpectExitZero(child, "consumer process");
  return shared_internal::CheckByteReport(run, done, n, events, start_ns,
                                          "consumer process");
}

int RunConsumer(std::string_view arg, int64_t events, bool pin) {
  const std::optional<shared_internal::ByteChildArg> start =
      shared_internal::StartByteChild(arg, pin, 1, "QUEUE:N");
  if (!start) return 1;
  const auto& [name, n] = *start;
  std::optional<bip::message_queue> queue;
  try {
    queue.emplace(bip::open_only, name.c_str());
  } catch (const bip::interprocess_exception& e) {
    shared_internal::Say("error boost::interprocess::message_queue open '" +
                         name + "': " + e.what());
    return 1;
  }
  std::vector<std::byte> buffer(queue->get_max_msg_size());
  return shared_internal::ReadByteRecords(n, events, [&](ByteSink& sink) {
    size_t received = 0;
    unsigned int priority = 0;
    queue->receive(buffer.data(), buffer.size(), received, priority);
    sink.Take(buffer.data(), static_cast<int64_t>(received));
    return true;
  });
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
