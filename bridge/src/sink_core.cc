#include "ringflow/bridge/internal/sink_core.h"

#include <nats/nats.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ringflow/core/internal/futex.h"
#include "ringflow/core/internal/monotonic_clock.h"
#include "ringflow/core/internal/status_macros.h"

namespace ringflow::bridge_internal {
namespace {

// JetStream error codes the sink tells apart.
constexpr int kWrongLastMsgId = 10070;   // JSStreamWrongLastMsgIDErr
constexpr int kMessageTooLarge = 10054;  // JSStreamMessageExceedsMaximumErr

// Room for the two id headers around the payload ("NATS/1.0", the names,
// the ids, the separators).
int64_t HeaderBytes(size_t id_length) {
  return 96 + 2 * static_cast<int64_t>(id_length);
}

}  // namespace

SinkCore::SinkCore(const bridge::BridgeOptions& options)
    : options_(options),
      window_(options.window),
      mask_(options.window - 1),
      acked_(new std::atomic<int64_t>[static_cast<size_t>(options.window)]),
      sent_ns_(static_cast<size_t>(options.window), 0) {
  for (int64_t i = 0; i < window_; ++i) {
    // Relaxed: before the callbacks are registered.
    acked_[i].store(-1, std::memory_order_relaxed);
  }
}

SinkCore::~SinkCore() {
  // No callback may run into a destroyed object: nats.c forgets what it
  // still waits for (it then discards those acks without a callback),
  // callbacks already inside finish (callbacks_), later ones return at the
  // door (closing_), then the context and the connection go.
  // (nats.c 3.4.1 crashes in js_PublishAsyncGetPendingList before the
  // first async publish: only after one.)
  if (js_ != nullptr && ever_published_) js_->DropPendingPublishes();
  // Seq_cst: ordered before the loads of callbacks_ below, against the
  // callbacks' increment before their load of closing_ (Dekker).
  closing_.store(true, std::memory_order_seq_cst);
  while (callbacks_.load(std::memory_order_seq_cst) != 0) {
    std::this_thread::yield();
  }
  js_.reset();
  connection_.reset();
}

bool SinkCore::Enter() noexcept {
  // Seq_cst: see the destructor.
  callbacks_.fetch_add(1, std::memory_order_seq_cst);
  if (closing_.load(std::memory_order_seq_cst)) {
    Leave();
    return false;
  }
  return true;
}

void SinkCore::Leave() noexcept {
  // Release: our writes to this object happen before the destructor's
  // load that sees the count drop (it reads seq_cst).
  callbacks_.fetch_sub(1, std::memory_order_release);
}

absl::StatusOr<std::unique_ptr<SinkCore>> SinkCore::Create(
    const bridge::BridgeOptions& options, std::string ring_id, uint64_t epoch) {
  RINGFLOW_RETURN_IF_ERROR(bridge::ValidateBridgeOptions(options, true));
  if (ring_id.empty() || ring_id.find(':') != std::string::npos ||
      ring_id.size() > 48) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ring id '", ring_id, "' must be 1 to 48 characters without ':'"));
  }
  std::unique_ptr<SinkCore> core(new SinkCore(options));
  core->ids_ = std::make_unique<bridge::MsgIdFormatter>(ring_id, epoch);
  core->expect_ids_ = std::make_unique<bridge::MsgIdFormatter>(ring_id, epoch);
  core->handler_.on_ack = &SinkCore::OnAck;
  core->handler_.on_error = &SinkCore::OnError;
  core->handler_.closure = core.get();
  // nats.c never holds more than one window: a rewind drops its list.
  core->handler_.max_pending = 2 * options.window + 16;
  RINGFLOW_ASSIGN_OR_RETURN(core->connection_, bridge::NatsConnection::Connect(
                                                   options, &core->counters_));
  RINGFLOW_ASSIGN_OR_RETURN(
      core->js_,
      bridge::JetStream::Create(*core->connection_, options.request_timeout,
                                &core->handler_));
  RINGFLOW_RETURN_IF_ERROR(core->js_->GetStream(options.stream).status());
  core->max_payload_ = core->connection_->max_payload();
  core->reconnect_epoch_ = core->connection_->reconnect_epoch();
  return core;
}

