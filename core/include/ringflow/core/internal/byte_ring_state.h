// ringflow/core/internal/byte_ring_state.h
//
// Provides `ByteRingState`: the storage and the claim / commit / gating
// algorithms of a ByteRing (byte_ring.h). WriteClaim commits through it and
// ByteReader reads through it; ByteRing is its public face.
//
// Positions are byte offsets that only grow (int64); the buffer offset is
// `position & (capacity - 1)`. A claim covers [start, end):
//
//   start            record                       end
//   | padding (skip) | header | payload | pad to 8 | next header ...
//   `-- only when the record would cross the end of the buffer:
//       then record = the next lap's first byte
//
// Claiming (producers):
//   kSingle: plain arithmetic on producer-local state; the gating minimum is
//     cached and readers are re-read only when the ring looks full.
//   kMulti: CAS of the tail from `start` to `end` with the pending mark
//     (bit 0; positions are multiples of 8), then the clear below, then a
//     release store of `end`: other producers wait while the mark is set
//     (two stores, unless the claimer is preempted right there). A failed
//     CAS retries with the tail it read. No fetch_add: the claim must first
//     know whether the record needs padding and whether it fits.
//   A claim fits when end - gating <= capacity - 8, where gating is the
//   lowest reader position: the 8 bytes of slack keep the header word at
//   `end` out of every reader's way (see Clearing).
//
// Committing: the record's header is stored last, with one release store
// (seq_cst plus WakeIfWaiters when readers may sleep); the commit never
// waits. A record after padding is stored first and the padding header
// last, so a reader never passes the padding before the record behind it
// is complete. A short commit stores a skip record over the unused tail of
// the claim before the header; an abort (or a claim destroyed without
// commit) turns the whole record into a skip record. Readers walk records
// in claim order: a claimed but uncommitted record stalls every reader
// behind it, so claim, write and commit in one tight sequence.
//
// Clearing (why no stale byte is ever read as a header): readers never
// write the buffer, so a word at a record boundary may still hold bytes of
// an earlier lap: a header (its lap tag does not match, RecordHeader) or
// payload, which can hold any bits. So a claim clears the header word at
// its `end` (the next record's header) at claim time, while nobody else
// may touch that word: no reader (the 8-byte slack) and no producer (kSingle:
// there is none; kMulti: the pending mark keeps the next claim from
// starting until the clear is done, and the tail's release store orders
// the clear before that claim's commit). A reader reaches a boundary only
// after acquiring the header before it, whose commit follows the clear, so
// it reads 0 or the new header. (Reading the word before the CAS instead,
// to clear it only when needed, would race with the payload writes of a
// producer whose claim won the CAS and covers that word.)
//
// No readers: the producers are still gated, by `floor_`, a position below
// which every record is committed and released. With no reader registered,
// a producer that finds the ring full drains it: under a try-lock it walks
// the committed records from floor_ and raises floor_ past them (records
// nobody reads are dropped; an uncommitted claim is never lapped). A reader
// that joins starts at floor_ when it is alone (JoinReader: the kOldest
// late-joiner handshake); joins and reader exits take the same lock,
// so a drain never runs while a reader joins, and a reader that leaves last
// raises floor_ to its position.
//
// Storage (ByteRingParts): the buffer and the shared words (tail, floor,
// drain lock, kMulti cached gating, gate, wake-up signal, counters) are
// the state's own for an in-process ByteRing, or live in a shared-memory
// ring's control and data segments (shm::SharedByteRing, and the read-only
// view a SharedByteReader builds in a consumer process). The reader set is
// the state's ConsumerTable in process; a shared ring's slot table
// (ExternalReaders) otherwise, whose joins and exits the shm side runs with
// the same drain-lock protocol, and whose OnStall lets a producer that
// waits for room have dead readers evicted. A shared ring also stamps each
// claim (RecordHeader::Pending) so a restarted producer can tell a dead
// producer's unfinished claims apart and turn them into skip records
// (RecoverClaims).
//
// Who calls what:
//   TryClaim/ClaimUntil       producer threads (one thread for kSingle)
//   Commit/Abort              the thread holding the WriteClaim
//   JoinReader                setup, any thread
//   HeaderAt/LapOf/PayloadAt  readers (ByteReader) and producers
//   Close/Halt, statistics    any thread
//
// Memory ordering (user terms): everything a producer writes into its claim
// happens before a reader that sees the record's header reads it (release
// commit / acquire load). A reader's release of its position happens before
// any producer overwrites those bytes (seq_cst gating loads, which acquire).

#ifndef RINGFLOW_CORE_INTERNAL_BYTE_RING_STATE_H_
#define RINGFLOW_CORE_INTERNAL_BYTE_RING_STATE_H_

