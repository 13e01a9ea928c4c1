// ringflow/shm/shared_consumer.h
//
// Provides `SharedConsumer<E>`: a consumer in another process that attaches
// to a shared ring by name. Broadcast: every consumer sees every event. It
// maps the control segment read-write (its slot, heartbeat, counters) and
// the data segment read-only, so it cannot corrupt what others read.
//
//   auto c = shm::SharedConsumer<Tick>::Attach("ticks", {.name = "audit"});
//   while ((*c)->WaitForEvents(absl::Seconds(1)) == ConsumerStatus::kOk) {
//     if (auto batch = (*c)->TryLeaseBatch(256)) {
//       for (const Tick& t : *batch) Use(t);
//     }                                    // released: the slots are free
//   }
//
// Reads: TryLease / TryLeaseBatch (zero-copy, hold the slots until
// released), Poll(handler), or Run(handler, stop) for a handler loop on the
// calling thread. Start at the latest published sequence (default) or the
// oldest still protected by the other consumers.
//
// Liveness: the consumer heartbeats in its slot on idle reads (Poll,
// TryLease, TryLeaseBatch that find nothing), every 1024th read, status(),
// and while it waits (a blocking wait wakes every heartbeat_interval). If the
// producer evicted it (its process was slow or presumed dead), every read
// returns empty and status() is kEvicted; Attach again to rejoin. If the
// producer process is gone, status() is kProducerGone; a restarted producer
// resumes the ring and the consumer continues where it was.
//
// Who calls what: one thread at a time per consumer (leases may be
// released on any thread).

#ifndef RINGFLOW_SHM_SHARED_CONSUMER_H_
#define RINGFLOW_SHM_SHARED_CONSUMER_H_

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "ringflow/core/internal/consumer_counters.h"
#include "ringflow/core/internal/consumer_table.h"
#include "ringflow/core/internal/status_macros.h"
#include "ringflow/core/internal/stream_backoff.h"
#include "ringflow/core/ring_slots.h"
#include "ringflow/core/sequence_barrier.h"
#include "ringflow/core/wait_strategy.h"
#include "ringflow/processors/event_poller.h"
#include "ringflow/processors/lease.h"
#include "ringflow/shm/internal/control.h"
#include "ringflow/shm/shared_ring.h"

namespace ringflow::shm {

enum class ConsumerStatus : uint8_t {
  kOk,            // attached; events may be read
  kTimeout,       // WaitForEvents: nothing arrived in time
  kEvicted,       // the producer evicted this consumer; attach again
  kProducerGone,  // the producer process is not running
  kStopped,       // Run: the stop flag was set
};

std::string_view ConsumerStatusName(ConsumerStatus status);

enum class StartPosition : uint8_t {
  kLatest,  // events published after attaching
  kOldest,  // the oldest event still protected by the other consumers
};

struct SharedConsumerOptions {
  std::string name;      // the consumer's name (metrics, `ringflow stat`)
  std::string type_tag;  // must equal the ring's
  StartPosition start = StartPosition::kLatest;
  // How long to wait for a ring whose creator has not finished initialising.
  absl::Duration attach_timeout = absl::Seconds(2);
  // Heartbeat period, and the period of the producer-liveness check. At
  // most half the ring's consumer_timeout (Attach refuses more).
  absl::Duration heartbeat_interval = kDefaultHeartbeatInterval;
  // Owners trusted beyond this process's euid (see AttachOptions): a ring
  // planted by another user is refused unless its uid or group is here.
  std::vector<uint32_t> trusted_uids;
  std::vector<uint32_t> trusted_gids;
  // Run only: the pause after a small batch that was ready at once, as
  // ProcessorOptions::stream_backoff_pauses; in [0, 1024], 0 = never.
  int stream_backoff_pauses = 16;
};

template <typename E>
class SharedConsumer {
  static_assert(std::is_trivially_copyable_v<E> && std::is_standard_layout_v<E>,
                "events in shared memory must be trivially copyable and "
                "standard layout: they are read as bytes");

