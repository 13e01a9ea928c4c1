// ringflow/core/byte_reader.h
//
// Provides `ByteReader`, one broadcast reader of a ByteRing, and
// `ReadClaim`, a zero-copy view of one record in the ring.
//
//   absl::StatusOr<ByteReader> reader = ring->RegisterReader("journal");
//   while (reader->Wait().ok()) {
//     reader->ReadBatch([](std::span<const std::byte> record,
//                          int64_t position, bool end_of_batch) { ... });
//   }
//
// Every reader sees every record committed after its start, in claim
// order, and holds its own position (a Sequence of bytes read) that gates
// the producers like a consumer sequence gates a RingBuffer: the slowest
// reader limits how far producers may claim. Padding and aborted records
// are passed silently and counted (skipped_bytes). A reader registered with
// ReaderStart::kLatest sees the records claimed after RegisterReader
// returned; with kOldest also those still in the ring that the slowest
// reader has not released (with no other reader: that no claim has reused).
// Both start where a kOldest reader would; a kLatest reader passes the
// older records, undelivered, on its first read (until then it gates the
// producers there).
//
// Reads are in place: TryRead gives a ReadClaim over the record's bytes,
// which releases the record (advances the reader's position) when
// destroyed; ReadBatch hands every available record to a handler and
// releases once at the end. While a record is held, producers cannot
// overwrite it, so hold it briefly.
//
// Who calls what: one thread at a time per reader (a reader may be moved to
// another thread). A ReadClaim must not outlive its reader, and a reader
// holds at most one at a time. Readers must be destroyed before their ring.
//
// Memory ordering: a record's bytes are read after an acquire load of its
// header, which pairs with the producer's release commit; the reader's
// position is stored with release when records are released, which pairs
// with the producers' gating loads, so no byte is overwritten while read.

#ifndef RINGFLOW_CORE_BYTE_READER_H_
#define RINGFLOW_CORE_BYTE_READER_H_

#include <time.h>

#include <atomic>
#include <cassert>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/time/time.h"
#include "ringflow/core/config.h"
#include "ringflow/core/internal/blocking_wait_strategy.h"
#include "ringflow/core/internal/byte_ring_counters.h"
#include "ringflow/core/internal/byte_ring_state.h"
#include "ringflow/core/internal/consumer_table.h"
#include "ringflow/core/internal/monotonic_clock.h"
#include "ringflow/core/internal/record_header.h"
#include "ringflow/core/internal/record_probe.h"
#include "ringflow/core/internal/sleeping_wait_strategy.h"
#include "ringflow/core/internal/yielding_wait_strategy.h"
#include "ringflow/core/ring_options.h"
#include "ringflow/core/wait_result.h"

namespace ringflow {

class ByteRing;
class ByteReader;
namespace core_internal {
struct ByteReaderAccess;
}  // namespace core_internal

// Where a new reader starts (ByteRing::RegisterReader).
enum class ReaderStart : uint8_t {
  kLatest,  // the records claimed after RegisterReader returns
  kOldest,  // also every record still held for the slowest reader
};

// A record being read in place. Move-only; releases the record (and any
// skip records before it) when destroyed or on Release().
class ReadClaim {
 public:
  ReadClaim(ReadClaim&& other) noexcept
      : reader_(std::exchange(other.reader_, nullptr)),
        data_(other.data_),
        position_(other.position_),
        next_(other.next_),
        skipped_(other.skipped_) {}
  ReadClaim& operator=(ReadClaim&& other) noexcept {
    if (this != &other) {
      Release();
      reader_ = std::exchange(other.reader_, nullptr);
      data_ = other.data_;
      position_ = other.position_;
      next_ = other.next_;
      skipped_ = other.skipped_;
    }
    return *this;
  }
  ReadClaim(const ReadClaim&) = delete;
  ReadClaim& operator=(const ReadClaim&) = delete;
  ~ReadClaim() { Release(); }

  // The record's payload, in the ring. Valid until released.
  std::span<const std::byte> operator*() const noexcept { return data_; }
  const std::span<const std::byte>* operator->() const noexcept {
    return &data_;
  }
  std::span<const std::byte> data() const noexcept { return data_; }
  // The record's position in the ring (its header's byte position).
  int64_t position() const noexcept { return position_; }

