// ringflow/bridge/jetstream_sink.h
//
// Provides `JetStreamSink<E>`: a consumer of a ring that publishes every
// event to a NATS JetStream subject, exactly once in the stream, in ring
// order; and `ShmSinkGuard`, which keeps a shared ring's unacknowledged
// events for a sink process that died (see "Restart" below).
//
//   auto sink = bridge::JetStreamSink<Tick>::Create(
//       *ring, [](const Tick& t, std::string& out) { out.append(...); },
//       {.servers = "nats://127.0.0.1:4222", .stream = "TICKS",
//        .subject = "ticks.a", .epoch = start_time});
//   std::atomic<bool> stop{false};
//   absl::Status s = (*sink)->Run(stop);   // until stop, on this thread
//
// Guarantees (docs/bridge.md):
//  - Each event is published asynchronously (js_PublishAsync) with
//    Nats-Msg-Id "<ring>:<epoch>:<sequence>" (msg_id.h), at most `window`
//    unacknowledged. The sink's consumer sequence advances only past
//    events the stream acknowledged contiguously: the ring is the retry
//    buffer, so a broker outage is backpressure on the producer, never a
//    loss. Error acks, a timeout of the oldest unacknowledged publish and
//    reconnects re-send everything unacknowledged with the same ids; the
//    stream's duplicate window drops what it already has (counted as
//    `duplicates`). With strict_order (the default) each publish expects
//    the previous id as the stream's last, so the stream holds the ring's
//    events in ring order even across a leader change. One producing ring
//    per stream.
//  - The encoder `(const E&, std::string& out)` appends the event's bytes
//    to `out` (cleared before each call, its capacity kept: no allocation
//    per event once it has grown). An event that encodes to more than the
//    server's max_payload stops Run with InvalidArgument naming both sizes.
//
// Restart: Create/Attach asks the stream for the last message on the
// subject. When it is this ring's and epoch's, the sink resumes right
// after it (the events up to it are passed without publishing); when the
// ring no longer holds the events between that message and where the
// sink's new consumer slot starts, it fails with DataLoss naming the
// missing sequences instead of skipping them. A sink process killed with
// SIGKILL loses its consumer slot at once (shared rings evict a dead
// consumer), so nothing would stop the producer from overwriting its
// unacknowledged events: run a ShmSinkGuard in the producer process. It
// holds an in-process consumer slot that follows the sink's slot (by
// name) while the sink runs and stays where it was when the sink dies, so
// the producer waits (backpressure) and the restarted sink, attaching at
// the oldest protected event, finds every event after the stream's last.
//
// Who calls what: Create/Attach on setup paths; Run on one thread;
// counters() and acked_sequence() from any thread. Memory ordering: the
// sink reads events after the barrier's acquire load of the producer's
// cursor and releases them with a release store of its consumer sequence
// (pairs with the producer's gating scan), as any consumer does.

#ifndef RINGFLOW_BRIDGE_JETSTREAM_SINK_H_
#define RINGFLOW_BRIDGE_JETSTREAM_SINK_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "ringflow/bridge/bridge_counters.h"
#include "ringflow/bridge/bridge_options.h"
#include "ringflow/bridge/internal/sink_core.h"
#include "ringflow/core/internal/consumer_table.h"
#include "ringflow/core/internal/monotonic_clock.h"
#include "ringflow/core/internal/status_macros.h"
#include "ringflow/core/ring_concepts.h"
#include "ringflow/core/ring_slots.h"
#include "ringflow/core/sequence_barrier.h"
#include "ringflow/shm/internal/attached_ring.h"
#include "ringflow/shm/internal/control.h"
#include "ringflow/shm/shared_consumer.h"
#include "ringflow/shm/shared_ring.h"

namespace ringflow::bridge {

template <typename E>
class JetStreamSink {
 public:
  using Encoder = std::function<void(const E&, std::string&)>;