 public:
  static absl::StatusOr<std::unique_ptr<SharedConsumer>> Attach(
      std::string_view ring, const SharedConsumerOptions& options) {
    if (options.heartbeat_interval <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat("heartbeat_interval ",
                       absl::FormatDuration(options.heartbeat_interval),
                       " must be positive"));
    }
    RINGFLOW_RETURN_IF_ERROR(
        core_internal::StreamBackoff::Validate(options.stream_backoff_pauses));
    const shm_internal::RingIdentity identity = IdentityOf<E>(options.type_tag);
    shm_internal::AttachOptions attach;
    attach.expected = &identity;
    attach.timeout = options.attach_timeout;
    attach.trusted_uids = options.trusted_uids;
    attach.trusted_gids = options.trusted_gids;
    RINGFLOW_ASSIGN_OR_RETURN(std::unique_ptr<shm_internal::Control> control,
                              shm_internal::Control::Attach(ring, attach));
    const int64_t timeout_ns = control->geometry().consumer_timeout_ns;
    if (2 * absl::ToInt64Nanoseconds(options.heartbeat_interval) > timeout_ns) {
      return absl::InvalidArgumentError(absl::StrCat(
          "heartbeat_interval ",
          absl::FormatDuration(options.heartbeat_interval),
          " is more than half of ring '", std::string(ring),
          "''s consumer_timeout ",
          absl::FormatDuration(absl::Nanoseconds(timeout_ns)),
          ": the producer would evict this consumer while it is idle"));
    }
    auto consumer = std::unique_ptr<SharedConsumer>(
        new SharedConsumer(std::move(control), options));
    RINGFLOW_ASSIGN_OR_RETURN(
        consumer->index_,
        consumer->control_->RegisterConsumer(
            options.name, options.start == StartPosition::kOldest));
    shm_internal::ConsumerSlot& slot =
        consumer->control_->slot(consumer->index_);
    consumer->generation_ = slot.generation.load(std::memory_order_relaxed);
    RingView view{consumer.get()};
    RINGFLOW_ASSIGN_OR_RETURN(consumer->poller_,
                              EventPoller<E>::Create(view, {}));
    return consumer;
  }

  ~SharedConsumer() { poller_.reset(); }  // releases the slot

  SharedConsumer(const SharedConsumer&) = delete;
  SharedConsumer& operator=(const SharedConsumer&) = delete;

  // kOk, kEvicted or kProducerGone. Cheap: one load, plus a check of the
  // producer's liveness lock at most every heartbeat interval, on its own
  // schedule (heartbeats from reads do not postpone it), so a dead producer
  // shows here within one heartbeat interval of the call that follows.
  ConsumerStatus status() noexcept {
    if (Evicted()) return ConsumerStatus::kEvicted;
    MaybeBeat();
    MaybeCheckProducer();
    return producer_alive_ ? ConsumerStatus::kOk
                           : ConsumerStatus::kProducerGone;
  }

  // Zero-copy reads (see EventPoller). Empty when nothing is available or
  // the consumer was evicted.
  std::optional<Lease<E>> TryLease() noexcept {
    if (Evicted()) return std::nullopt;
    auto lease = poller_->TryLease();
    MaybeBeat();
    return lease;
  }
  std::optional<LeaseBatch<E>> TryLeaseBatch(int64_t max) noexcept {
    if (Evicted()) return std::nullopt;
    auto batch = poller_->TryLeaseBatch(max);
    MaybeBeat();
    return batch;
  }
  // Handles every available event (see EventPoller::Poll).
  template <typename Handler>
  PollState Poll(Handler&& handler) {
    if (Evicted()) return PollState::kIdle;
    const PollState state = poller_->Poll(std::forward<Handler>(handler));
    MaybeBeat();
    return state;
  }

