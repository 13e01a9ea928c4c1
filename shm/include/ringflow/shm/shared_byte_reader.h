// ringflow/shm/shared_byte_reader.h
//
// Provides `SharedByteReader`: a reader of a shm::SharedByteRing in another
// process, attached by the ring's name. It reads like a ByteReader
// (TryRead: a zero-copy ReadClaim over a const span in the ring; ReadBatch;
// Wait/WaitFor), every record committed after its start, in claim order,
// and gates the producers with its byte position in the ring's shared slot
// table.
//
//   auto reader = shm::SharedByteReader::Attach("journal", {.name = "tail"});
//   while ((*reader)->Wait() == shm::ConsumerState::kOk) {
//     (*reader)->ReadBatch([](std::span<const std::byte> record,
//                             int64_t position, bool end_of_batch) { ... });
//   }
//
// Attach runs every check of SharedConsumer::Attach (name, owner and trust,
// header validation, the data segment's creation id; the data segment is
// mapped read-only) and refuses an event ring (FailedPrecondition: "it is
// an event ring, not a byte ring"). The record headers themselves are not
// trusted either: a header whose length does not fit the buffer stops the
// reader there, and state() reports kHalted with status() naming the
// position (never a read outside the mapping).
//
// Liveness (as SharedConsumer): reads and waits keep the slot's heartbeat
// fresh; state() is kEvicted once the producer evicted this reader (attach
// again), kProducerGone while no producer runs. A reader waiting at a
// record the dead producer claimed but never committed sees kProducerGone
// from Wait; once a producer resumed the ring (its recovery turns the claim
// into a skip record) the same reader goes on.
//
// Who calls what: one thread at a time (as ByteReader); state() and the
// statistics from that thread. A ReadClaim must not outlive its reader.
//
// Memory ordering: as ByteReader (acquire loads of committed headers pair
// with the producer's release commits; the position's release store pairs
// with the producers' gating scan), across processes.

#ifndef RINGFLOW_SHM_SHARED_BYTE_READER_H_
#define RINGFLOW_SHM_SHARED_BYTE_READER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ringflow/core/byte_reader.h"
#include "ringflow/core/internal/byte_ring_state.h"
#include "ringflow/core/internal/monotonic_clock.h"
#include "ringflow/core/record_reader.h"
#include "ringflow/core/wait_result.h"
#include "ringflow/shm/internal/byte_control.h"
#include "ringflow/shm/internal/control.h"
#include "ringflow/shm/shared_byte_ring_options.h"
#include "ringflow/shm/shared_consumer.h"

namespace ringflow::shm {

class SharedByteReader {
 public:
  // This reader as a RecordReader (core/record_reader.h), for a processor
  // that runs it (RecordProcessor): Wait heartbeats and waits at most one
  // heartbeat interval, and maps the states: kOk -> kAvailable; nothing
  // yet, or no producer (a restarted one goes on) -> kTimeout; evicted,
  // a bad header, the ring halted, or Alert -> kAlerted (state() and
  // status() say which). ReadBatch, Alert, ClearAlert, position and name
  // are the reader's.
  class ProcessorView {
   public:
    WaitResult Wait() noexcept;
    template <typename Handler>
    int64_t ReadBatch(Handler&& handler) {
      return owner_->ReadBatch(std::forward<Handler>(handler));
    }
    void Alert() noexcept { owner_->Alert(); }
    void ClearAlert() noexcept { owner_->ClearAlert(); }
    int64_t position() const noexcept { return owner_->position(); }
    const std::string& name() const noexcept { return owner_->name(); }

   private:
    friend class SharedByteReader;
    explicit ProcessorView(SharedByteReader* owner) noexcept : owner_(owner) {}
    SharedByteReader* owner_;
  };

  // Attaches to byte ring `ring` and takes a reader slot at
  // `options.start`. NotFound (no such ring), FailedPrecondition (not a
  // byte ring, a bad header or data segment), PermissionDenied (untrusted
  // owner), ResourceExhausted (every slot taken), InvalidArgument (a bad
  // name or heartbeat interval), DeadlineExceeded (never became ready).
  static absl::StatusOr<std::unique_ptr<SharedByteReader>> Attach(
      std::string_view ring, const SharedByteReaderOptions& options);

  SharedByteReader(const SharedByteReader&) = delete;
  SharedByteReader& operator=(const SharedByteReader&) = delete;
  // Frees the slot (the floor rises to this reader's position when it was
  // not evicted).
  ~SharedByteReader() = default;