  // A sink on an in-process ring (RingBuffer<E>, or shm::SharedRing<E> in
  // the producer's process), which must outlive it. Registers a consumer
  // (at the oldest protected event when the ring offers that) named
  // options.id (default "bridge"). The epoch in ids: a SharedRing's
  // creation id, otherwise options.epoch (0: a random one; give the same
  // non-zero value to a sink re-created on the same ring in this process
  // to resume after what the stream holds).
  template <typename Ring>
  requires ConsumerRingOf<Ring, E>
  static absl::StatusOr<std::unique_ptr<JetStreamSink>> Create(
      Ring& ring, Encoder encoder, const BridgeOptions& options) {
    const std::string consumer = options.id.empty() ? "bridge" : options.id;
    core_internal::ConsumerHandle handle;
    if constexpr (requires { ring.RegisterConsumerAtOldest(consumer); }) {
      RINGFLOW_ASSIGN_OR_RETURN(handle,
                                ring.RegisterConsumerAtOldest(consumer));
    } else {
      RINGFLOW_ASSIGN_OR_RETURN(handle, ring.RegisterConsumer(consumer));
    }
    uint64_t epoch = options.epoch;
    std::string ring_name = options.id;
    if constexpr (requires { ring.control().geometry().creation_id; }) {
      epoch = ring.control().geometry().creation_id;
      if (ring_name.empty()) ring_name = ring.control().ring_name();
    }
    if (ring_name.empty()) ring_name = "ring";
    // An in-process ring lives as long as this process: without an epoch,
    // a random one, so a later run's sequences never match this run's ids.
    while (epoch == 0) {
      epoch = (uint64_t{std::random_device{}()} << 32) | std::random_device{}();
    }
    std::unique_ptr<JetStreamSink> sink(new JetStreamSink(std::move(encoder)));
    sink->slots_ = ring.slots();
    sink->barrier_ = ring.NewBarrier({});
    sink->handle_ = std::move(handle);
    if constexpr (requires { ring.control().counters(); }) {
      sink->counters_block_ = ring.control().counters();
    }
    RINGFLOW_RETURN_IF_ERROR(
        sink->Init(options, ring_name, epoch, ring.PublishedSequence()));
    return sink;
  }

  // A sink in its own process on the shared ring `ring`, attached as a
  // consumer named options.id (default "bridge") at the oldest protected
  // event; the epoch is the ring's creation id. `shm_options` gives the
  // type tag, heartbeat and trust settings (its `start` is ignored).
  static absl::StatusOr<std::unique_ptr<JetStreamSink>> Attach(
      std::string_view ring, Encoder encoder, const BridgeOptions& options,
      const shm::SharedConsumerOptions& shm_options = {}) {
    const shm_internal::RingIdentity identity =
        shm::IdentityOf<E>(shm_options.type_tag);
    shm_internal::AttachOptions attach;
    attach.expected = &identity;
    attach.timeout = shm_options.attach_timeout;
    attach.trusted_uids = shm_options.trusted_uids;
    attach.trusted_gids = shm_options.trusted_gids;
    RINGFLOW_ASSIGN_OR_RETURN(std::unique_ptr<shm_internal::Control> control,
                              shm_internal::Control::Attach(ring, attach));
    const int64_t heartbeat_ns =
        absl::ToInt64Nanoseconds(shm_options.heartbeat_interval);
    if (heartbeat_ns <= 0 ||
        2 * heartbeat_ns > control->geometry().consumer_timeout_ns) {
      return absl::InvalidArgumentError(
          absl::StrCat("heartbeat_interval ",
                       absl::FormatDuration(shm_options.heartbeat_interval),
                       " must be positive and at most half of ring '",
                       std::string(ring), "''s consumer_timeout"));
    }
    const uint64_t epoch = control->geometry().creation_id;
    auto attached = std::make_unique<shm_internal::AttachedRing<E>>(
        std::move(control), /*oldest=*/true, heartbeat_ns);
    const std::string consumer = options.id.empty() ? "bridge" : options.id;
    RINGFLOW_ASSIGN_OR_RETURN(core_internal::ConsumerHandle handle,
                              attached->RegisterConsumer(consumer));
    std::unique_ptr<JetStreamSink> sink(new JetStreamSink(std::move(encoder)));
    sink->slots_ = RingSlots<const E>(attached->slots());
    sink->barrier_ = attached->NewBarrier({});
    sink->handle_ = std::move(handle);
    sink->heartbeat_ns_ = heartbeat_ns;
    shm_internal::ConsumerSlot& slot =
        attached->control().slot(sink->handle_.index());
    sink->shm_slot_ = &slot;
    // Relaxed: our own slot, written by this process's RegisterConsumer.
    sink->shm_generation_ = slot.generation.load(std::memory_order_relaxed);
    const int64_t published = attached->PublishedSequence();
    sink->counters_block_ = attached->control().counters();
    sink->attached_ = std::move(attached);
    RINGFLOW_RETURN_IF_ERROR(
        sink->Init(options, std::string(ring), epoch, published));
    return sink;
  }