absl::StatusOr<int64_t> SinkCore::LastStored() {
  RINGFLOW_ASSIGN_OR_RETURN(
      std::optional<bridge::StoredMessageId> last,
      js_->LastMessageId(options_.stream, options_.subject));
  if (!last.has_value()) return -1;
  const std::optional<bridge::ParsedMsgId> parsed =
      bridge::ParseMsgId(last->id);
  if (!parsed.has_value()) return -1;
  // Ours when the id starts with our "<ring>:<epoch>:" prefix.
  if (last->id.compare(0, ids_->prefix().size(), ids_->prefix()) != 0) {
    return -1;
  }
  return parsed->sequence;
}

void SinkCore::Start(int64_t next, bool chained) noexcept {
  next_send_ = next;
  next_ack_ = next;
  start_ = next;
  start_chained_ = chained;
  chained_ = chained;
  for (int64_t i = 0; i < window_; ++i) {
    // Relaxed: nothing is in flight yet, so no callback writes these.
    acked_[i].store(-1, std::memory_order_relaxed);
  }
}

SinkCore::SendResult SinkCore::Publish(int64_t sequence, const char* data,
                                       size_t size) noexcept {
  if (!HasRoom()) return SendResult::kBlocked;
  if (retry_at_ns_ != 0) {
    // After a rewind: the first re-send waits out the backoff, so a
    // cluster electing a leader is not flooded with doomed publishes.
    if (core_internal::CoarseMonotonicNanos() < retry_at_ns_) {
      return SendResult::kBlocked;
    }
    retry_at_ns_ = 0;
  }
  const char* id = ids_->Format(sequence);
  const int64_t id_length = static_cast<int64_t>(std::strlen(id));
  if (static_cast<int64_t>(size) + HeaderBytes(id_length) > max_payload_) {
    SetFatal(absl::InvalidArgumentError(absl::StrCat(
        "event ", sequence, " of ring id '", ids_->prefix(), "' encodes to ",
        size, " bytes (", size + HeaderBytes(id_length),
        " with its headers), more than the server's max_payload ", max_payload_,
        " bytes (", connection_->servers(), ", subject '", options_.subject,
        "')")));
    return SendResult::kRejected;
  }
  jsPubOptions o;
  jsPubOptions_Init(&o);
  o.MsgId = id;
  if (options_.strict_order && chained_) {
    o.ExpectLastMsgId = expect_ids_->Format(sequence - 1);
  }
  const natsStatus s = js_PublishAsync(js_->get(), options_.subject.c_str(),
                                       data, static_cast<int>(size), &o);
  if (s != NATS_OK) {
    counters_.AddErrors();
    if (s == NATS_MAX_PAYLOAD) {
      SetFatal(absl::InvalidArgumentError(absl::StrCat(
          "event ", sequence, " (", size, " bytes) was refused by ",
          connection_->servers(), " as larger than its max_payload ",
          max_payload_, " bytes (subject '", options_.subject, "')")));
      return SendResult::kRejected;
    }
    // Disconnected with a full reconnect buffer, or nats.c's pending list
    // full: try again after the backoff, not in a tight loop.
    retry_at_ns_ = core_internal::CoarseMonotonicNanos() + backoff_ns_;
    backoff_ns_ = std::min(2 * backoff_ns_, kMaxBackoffNs);
    return SendResult::kBlocked;
  }
  ever_published_ = true;
  sent_ns_[static_cast<size_t>(sequence & mask_)] =
      core_internal::CoarseMonotonicNanos();
  next_send_ = sequence + 1;
  chained_ = true;
  counters_.AddPublished();
  counters_.SetInFlight(next_send_ - next_ack_);
  return SendResult::kSent;
}