  // Releases the record now: the reader moves past it and producers may
  // reuse its bytes. No-op when already released. Wait-free.
  void Release() noexcept;

 private:
  friend class ByteReader;

  ReadClaim(ByteReader* reader, std::span<const std::byte> data,
            int64_t position, int64_t next, int64_t skipped) noexcept
      : reader_(reader),
        data_(data),
        position_(position),
        next_(next),
        skipped_(skipped) {}

  ByteReader* reader_;  // null once released or moved from
  std::span<const std::byte> data_;
  int64_t position_;
  int64_t next_;     // the position after the record
  int64_t skipped_;  // skip bytes passed before it
};

class ByteReader {
 public:
  ByteReader(ByteReader&& other) noexcept = default;
  ByteReader& operator=(ByteReader&& other) noexcept = default;
  ByteReader(const ByteReader&) = delete;
  ByteReader& operator=(const ByteReader&) = delete;
  // Frees the reader's slot: it stops gating the producers.
  ~ByteReader() { assert(!reading_ && "a ReadClaim outlives its ByteReader"); }

  // The next record, read in place, or empty when none is committed at the
  // reader's position yet (skip records before it are passed and released).
  // Reader thread. Never waits. Never allocates.
  std::optional<ReadClaim> TryRead() noexcept {
    assert(!reading_ && "one ReadClaim at a time per reader");
    int64_t position = position_;
    int64_t skipped = 0;
    Record record;
    if (!NextRecord(position, record, skipped)) {
      if (position != position_) Release(position, 0, 0, skipped);
      return std::nullopt;
    }
    reading_ = true;
    return ReadClaim(this, record.data, record.position, record.next, skipped);
  }

  // Calls handler(std::span<const std::byte> record, int64_t position,
  // bool end_of_batch) for every record available now (at most one lap),
  // then releases them all with one store. Returns the number of records.
  // If the handler throws, the records before the one that threw are
  // released and the exception propagates; that record is delivered again
  // by the next call. Reader thread. Never allocates.
  template <typename Handler>
  requires std::invocable < Handler&, std::span<const std::byte>, int64_t,
  bool > int64_t ReadBatch(Handler&& handler) noexcept(
             std::is_nothrow_invocable_v<Handler&, std::span<const std::byte>,
                                         int64_t, bool>) {
    assert(!reading_ && "ReadBatch while a ReadClaim is held");
    int64_t position = position_;
    int64_t skipped = 0;
    Record record;
    if (!NextRecord(position, record, skipped)) {
      if (position != position_) Release(position, 0, 0, skipped);
      return 0;
    }
    // Releases what was handled when the handler throws.
    struct Unwind {
      ByteReader* reader;
      const Record* record;
      const int64_t* count;
      const int64_t* bytes;
      const int64_t* skipped;
      bool armed = true;
      ~Unwind() {
        if (armed) reader->Release(record->position, *count, *bytes, *skipped);
      }
    };
    int64_t count = 0;
    int64_t bytes = 0;
    Unwind unwind{this, &record, &count, &bytes, &skipped};
    for (;;) {
      Record next;
      int64_t after = record.next;
      int64_t skipped_after = 0;
      const bool more = NextRecord(after, next, skipped_after);
      handler(record.data, record.position, !more);
      ++count;
      bytes += static_cast<int64_t>(record.data.size());
      skipped += skipped_after;
      if (!more) {
        unwind.armed = false;
        Release(after, count, bytes, skipped);
        return count;
      }
      record = next;
    }
  }

  // Waits until a record can be read (passing skip records), with the
  // ring's wait strategy. kAvailable (with `available` = the record's
  // position); kAlerted when the ring was halted and nothing is left to
  // read; kTimeout from the kTimeoutBlocking strategy after its
  // wait_timeout. Reader thread. Never allocates; sleeps in the kernel only
  // with the blocking strategies.
  WaitResult Wait() noexcept {
    const core_internal::RecordProbe<core_internal::ByteRingState> probe(
        ring_, alert_.get());
    for (;;) {
      if (Ready()) return WaitResult::Available(position_);
      if (alert_->IsSet()) return WaitResult::Alerted();
      const WaitResult result =
          ring_->wait_strategy().WaitFor(position_, probe, ring_->alert());
      if (!result.ok()) return result;
    }
  }

