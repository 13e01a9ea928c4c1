// ringflow/processors/sharded_poller.h
//
// Provides `ShardedPoller<E>`: one consumer of a ShardedRing, pull style.
// It reads every shard through an EventPoller of its own on that shard
// (the same Poll, the same leases, a sequence per shard), so each
// producer's events arrive in the order it published them.
//
//   auto poller = ShardedPoller<Tick>::Create(*ring);
//   for (;;) {
//     if ((*poller)->Poll(handler) == PollState::kIdle) (*poller)->Wait();
//   }
//
// Poll visits the shards round-robin (the first shard visited moves on by
// one each call) and hands each one's available events to the handler as
// that shard's contiguous runs: `handler(const E&, int64_t sequence, bool
// end_of_batch)`, where `sequence` is the event's sequence in its shard and
// end_of_batch ends the shard's run. A handler returning false stops the
// whole Poll after that event. Shards that stayed empty for several polls
// are visited less often (after 2 empty polls every 2nd Poll, then every
// 4th... at most every 16th), so a poll's cost follows the number of
// active producers; Wait looks at every shard.
//
// Wait() blocks with the ring's wait strategy until some shard has an event
// for this consumer (or a shard was added or began draining, or Alert): a
// blocking strategy sleeps in the kernel on the ring's one signal, which
// every shard's producer wakes. With PollerOptions::stream_backoff_pauses
// > 0 each shard's reads are paced as EventPoller's (a dense stream's
// cursor is not re-read after every small batch); a Wait after a Poll that
// deferred a read only pauses once and returns, without reading any
// cursor.
//
// Shards are taken as they appear (an EventPoller is built for each:
// allocation once per shard, never per event) and released, once drained,
// after their producer left.
//
// Who calls what: Poll, TryLease, TryLeaseBatch, Wait from one thread at a
// time; Alert from any thread. The poller must outlive its leases and be
// destroyed before its ring.

#ifndef RINGFLOW_PROCESSORS_SHARDED_POLLER_H_
#define RINGFLOW_PROCESSORS_SHARDED_POLLER_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "ringflow/core/internal/status_macros.h"
#include "ringflow/core/internal/stream_backoff.h"
#include "ringflow/core/internal/wait_probe.h"
#include "ringflow/core/sequence.h"
#include "ringflow/core/sharded_ring.h"
#include "ringflow/core/wait_result.h"
#include "ringflow/processors/event_poller.h"
#include "ringflow/processors/lease.h"

namespace ringflow {

template <typename E>
class ShardedPoller {
  using Shard = typename ShardedRing<E>::Shard;

 public:
  // Registers a consumer on every shard of `ring`, gated in each shard by
  // the `after` pollers (upstream stages; they must outlive this one).
  // options.name labels its slot in every shard.
  static absl::StatusOr<std::unique_ptr<ShardedPoller>> Create(
      ShardedRing<E>& ring, const std::vector<const ShardedPoller*>& after = {},
      PollerOptions options = {}) {
    RINGFLOW_RETURN_IF_ERROR(
        core_internal::StreamBackoff::Validate(options.stream_backoff_pauses));
    std::vector<int> upstream;
    for (const ShardedPoller* poller : after) {
      if (poller == nullptr || &poller->ring_ != &ring) {
        return absl::InvalidArgumentError(
            "an upstream poller is null or reads another ring");
      }
      upstream.push_back(poller->consumer_.id());
    }
    RINGFLOW_ASSIGN_OR_RETURN(ShardedConsumer<E> consumer,
                              ring.RegisterConsumer(options.name, upstream));
    return std::unique_ptr<ShardedPoller>(new ShardedPoller(
        ring, std::move(consumer), std::move(upstream), std::move(options)));
  }

  ShardedPoller(const ShardedPoller&) = delete;
  ShardedPoller& operator=(const ShardedPoller&) = delete;

  ~ShardedPoller() {
    for (int index = 0; index < static_cast<int>(readers_.size()); ++index) {
      if (readers_[index].shard != nullptr) Retire(index);
    }
  }