int64_t SinkCore::Progress() noexcept {
  const int64_t before = next_ack_;
  // Acquire: pairs with the CAS-max release in OnAck.
  while (next_ack_ < next_send_ &&
         acked_[next_ack_ & mask_].load(std::memory_order_acquire) >=
             next_ack_) {
    ++next_ack_;
  }
  if (next_ack_ != before) {
    backoff_ns_ = kMinBackoffNs;
    wrong_last_rewinds_ = 0;
  }
  counters_.SetInFlight(next_send_ - next_ack_);
  if (next_ack_ < next_send_) {
    // Relaxed: the flag only triggers a re-send; acks that came with it
    // are read above with acquire.
    const int64_t failed = failed_min_.load(std::memory_order_relaxed);
    const uint64_t epoch = connection_->reconnect_epoch();
    const int64_t oldest = sent_ns_[static_cast<size_t>(next_ack_ & mask_)];
    if (failed < next_send_ || epoch != reconnect_epoch_ ||
        core_internal::CoarseMonotonicNanos() - oldest >
            absl::ToInt64Nanoseconds(options_.ack_timeout)) {
      reconnect_epoch_ = epoch;
      // Relaxed: a hint from OnError; the stream is asked below.
      if (wrong_last_.exchange(false, std::memory_order_relaxed)) {
        ++wrong_last_rewinds_;
      }
      if (wrong_last_rewinds_ >= kReconcileAfter) {
        wrong_last_rewinds_ = 0;
        Reconcile();
      }
      Rewind();
    }
  } else {
    reconnect_epoch_ = connection_->reconnect_epoch();
    // Relaxed: nothing in flight; a stale error concerns acked messages.
    failed_min_.store(INT64_MAX, std::memory_order_relaxed);
  }
  return next_ack_ - 1;
}

void SinkCore::Reconcile() noexcept {
  // Cold path (a request to the stream): the chain keeps failing, so the
  // stream's last message on the subject is not the one acked last.
  absl::StatusOr<int64_t> last = LastStored();
  if (absl::IsNotFound(last.status())) return SetFatal(last.status());
  if (!last.ok()) return;  // the cluster is away: the next rewinds retry
  const int64_t acked = next_ack_ - 1;
  if (*last >= next_send_) {
    SetFatal(absl::FailedPreconditionError(absl::StrCat(
        "stream '", options_.stream, "' holds event ", *last, " of ring id '",
        ids_->prefix(), "' on subject '", options_.subject,
        "', which this sink never published (it sent up to ", next_send_ - 1,
        "): another ring with the same name and epoch publishes there")));
  } else if (*last >= next_ack_) {
    // Stored, their acks lost: move on past them.
    next_ack_ = *last + 1;
    start_ = next_ack_;
    start_chained_ = true;
  } else if (*last < acked) {
    SetFatal(absl::DataLossError(absl::StrCat(
        "stream '", options_.stream, "' acknowledged events up to ", acked,
        " of ring id '", ids_->prefix(), "' but its last on subject '",
        options_.subject, "' is now ",
        *last < 0 ? std::string("none of this ring's")
                  : absl::StrCat("event ", *last),
        ": the stream lost acknowledged messages (or another ring publishes "
        "to this subject)")));
  }
}

void SinkCore::Rewind() noexcept {
  // Only with something in flight (Progress), so after a publish: see the
  // destructor.
  js_->DropPendingPublishes();
  // Relaxed: see Progress; errors for the dropped publishes that race with
  // this store cause one more rewind, never a loss.
  failed_min_.store(INT64_MAX, std::memory_order_relaxed);
  next_send_ = next_ack_;
  retry_at_ns_ = core_internal::CoarseMonotonicNanos() + backoff_ns_;
  backoff_ns_ = std::min(2 * backoff_ns_, kMaxBackoffNs);
  // The stream holds next_ack_ - 1 when it was acked, or when the window
  // began chained and nothing was acked since.
  chained_ = next_ack_ > start_ || start_chained_;
  counters_.SetInFlight(0);
}

