// ringflow/bridge/jetstream_source.h
//
// Provides `JetStreamSource<E>`: a durable pull consumer of a NATS
// JetStream stream that publishes every message into a local ring, exactly
// once into the ring across restarts of the source.
//
//   auto source = bridge::JetStreamSource<Tick>::Create(
//       *ring, [](const char* data, size_t size, Tick& out) { ... },
//       {.servers = "nats://127.0.0.1:4222", .stream = "TICKS",
//        .durable = "host-b"});
//   absl::Status s = (*source)->Run(stop);   // until stop, on this thread
//
// The source is the ring's only producer. It fetches up to `window`
// messages at a time (natsSubscription_Fetch with fetch_timeout), decodes
// each into a claimed slot with the user's decoder `(const char* data,
// size_t size, E& out)`, publishes the batch, and only then acks the
// messages (explicit acks). One stream per ring: the stream's sequences
// are contiguous, so the source knows which sequence must come next.
//
// The mark (source_mark_store.h): for a shm::SharedRing it lives in the
// ring's control segment (ShmSourceMarkStore) and survives the source; for
// an in-process ring in this object.
//
// Crash points. Per batch [s1..s2] into ring positions [r1..r2]:
//   (1) mark.ring_sequence = r2       (release)
//   (2) mark.stream_sequence = s2     (release)
//   (3) events written, ring.Publish(r1, r2)   (the cursor's release)
//   (4) mark.committed_stream_sequence = s2
//   (5) acks sent
// On restart, with P the ring's published cursor and m the mark:
//   applied = m.stream_sequence when it is above m.committed and P >=
//   m.ring_sequence,
//           = m.committed otherwise.
//   crash before (1) or between (1) and (2): m.stream_sequence is still the
//     previous batch's (== committed) -> applied = committed: redo the batch.
//   crash between (2) and (3): P < r2 (the batch was not published; a
//     restarted producer of a shared ring resumes at the published
//     cursor) -> applied = committed: redo the batch.
//   crash between (3) and (4): P >= r2 -> applied = s2: not redone.
//   crash after (4): committed == s2: not redone; unacked messages are
//     redelivered and skipped (<= applied).
// (1) before (2) matters: the other order would let a crash between them
// pair the new stream sequence with the old ring position, which P
// already passed. The restarted source then re-creates its durable
// consumer at applied + 1, so nothing after `applied` is missed and
// everything at or below it that still arrives is acked and skipped
// (`redelivered_skipped`). Four empty fetches in a row while the stream
// holds more than `applied` re-create the consumer too. A message above
// applied + 1 (a gap: a fetch
// lost in a failover, or messages the stream dropped) re-positions the
// consumer at applied + 1; when the stream no longer holds applied + 1,
// Run fails with DataLoss naming the missing sequences.
//
// Who calls what: Create on a setup path; Run on one thread (the ring's
// only producer); counters() and applied_sequence() from any thread.

#ifndef RINGFLOW_BRIDGE_JETSTREAM_SOURCE_H_
#define RINGFLOW_BRIDGE_JETSTREAM_SOURCE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "ringflow/bridge/bridge_counters.h"
#include "ringflow/bridge/bridge_options.h"
#include "ringflow/bridge/internal/source_core.h"
#include "ringflow/bridge/source_mark_store.h"
#include "ringflow/core/internal/status_macros.h"
#include "ringflow/core/ring_concepts.h"

namespace ringflow::bridge {

template <typename Ring>
class JetStreamSource {
 public:
  using E = typename Ring::EventType;
  using Decoder = std::function<void(const char* data, size_t size, E& out)>;

  // A source into `ring` (it must outlive the source; the source must be
  // its only producer). `marks`: where the mark lives (must outlive the
  // source); null: in this object (right for an in-process ring).
  static absl::StatusOr<std::unique_ptr<JetStreamSource>> Create(
      Ring& ring, Decoder decoder, const BridgeOptions& options,
      SourceMarkStore* marks = nullptr) {
    if (!decoder) return absl::InvalidArgumentError("the decoder is empty");
    if (options.window > ring.capacity()) {
      return absl::InvalidArgumentError(
          absl::StrCat("window ", options.window,
                       " is more than the ring's capacity ", ring.capacity()));
    }
    std::unique_ptr<JetStreamSource> source(
        new JetStreamSource(ring, std::move(decoder)));
    if (marks == nullptr) {
      source->own_marks_ = std::make_unique<InMemorySourceMarkStore>();
      marks = source->own_marks_.get();
    }
    source->marks_ = marks;
    RINGFLOW_ASSIGN_OR_RETURN(source->core_,
                              bridge_internal::SourceCore::Create(options));
    // A shared ring's counters block shows the bridge's counters to
    // `ringflow stat` and the metrics sources (best effort).
    if constexpr (requires { ring.control().counters(); }) {
      (void)source->core_->counters().Bind(ring.control().counters(),
                                           ring.control().ring_name(), "in");
    }
    RINGFLOW_RETURN_IF_ERROR(source->Recover());
    return source;
  }

