// ringflow/shm/shared_consumer.h
//
// Provides `SharedConsumer<E>`: a consumer in another process that attaches
// to a shared ring by name. Broadcast: every consumer sees every event. It
// maps the control segment read-write (its slot, heartbeat, counters) and
// the data segment read-only, so it cannot corrupt what others read.
//
//   auto c = shm::SharedConsumer<Tick>::Attach("ticks", {.name = "audit"});
//   while ((*c)->WaitForEvents(absl::Seconds(1)) == ConsumerState::kOk) {
//     if (auto batch = (*c)->TryLeaseBatch(256)) {
//       for (const Tick& t : *batch) Use(t);
//     }                                    // released: the slots are free
//   }
//
// Reads: TryLease / TryLeaseBatch (zero-copy, hold the slots until
// released) and Poll(handler), through an unchanged EventPoller; or
// Run(handler, stop), an unchanged BatchEventProcessor on the calling
// thread with SharedConsumerOptions::processor (stream backoff,
// max_batch_size, exception policy; handlers take const E&). Both run on
// shm_internal::AttachedRing, the ring as this process sees it (a
// ConsumerRing over the read-only mapping). This class adds only the
// shm-specific parts: its slot, heartbeat, eviction and producer liveness.
// Start at the latest published sequence (default) or the oldest still
// protected by the other consumers.
//
// Liveness: the consumer heartbeats in its slot on reads and waits (at most
// one store per heartbeat_interval; a wait wakes at least that often). If the
// producer evicted it (its process was slow or presumed dead), every read
// returns empty, Run returns and state() is kEvicted; Attach again to
// rejoin. If the producer process is gone, state() is kProducerGone; a
// restarted producer resumes the ring and the consumer continues where it
// was.
//
// Who calls what: one thread at a time per consumer (leases may be
// released on any thread).

#ifndef RINGFLOW_SHM_SHARED_CONSUMER_H_
#define RINGFLOW_SHM_SHARED_CONSUMER_H_

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
#include "ringflow/core/internal/monotonic_clock.h"
#include "ringflow/core/internal/status_macros.h"
#include "ringflow/core/internal/stream_backoff.h"
#include "ringflow/core/ring_slots.h"
#include "ringflow/core/sequence_barrier.h"
#include "ringflow/core/wait_strategy.h"
#include "ringflow/processors/batch_event_processor.h"
#include "ringflow/processors/event_handler.h"
#include "ringflow/processors/event_poller.h"
#include "ringflow/processors/lease.h"
#include "ringflow/shm/internal/attached_ring.h"
#include "ringflow/shm/internal/control.h"
#include "ringflow/shm/shared_ring.h"

namespace ringflow::shm {

enum class ConsumerState : uint8_t {
  kOk,            // attached; events may be read
  kTimeout,       // WaitForEvents: nothing arrived in time
  kEvicted,       // the producer evicted this consumer; attach again
  kProducerGone,  // the producer process is not running
  kStopped,       // Run: the stop flag was set
  kHalted,        // Run: the exception policy halted it (run_status())
};

std::string_view ConsumerStateName(ConsumerState state);

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
  // Run: the BatchEventProcessor's options (stream_backoff_pauses,
  // max_batch_size, exception_policy); `name` is ignored, the consumer's
  // name above is used. Checked by Attach.
  ProcessorOptions processor;
};

template <typename E>
class SharedConsumer {
  static_assert(std::is_trivially_copyable_v<E> && std::is_standard_layout_v<E>,
                "events in shared memory must be trivially copyable and "
                "standard layout: they are read as bytes");
  using Ring = shm_internal::AttachedRing<E>;