#include <algorithm>
#include <atomic>
#include <bit>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ringflow/core/byte_ring_options.h"
#include "ringflow/core/config.h"
#include "ringflow/core/internal/byte_ring_counters.h"
#include "ringflow/core/internal/consumer_table.h"
#include "ringflow/core/internal/monotonic_clock.h"
#include "ringflow/core/internal/producer_backoff.h"
#include "ringflow/core/internal/producer_gate.h"
#include "ringflow/core/internal/record_header.h"
#include "ringflow/core/internal/wait_probe.h"
#include "ringflow/core/internal/wakeup_signal.h"
#include "ringflow/core/sequence.h"
#include "ringflow/core/wait_strategy.h"

namespace ringflow::core_internal {

// Where a claim put its record (positions, see the diagram above).
struct ClaimLayout {
  int64_t start = 0;   // first byte claimed: the padding header, if any
  int64_t record = 0;  // the record's header
  int64_t end = 0;     // one past the claim: the next record's header
  int64_t length = 0;  // payload bytes claimed
};

// A reader set kept outside the state (a shared ring's slot table): the
// producers' gating scan and, while a claim waits for room, a stall report
// (may be null). Both called on the producers' slow path only.
struct ExternalReaders {
  const void* owner = nullptr;
  // Lowest position over the gating readers, or `default_value`.
  int64_t (*minimum)(const void* owner,
                     int64_t default_value) noexcept = nullptr;
  void (*on_stall)(const void* owner, int64_t wrap_point,
                   uint32_t tries) noexcept = nullptr;
};

// Where a ByteRingState keeps what other processes may share (see
// "Storage" above). Every pointer must outlive the state.
struct ByteRingParts {
  std::byte* buffer = nullptr;  // capacity bytes, 8-aligned, zeroed at first
  Sequence* tail = nullptr;
  Sequence* floor = nullptr;
  std::atomic<uint32_t>* drain_lock = nullptr;  // 0: free
  Sequence* cached_gating = nullptr;            // kMulti
  ProducerGate* gate = nullptr;
  WakeupSignal* signal = nullptr;
  ByteRingCounters* counters = nullptr;
  const ExternalReaders* readers = nullptr;
  // What this process stores in the drain lock while it holds it (its pid,
  // so a lock left by a dead process can be told apart).
  uint32_t lock_tag = 1;
  // Write a pending stamp into each claim's first header word.
  bool stamp_claims = false;
  // Readers check every committed header before they trust its length
  // (CheckedRecord): a shared ring's buffer may be rewritten by any process
  // that can open it.
  bool check_records = false;
};

// What RecoverClaims found.
struct RecoveredClaims {
  int64_t records = 0;  // unfinished claims turned into skip records
  int64_t bytes = 0;    // their bytes
};

// Why a waiting claim returned.
enum class ClaimStatus : uint8_t {
  kClaimed,
  kBadLength,  // negative or above MaxByteRecordSize
  kClosed,     // the ring was closed before the claim started
  kHalted,     // the ring was halted while the claim waited
  kTimedOut,   // no room by the deadline; nothing was claimed
};

// The Status of a timed claim that returned `status` (not kClaimed): ring
// `ring_name` closed or halted (FailedPrecondition), no room within
// `timeout` (DeadlineExceeded), or a bad `length` (InvalidArgument naming
// it and the ring's maximum). ByteRing's and shm::SharedByteRing's timed
// Claim. Allocates (an error path).
absl::Status ClaimFailure(ClaimStatus status, std::string_view ring_name,
                          int64_t length, absl::Duration timeout,
                          int64_t capacity);

class ByteRingState {
 public:
  // ClaimUntil without a deadline.
  static constexpr int64_t kNoDeadline = INT64_MAX;

  // An in-process ring: the state owns its buffer and shared words.
  // `options` must be valid (ValidateByteRingOptions).
  explicit ByteRingState(const ByteRingOptions& options)
      : ByteRingState(options, ByteRingParts{}) {}