  // As Wait, but gives up after `timeout` (kTimeout), whatever the
  // strategy. Reader thread. Never allocates.
  WaitResult WaitFor(absl::Duration timeout) noexcept {
    const int64_t now = core_internal::MonotonicNanos();
    const int64_t limit = absl::ToInt64Nanoseconds(timeout);
    const int64_t deadline =
        limit > INT64_MAX / 4 ? INT64_MAX / 2 : now + limit;
    for (;;) {
      if (Ready()) return WaitResult::Available(position_);
      if (alert_->IsSet()) return WaitResult::Alerted();
      const int64_t remaining = deadline - core_internal::MonotonicNanos();
      if (remaining <= 0) return WaitResult::Timeout();
      const WaitResult result = WaitOnce(remaining);
      if (result.status == WaitStatus::kAlerted) return result;
    }
  }

  // Makes Wait / WaitFor return kAlerted (no record is skipped) until
  // ClearAlert, waking a sleeping Wait: how a processor that runs this
  // reader stops it. Any thread. One syscall with a blocking strategy.
  void Alert() noexcept {
    // Seq_cst Set, then the wake: a sleeper re-reads the flag (through the
    // probe, seq_cst) after registering, or the wake bumps its epoch.
    alert_->Set();
    ring_->wait_strategy().WakeAll();
  }
  void ClearAlert() noexcept { alert_->Clear(); }

  // The position of the next record to read (bytes released so far).
  // Reader thread.
  int64_t position() const noexcept { return position_; }
  const std::string& name() const noexcept { return handle_.name(); }
  // The reader's slot: its gating position (the reader stores it with
  // release after each batch; read it with LoadAcquire) and its consumer
  // counters (what a RecordProcessor on this reader reports through).
  const Sequence& sequence() const noexcept { return handle_.sequence(); }
  core_internal::ConsumerCounters consumer_counters() const noexcept {
    return handle_.counters();
  }

  // Statistics (any thread; relaxed).
  uint64_t records_read() const noexcept { return counters_->records(); }
  uint64_t bytes_read() const noexcept { return counters_->bytes(); }
  uint64_t skipped_bytes() const noexcept { return counters_->skipped_bytes(); }

 private:
  friend class ByteRing;
  friend class ReadClaim;
  friend struct core_internal::ByteReaderAccess;

  struct Record {
    int64_t position = 0;
    int64_t next = 0;
    std::span<const std::byte> data;
  };

  // `start`: the slot's initial position; records before `discard_below`
  // (a kLatest reader's start) are passed without being delivered.
  ByteReader(core_internal::ByteRingState* ring,
             core_internal::ConsumerHandle handle, int64_t start,
             int64_t discard_below)
      : ring_(ring),
        handle_(std::move(handle)),
        position_(start),
        discard_below_(discard_below),
        counters_(std::make_unique<core_internal::ByteReaderCounters>()),
        alert_(std::make_unique<core_internal::AlertFlag>()) {}

  // Walks from `position` past skip records (adding their sizes to
  // `skipped`) and discarded records to the next data record: true and the
  // record in `out` (`position` = its position), or false with `position`
  // past whatever could be passed. Reader thread. Wait-free (at most one
  // lap of headers).
  bool NextRecord(int64_t& position, Record& out,
                  int64_t& skipped) const noexcept {
    for (;;) {
      // Acquire: pairs with the commit's release (or seq_cst) store of this
      // word (ByteRingState::StoreCommit): the record's bytes, and the
      // headers inside its claim, are visible once its header is.
      const uint64_t word =
          ring_->HeaderAt(position).load(std::memory_order_acquire);
      if (!core_internal::RecordHeader::IsCommittedFor(
              word, ring_->LapOf(position))) {
        return false;
      }
      // A shared ring's buffer is not trusted: a header whose length does
      // not fit stops the reader there (SharedByteReader reports it).
      if (RINGFLOW_UNLIKELY(ring_->checks_records()) &&
          !ring_->CheckedRecord(position, word)) {
        return false;
      }
      const int64_t length = core_internal::RecordHeader::Length(word);
      if (core_internal::RecordHeader::IsSkip(word)) {
        if (position >= discard_below_) skipped += length;
        position += length;
        continue;
      }
      const int64_t next = position + core_internal::RecordSize(length);
      if (RINGFLOW_UNLIKELY(position < discard_below_)) {
        position = next;
        continue;
      }
      out.position = position;
      out.next = next;
      out.data = {ring_->PayloadAt(position), static_cast<size_t>(length)};
      return true;
    }
  }

