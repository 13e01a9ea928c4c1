// ringflow/observability/sharded_ring_metrics_source.h
//
// Provides `ShardedRingMetricsSource<E>`: a ShardedRing's metrics, one ring
// per live shard (label ring="<name>.<index>"): each shard's published
// sequence and producer counters (published events, full waits, TryNext
// failures), and each consumer's sequence, lag and counters in that shard.
// A shard freed after its producer left drops out of the next scrape.
//
//   exporter->Add(std::make_shared<ShardedRingMetricsSource<Tick>>(*ring));
//
// Thread-safety: Collect from any thread; it takes the ring's mutex (the
// setup path's, never a producer's or consumer's hot path) while it reads
// the shard list, and each snapshot keeps its shard alive until dropped.

#ifndef RINGFLOW_OBSERVABILITY_SHARDED_RING_METRICS_SOURCE_H_
#define RINGFLOW_OBSERVABILITY_SHARDED_RING_METRICS_SOURCE_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "ringflow/core/sequence.h"
#include "ringflow/core/sharded_ring.h"
#include "ringflow/observability/metrics_source.h"

namespace ringflow::observability {

template <typename E>
class ShardedRingMetricsSource final : public MetricsSource {
 public:
  // `ring` must outlive the source.
  explicit ShardedRingMetricsSource(const ShardedRing<E>& ring) : ring_(ring) {}

  void Collect(std::vector<RingSnapshot>& out) const override {
    ring_.ForEachShard(
        [&](std::shared_ptr<const typename ShardedRing<E>::Shard> shard) {
          const RingBuffer<E>& ring = *shard->ring;
          RingSnapshot snapshot;
          snapshot.ring = ring.options().name;
          snapshot.capacity = ring.capacity();
          ring.consumers().ForEachActive(
              [&](int index, const Sequence& sequence) {
                // Acquire: pairs with the consumer's release store.
                snapshot.consumers.push_back(ConsumerSnapshot{
                    ring.consumers().name(index), sequence.LoadAcquire()});
              });
          snapshot.published = ring.PublishedSequence();
          snapshot.counters = ring.counters_block();
          snapshot.keep_alive = std::move(shard);
          out.push_back(std::move(snapshot));
        });
  }

 private:
  const ShardedRing<E>& ring_;
};

}  // namespace ringflow::observability

#endif  // RINGFLOW_OBSERVABILITY_SHARDED_RING_METRICS_SOURCE_H_