  // A ring over `parts` (a shared-memory ring): a null member of `parts`
  // is the state's own. `options` must be valid and match the storage.
  ByteRingState(const ByteRingOptions& options, const ByteRingParts& parts)
      : options_(options),
        capacity_(options.capacity),
        mask_(options.capacity - 1),
        usable_(options.capacity - kByteRecordHeaderSize),
        max_record_size_(MaxByteRecordSize(options.capacity)),
        lap_shift_(std::countr_zero(static_cast<uint64_t>(options.capacity))),
        single_(options.producer_type == ProducerType::kSingle),
        stamp_(parts.stamp_claims),
        check_(parts.check_records),
        lock_tag_(parts.lock_tag),
        wait_(options.wait_strategy,
              parts.signal != nullptr ? parts.signal : &own_.signal,
              absl::ToInt64Nanoseconds(options.wait_timeout)),
        wake_(wait_.NeedsWakeup()),
        external_(parts.readers),
        readers_(parts.readers != nullptr ? 1 : options.max_readers,
                 options.name, nullptr),
        own_counters_(options.counters, !single_),
        counters_(parts.counters != nullptr ? parts.counters : &own_counters_),
        tail_(parts.tail != nullptr ? parts.tail : &own_.tail),
        floor_(parts.floor != nullptr ? parts.floor : &own_.floor),
        drain_lock_(parts.drain_lock != nullptr ? parts.drain_lock
                                                : &own_.drain.lock),
        cached_gating_(parts.cached_gating != nullptr ? parts.cached_gating
                                                      : &own_.cached_gating),
        gate_(parts.gate != nullptr ? parts.gate : &own_.gate),
        signal_(parts.signal != nullptr ? parts.signal : &own_.signal) {
    if (parts.buffer != nullptr) {
      buffer_ = parts.buffer;
      // A resumed ring: the single producer goes on from the shared tail
      // (RecoverClaims clears a pending mark first). Relaxed: no producer
      // runs yet; the creator's or recoverer's stores came before ours.
      local_.tail = tail_->LoadRelaxed() & ~kPending;
      return;
    }
    // One false-sharing range on each side, so no neighbouring allocation
    // shares the buffer's first or last lines. Zeroed: 0 is "not committed".
    raw_ = static_cast<std::byte*>(::operator new (
        AllocationBytes(), std::align_val_t{kFalseSharingRange}));
    std::memset(raw_, 0, AllocationBytes());
    buffer_ = raw_ + kFalseSharingRange;
  }

  ~ByteRingState() {
    // Unsized aligned delete, as RingBufferStorage (clang without
    // -fsized-deallocation).
    if (raw_ != nullptr) {
      ::operator delete (raw_, std::align_val_t{kFalseSharingRange});
    }
  }

  ByteRingState(const ByteRingState&) = delete;
  ByteRingState& operator=(const ByteRingState&) = delete;

  // ---- geometry ------------------------------------------------------------

  int64_t capacity() const noexcept { return capacity_; }
  int64_t max_record_size() const noexcept { return max_record_size_; }
  const ByteRingOptions& options() const noexcept { return options_; }

  uint32_t LapOf(int64_t position) const noexcept {
    return static_cast<uint32_t>(position >> lap_shift_);
  }
  // The header word of the record at `position` (8-aligned).
  std::atomic_ref<uint64_t> HeaderAt(int64_t position) const noexcept {
    return std::atomic_ref<uint64_t>(
        *reinterpret_cast<uint64_t*>(buffer_ + (position & mask_)));
  }
  // The first payload byte of the record whose header is at `record`.
  std::byte* PayloadAt(int64_t record) const noexcept {
    return buffer_ + (record & mask_) + kByteRecordHeaderSize;
  }

  // Whether readers must check headers (CheckedRecord) before use.
  bool checks_records() const noexcept { return check_; }
  // Shared rings: whether the committed `word` at `position` describes a
  // record that fits the buffer (a data record of at most
  // max_record_size() payload bytes that does not cross the buffer's end;
  // a skip record of a positive multiple of 8 bytes, at most the
  // capacity). If not, records the position (damaged_at) and returns
  // false: the reader stops there. Reader thread.
  bool CheckedRecord(int64_t position, uint64_t word) const noexcept {
    const int64_t length = RecordHeader::Length(word);
    const bool fits =
        RecordHeader::IsSkip(word)
            ? length >= kByteRecordAlignment &&
                  length % kByteRecordAlignment == 0 && length <= capacity_
            : length <= max_record_size_ &&
                  (position & mask_) + RecordSize(length) <= capacity_;
    if (!fits) damaged_at_ = position;
    return fits;
  }
  // The position of the first header CheckedRecord refused, or -1.
  int64_t damaged_at() const noexcept { return damaged_at_; }

  // ---- producers -----------------------------------------------------------

  // Claims a record of `length` payload bytes if there is room now; never
  // waits for room (kMulti: spins while another claim is pending). False
  // when there is none (counted as a failure) or the ring is closed.
  // `length` must be in [0, max_record_size()]. Producer threads. Never
  // allocates.
  template <bool kCountFailure = true>
  bool TryClaim(int64_t length, ClaimLayout& out) noexcept {
    if (RINGFLOW_UNLIKELY(!gate_->IsOpen())) return false;
    const bool claimed =
        single_ ? TryClaimSingle(length, out) : TryClaimMulti(length, out);
    if constexpr (kCountFailure) {
      if (RINGFLOW_UNLIKELY(!claimed)) counters_->OnTryClaimFailure();
    }
    return claimed;
  }