  ~JetStreamSink() {
    handle_.Reset();  // the slot goes before the ring mapping
    core_.reset();
  }
  JetStreamSink(const JetStreamSink&) = delete;
  JetStreamSink& operator=(const JetStreamSink&) = delete;

  // Publishes events until `stop` is set, then waits up to ack_timeout for
  // what is in flight (what stays unacknowledged stays in the ring for the
  // next sink). Errors: InvalidArgument for an event too large (naming
  // its sequence and both sizes), Aborted when a shared ring evicted this
  // consumer. A broker outage is not an error: Run keeps re-sending.
  absl::Status Run(const std::atomic<bool>& stop) {
    std::string buffer;
    buffer.reserve(256);
    int64_t idle_ns = kMinIdleNs;
    int64_t stop_deadline = 0;
    for (;;) {
      Commit(core_->Progress());
      RINGFLOW_RETURN_IF_ERROR(core_->fatal());
      if (shm_slot_ != nullptr) RINGFLOW_RETURN_IF_ERROR(Beat());
      // Relaxed: a stop request; no data rides on it.
      if (stop.load(std::memory_order_relaxed)) {
        const int64_t now = core_internal::MonotonicNanos();
        if (stop_deadline == 0) {
          stop_deadline =
              now + absl::ToInt64Nanoseconds(core_->options().ack_timeout);
        }
        if (core_->next_ack() == core_->next_send() || now >= stop_deadline) {
          return absl::OkStatus();
        }
        core_->Wait(kMaxIdleNs);
        continue;
      }
      bool sent = false;
      int64_t next = core_->next_send();
      const int64_t available = barrier_->Available(next);
      while (next <= available && core_->HasRoom()) {
        buffer.clear();
        encoder_(slots_[next], buffer);
        const auto r = core_->Publish(next, buffer.data(), buffer.size());
        if (r == bridge_internal::SinkCore::SendResult::kRejected) {
          return core_->fatal();
        }
        if (r != bridge_internal::SinkCore::SendResult::kSent) break;
        ++next;
        sent = true;
      }
      if (sent) {
        idle_ns = kMinIdleNs;
      } else {
        core_->Wait(idle_ns);
        idle_ns = std::min(idle_ns * 2, kMaxIdleNs);
      }
    }
  }

  // The highest ring sequence the stream acknowledged (contiguously).
  // Any thread. Wait-free.
  int64_t acked_sequence() const noexcept {
    // Acquire: pairs with Commit's release store.
    return acked_.load(std::memory_order_acquire);
  }
  // Where the sink resumed (the first sequence it publishes).
  int64_t start_sequence() const noexcept { return start_; }
  const BridgeCounters& counters() const noexcept { return core_->counters(); }
  BridgeCounters& counters() noexcept { return core_->counters(); }

 private:
  static constexpr int64_t kMinIdleNs = 50'000;
  static constexpr int64_t kMaxIdleNs = 1'000'000;

  explicit JetStreamSink(Encoder encoder) : encoder_(std::move(encoder)) {}