  // Waits until an event is available, heartbeating meanwhile. kOk,
  // kTimeout, kEvicted or kProducerGone.
  ConsumerStatus WaitForEvents(absl::Duration timeout) noexcept {
    return AwaitEvents(timeout, nullptr);
  }

  // Runs handler.OnEvent(const E&, int64_t sequence, bool end_of_batch) on
  // this thread for every event until `stop` is set, the consumer is
  // evicted or the producer is gone; returns why it stopped. Pauses after a
  // small batch of a dense stream (stream_backoff_pauses).
  template <typename Handler>
  ConsumerStatus Run(Handler& handler, const std::atomic<bool>& stop) {
    core_internal::StreamBackoff backoff(stream_backoff_pauses_);
    for (;;) {
      // Relaxed: a stop request; no data rides on it.
      if (stop.load(std::memory_order_relaxed)) return ConsumerStatus::kStopped;
      bool waited = false;
      const ConsumerStatus s = AwaitEvents(absl::Milliseconds(100), &waited);
      if (s == ConsumerStatus::kTimeout) continue;
      if (s != ConsumerStatus::kOk) return s;
      int64_t handled = 0;
      poller_->Poll([&](const E& event, int64_t sequence, bool end) {
        handler.OnEvent(event, sequence, end);
        ++handled;
        return true;
      });
      backoff.AfterBatch(handled, waited);
    }
  }

  // The last sequence this consumer finished.
  int64_t sequence() const noexcept {
    return poller_->sequence().LoadAcquire();
  }
  int64_t PublishedSequence() const noexcept {
    return control_->PublishedSequence();
  }
  const std::string& name() const noexcept { return name_; }
  // Read-only: a consumer writes nothing through it (its own slot is
  // written by this class alone).
  const shm_internal::Control& control() const noexcept { return *control_; }

 private:
  // WaitForEvents; `*waited` (when not null) becomes true unless the
  // events were there at the first look.
  ConsumerStatus AwaitEvents(absl::Duration timeout, bool* waited) noexcept {
    const int64_t deadline =
        shm_internal::MonotonicNanos() +
        std::min<int64_t>(absl::ToInt64Nanoseconds(timeout), INT64_MAX / 4);
    for (;;) {
      if (Evicted()) return ConsumerStatus::kEvicted;
      MaybeBeat();  // also when events are ready: a busy consumer is alive
      const int64_t next = poller_->sequence().LoadRelaxed() + 1;
      if (poller_->barrier().Available(next) >= next) {
        return ConsumerStatus::kOk;
      }
      if (waited != nullptr) *waited = true;
      const ConsumerStatus s = status();
      if (s != ConsumerStatus::kOk) return s;
      if (shm_internal::MonotonicNanos() >= deadline) {
        return ConsumerStatus::kTimeout;
      }
      // Bounded wait: sleep on the futex (blocking rings) for at most one
      // heartbeat interval and never past the deadline.
      if (blocking_) {
        const int64_t left = deadline - shm_internal::MonotonicNanos();
        (void)poller_->barrier().WaitFor(
            next, WaitStrategy(
                      WaitStrategyKind::kTimeoutBlocking, &control_->wakeup(),
                      std::max<int64_t>(1, std::min(heartbeat_ns_, left))));
      } else {
        for (int i = 0; i < 1024; ++i) {
          if (poller_->barrier().Available(next) >= next) break;
          if (i < 64) {
            CpuRelax();
          } else {
            sched_yield();
          }
        }
      }
    }
  }