void SinkCore::Wait(int64_t timeout_ns) noexcept {
  // Acquire: pairs with Notify's release increment.
  const uint32_t seen = progress_.load(std::memory_order_acquire);
  if (next_ack_ < next_send_ &&
      // Acquire: as in Progress.
      acked_[next_ack_ & mask_].load(std::memory_order_acquire) >= next_ack_) {
    return;
  }
  core_internal::FutexWait(&progress_, seen, timeout_ns);
}

void SinkCore::Notify() noexcept {
  // Release: the ack stored before this is visible to a loop that wakes on
  // the new value (Wait's acquire load).
  progress_.fetch_add(1, std::memory_order_release);
  core_internal::FutexWake(&progress_, 1);
}

std::optional<int64_t> SinkCore::SequenceOf(natsMsg* msg) noexcept {
  const char* id = nullptr;
  if (natsMsgHeader_Get(msg, "Nats-Msg-Id", &id) != NATS_OK || id == nullptr) {
    return std::nullopt;
  }
  const std::optional<bridge::ParsedMsgId> parsed = bridge::ParseMsgId(id);
  if (!parsed.has_value()) return std::nullopt;
  return parsed->sequence;
}

void SinkCore::OnAck(void* closure, natsMsg* msg, bool duplicate,
                     uint64_t /*stream_sequence*/) {
  auto* self = static_cast<SinkCore*>(closure);
  if (!self->Enter()) return;
  const std::optional<int64_t> seq = SequenceOf(msg);
  if (!seq.has_value()) return self->Leave();
  self->counters_.AddAcked();
  if (duplicate) self->counters_.AddDuplicates();
  std::atomic<int64_t>& slot = self->acked_[*seq & self->mask_];
  // Relaxed first read: the CAS below decides.
  int64_t seen = slot.load(std::memory_order_relaxed);
  // Release: pairs with Progress's acquire load (an ack seen there is this
  // callback's decision, nothing else rides on it). CAS-max: a late ack of
  // an older lap never lowers the slot.
  while (seen < *seq &&
         !slot.compare_exchange_weak(seen, *seq, std::memory_order_release,
                                     std::memory_order_relaxed)) {
  }
  self->Notify();
  self->Leave();
}

void SinkCore::OnError(void* closure, natsMsg* msg, int status, int code,
                       const char* text) {
  auto* self = static_cast<SinkCore*>(closure);
  if (!self->Enter()) return;
  self->counters_.AddErrors();
  const std::optional<int64_t> seq = SequenceOf(msg);
  if (code == kMessageTooLarge) {
    self->SetFatal(absl::InvalidArgumentError(
        absl::StrCat("stream '", self->options_.stream, "' refused event ",
                     seq.value_or(-1), " (", natsMsg_GetDataLength(msg),
                     " bytes) as larger than its max_msg_size: ", text)));
  }
  (void)status;
  if (code == kWrongLastMsgId) {
    // Expected once after a loss (the rewind re-sends); when it keeps
    // coming, Progress asks the stream (Reconcile). Relaxed: a hint.
    self->wrong_last_.store(true, std::memory_order_relaxed);
  }
  if (seq.has_value()) {
    // Relaxed (load and CAS-min): the loop only re-sends on it (Progress);
    // no data rides on it.
    int64_t seen = self->failed_min_.load(std::memory_order_relaxed);
    while (*seq < seen && !self->failed_min_.compare_exchange_weak(
                              seen, *seq, std::memory_order_relaxed)) {
    }
  }
  self->Notify();
  self->Leave();
}

void SinkCore::SetFatal(absl::Status status) {
  std::lock_guard<std::mutex> lock(fatal_mu_);
  if (fatal_.ok()) fatal_ = std::move(status);
  // Relaxed: the mutex orders the status itself.
  has_fatal_.store(true, std::memory_order_relaxed);
}

absl::Status SinkCore::fatal() const {
  // Relaxed: a hint; the status is read under the mutex.
  if (!has_fatal_.load(std::memory_order_relaxed)) return absl::OkStatus();
  std::lock_guard<std::mutex> lock(fatal_mu_);
  return fatal_;
}

}  // namespace ringflow::bridge_internal