  // Connects, finds the resume point and moves the consumer to it.
  absl::Status Init(const BridgeOptions& options, const std::string& ring,
                    uint64_t epoch, int64_t published) {
    if (!encoder_) return absl::InvalidArgumentError("the encoder is empty");
    RINGFLOW_ASSIGN_OR_RETURN(
        core_, bridge_internal::SinkCore::Create(options, ring, epoch));
    // A shared ring's counters block shows the bridge's counters to
    // `ringflow stat` and the metrics sources (best effort: a full block
    // leaves them private).
    if (counters_block_ != nullptr) {
      (void)core_->counters().Bind(counters_block_, ring, "out");
    }
    RINGFLOW_ASSIGN_OR_RETURN(const int64_t last, core_->LastStored());
    // The slot's sequence: the last event it has finished (its start - 1).
    const int64_t held = handle_.sequence().LoadAcquire();
    int64_t next = held + 1;
    bool chained = false;
    if (last >= 0) {
      if (last > published) {
        return absl::FailedPreconditionError(
            absl::StrCat("stream '", options.stream, "' holds event ", last,
                         " of ring '", ring, "' (epoch ", absl::Hex(epoch),
                         ") but the ring has published "
                         "only up to ",
                         published,
                         ": another ring with the same name "
                         "and epoch feeds this subject"));
      }
      if (last < held) {
        return absl::DataLossError(absl::StrCat(
            "events ", last + 1, "..", held, " of ring '", ring, "' (epoch ",
            absl::Hex(epoch), ") are neither in stream '", options.stream,
            "' (its last is ", last,
            ") nor still held by the ring (this "
            "consumer starts at ",
            held + 1,
            "); run a ShmSinkGuard in the producer process to keep them"));
      }
      next = last + 1;
      chained = true;
      // Release: we are done with the events up to `last` (already in the
      // stream). Pairs with the producer's gating scan.
      handle_.sequence().StoreRelease(last);
    }
    start_ = next;
    core_->Start(next, chained);
    Commit(next - 1);
    return absl::OkStatus();
  }

  void Commit(int64_t acked) noexcept {
    if (acked <= committed_) return;
    committed_ = acked;
    // Release: the sink is done reading events up to `acked`. Pairs with
    // the producer's gating scan (ConsumerTable::MinimumSequence).
    handle_.sequence().StoreRelease(acked);
    // Release: pairs with acked_sequence()'s acquire load.
    acked_.store(acked, std::memory_order_release);
  }

  // Shared ring attached by name: heartbeat the slot, and stop when the
  // producer evicted it.
  absl::Status Beat() {
    const int64_t now = core_internal::CoarseMonotonicNanos();
    if (now - last_beat_ns_ >= heartbeat_ns_ / 2) {
      last_beat_ns_ = now;
      // Relaxed: a liveness statistic read by the producer's eviction
      // check (as SharedConsumer::MaybeBeat).
      shm_slot_->heartbeat_ns.store(now, std::memory_order_relaxed);
    }
    // Acquire: pairs with the producer's eviction CAS (acq_rel).
    if (shm_slot_->state.load(std::memory_order_acquire) !=
        shm_internal::ConsumerSlot::Word(shm_generation_,
                                         shm_internal::ConsumerSlot::kActive)) {
      return absl::AbortedError(absl::StrCat(
          "the producer evicted this sink's consumer slot ", handle_.index(),
          " ('", handle_.name(), "'); attach again to resume from the stream"));
    }
    return absl::OkStatus();
  }

