// bench/peers/iceoryx.h
//
// The iceoryx peer (column iceoryx): the zero-copy shared-memory
// middleware users pick for this job (Debian iceoryx 2.0.3, CMake package
// iceoryx_posh), with the same event type (int64_t).
//
//   SharedOneToOne   an iceoryx::popo::Publisher<int64_t> (loan, write,
//                    publish) in one process, a Subscriber<int64_t> (take,
//                    read, release) in another, busy-spinning take. No loss:
//                    the publisher's ConsumerTooSlowPolicy is
//                    WAIT_FOR_CONSUMER and the subscriber's QueueFullPolicy
//                    BLOCK_PRODUCER (queue of 256, iceoryx's maximum), so a
//                    full queue makes publish wait. The subscriber reports
//                    count, sum and first value (checked: exactly 0..N-1)
//                    and its CLOCK_MONOTONIC after the last one, in the
//                    ringflow row's consumer's line
//                    (shared_internal::StreamReport); the publisher its
//                    clock before the first loan.
//   SharedPingPong*  a publisher/subscriber pair each way; the pinger times
//                    each round trip and checks each pong's value; busy
//                    spin: both sides spin on take; blocking: both wait in
//                    a WaitSet (attachState HAS_DATA) before each take.
//   SharedByteOneToOne*
//                    n-byte records (byte_framing.h) from an
//                    UntypedPublisher (loan(n), write, publish) in one
//                    child to an UntypedSubscriber (take, check, release)
//                    in another, which reports its ByteSink line
//                    (shared_internal::ReadByteRecords), checked as the
//                    ringflow row's (CheckByteReport).
//
// iceoryx's runtime registers a process with the RouDi daemon once per
// process and cannot outlive that RouDi, so both ends run in child
// processes of the bench (this binary re-executed,
// --shared_consumer=iox-*:...), and the bench only starts them, reads
// their handshake lines and checks what they report. RouDi itself is
// started by the first iceoryx run of a scenario (iox-roudi with a private
// config: mempools of 64, 128 and 1152 bytes, for the int64 rows and the
// 64- and 1024-byte records; process monitoring off, since heartbeat
// monitoring gives false positives on a loaded machine, iceoryx #1361 —
// the bench's bounded waits catch a stuck child instead), after the bench
// read its "RouDi is ready for clients" line (bounded wait, no sleep), and
// stopped (SIGTERM, bounded wait, then SIGKILL) when that scenario's last
// run is gone, before any Fail, at exit, and by the kernel
// (PR_SET_PDEATHSIG, SIGTERM) if the bench dies.
//
// iceoryx 2.0 allows one RouDi per machine (fixed names: /tmp/roudi,
// /dev/shm/iceoryx_mgmt): IceoryxSkipReason says why the column is skipped
// when the bench was built without iceoryx, iox-roudi is not installed, or
// another RouDi is running.
//
// Thread-safety: IceoryxRun's runs are called from the scenario thread,
// one at a time; RunIceoryxChild runs in a child process.

#ifndef RINGFLOW_BENCH_PEERS_ICEORYX_H_
#define RINGFLOW_BENCH_PEERS_ICEORYX_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "../scenario.h"

namespace ringflow::bench {

inline constexpr char kIceoryxColumn[] = "iceoryx";

// Empty when the iceoryx column can run on this machine now; else why not
// (printed as the column's n/a reason).
std::string IceoryxSkipReason();

// The run of `s` (kOneToOne with a batch of 1, a byte-record row with one
// producer, or kPingPong), null for any other or when built without iceoryx.
// The runs of one RunFn (one scenario's column) share one RouDi, stopped when
// the last copy of the RunFn is destroyed.
RunFn IceoryxRun(const Scenario& s);

// The child process of an iceoryx run when `role` is one of its roles
// (iox-*): the exit status; empty for any other role.
std::optional<int> RunIceoryxChild(std::string_view role, std::string_view arg,
                                   int64_t events, bool pin);

}  // namespace ringflow::bench

#endif  // RINGFLOW_BENCH_PEERS_ICEORYX_H_
