// bench/peers.cc — the peers, in table column order, each with what its
// API offers (PeerApi, scenario.h): scenarios pick their peer columns by
// that, so a new peer is one header under peers/ (its adapter: the shape
// in peers.h) and one line here, and it appears in every row its API can
// run; MakePeerRun gives it that row's topology. The cross-process peers
// (boost-shm, iceoryx, message_queue) come last: their runs start child
// processes (shared_topologies.h).

#include "peers.h"

#include <array>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "peer_topologies.h"
#include "peers/atomic_queue.h"
#include "peers/boost_interprocess.h"
#include "peers/boost_lockfree.h"
#include "peers/boost_message_queue.h"
#include "peers/concurrentqueue.h"
#include "peers/iceoryx.h"
#include "peers/mutex_deque.h"
#include "peers/readerwriterqueue.h"
#include "report.h"
#include "scenario.h"

namespace ringflow::bench {
namespace {

struct Peer {
  std::string_view name;  // its column
  PeerApi api;
  RunFn (*make_run)(const Scenario&);
  // Why it cannot run on this machine, or empty (null: it always can).
  std::string (*unavailable)() = nullptr;
};

// An in-process adapter P (peers.h) with its blocking variant (void: none).
template <typename P, typename Blocking = void>
constexpr Peer InProcess() {
  return {P::kName,
          {.in_process = true,
           .spsc = P::kSpsc,
           .bulk = HasBulk<P>,
           .blocking = !std::is_void_v<Blocking>,
           .lock_free = P::kLockFree},
          MakePeerRun<P, Blocking>};
}

constexpr std::array kPeers = {
    InProcess<AqSpsc>(),
    InProcess<AqMpmc>(),
    InProcess<RwqPeer, BlockingRwqPeer>(),
    InProcess<McCqPeer, BlockingMcCqPeer>(),
    InProcess<BoostSpscPeer>(),
    InProcess<BoostQueuePeer>(),
    InProcess<MutexDequePeer, MutexDequePeer>(),
    Peer{kBoostShmColumn,
         {.spsc = true, .lock_free = true, .shm_events = true},
         BoostShmRun},
    Peer{kIceoryxColumn,
         {.spsc = true,
          .blocking = true,
          .lock_free = true,
          .shm_events = true,
          .shm_bytes = true},
         IceoryxRun,
         IceoryxSkipReason},
    Peer{kMessageQueueColumn,
         {.spsc = true, .blocking = true, .shm_bytes = true},
         BoostMessageQueueRun},
};

const Peer* Find(std::string_view column) {
  for (const Peer& p : kPeers) {
    if (p.name == column) return &p;
  }
  return nullptr;
}

}  // namespace

std::vector<std::string> PeerColumns() {
  std::vector<std::string> columns;
  for (const Peer& peer : kPeers) columns.emplace_back(peer.name);
  return columns;
}

std::vector<std::string> PeersWith(bool (*offers)(const PeerApi&)) {
  std::vector<std::string> columns;
  for (const Peer& peer : kPeers) {
    if (offers(peer.api)) columns.emplace_back(peer.name);
  }
  return columns;
}

std::optional<PeerApi> PeerApiOf(std::string_view column) {
  const Peer* p = Find(column);
  if (p == nullptr) return std::nullopt;
  return p->api;
}

std::string PeerUnavailable(std::string_view column) {
  const Peer* p = Find(column);
  return p == nullptr || p->unavailable == nullptr ? std::string()
                                                   : p->unavailable();
}

RunFn PeerRun(const Scenario& s, std::string_view peer) {
  const Peer* p = Find(peer);
  return p == nullptr ? nullptr : p->make_run(s);
}

}  // namespace ringflow::bench