  // Handles every available event of every shard visited (see above).
  // Reader thread. Never allocates, except once per new shard. A throwing
  // handler: the events before the throwing one count as consumed and the
  // exception propagates.
  template <typename Handler>
  PollState Poll(Handler&& handler) {
    Refresh();
    const size_t n = active_.size();
    if (n == 0) return PollState::kIdle;
    bool stop = false;
    auto run = [&handler, &stop](const E& event, int64_t sequence,
                                 bool end) -> bool {
      if constexpr (std::is_void_v<std::invoke_result_t<Handler&, const E&,
                                                        int64_t, bool>>) {
        handler(event, sequence, end);
        return true;
      } else {
        const bool more = handler(event, sequence, end);
        stop = !more;
        return more;
      }
    };
    PollState result = PollState::kIdle;
    deferred_ = false;
    const size_t start = start_ < n ? start_ : 0;
    start_ = start + 1;
    for (size_t k = 0; k < n && !stop; ++k) {
      const int index = active_[(start + k) % n];
      Reader& reader = readers_[index];
      if (reader.shard == nullptr) continue;  // retired by this call
      if (reader.skip > 0) {
        --reader.skip;
        continue;
      }
      PollState state;
      if constexpr (std::is_void_v<std::invoke_result_t<Handler&, const E&,
                                                        int64_t, bool>> &&
                    std::is_nothrow_invocable_v<Handler&, const E&, int64_t,
                                                bool>) {
        // The poller's fastest loop: a noexcept void handler (no early
        // stop to track).
        state = reader.poller->Poll(handler);
      } else {
        state = reader.poller->Poll(run);
      }
      if (state == PollState::kProcessing) {
        reader.idle = 0;
        result = PollState::kProcessing;
        continue;
      }
      if (state == PollState::kGating) {
        if (result == PollState::kIdle) result = PollState::kGating;
        continue;
      }
      if (reader.poller->read_deferred()) {
        deferred_ = true;  // not empty: its read is paced (stream backoff)
        continue;
      }
      if (TryRetire(index)) continue;
      // Empty: visit it less often while it stays so (1, 3, 7, 15 skips).
      if (++reader.idle >= 2) {
        reader.skip = std::min<uint32_t>(
            (1u << std::min<uint32_t>(reader.idle - 1, 4)) - 1, 15);
      }
    }
    return result;
  }

  // Leases the next event of the first shard (round-robin) that has one
  // and no outstanding lease. Reader thread. Never allocates.
  std::optional<Lease<E>> TryLease() {
    return FirstLease([](EventPoller<E>& p) { return p.TryLease(); });
  }
  // Up to `max` contiguous events of one shard (max >= 1).
  std::optional<LeaseBatch<E>> TryLeaseBatch(int64_t max) {
    return FirstLease(
        [max](EventPoller<E>& p) { return p.TryLeaseBatch(max); });
  }

  // Waits until a shard may have an event for this poller, the shards
  // changed, or Alert. Returns the strategy's result: ok (Poll may find
  // events), kTimeout (kTimeoutBlocking, after wait_timeout), kAlerted.
  // Reader thread. Never allocates.
  WaitResult Wait() noexcept {
    if (alert_.IsSet()) return WaitResult::Alerted();
    if (deferred_) {
      // The last Poll put off a read in a dense stream: no need to look at
      // the shards' cursors (that look is what the deferral saves the
      // producers from). Poll again after a pause.
      deferred_ = false;
      CpuRelax();
      return WaitResult::Available(1);
    }
    const WaitResult result =
        ring_.wait_strategy().WaitFor(1, Probe{this}, alert_);
    if (result.ok()) {
      for (Reader& reader : readers_) reader.skip = 0;
    }
    return result;
  }

  // Whether some shard has events past this poller's sequence in it, or
  // the shards changed since the last Poll, read with `order`: what an
  // EventNotifier re-reads after arming (seq_cst). Reader thread.
  bool HasPublished(std::memory_order order) const noexcept {
    return Probe{this}.Published(1, order) >= 1;
  }

  // Ends every shard's read deferral: the next Poll or lease reads each
  // shard's cursor (EventPoller::ClearDeferral). For a reader about to
  // sleep, whose last look must be a real one. Reader thread.
  void ClearDeferral() noexcept {
    deferred_ = false;
    for (Reader& reader : readers_) {
      if (reader.poller) reader.poller->ClearDeferral();
    }
  }

  // Makes Wait return kAlerted until ClearAlert. Thread-safe.
  void Alert() noexcept {
    alert_.Set();
    ring_.wait_strategy().WakeAll();
  }
  void ClearAlert() noexcept { alert_.Clear(); }

  // This consumer's id in the ring (what downstream stages name).
  int consumer_id() const noexcept { return consumer_.id(); }
  const std::string& name() const noexcept { return options_.name; }
  // Shards this poller reads now (taken and not released).
  int ShardCount() const noexcept { return static_cast<int>(active_.size()); }

  // This poller's sequence in shard `index` (-1 when it does not read it).
  // Reader thread.
  int64_t SequenceOf(int index) const noexcept {
    const Reader& reader = readers_[index];
    return reader.poller ? reader.poller->sequence().LoadRelaxed() : -1;
  }

 private:
  struct Reader {
    Shard* shard = nullptr;
    std::unique_ptr<EventPoller<E>> poller;
    uint32_t idle = 0;  // empty polls in a row
    uint32_t skip = 0;  // polls to skip before the next visit
  };