  // ClaimUntil with a deadline `timeout` from now (the timed Claim of
  // ByteRing and shm::SharedByteRing). Saturating: a timeout too large to
  // add to the clock is no deadline, never an overflow.
  ClaimStatus ClaimWithin(int64_t length, absl::Duration timeout,
                          ClaimLayout& out) noexcept {
    const int64_t now = MonotonicNanos();
    const int64_t limit = absl::ToInt64Nanoseconds(timeout);
    return ClaimUntil(length,
                      limit > INT64_MAX - now ? kNoDeadline : now + limit, out);
  }

  // Claims a record of `length` payload bytes, waiting for room with the
  // producer backoff (spin, yield, nap) until `deadline_ns`
  // (MonotonicNanos; kNoDeadline: none). A claim that started before Close
  // keeps waiting; Halt makes it give up. Producer threads. Never
  // allocates; reads the clock between retries only with a deadline.
  ClaimStatus ClaimUntil(int64_t length, int64_t deadline_ns,
                         ClaimLayout& out) noexcept {
    if (length < 0 || length > max_record_size_) {
      return ClaimStatus::kBadLength;
    }
    if (!gate_->IsOpen()) return ClaimStatus::kClosed;
    if (single_ ? TryClaimSingle(length, out) : TryClaimMulti(length, out)) {
      return ClaimStatus::kClaimed;
    }
    counters_->OnFullWait();
    ProducerBackoff backoff;
    for (;;) {
      if (gate_->IsHalted()) return ClaimStatus::kHalted;
      if (deadline_ns != kNoDeadline && MonotonicNanos() >= deadline_ns) {
        return ClaimStatus::kTimedOut;
      }
      backoff.Pause();
      if (external_ != nullptr && external_->on_stall != nullptr) {
        // A shared ring: readers below the wrap point hold us back; have
        // the dead ones evicted (out.end is the failed claim's end).
        external_->on_stall(external_->owner, out.end - usable_,
                            backoff.tries());
      }
      if (single_ ? TryClaimSingle(length, out) : TryClaimMulti(length, out)) {
        return ClaimStatus::kClaimed;
      }
    }
  }

  // Commits the first `length` bytes of `claim` (length <= claim.length):
  // a data record, then a skip record over the rest of the claim. The
  // thread holding the claim. Wait-free. Never allocates.
  void Commit(const ClaimLayout& claim, int64_t length) noexcept {
    const uint32_t lap = LapOf(claim.record);
    const int64_t used = RecordSize(length);
    const int64_t unused = claim.end - claim.record - used;
    if (unused > 0) {
      // Relaxed: a header inside this claim, published by the release (or
      // seq_cst) store of the record's header in StoreCommit, which readers
      // acquire before they walk past the record to this word.
      HeaderAt(claim.record + used)
          .store(RecordHeader::Skip(lap, unused), std::memory_order_relaxed);
    }
    counters_->OnCommit(length, unused);
    Publish(claim, RecordHeader::Data(lap, length));
  }

  // Turns `claim` into a skip record. As Commit.
  void Abort(const ClaimLayout& claim) noexcept {
    const int64_t size = claim.end - claim.record;
    counters_->OnAbort(size);
    Publish(claim, RecordHeader::Skip(LapOf(claim.record), size));
  }

  // The claimed frontier: every claim so far ends at or below it (a claim
  // in its pending step counts as claimed). Any thread. Acquire: pairs with
  // the producers' tail stores.
  int64_t ClaimedPosition() const noexcept {
    return tail_->LoadAcquire() & ~kPending;
  }

  // Lowest position a producer must not lap (readers' minimum, or floor_
  // when there are none). Any thread; for statistics and tests.
  int64_t GatingPosition() noexcept { return Gating(/*drain=*/false); }

  // ---- readers -------------------------------------------------------------