  Encoder encoder_;
  std::unique_ptr<bridge_internal::SinkCore> core_;
  RingSlots<const E> slots_{nullptr, 1};
  std::unique_ptr<SequenceBarrier> barrier_;
  // Attach only: the mapping (declared before handle_: destroyed after).
  std::unique_ptr<shm_internal::AttachedRing<E>> attached_;
  // A shared ring's counters block (Init binds the counters to it), or
  // null.
  core_internal::CountersBlock* counters_block_ = nullptr;
  core_internal::ConsumerHandle handle_;
  shm_internal::ConsumerSlot* shm_slot_ = nullptr;
  uint32_t shm_generation_ = 0;
  int64_t heartbeat_ns_ = 0;
  int64_t last_beat_ns_ = 0;
  int64_t committed_ = INT64_MIN;  // Run's thread
  int64_t start_ = 0;
  std::atomic<int64_t> acked_{-1};  // written by Run's thread
};

// Keeps a shared ring's events for a sink in another process: an
// in-process consumer slot (named "<sink>#g") that follows the slowest
// live slot named `sink` and holds still while there is none, so a sink
// killed with SIGKILL finds its unacknowledged events when it restarts
// (the producer waits meanwhile). Runs a thread that looks every
// `period`. Create before the sink first attaches; destroy it to release
// the ring.
class ShmSinkGuard {
 public:
  template <typename E>
  static absl::StatusOr<std::unique_ptr<ShmSinkGuard>> Create(
      shm::SharedRing<E>& ring, std::string_view sink = "bridge",
      absl::Duration period = absl::Milliseconds(1)) {
    if (sink.empty() || sink.size() + 2 > kMaxNameLength) {
      return absl::InvalidArgumentError(
          absl::StrCat("sink name '", std::string(sink), "' must be 1 to ",
                       kMaxNameLength - 2, " characters"));
    }
    RINGFLOW_ASSIGN_OR_RETURN(
        core_internal::ConsumerHandle handle,
        ring.RegisterConsumer(absl::StrCat(std::string(sink), "#g")));
    return std::unique_ptr<ShmSinkGuard>(new ShmSinkGuard(
        ring.control(), std::move(handle), std::string(sink), period));
  }
  ~ShmSinkGuard() {
    // Relaxed: the thread sees it within one period.
    stop_.store(true, std::memory_order_relaxed);
    thread_.join();
  }
  ShmSinkGuard(const ShmSinkGuard&) = delete;
  ShmSinkGuard& operator=(const ShmSinkGuard&) = delete;

  // Where the guard holds the ring (the last event it lets go of).
  int64_t sequence() const noexcept { return handle_.sequence().LoadAcquire(); }

 private:
  ShmSinkGuard(shm_internal::Control& control,
               core_internal::ConsumerHandle handle, std::string sink,
               absl::Duration period)
      : control_(control),
        handle_(std::move(handle)),
        sink_(std::move(sink)),
        period_(period),
        thread_([this] { Follow(); }) {}

  void Follow() {
    // Relaxed: a stop request; no data rides on it.
    while (!stop_.load(std::memory_order_relaxed)) {
      int64_t lowest = INT64_MAX;
      for (int i = 0; i < control_.max_consumers(); ++i) {
        const shm_internal::ConsumerSlot& s = control_.slot(i);
        // Acquire: pairs with the slot's state CAS when it turned active
        // (the name and sequence written before it are visible).
        const uint32_t word = s.state.load(std::memory_order_acquire);
        if (shm_internal::ConsumerSlot::StateOf(word) !=
            shm_internal::ConsumerSlot::kActive) {
          continue;
        }
        if (std::string_view(s.name, strnlen(s.name, sizeof(s.name))) !=
            sink_) {
          continue;
        }
        // Acquire: pairs with the sink's release store of its sequence.
        lowest = std::min(lowest, s.sequence.LoadAcquire());
      }
      // Relaxed: our own slot; only this thread writes it.
      const int64_t mine = handle_.sequence().LoadRelaxed();
      if (lowest != INT64_MAX && lowest > mine) {
        // Release: this slot lets go of events up to `lowest`, which the
        // sink has already released. Pairs with the producer's gating
        // scan.
        handle_.sequence().StoreRelease(lowest);
      }
      std::this_thread::sleep_for(absl::ToChronoNanoseconds(period_));
    }
  }

  shm_internal::Control& control_;
  core_internal::ConsumerHandle handle_;
  const std::string sink_;
  const absl::Duration period_;
  std::atomic<bool> stop_{false};  // set by the destructor
  std::thread thread_;
};

}  // namespace ringflow::bridge

#endif  // RINGFLOW_BRIDGE_JETSTREAM_SINK_H_