  // "Is anything there?" for the ring's wait strategy: sequence 1 is
  // published when some shard has events past this poller's sequence in
  // it, or the shards changed; Gate applies the upstream stages.
  struct Probe {
    const ShardedPoller* self;
    int64_t Published(int64_t sequence,
                      std::memory_order order) const noexcept {
      // Acquire: see ShardedRing::generation (the release bump is followed
      // by a wake, so a sleeper also re-reads it).
      if (self->ring_.generation() != self->generation_) return sequence;
      for (int index : self->active_) {
        if (self->readers_[index].shard == nullptr) continue;
        const EventPoller<E>& poller = *self->readers_[index].poller;
        const int64_t next = poller.sequence().LoadRelaxed() + 1;
        // `order`: acquire while spinning, seq_cst for the re-check after
        // registering as a sleeper (WakeupSignal's handshake).
        if (poller.barrier().published_cursor().Published(next, order) >=
            next) {
          return sequence;
        }
      }
      return sequence - 1;
    }
    int64_t Gate(int64_t published) const noexcept {
      if (self->ring_.generation() != self->generation_) return published;
      for (int index : self->active_) {
        if (self->readers_[index].shard == nullptr) continue;
        EventPoller<E>& poller = *self->readers_[index].poller;
        const int64_t next = poller.sequence().LoadRelaxed() + 1;
        if (poller.barrier().Available(next) >= next) return published;
      }
      return published - 1;
    }
    bool HasDependents() const noexcept { return !self->upstream_.empty(); }
    void Touch() const noexcept {}
  };
  static_assert(core_internal::WaitProbe<Probe>);

  ShardedPoller(ShardedRing<E>& ring, ShardedConsumer<E> consumer,
                std::vector<int> upstream, PollerOptions options)
      : ring_(ring),
        consumer_(std::move(consumer)),
        upstream_(std::move(upstream)),
        options_(std::move(options)),
        readers_(static_cast<size_t>(ring.max_producers())) {
    active_.reserve(readers_.size());
  }

  // Takes the shards assigned since the last look and retires drained ones
  // whose producer left. Cheap unless the ring's generation moved.
  void Refresh() {
    const uint64_t generation = ring_.generation();
    if (generation == generation_) {
      if (dirty_) RebuildActive();
      return;
    }
    generation_ = generation;
    const int high = ring_.high_water();
    for (int index = 0; index < high; ++index) {
      Reader& reader = readers_[index];
      if (reader.shard == nullptr) {
        Shard* shard = ring_.TakeAssigned(index, consumer_.id());
        if (shard == nullptr) continue;
        std::vector<const Sequence*> dependents;  // upstream, this shard
        for (int upstream : upstream_) {
          if (shard->sequences[upstream] != nullptr) {
            dependents.push_back(shard->sequences[upstream]);
          }
        }
        reader.shard = shard;
        // Cannot fail: the options were validated by Create.
        reader.poller =
            EventPoller<E>::CreateOnSlot(
                *shard->ring, std::move(shard->handles[consumer_.id()]),
                std::move(dependents), options_)
                .value();
        reader.idle = reader.skip = 0;
      } else {
        TryRetire(index);
      }
    }
    RebuildActive();
  }

  void RebuildActive() {
    dirty_ = false;
    active_.clear();
    for (int index = 0; index < static_cast<int>(readers_.size()); ++index) {
      if (readers_[index].shard != nullptr) active_.push_back(index);
    }
  }

  // Releases shard `index` if its producer left and this poller read all
  // of it (no lease outstanding). True when released.
  bool TryRetire(int index) noexcept {
    Reader& reader = readers_[index];
    // Acquire: pairs with the release in ShardedRing::ReleaseProducer, so
    // the cursor read next is the producer's last.
    if (!reader.shard->draining.load(std::memory_order_acquire)) return false;
    if (reader.poller->lease_outstanding()) return false;
    if (reader.poller->sequence().LoadRelaxed() <
        reader.shard->ring->Cursor()) {
      return false;
    }
    Retire(index);
    return true;
  }

  void Retire(int index) noexcept {
    Reader& reader = readers_[index];
    reader.poller.reset();  // releases our slot in the shard first
    ring_.ReleaseShard(std::exchange(reader.shard, nullptr));
    reader.idle = reader.skip = 0;
    dirty_ = true;  // active_ is rebuilt by the next Refresh
  }

  template <typename Take>
  auto FirstLease(Take take)
      -> decltype(take(std::declval<EventPoller<E>&>())) {
    Refresh();
    const size_t n = active_.size();
    const size_t start = start_ < n ? start_ : 0;
    for (size_t k = 0; k < n; ++k) {
      const int index = active_[(start + k) % n];
      if (readers_[index].shard == nullptr) continue;
      auto lease = take(*readers_[index].poller);
      if (lease) {
        start_ = (start + k + 1) % n;
        return lease;
      }
    }
    start_ = start + 1;
    return std::nullopt;
  }

  ShardedRing<E>& ring_;
  ShardedConsumer<E> consumer_;  // released after the readers' shards
  const std::vector<int> upstream_;
  const PollerOptions options_;
  std::vector<Reader> readers_;  // by shard index; the reader thread's
  std::vector<int> active_;      // indices with a reader
  uint64_t generation_ = ~uint64_t{0};
  size_t start_ = 0;
  bool dirty_ = false;     // a shard was retired since active_ was built
  bool deferred_ = false;  // the last Poll deferred a shard's read
  core_internal::AlertFlag alert_;
};

}  // namespace ringflow

#endif  // RINGFLOW_PROCESSORS_SHARDED_POLLER_H_