  // Forwards messages until `stop` is set (seen at least every
  // fetch_timeout). A cluster that is away is not an error: Run keeps
  // fetching. Errors: DataLoss (the stream lost messages this ring never
  // got), FailedPrecondition (the ring was closed or halted).
  absl::Status Run(const std::atomic<bool>& stop) {
    bool bound = false;
    // Relaxed: a stop request; no data rides on it.
    while (!stop.load(std::memory_order_relaxed)) {
      if (!bound) {
        absl::Status s = core_->Bind(applied_ + 1);
        if (!s.ok()) {
          core_->counters().AddErrors();
          if (absl::IsNotFound(s) || absl::IsInvalidArgument(s)) return s;
          Pause();
          continue;  // the cluster is away: try again
        }
        bound = true;
      }
      if (!core_->Fetch(static_cast<int>(core_->options().window)).ok()) {
        Pause();
        // The subscription may be stale after a long outage: bind again.
        bound = false;
        continue;
      }
      if (core_->size() == 0) {
        if (core_->BindingLooksStale(applied_)) bound = false;
        continue;
      }
      const bridge_internal::SourceCore::Run run = core_->NextRun(applied_);
      if (run.begin >= 0) {
        RINGFLOW_RETURN_IF_ERROR(PublishRun(run.begin, run.end, stop));
      }
      core_->Release();
      if (run.gap) {
        RINGFLOW_RETURN_IF_ERROR(CheckGap());
        bound = false;
      }
    }
    return absl::OkStatus();
  }

  // The last stream sequence whose event is in the ring. Any thread.
  uint64_t applied_sequence() const noexcept {
    // Acquire: pairs with the release store in PublishRun.
    return applied_public_.load(std::memory_order_acquire);
  }
  const BridgeCounters& counters() const noexcept { return core_->counters(); }
  BridgeCounters& counters() noexcept { return core_->counters(); }

 private:
  JetStreamSource(Ring& ring, Decoder decoder)
      : ring_(ring), decoder_(std::move(decoder)) {}

  absl::Status Recover() {
    const SourceMarkValue mark = marks_->Load();
    if (mark.stream_id != 0 && mark.stream_id != core_->stream_id()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "this ring's source mark is for another stream (id ",
          absl::Hex(mark.stream_id), ") than '", core_->options().stream,
          "' (id ", absl::Hex(core_->stream_id()),
          "): a stream deleted and created again, or another stream; "
          "forwarding it would skip or repeat events"));
    }
    if (mark.stream_id == 0) {
      // Fresh: from the first message the stream still holds.
      RINGFLOW_ASSIGN_OR_RETURN(const uint64_t first, core_->FirstSequence());
      applied_ = first > 0 ? first - 1 : 0;
      marks_->StoreBatch(ring_.PublishedSequence(), applied_);
      marks_->StoreCommitted(applied_);
      marks_->StoreStreamId(core_->stream_id());
    } else {
      applied_ = SourceMarkStore::Applied(mark, ring_.PublishedSequence());
      // Crash between publish and commit: record the commit now.
      if (applied_ != mark.committed_stream_sequence) {
        marks_->StoreCommitted(applied_);
      }
    }
    // Release: pairs with applied_sequence()'s acquire load.
    applied_public_.store(applied_, std::memory_order_release);
    return absl::OkStatus();
  }

  absl::Status PublishRun(int begin, int end, const std::atomic<bool>& stop) {
    const int64_t n = end - begin + 1;
    std::optional<int64_t> hi;
    while (!(hi = ring_.Next(n, absl::Milliseconds(100))).has_value()) {
      if (ring_.IsClosed() || ring_.IsHalted()) {
        return absl::FailedPreconditionError(
            "the source's ring was closed or halted");
      }
      // Relaxed: a stop request. The fetched messages stay unacked and
      // come again to the next source.
      if (stop.load(std::memory_order_relaxed)) return absl::OkStatus();
    }
    const int64_t lo = *hi - n + 1;
    const uint64_t last = core_->message(end).stream_sequence;
    marks_->StoreBatch(*hi, last);  // (1) and (2)
    for (int64_t k = 0; k < n; ++k) {
      const bridge_internal::FetchedMessage& m =
          core_->message(begin + static_cast<int>(k));
      decoder_(m.data, static_cast<size_t>(m.size), ring_[lo + k]);
    }
    ring_.Publish(lo, *hi);        // (3)
    marks_->StoreCommitted(last);  // (4)
    applied_ = last;
    // Release: pairs with applied_sequence()'s acquire load.
    applied_public_.store(last, std::memory_order_release);
    core_->counters().AddPublished(static_cast<uint64_t>(n));
    for (int i = begin; i <= end; ++i) core_->Ack(i);  // (5)
    return absl::OkStatus();
  }

  // A message above applied + 1 arrived: fine if the stream still holds
  // applied + 1 (re-bind there), DataLoss otherwise.
  absl::Status CheckGap() {
    absl::StatusOr<uint64_t> first = core_->FirstSequence();
    if (!first.ok()) return absl::OkStatus();  // away: re-bind and retry
    if (*first > applied_ + 1) {
      return absl::DataLossError(absl::StrCat(
          "stream '", core_->options().stream, "' no longer holds sequences ",
          applied_ + 1, "..", *first - 1,
          ", which this ring never received (its first is now ", *first, ")"));
    }
    return absl::OkStatus();
  }

  void Pause() {
    // The cluster is away: the next try after a reconnect wait.
    absl::SleepFor(core_->options().reconnect_wait);
  }

  Ring& ring_;
  Decoder decoder_;
  std::unique_ptr<bridge_internal::SourceCore> core_;
  std::unique_ptr<InMemorySourceMarkStore> own_marks_;
  SourceMarkStore* marks_ = nullptr;
  uint64_t applied_ = 0;  // Run's thread
  std::atomic<uint64_t> applied_public_{0};
};

}  // namespace ringflow::bridge

#endif  // RINGFLOW_BRIDGE_JETSTREAM_SOURCE_H_