  // Takes a reader slot starting at the oldest record still protected:
  // the lowest position another reader holds, or floor_ when there is none.
  // The handle's sequence holds the starting position. InvalidArgument for
  // a bad name, ResourceExhausted when max_readers slots are taken.
  // Thread-safe (setup path; joins are serialised by the drain lock).
  //
  // The late-joiner handshake (ConsumerTable::Join's kOldest protocol, with
  // floor_ standing in for "no other reader"): every load and store below
  // is seq_cst, and the slot set cannot change meanwhile (reader exits and
  // drains take the same lock).
  //  1. Placeholder P0 = OthersMinimum (floor_ when alone), stored before
  //     the slot turns active (Register): a scan that sees the slot uses P0
  //     or the final start, both at or below what we read from.
  //  2. After Register incremented the table's join count, the start is
  //     S = max(P0, OthersMinimum again). A producer scan that left us out
  //     and did not retry finished its loads before that increment, so it
  //     saw each other reader at or below what we read now (positions only
  //     grow), and a reader it missed joined after it, at or above its
  //     result by this same argument; with no reader in it, it used a
  //     floor_ value read before the scan, at or below our reload of
  //     floor_. So S is at or above every gating value a producer used
  //     without us: nothing at or after S was overwritten.
  //
  // In-process rings only (a shared ring's readers join through its slot
  // table, shm_internal::JoinByteReader, with the same protocol).
  absl::StatusOr<ConsumerHandle> JoinReader(std::string_view name) {
    assert(external_ == nullptr && "a shared ring's readers join in shm");
    LockDrain();
    // Seq_cst floor_ loads: see step 2 above.
    const int64_t placeholder = OthersMinimum(-1, floor_->LoadSeqCst());
    absl::StatusOr<int> index = readers_.Register(placeholder, name);
    if (index.ok()) {
      const int64_t start =
          std::max(placeholder, OthersMinimum(*index, floor_->LoadSeqCst()));
      // Seq_cst: the slot's final start (step 2); only ever raises P0.
      readers_.sequence(*index).StoreSeqCst(start);
    }
    UnlockDrain();
    if (!index.ok()) return index.status();
    return ConsumerHandle(
        this,
        [](void* owner, int i, uint32_t) noexcept {
          static_cast<ByteRingState*>(owner)->RetireReader(i);
        },
        *index, &readers_.sequence(*index), readers_.counters(*index),
        readers_.name(*index));
  }

  const ConsumerTable& readers() const noexcept { return readers_; }
  const WaitStrategy& wait_strategy() const noexcept { return wait_; }
  const AlertFlag& alert() const noexcept { return alert_; }
  const ByteRingCounters& counters() const noexcept { return *counters_; }

  // ---- life cycle ----------------------------------------------------------

  void Close() noexcept { gate_->Close(); }
  // Close, claims waiting for room give up, and readers waiting for a
  // record return kAlerted once nothing is left to read.
  void Halt() noexcept {
    gate_->Halt();
    alert_.Set();
    wait_.WakeAll();
  }
  bool IsClosed() const noexcept { return !gate_->IsOpen(); }
  bool IsHalted() const noexcept { return gate_->IsHalted(); }

  // ---- shared rings
  // ----------------------------------------------------------

  // A restarted producer's recovery of a shared ring whose producer died:
  // walks from the gating position (the lowest reader, or the floor) to the
  // tail. Committed records are passed; a stamped, uncommitted claim
  // (RecordHeader::Pending) becomes a skip record of its size; an unstamped
  // 0 word below the tail can only be the last claim of a kMulti producer
  // that died in its claim step (the tail still has its pending mark), and
  // becomes a skip record up to the tail (so does a word that is neither,
  // which only a foreign write can leave). Then the word at the tail is
  // cleared, the pending mark dropped, the recovered claims counted and
  // sleeping readers woken. Call before any producer of this process runs,
  // while no producer of any process runs (the caller holds the ring's
  // producer lock). Bounded by one lap.
  RecoveredClaims RecoverClaims() noexcept {
    RecoveredClaims recovered;
    // Acquire: pairs with the dead producer's tail stores (a process that
    // died wrote them before; the lock hand-over is a syscall anyway).
    const int64_t tail = tail_->LoadAcquire() & ~kPending;
    int64_t position = Gating(/*drain=*/false);
    if (position > tail || tail - position > capacity_) position = tail;
    while (position < tail) {
      const uint32_t lap = LapOf(position);
      // Acquire: pairs with commits (StoreCommit) of the records passed.
      const uint64_t word = HeaderAt(position).load(std::memory_order_acquire);
      if (RecordHeader::IsCommittedFor(word, lap)) {
        const int64_t length = RecordHeader::Length(word);
        const int64_t next =
            position +
            (RecordHeader::IsSkip(word) ? length : RecordSize(length));
        if (next > position && next <= tail) {
          position = next;
          continue;
        }
      }
      int64_t size = tail - position;
      if (!RecordHeader::IsCommittedFor(word, lap) &&
          RecordHeader::IsPendingFor(word, lap)) {
        const int64_t stamped = RecordHeader::Length(word);
        if (stamped > 0 && stamped % kByteRecordAlignment == 0 &&
            stamped <= tail - position) {
          size = stamped;
        }
      }
      // Seq_cst: a commit like StoreCommit's, which readers acquire (and
      // re-read seq_cst after registering as sleepers); woken below.
      HeaderAt(position).store(RecordHeader::Skip(lap, size),
                               std::memory_order_seq_cst);
      ++recovered.records;
      recovered.bytes += size;
      position += size;
    }
    // Relaxed: the claim that ends at the tail may have died before it
    // cleared this word; the release store of the tail below publishes it
    // to the next claimer.
    HeaderAt(tail).store(0, std::memory_order_relaxed);
    // Seq_cst: drops a dead claimer's pending mark; pairs with the
    // producers' acquire CAS and ClaimedPosition.
    tail_->StoreSeqCst(tail);
    local_.tail = tail;
    counters_->OnRecovered(recovered.records, recovered.bytes);
    signal_->WakeAll();
    return recovered;
  }

