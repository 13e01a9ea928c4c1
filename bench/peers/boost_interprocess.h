// bench/peers/boost_interprocess.h
//
// The raw cross-process ring peer (column boost-shm): a
// boost::lockfree::spsc_queue<int64_t> with a run-time capacity (its
// buffer from a boost::interprocess::allocator, so offset pointers) built
// inside a boost::interprocess::managed_shared_memory segment. No
// sequencing, no liveness, no blocking wait: what a user would write by
// hand to move int64 values between two processes.
//
//   SharedOneToOne         this process pushes 0..N-1 (spinning push) from
//                          a producer thread; the child process
//                          (--shared_consumer=boost-sub:SEGMENT) pops and
//                          sums them and reports as the ringflow row's
//                          consumer does ("done sum= first= count=
//                          end_ns=", shared_internal::SayDone), checked by
//                          the same code (ReadStreamReport, CheckStream).
//   SharedPingPongBusySpin two queues in one segment; this process pings,
//                          the child (boost-pong:SEGMENT) echoes until -1;
//                          the run ends as the ringflow row's does
//                          (shared_internal::EndPingPong).
//
// The segment has a name unique to this process and run, mode 0600, and
// is removed on every path that returns and before every Fail. Boost's
// exceptions are caught here and reported naming the segment.
//
// Thread-safety: BoostShmRun's runs are called from the scenario thread,
// one at a time; RunBoostShmChild runs in a child process.

#ifndef RINGFLOW_BENCH_PEERS_BOOST_INTERPROCESS_H_
#define RINGFLOW_BENCH_PEERS_BOOST_INTERPROCESS_H_

#include <cstdint>
#include <optional>
#include <string_view>

#include "../scenario.h"

namespace ringflow::bench {

inline constexpr char kBoostShmColumn[] = "boost-shm";

// The run of `s` (SharedOneToOne's shape: kOneToOne with a batch of 1; or
// kPingPong busy spin), null for any other.
RunFn BoostShmRun(const Scenario& s);

// The child process of a boost-shm run when `role` is one of its roles
// (boost-sub, boost-pong): the exit status; empty for any other role.
std::optional<int> RunBoostShmChild(std::string_view role, std::string_view arg,
                                    int64_t events, bool pin);

}  // namespace ringflow::bench

#endif  // RINGFLOW_BENCH_PEERS_BOOST_INTERPROCESS_H_
