// bench/peers.cc — the peers, in table column order: each adapter with its
// blocking variant for PingPongBlocking (the shape: peers.h). A new peer
// is one header under peers/ (its adapter) and one line here; MakePeerRun
// gives it every topology its API offers. The cross-process peers
// (boost-shm, iceoryx) come last: their runs start child processes
// (shared_topologies.h) and offer SharedOneToOne's and SharedPingPong's
// shapes only.

#include "peers.h"

#include <array>
#include <string>
#include <string_view>
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
  RunFn (*make_run)(const Scenario&);
};

constexpr std::array kPeers = {
    Peer{AqSpsc::kName, MakePeerRun<AqSpsc>},
    Peer{AqMpmc::kName, MakePeerRun<AqMpmc>},
    Peer{RwqPeer::kName, MakePeerRun<RwqPeer, BlockingRwqPeer>},
    Peer{McCqPeer::kName, MakePeerRun<McCqPeer, BlockingMcCqPeer>},
    Peer{BoostSpscPeer::kName, MakePeerRun<BoostSpscPeer>},
    Peer{BoostQueuePeer::kName, MakePeerRun<BoostQueuePeer>},
    Peer{MutexDequePeer::kName, MakePeerRun<MutexDequePeer, MutexDequePeer>},
    Peer{kBoostShmColumn, BoostShmRun},
    Peer{kIceoryxColumn, IceoryxRun},
    Peer{kMessageQueueColumn, BoostMessageQueueRun},
};

}  // namespace

std::vector<std::string> PeerColumns() {
  std::vector<std::string> columns;
  for (const Peer& peer : kPeers) columns.emplace_back(peer.name);
  return columns;
}

RunFn PeerRun(const Scenario& s, std::string_view peer) {
  for (const Peer& p : kPeers) {
    if (p.name == peer) return p.make_run(s);
  }
  return nullptr;
}

}  // namespace ringflow::bench