  // What EventPoller::Create needs from a ring, over this consumer's slot.
  struct RingView {
    SharedConsumer* self;
    absl::StatusOr<core_internal::ConsumerHandle> RegisterConsumer(
        std::string_view) {
      shm_internal::ConsumerSlot& slot = self->Slot();
      const int counters = slot.counters.load(std::memory_order_relaxed);
      self->name_ =
          std::string(slot.name, strnlen(slot.name, sizeof(slot.name)));
      return core_internal::ConsumerHandle(
          self,
          [](void* owner, int index, uint32_t generation) noexcept {
            static_cast<SharedConsumer*>(owner)->control_->UnregisterConsumer(
                index, generation);
          },
          self->index_, &slot.sequence,
          self->ValidCounters(counters)
              ? core_internal::ConsumerCounters(
                    &self->control_->counters()->value(counters))
              : core_internal::ConsumerCounters(),
          self->name_, self->generation_);
    }
    RingSlots<const E> slots() const noexcept {
      return RingSlots<const E>(static_cast<const E*>(self->control_->data()),
                                self->control_->capacity());
    }
    std::unique_ptr<SequenceBarrier> NewBarrier(
        std::vector<const Sequence*> dependents) const {
      const bool blocking = self->blocking_;
      // Blocking rings: sleep on the shared futex, waking every heartbeat
      // interval to beat and check liveness.
      return std::make_unique<SequenceBarrier>(
          self->control_->published_cursor(),
          WaitStrategy(blocking ? WaitStrategyKind::kTimeoutBlocking
                                : WaitStrategyKind::kYielding,
                       &self->control_->wakeup(), self->heartbeat_ns_),
          std::move(dependents));
    }
  };

  SharedConsumer(std::unique_ptr<shm_internal::Control> control,
                 const SharedConsumerOptions& options)
      : control_(std::move(control)),
        heartbeat_ns_(absl::ToInt64Nanoseconds(options.heartbeat_interval)),
        stream_backoff_pauses_(options.stream_backoff_pauses) {
    const auto kind = control_->geometry().wait_strategy;
    blocking_ = kind == WaitStrategyKind::kBlocking ||
                kind == WaitStrategyKind::kTimeoutBlocking;
  }

  shm_internal::ConsumerSlot& Slot() const noexcept {
    return control_->slot(index_);
  }

  // Keeps the heartbeat fresh on every read and wait: one coarse clock read
  // (vDSO, a few ns) and a store once per heartbeat interval, so a busy slow
  // consumer and one that only polls in its own loop both stay alive.
  // Wait-free.
  void MaybeBeat() noexcept {
    const int64_t now = shm_internal::CoarseMonotonicNanos();
    if (now - last_beat_ns_ < heartbeat_ns_) return;
    last_beat_ns_ = now;
    // Relaxed: a liveness statistic read by the producer's eviction check.
    Slot().heartbeat_ns.store(now, std::memory_order_relaxed);
  }

  // A dead producer is noticed by the next status() (every wait calls it)
  // at most one heartbeat interval after its death; the check is one fcntl.
  void MaybeCheckProducer() noexcept {
    const int64_t now = shm_internal::CoarseMonotonicNanos();
    if (now - last_check_ns_ < heartbeat_ns_) return;
    last_check_ns_ = now;
    producer_alive_ = control_->ProducerAlive();
  }

  // Whether a counters index read back from the (shared, writable) slot
  // addresses a whole run of this consumer's counters.
  bool ValidCounters(int first) const noexcept {
    const core_internal::CountersBlock* block = control_->counters();
    return block != nullptr && first >= 0 &&
           first <= block->capacity() - core_internal::ConsumerCounters::kCount;
  }

  bool Evicted() const noexcept {
    // Acquire: pairs with the producer's eviction CAS (acq_rel).
    return Slot().state.load(std::memory_order_acquire) !=
           shm_internal::ConsumerSlot::Word(
               generation_, shm_internal::ConsumerSlot::kActive);
  }

  std::unique_ptr<shm_internal::Control> control_;
  int index_ = -1;
  uint32_t generation_ = 0;
  std::string name_;
  const int64_t heartbeat_ns_;
  const int stream_backoff_pauses_;
  bool blocking_ = false;
  int64_t last_beat_ns_ = 0;
  int64_t last_check_ns_ = 0;
  bool producer_alive_ = true;
  std::unique_ptr<EventPoller<E>> poller_;
};

}  // namespace ringflow::shm

#endif  // RINGFLOW_SHM_SHARED_CONSUMER_H_