  // The drain lock's holder tag (0: free), for a shared ring's checks for a
  // holder that died. Relaxed: a hint; the caller CASes on it.
  uint32_t DrainLockHolder() const noexcept {
    return drain_lock_->load(std::memory_order_relaxed);
  }

 private:
  // When the scan of the reader slots finds none.
  static constexpr int64_t kNoReader = INT64_MAX;
  // kMulti: set in the tail while a claim clears the word at its end.
  static constexpr int64_t kPending = 1;
  static_assert(kPending < kByteRecordAlignment,
                "the pending mark lives in the tail's alignment bits");

  size_t AllocationBytes() const noexcept {
    return static_cast<size_t>(capacity_) + 2 * kFalseSharingRange;
  }

  // Where a claim of `length` bytes starting at `tail` puts its record.
  void Layout(int64_t tail, int64_t length, ClaimLayout& out) const noexcept {
    const int64_t size = RecordSize(length);
    const int64_t offset = tail & mask_;
    out.start = tail;
    out.record = offset + size <= capacity_ ? tail : tail + capacity_ - offset;
    out.end = out.record + size;
    out.length = length;
  }

  bool TryClaimSingle(int64_t length, ClaimLayout& out) noexcept {
    Layout(local_.tail, length, out);
    if (RINGFLOW_UNLIKELY(out.end - local_.cached_gating > usable_)) {
      local_.cached_gating = Gating(/*drain=*/true);
      if (out.end - local_.cached_gating > usable_) return false;
    }
    // Relaxed: clears the next record's header word (see Clearing). Readers
    // reach it only after acquiring this claim's commit, which follows in
    // program order, as does the next claim's commit of that word.
    HeaderAt(out.end).store(0, std::memory_order_relaxed);
    if (stamp_) Stamp(out);
    local_.tail = out.end;
    // Release: pairs with ClaimedPosition (also a kLatest reader's start);
    // publishes no record bytes.
    tail_->StoreRelease(out.end);
    return true;
  }

  // Shared rings: marks the claim's first header word as claimed and not
  // committed (readers see "not committed", as for 0), so a restarted
  // producer knows the claim's size (RecoverClaims). Relaxed: the commit
  // store to the same word follows in program order; a recoverer runs
  // after this process died.
  void Stamp(const ClaimLayout& out) noexcept {
    HeaderAt(out.start).store(
        RecordHeader::Pending(LapOf(out.start), out.end - out.start),
        std::memory_order_relaxed);
  }

  bool TryClaimMulti(int64_t length, ClaimLayout& out) noexcept {
    // Relaxed: the CAS below validates it (and acquires on success).
    int64_t tail = tail_->LoadRelaxed();
    ProducerBackoff pending;
    for (;;) {
      if (RINGFLOW_UNLIKELY(tail & kPending)) {
        // Another claim is clearing the word at its end: two stores away.
        pending.Pause();
        // Relaxed: as above.
        tail = tail_->LoadRelaxed();
        continue;
      }
      Layout(tail, length, out);
      // Acquire: pairs with the release store below by whichever producer
      // refreshed the cache; it read the reader positions with acquire, so
      // trusting its value inherits their "done reading" release.
      int64_t gating = cached_gating_->LoadAcquire();
      if (RINGFLOW_UNLIKELY(out.end - gating > usable_)) {
        gating = Gating(/*drain=*/true);
        // Release: see the acquire load above.
        cached_gating_->StoreRelease(gating);
        if (out.end - gating > usable_) return false;
      }
      // Acq_rel CAS (Sequence::CompareExchange): claims [tail, end) against
      // the other producers and sets the pending mark; acquires the
      // previous claimer's release store of the tail, so its clear of the
      // word at `tail` (our header) happens before our commit. On failure
      // `tail` holds the current value.
      if (tail_->CompareExchange(tail, out.end | kPending)) {
        // Shared rings: the stamp, while the pending mark is set (a claimer
        // that dies before it leaves a 0 word below a pending tail, which
        // RecoverClaims recognises).
        if (stamp_) Stamp(out);
        // Relaxed: the clear (see Clearing). Readers see it through this
        // claim's commit (release, later in program order); the next
        // claimer through the release store just below.
        HeaderAt(out.end).store(0, std::memory_order_relaxed);
        // Release: ends the pending step. Pairs with the next claimer's
        // CAS (acquire), ClaimedPosition, and a kLatest reader's start.
        tail_->StoreRelease(out.end);
        return true;
      }
    }
  }

