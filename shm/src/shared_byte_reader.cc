// SharedByteReader: attach, waits with liveness (shared_byte_reader.h).
#include "ringflow/shm/shared_byte_reader.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ringflow/core/internal/status_macros.h"
#include "ringflow/core/wait_result.h"

namespace ringflow::shm {

absl::StatusOr<std::unique_ptr<SharedByteReader>> SharedByteReader::Attach(
    std::string_view ring, const SharedByteReaderOptions& options) {
  if (options.heartbeat_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "heartbeat_interval ", absl::FormatDuration(options.heartbeat_interval),
        " must be positive"));
  }
  shm_internal::RingIdentity identity;
  identity.event_size = 1;
  identity.event_alignment = static_cast<uint32_t>(kByteRecordAlignment);
  identity.kind = shm_internal::RingKind::kBytes;
  shm_internal::AttachOptions attach;
  attach.expected = &identity;
  attach.timeout = options.attach_timeout;
  attach.trusted_uids = options.trusted_uids;
  attach.trusted_gids = options.trusted_gids;
  RINGFLOW_ASSIGN_OR_RETURN(std::unique_ptr<shm_internal::Control> control,
                            shm_internal::Control::Attach(ring, attach));
  const int64_t timeout_ns = control->geometry().consumer_timeout_ns;
  const int64_t heartbeat_ns =
      absl::ToInt64Nanoseconds(options.heartbeat_interval);
  if (2 * heartbeat_ns > timeout_ns) {
    return absl::InvalidArgumentError(absl::StrCat(
        "heartbeat_interval ", absl::FormatDuration(options.heartbeat_interval),
        " is more than half of byte ring '", std::string(ring),
        "''s consumer_timeout ",
        absl::FormatDuration(absl::Nanoseconds(timeout_ns)),
        ": the producer would evict this reader while it is idle"));
  }
  const ByteRingOptions view = shm_internal::ByteOptionsFor(
      *control, control->geometry().wait_strategy, heartbeat_ns);
  auto reader = std::unique_ptr<SharedByteReader>(
      new SharedByteReader(std::move(control), view, heartbeat_ns));
  RINGFLOW_ASSIGN_OR_RETURN(
      shm_internal::ByteReaderJoin join,
      shm_internal::JoinByteReader(*reader->control_, options.name,
                                   options.start));
  reader->slot_ = join.handle.index();
  reader->consumer_counters_ = join.handle.counters();
  // Relaxed: written by this thread's join.
  reader->generation_ = reader->control_->slot(reader->slot_)
                            .generation.load(std::memory_order_relaxed);
  reader->reader_.emplace(core_internal::ByteReaderAccess::Make(
      reader->view_.get(), std::move(join.handle), join.start,
      join.discard_below));
  return reader;
}

SharedByteReader::SharedByteReader(
    std::unique_ptr<shm_internal::Control> control,
    const ByteRingOptions& view_options, int64_t heartbeat_ns)
    : control_(std::move(control)),
      no_readers_{nullptr,
                  [](const void*, int64_t default_value) noexcept {
                    return default_value;
                  },
                  nullptr},
      heartbeat_ns_(heartbeat_ns) {
  core_internal::ByteRingParts parts =
      shm_internal::ByteRingPartsFor(*control_, &no_readers_);
  parts.check_records = true;
  view_ = std::make_unique<core_internal::ByteRingState>(view_options, parts);
}

ConsumerState SharedByteReader::state() noexcept {
  if (Evicted()) return ConsumerState::kEvicted;
  if (Damaged()) return ConsumerState::kHalted;
  MaybeBeat();
  MaybeCheckProducer();
  return producer_alive_ ? ConsumerState::kOk : ConsumerState::kProducerGone;
}

absl::Status SharedByteReader::status() const {
  if (!Damaged()) return absl::OkStatus();
  return absl::DataLossError(absl::StrCat(
      "byte ring '", control_->ring_name(), "': the record header at position ",
      view_->damaged_at(),
      " does not fit the ring (its data segment was rewritten); reader '",
      reader_->name(), "' stopped there"));
}

WaitResult SharedByteReader::ProcessorView::Wait() noexcept {
  switch (owner_->AwaitRecord(owner_->heartbeat_ns_)) {
    case ConsumerState::kOk:
      return WaitResult::Available(owner_->position());
    case ConsumerState::kTimeout:
    case ConsumerState::kProducerGone:
      return WaitResult::Timeout();
    case ConsumerState::kEvicted:
    case ConsumerState::kStopped:
    case ConsumerState::kHalted:
      break;
  }
  return WaitResult::Alerted();
}

ConsumerState SharedByteReader::AwaitRecord(int64_t timeout_ns) noexcept {
  const int64_t deadline = core_internal::MonotonicNanos() +
                           std::min<int64_t>(timeout_ns, INT64_MAX / 4);
  for (;;) {
    if (Evicted()) return ConsumerState::kEvicted;
    if (Damaged()) return ConsumerState::kHalted;
    MaybeBeat();
    const int64_t left = deadline - core_internal::MonotonicNanos();
    // One bounded wait of the ring's strategy: at most a heartbeat
    // interval, never past the deadline.
    const WaitResult result = reader_->WaitFor(
        absl::Nanoseconds(std::max<int64_t>(0, std::min(left, heartbeat_ns_))));
    if (result.ok()) {
      if (Damaged()) return ConsumerState::kHalted;
      return ConsumerState::kOk;
    }
    // A header that does not fit stops the reader (the wait saw it
    // committed but the read refused it).
    if (Damaged()) return ConsumerState::kHalted;
    if (result.status == WaitStatus::kAlerted) return ConsumerState::kStopped;
    // Relaxed gate read (IsHalted): the ring's halt, seen across processes.
    if (control_->gate().IsHalted()) return ConsumerState::kStopped;
    // Nothing to read within the slice: is anyone still writing?
    last_check_ns_ = 0;
    MaybeCheckProducer();
    if (!producer_alive_) return ConsumerState::kProducerGone;
    if (core_internal::MonotonicNanos() >= deadline) {
      return ConsumerState::kTimeout;
    }
  }
}

void SharedByteReader::MaybeBeat() noexcept {
  const int64_t now = core_internal::CoarseMonotonicNanos();
  if (now - last_beat_ns_ < heartbeat_ns_) return;
  last_beat_ns_ = now;
  // Relaxed: a liveness statistic read by the producer's eviction check.
  control_->slot(slot_).heartbeat_ns.store(now, std::memory_order_relaxed);
}

void SharedByteReader::MaybeCheckProducer() noexcept {
  const int64_t now = core_internal::CoarseMonotonicNanos();
  // While the producer is gone every call looks again (one fcntl), so a
  // restarted producer shows at once.
  if (producer_alive_ && last_check_ns_ != 0 &&
      now - last_check_ns_ < heartbeat_ns_) {
    return;
  }
  last_check_ns_ = now;
  producer_alive_ = control_->ProducerAlive();
}

bool SharedByteReader::Evicted() const noexcept {
  // Acquire: pairs with the producer's eviction CAS (acq_rel).
  return control_->slot(slot_).state.load(std::memory_order_acquire) !=
         shm_internal::ConsumerSlot::Word(generation_,
                                          shm_internal::ConsumerSlot::kActive);
}

}  // namespace ringflow::shm