 public:
  static absl::StatusOr<std::unique_ptr<SharedConsumer>> Attach(
      std::string_view ring, const SharedConsumerOptions& options) {
    if (options.heartbeat_interval <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat("heartbeat_interval ",
                       absl::FormatDuration(options.heartbeat_interval),
                       " must be positive"));
    }
    RINGFLOW_RETURN_IF_ERROR(ValidateProcessorOptions(options.processor));
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
    auto attached = std::make_unique<Ring>(
        std::move(control), options.start == StartPosition::kOldest,
        absl::ToInt64Nanoseconds(options.heartbeat_interval));
    RINGFLOW_ASSIGN_OR_RETURN(core_internal::ConsumerHandle slot,
                              attached->RegisterConsumer(options.name));
    return std::unique_ptr<SharedConsumer>(
        new SharedConsumer(std::move(attached), std::move(slot), options));
  }

  SharedConsumer(const SharedConsumer&) = delete;
  SharedConsumer& operator=(const SharedConsumer&) = delete;

  // kOk, kEvicted or kProducerGone. Cheap: one load, plus a check of the
  // producer's liveness lock at most every heartbeat interval, on its own
  // schedule (heartbeats from reads do not postpone it), so a dead producer
  // shows here within one heartbeat interval of the call that follows.
  ConsumerState state() noexcept {
    if (Evicted()) return ConsumerState::kEvicted;
    MaybeBeat();
    MaybeCheckProducer();
    return producer_alive_ ? ConsumerState::kOk : ConsumerState::kProducerGone;
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
  ConsumerState WaitForEvents(absl::Duration timeout) noexcept {
    return AwaitEvents(timeout, nullptr);
  }

  // Runs handler.OnEvent(const E&, int64_t sequence, bool end_of_batch) on
  // this thread in a BatchEventProcessor over this consumer's slot (so
  // OnStart, OnShutdown, OnBatchStart, OnTimeout and options.processor
  // apply), until `stop` is set (seen at the end of a batch, or within a
  // heartbeat interval while idle), the consumer is evicted or the producer
  // is gone; returns why it stopped. kHalted: the exception policy halted
  // it (the default policy on the first throw), and run_status() says
  // where; the events before the failing one count as consumed. No lease
  // may be outstanding.
  template <typename Handler>
  ConsumerState Run(Handler& handler, const std::atomic<bool>& stop) {
    using Processor = BatchEventProcessor<const E, RunHandler<Handler>>;
    RunHandler<Handler> run{handler, this, &stop};
    auto processor = Processor::CreateOnSlot(*ring_, AliasSlot(), run, {},
                                             processor_options_);
    if (!processor.ok()) {
      run_status_ = processor.status();
      return ConsumerState::kHalted;
    }
    run.processor = processor->get();
    run.halt = [](void* p) noexcept { static_cast<Processor*>(p)->Halt(); };
    (*processor)->Run();
    run_status_ = (*processor)->status();
    if (!run_status_.ok()) return ConsumerState::kHalted;
    return run.why;
  }

  // Why the last Run returned kHalted (OK otherwise).
  const absl::Status& run_status() const noexcept { return run_status_; }

  // The last sequence this consumer finished.
  int64_t sequence() const noexcept { return slot_.sequence().LoadAcquire(); }
  int64_t PublishedSequence() const noexcept {
    return ring_->PublishedSequence();
  }
  const std::string& name() const noexcept { return slot_.name(); }
  // Read-only: a consumer writes nothing through it (its own slot is
  // written by this class alone).
  const shm_internal::Control& control() const noexcept {
    return ring_->control();
  }

 private:
  // WaitForEvents; `*waited` (when not null) becomes true unless the
  // events were there at the first look.
  ConsumerState AwaitEvents(absl::Duration timeout, bool* waited) noexcept {
    const int64_t deadline =
        core_internal::MonotonicNanos() +
        std::min<int64_t>(absl::ToInt64Nanoseconds(timeout), INT64_MAX / 4);
    for (;;) {
      if (Evicted()) return ConsumerState::kEvicted;
      MaybeBeat();  // also when events are ready: a busy consumer is alive
      const int64_t next = poller_->sequence().LoadRelaxed() + 1;
      if (poller_->barrier().Available(next) >= next) return ConsumerState::kOk;
      if (waited != nullptr) *waited = true;
      const ConsumerState s = state();
      if (s != ConsumerState::kOk) return s;
      const int64_t left = deadline - core_internal::MonotonicNanos();
      if (left <= 0) return ConsumerState::kTimeout;
      // One bounded wait of the ring's kind (the barrier's): at most a
      // heartbeat interval and never past the deadline.
      (void)poller_->barrier().WaitFor(
          next,
          WaitStrategy(
              ring_->blocking() ? WaitStrategyKind::kTimeoutBlocking
                                : WaitStrategyKind::kYielding,
              &ring_->control().wakeup(),
              std::max<int64_t>(1, std::min(ring_->heartbeat_ns(), left))));
    }
  }

  // Run's handler: forwards to the user's, and at every batch (and every
  // heartbeat interval while idle: the attached ring's barrier wakes that
  // often and calls OnTimeout) heartbeats and halts the processor when
  // `stop` is set, the slot was evicted or the producer is gone.
  template <typename H>
  struct RunHandler {
    H& handler;
    SharedConsumer* self;
    const std::atomic<bool>* stop;
    // The processor running this handler (its type names this one, so it
    // is reached through a function pointer set by Run).
    void* processor = nullptr;
    void (*halt)(void* processor) noexcept = nullptr;
    ConsumerState why = ConsumerState::kStopped;

    void OnEvent(const E& event, int64_t sequence, bool end_of_batch) noexcept(
        noexcept(handler.OnEvent(event, sequence, end_of_batch))) {
      handler.OnEvent(event, sequence, end_of_batch);
      // Relaxed: a stop request; no data rides on it. Folded away inside
      // the batch loop (end_of_batch is constant there, HandleRange).
      if (end_of_batch && stop->load(std::memory_order_relaxed)) Stop();
    }
    void OnBatchStart(int64_t batch, int64_t depth) {
      Check();
      if constexpr (HasOnBatchStart<H>) handler.OnBatchStart(batch, depth);
    }
    void OnTimeout(int64_t sequence) {
      Check();
      if constexpr (HasOnTimeout<H>) handler.OnTimeout(sequence);
    }
    void OnStart() {
      Check();
      if constexpr (HasOnStart<H>) handler.OnStart();
    }
    void OnShutdown() {
      if constexpr (HasOnShutdown<H>) handler.OnShutdown();
    }

    void Check() noexcept {
      // Relaxed: as in OnEvent.
      if (stop->load(std::memory_order_relaxed)) return Stop();
      const ConsumerState s = self->state();
      if (s == ConsumerState::kOk) return;
      why = s;
      halt(processor);
    }
    void Stop() noexcept {
      why = ConsumerState::kStopped;
      halt(processor);
    }
  };

  // What BatchEventProcessor::Create would refuse, refused at Attach.
  static absl::Status ValidateProcessorOptions(const ProcessorOptions& o) {
    if (o.max_batch_size < 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "max_batch_size ", o.max_batch_size, " must be at least 1"));
    }
    RINGFLOW_RETURN_IF_ERROR(
        core_internal::StreamBackoff::Validate(o.stream_backoff_pauses));
    if (o.exception_policy.action == ExceptionAction::kRewind &&
        o.exception_policy.max_rewinds < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("max_rewinds ", o.exception_policy.max_rewinds,
                       " must be at least 1 for ExceptionAction::kRewind"));
    }
    return absl::OkStatus();
  }

  SharedConsumer(std::unique_ptr<Ring> ring, core_internal::ConsumerHandle slot,
                 const SharedConsumerOptions& options)
      : ring_(std::move(ring)),
        slot_(std::move(slot)),
        generation_(ring_->control()
                        .slot(slot_.index())
                        .generation.load(std::memory_order_relaxed)),
        heartbeat_ns_(ring_->heartbeat_ns()),
        processor_options_(options.processor),
        // Default PollerOptions: no deferred reads (Run paces itself with
        // its StreamBackoff), so this cannot fail.
        poller_(*EventPoller<E>::CreateOnSlot(*ring_, AliasSlot())) {}

  // The slot again, not owning it: slot_ keeps the registration (and its
  // name and index for this class), the poller reads through this alias.
  core_internal::ConsumerHandle AliasSlot() const {
    return core_internal::ConsumerHandle(nullptr, nullptr, slot_.index(),
                                         &slot_.sequence(), slot_.counters(),
                                         slot_.name(), 0);
  }

  shm_internal::ConsumerSlot& Slot() const noexcept {
    return ring_->control().slot(slot_.index());
  }

  // Keeps the heartbeat fresh on every read and wait: one coarse clock read
  // (vDSO, a few ns) and a store once per heartbeat interval, so a busy slow
  // consumer and one that only polls in its own loop both stay alive.
  // Wait-free.
  void MaybeBeat() noexcept {
    const int64_t now = core_internal::CoarseMonotonicNanos();
    if (now - last_beat_ns_ < heartbeat_ns_) return;
    last_beat_ns_ = now;
    // Relaxed: a liveness statistic read by the producer's eviction check.
    Slot().heartbeat_ns.store(now, std::memory_order_relaxed);
  }

  // A dead producer is noticed by the next state() (every wait calls it)
  // at most one heartbeat interval after its death; the check is one fcntl.
  void MaybeCheckProducer() noexcept {
    const int64_t now = core_internal::CoarseMonotonicNanos();
    if (now - last_check_ns_ < heartbeat_ns_) return;
    last_check_ns_ = now;
    producer_alive_ = ring_->control().ProducerAlive();
  }

  bool Evicted() const noexcept {
    // Acquire: pairs with the producer's eviction CAS (acq_rel).
    return Slot().state.load(std::memory_order_acquire) !=
           shm_internal::ConsumerSlot::Word(
               generation_, shm_internal::ConsumerSlot::kActive);
  }

  std::unique_ptr<Ring> ring_;
  core_internal::ConsumerHandle slot_;  // owns the shared slot
  const uint32_t generation_;
  const int64_t heartbeat_ns_;
  const ProcessorOptions processor_options_;
  absl::Status run_status_;  // the last Run's, on the consumer's thread
  int64_t last_beat_ns_ = 0;
  int64_t last_check_ns_ = 0;
  bool producer_alive_ = true;
  std::unique_ptr<EventPoller<E>> poller_;  // on an alias of slot_
};

}  // namespace ringflow::shm

#endif  // RINGFLOW_SHM_SHARED_CONSUMER_H_