  // Stores the record's header word (and, for a padded claim, the padding
  // header last).
  void Publish(const ClaimLayout& claim, uint64_t word) noexcept {
    if (claim.record != claim.start) {
      // Relaxed: inside this claim; published by the padding header's
      // release (or seq_cst) store below, the only way readers reach it.
      HeaderAt(claim.record).store(word, std::memory_order_relaxed);
      counters_->OnPadding(claim.record - claim.start);
      StoreCommit(claim.start, RecordHeader::Skip(LapOf(claim.start),
                                                  claim.record - claim.start));
    } else {
      StoreCommit(claim.record, word);
    }
  }

  // The commit: one store of the header word at the start of the claim
  // (cleared by the claim before it, see Clearing).
  void StoreCommit(int64_t position, uint64_t word) noexcept {
    const std::atomic_ref<uint64_t> header = HeaderAt(position);
    if (wake_) {
      // Seq_cst: the store half of the wake-up handshake; pairs with
      // WakeupSignal::Register and the seq_cst re-read of this word in
      // BlockingWaitFor (RecordProbe::Published).
      header.store(word, std::memory_order_seq_cst);
      signal_->WakeIfWaiters();
    } else {
      // Release: makes the record's bytes and the headers inside the claim
      // visible. Pairs with the acquire loads of this word in ByteReader,
      // RecordProbe and Drain.
      header.store(word, std::memory_order_release);
    }
  }

  // The lowest position producers must not lap. `drain`: with no reader,
  // try to raise floor_ past the committed records first.
  int64_t Gating(bool drain) noexcept {
    // Seq_cst, and before the scan: a reader that joins after the scan
    // (and so is missing from it) reloads floor_ seq_cst after turning its
    // slot active (JoinReader, step 2), so it starts at or above the value
    // read here. The scan's seq_cst loads acquire the readers' position
    // releases.
    const int64_t floor = floor_->LoadSeqCst();
    const int64_t readers = ReadersMinimum();
    if (readers != kNoReader) return readers;
    return drain ? Drain(floor) : floor;
  }

  // The gating readers' lowest position, or kNoReader.
  int64_t ReadersMinimum() const noexcept {
    if (external_ != nullptr) {
      return external_->minimum(external_->owner, kNoReader);
    }
    return readers_.MinimumSequence(kNoReader);
  }

  // Gating's slow path with no reader: walks the committed records from
  // floor_ and raises it past them. Another producer draining (or a reader
  // joining or leaving) holds the lock: then `floor` (read before the scan)
  // is the answer. Producer threads. Never allocates; bounded by one lap.
  RINGFLOW_NOINLINE int64_t Drain(int64_t floor) noexcept {
    // Acquire: pairs with the release in UnlockDrain: the previous
    // holder's floor_ store and reader-slot changes are visible.
    if (drain_lock_->exchange(lock_tag_, std::memory_order_acquire) != 0) {
      return floor;
    }
    // Joins take the lock, so a reader that registered before we took it
    // is seen here, and none registers until we release it.
    const int64_t readers = ReadersMinimum();
    if (readers != kNoReader) {
      UnlockDrain();
      return readers;
    }
    // Relaxed: floor_ is only written under the lock, which we hold.
    int64_t position = floor_->LoadRelaxed();
    const int64_t from = position;
    for (;;) {
      // Acquire: pairs with the commit's release store (StoreCommit); the
      // record's claimer cleared the next header before it committed.
      const uint64_t word = HeaderAt(position).load(std::memory_order_acquire);
      if (!RecordHeader::IsCommittedFor(word, LapOf(position))) break;
      const int64_t length = RecordHeader::Length(word);
      position += RecordHeader::IsSkip(word) ? length : RecordSize(length);
    }
    if (position != from) {
      // Seq_cst: read by producers before their scan (Gating) and by a
      // joining reader (under the lock, after we release it).
      floor_->StoreSeqCst(position);
    }
    UnlockDrain();
    return position;
  }

