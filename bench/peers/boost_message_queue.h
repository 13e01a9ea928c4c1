// bench/peers/boost_message_queue.h
//
// The cross-process byte-record peer (column message_queue):
// boost::interprocess::message_queue, what a user would pick to move
// variable-length messages between processes with the Boost they have:
// a bounded queue of messages up to a fixed maximum size in a named
// shared-memory segment, guarded by an interprocess mutex and condition
// variables (send blocks while full, receive while empty).
//
//   SharedByteOneToOne{n}  this process sends n-byte records
//                          (byte_framing.h) from a producer thread; the
//                          child process (--shared_consumer=bmq-bytes:
//                          QUEUE:N) receives each into its buffer, checks
//                          it like every reader of the family and reports
//                          its ByteSink line (shared_internal::
//                          ReadByteRecords), which this process checks as
//                          the ringflow row's (CheckByteReport).
//
// The queue holds as many records as the ringflow ring's bytes hold
// (capacity / (n + 8)), has a name unique to this process and run, mode
// 0600, and is removed on every path that returns and before every Fail.
//
// Thread-safety: BoostMessageQueueRun's runs are called from the scenario
// thread, one at a time; RunBoostMessageQueueChild runs in a child process.

#ifndef RINGFLOW_BENCH_PEERS_BOOST_MESSAGE_QUEUE_H_
#define RINGFLOW_BENCH_PEERS_BOOST_MESSAGE_QUEUE_H_

#include <cstdint>
#include <optional>
#include <string_view>

#include "../scenario.h"

namespace ringflow::bench {

inline constexpr char kMessageQueueColumn[] = "message_queue";

// The run of a byte-record row (SharedByteOneToOne) with one producer;
// null for any other.
RunFn BoostMessageQueueRun(const Scenario& s);

// The child process when `role` is bmq-bytes: the exit status; empty for
// any other role.
std::optional<int> RunBoostMessageQueueChild(std::string_view role,
                                             std::string_view arg,
                                             int64_t events, bool pin);

}  // namespace ringflow::bench

#endif  // RINGFLOW_BENCH_PEERS_BOOST_MESSAGE_QUEUE_H_