  // Passes leading skip records; true when a data record is next.
  bool Ready() noexcept {
    int64_t position = position_;
    int64_t skipped = 0;
    Record record;
    const bool found = NextRecord(position, record, skipped);
    if (position != position_) Release(position, 0, 0, skipped);
    return found;
  }

  // Moves the reader to `position` and lets producers reuse what is below.
  void Release(int64_t position, int64_t records, int64_t bytes,
               int64_t skipped) noexcept {
    position_ = position;
    reading_ = false;
    counters_->OnRelease(records, bytes, skipped);
    // Release: the reader is done with every byte below `position`. Pairs
    // with the producers' gating scan (ConsumerTable::MinimumSequence,
    // seq_cst loads) before they overwrite those bytes.
    handle_.sequence().StoreRelease(position);
  }

  // One bounded wait with the ring's strategy (at most `remaining_ns`).
  WaitResult WaitOnce(int64_t remaining_ns) const noexcept {
    const core_internal::RecordProbe<core_internal::ByteRingState> probe(
        ring_, alert_.get());
    const WaitStrategy& strategy = ring_->wait_strategy();
    const core_internal::AlertFlag& alert = ring_->alert();
    switch (strategy.kind()) {
      case WaitStrategyKind::kBlocking:
      case WaitStrategyKind::kTimeoutBlocking:
        return core_internal::BlockingWaitFor(position_, probe, alert,
                                              *strategy.signal(), remaining_ns);
      case WaitStrategyKind::kYielding:
        return core_internal::YieldingWaitStrategy(remaining_ns)
            .WaitFor(position_, probe, alert);
      case WaitStrategyKind::kBusySpin:
      case WaitStrategyKind::kSleeping:
        break;
    }
    // Busy-spin and sleeping: their loops, with the deadline checked every
    // 64 turns (sleeping naps after its spin and yield phases).
    const bool sleeps = strategy.kind() == WaitStrategyKind::kSleeping;
    const int64_t deadline = core_internal::MonotonicNanos() + remaining_ns;
    for (int turn = 0;; ++turn) {
      // Acquire: pairs with the commit's release store of the header word
      // (RecordProbe, ByteRingState::StoreCommit).
      if (probe.Published(position_, std::memory_order_acquire) >= position_) {
        return WaitResult::Available(position_);
      }
      if (alert.IsSet()) return WaitResult::Alerted();
      if ((turn & 63) == 0 && core_internal::MonotonicNanos() >= deadline) {
        return WaitResult::Timeout();
      }
      if (sleeps && turn >= core_internal::SleepingWaitStrategy::kSpinTries) {
        const struct timespec ts {
          0, core_internal::SleepingWaitStrategy::kSleepNanos
        };
        nanosleep(&ts, nullptr);
      } else {
        CpuRelax();
      }
    }
  }

  core_internal::ByteRingState* ring_;
  core_internal::ConsumerHandle handle_;  // the slot; its sequence gates
  int64_t position_;       // next record; the value last released
  int64_t discard_below_;  // kLatest start: records below are not delivered
  bool reading_ = false;   // a ReadClaim is held
  // Heap-allocated so statistics readers keep a stable address across moves.
  std::unique_ptr<core_internal::ByteReaderCounters> counters_;
  // This reader's own alert (Alert), heap-allocated for the same reason:
  // another thread may set it while the reader moves.
  std::unique_ptr<core_internal::AlertFlag> alert_;
};

inline void ReadClaim::Release() noexcept {
  if (reader_ == nullptr) return;
  std::exchange(reader_, nullptr)
      ->Release(next_, 1, static_cast<int64_t>(data_.size()), skipped_);
}

namespace core_internal {

// How a ring other than ByteRing (shm::SharedByteRing, shm::SharedByteReader)
// makes a ByteReader over its ByteRingState and a reader slot of its own.
struct ByteReaderAccess {
  static ByteReader Make(ByteRingState* ring, ConsumerHandle handle,
                         int64_t start, int64_t discard_below) {
    return ByteReader(ring, std::move(handle), start, discard_below);
  }
};

}  // namespace core_internal
}  // namespace ringflow

#endif  // RINGFLOW_CORE_BYTE_READER_H_