  // A reader's slot is released: it stops gating, and when it was the
  // last, floor_ rises to its position (everything below it is committed:
  // the reader passed it). Setup path (ConsumerHandle release).
  void RetireReader(int index) noexcept {
    LockDrain();
    // Acquire: pairs with the reader's release of its position (the
    // reader may have been moved to this thread).
    const int64_t position = readers_.sequence(index).LoadAcquire();
    // Relaxed: floor_ is only written under the lock, which we hold.
    if (position > floor_->LoadRelaxed()) {
      // Seq_cst: as in Drain; stored before the slot turns free below, so
      // a producer whose scan misses the slot reads this floor or a newer
      // one.
      floor_->StoreSeqCst(position);
    }
    readers_.Unregister(index);
    UnlockDrain();
  }

  // Lowest position of the active readers other than slot `self`, or
  // `fallback` when there is none. Caller holds the drain lock, so the slot
  // set is stable (ForEachActive's acquire loads suffice for the states).
  int64_t OthersMinimum(int self, int64_t fallback) const noexcept {
    int64_t minimum = kNoReader;
    readers_.ForEachActive([&](int index, const Sequence& position) {
      // Seq_cst: compared with the producers' seq_cst scan (JoinReader).
      if (index != self) minimum = std::min(minimum, position.LoadSeqCst());
    });
    return minimum == kNoReader ? fallback : minimum;
  }

  // Joins and reader exits wait for a running drain (bounded: one lap).
  void LockDrain() noexcept {
    ProducerBackoff backoff;
    // Acquire: pairs with the release in UnlockDrain.
    while (drain_lock_->exchange(lock_tag_, std::memory_order_acquire) != 0) {
      backoff.Pause();
    }
  }
  void UnlockDrain() noexcept {
    // Release: publishes floor_ and the slot changes made under the lock.
    // Pairs with the acquire exchanges in Drain and LockDrain.
    drain_lock_->store(0, std::memory_order_release);
  }

  // Read-only after construction.
  const ByteRingOptions options_;
  const int64_t capacity_;
  const int64_t mask_;
  const int64_t usable_;  // capacity less the clearing slack
  const int64_t max_record_size_;
  const int lap_shift_;
  const bool single_;
  const bool stamp_;  // shared rings: stamp claims (Stamp)
  const bool check_;  // shared rings: readers check headers
  // Written by CheckedRecord (the one reader of a consumer process's view).
  mutable int64_t damaged_at_ = -1;
  const uint32_t lock_tag_;      // stored in the drain lock while held
  std::byte* raw_ = nullptr;     // the allocation (in-process rings)
  std::byte* buffer_ = nullptr;  // records: written by producers

  // An in-process ring's shared words (ByteRingParts' defaults). The
  // pointers below address these or a shared ring's.
  struct Own {
    Sequence tail{0};
    Sequence cached_gating{0};
    Sequence floor{0};
    struct alignas(kFalseSharingRange) DrainLock {
      std::atomic<uint32_t> lock{0};
    } drain;
    ProducerGate gate;
    WakeupSignal signal;
  } own_;

  const WaitStrategy wait_;
  const bool wake_;  // commits store seq_cst and wake sleepers
  const ExternalReaders* const external_;  // null: readers_ gate

  ConsumerTable readers_;  // slots written by their readers
  ByteRingCounters own_counters_;
  ByteRingCounters* const counters_;  // written by the producers

  // Read-only after construction: where the shared words are.
  Sequence* const tail_;   // claimed frontier (| kPending): producers
  Sequence* const floor_;  // written under the drain lock only
  // 0: free, else the holder's tag; taken by a drainer, join or exit.
  std::atomic<uint32_t>* const drain_lock_;
  Sequence* const cached_gating_;  // kMulti: written by every producer
  ProducerGate* const gate_;       // written by Close/Halt
  WakeupSignal* const signal_;     // bumped by producers, slept on by readers

  // kSingle: written by the producer thread only.
  struct alignas(kFalseSharingRange) Local {
    int64_t tail = 0;           // the claimed frontier (tail_'s value)
    int64_t cached_gating = 0;  // last gating position seen
  } local_;
  AlertFlag alert_;  // set by Halt
};

static_assert(std::atomic<uint32_t>::is_always_lock_free,
              "the drain lock is a try-lock on the producers' slow path, "
              "also in shared memory");

}  // namespace ringflow::core_internal

#endif  // RINGFLOW_CORE_INTERNAL_BYTE_RING_STATE_H_