  // kOk, kEvicted, kProducerGone, or kHalted (a record header that does
  // not fit the buffer: status()). One load, plus a check of the producer's
  // liveness lock at most every heartbeat interval (every call while the
  // producer is gone).
  ConsumerState state() noexcept;

  // The next record, in place; empty when none is committed yet, or when
  // the reader was evicted or halted (state()). Never waits. Never
  // allocates.
  std::optional<ReadClaim> TryRead() noexcept {
    if (Evicted()) return std::nullopt;
    MaybeBeat();
    return reader_->TryRead();
  }

  // Every record available now, to handler(std::span<const std::byte>,
  // int64_t position, bool end_of_batch), released with one store (see
  // ByteReader::ReadBatch). 0 when evicted.
  template <typename Handler>
  int64_t ReadBatch(Handler&& handler) {
    if (Evicted()) return 0;
    MaybeBeat();
    return reader_->ReadBatch(std::forward<Handler>(handler));
  }

  // Waits until a record can be read, heartbeating meanwhile. kOk,
  // kEvicted, kProducerGone (nothing to read and no producer: the record
  // at this reader's position may be a dead producer's claim; wait again
  // once a producer runs), kStopped (the ring was halted and nothing is
  // left, or Alert), kHalted (a bad header: status()). Never allocates.
  ConsumerState Wait() noexcept { return AwaitRecord(INT64_MAX / 4); }
  // As Wait, giving up after `timeout` (kTimeout).
  ConsumerState WaitFor(absl::Duration timeout) noexcept {
    return AwaitRecord(absl::ToInt64Nanoseconds(timeout));
  }
  // Makes a waiting Wait return kStopped (ByteReader::Alert). Any thread.
  void Alert() noexcept { reader_->Alert(); }
  void ClearAlert() noexcept { reader_->ClearAlert(); }

  // DataLoss naming the position of a header that does not fit the ring,
  // or OK.
  absl::Status status() const;

  // The position of the next record (bytes released so far).
  int64_t position() const noexcept { return reader_->position(); }
  const std::string& name() const noexcept { return reader_->name(); }
  uint64_t records_read() const noexcept { return reader_->records_read(); }
  uint64_t bytes_read() const noexcept { return reader_->bytes_read(); }
  uint64_t skipped_bytes() const noexcept { return reader_->skipped_bytes(); }

  // The processor view (see ProcessorView), with the slot's gating
  // position and consumer counters below: what a RecordProcessor built on
  // this reader needs. Lives as long as this reader.
  ProcessorView& processor_view() noexcept { return processor_view_; }
  // The ByteReader itself. Reading through it skips this class's heartbeat
  // and eviction checks.
  ByteReader& reader() noexcept { return *reader_; }
  const Sequence& sequence() const noexcept {
    return control_->slot(slot_).sequence;
  }
  core_internal::ConsumerCounters consumer_counters() const noexcept {
    return consumer_counters_;
  }
  // Read-only: the reader writes nothing through it.
  const shm_internal::Control& control() const noexcept { return *control_; }

 private:
  SharedByteReader(std::unique_ptr<shm_internal::Control> control,
                   const ByteRingOptions& view_options, int64_t heartbeat_ns);

  ConsumerState AwaitRecord(int64_t timeout_ns) noexcept;
  void MaybeBeat() noexcept;
  void MaybeCheckProducer() noexcept;
  bool Evicted() const noexcept;
  bool Damaged() const noexcept { return view_->damaged_at() >= 0; }

  std::unique_ptr<shm_internal::Control> control_;
  const core_internal::ExternalReaders no_readers_;  // the view never gates
  // This process's view of the ring: the shared words and the read-only
  // records; it never claims.
  std::unique_ptr<core_internal::ByteRingState> view_;
  std::optional<ByteReader> reader_;  // set by Attach; owns the slot
  int slot_ = -1;
  uint32_t generation_ = 0;
  core_internal::ConsumerCounters consumer_counters_;  // the slot's
  const int64_t heartbeat_ns_;
  int64_t last_beat_ns_ = 0;
  int64_t last_check_ns_ = 0;
  bool producer_alive_ = true;
  ProcessorView processor_view_{this};
};

static_assert(RecordReader<SharedByteReader::ProcessorView>,
              "a RecordProcessor can run a SharedByteReader");

}  // namespace ringflow::shm

#endif  // RINGFLOW_SHM_SHARED_BYTE_READER_H_
