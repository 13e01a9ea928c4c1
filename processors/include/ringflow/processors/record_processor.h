// ringflow/processors/record_processor.h
//
// Provides `RecordProcessor<H>` and the `RecordHandler<H>` concept: runs one
// handler over every record of a ByteRing (core/byte_ring.h), on the thread
// that calls Run(), as BatchEventProcessor does over the events of a
// RingBuffer. It owns one ByteReader, waits for records with the ring's
// wait strategy, hands the handler every record available at once
// (ByteReader::ReadBatch) and releases them with one store per batch.
//
//   struct Journal {
//     void OnRecord(std::span<const std::byte> record, int64_t position,
//                   bool end_of_batch) noexcept;
//   };
//   auto p = RecordProcessor<Journal>::Create(*ring, journal);
//   std::thread t([&] { (*p)->Run(); });
//   ...
//   (*p)->Halt(); t.join();
//
// A handler is any type with
//
//   void OnRecord(std::span<const std::byte> record, int64_t position,
//                 bool end_of_batch);
//
// and, optionally (detected at compile time, called on the static type),
//
//   void OnStart();                    // processor thread, first
//   void OnShutdown();                 // processor thread, last
//   void OnBatchStart(int64_t position);  // before each batch; the position
//                                         // of its first record
//
// The record's bytes are the ring's own: valid until OnRecord returns for
// the last record of the batch (end_of_batch), not after.
//
// Exceptions from OnRecord go to the ExceptionPolicy (exception_policy.h):
//   kHalt            status() names the record's position; the records
//                    before it are consumed, the failing one is not (the
//                    reader's position() is the failing record's position).
//   kLogAndContinue  one line on stderr, counted; the record is consumed.
//   kRewind          the failing record (and only it: the records before it
//                    in the batch are already released) is delivered again,
//                    at most max_rewinds times in a row, then kHalt.
// A handler whose OnRecord is noexcept compiles without any try block.
// Exceptions from OnStart, OnShutdown and OnBatchStart are counted, logged
// and swallowed under every policy (internal/lifecycle_call.h).
//
// There is no max_batch_size: ReadBatch takes every record available (at
// most one lap of the ring) and cannot be capped.
//
// Halt: sets the run state, then alerts the reader (ByteReader::Alert),
// which wakes a Run asleep in its wait; a Run in a batch stops after it.
// Run also returns once the ring is halted (ByteRing::Halt) and every
// committed record has been handled.
//
// Who calls what: Run on one thread (the processor thread; every handler
// callback happens there); Halt, IsRunning, sequence, status,
// exception_count and name from any thread; position() from the processor
// thread, or from any thread after Run returned (joined). The processor
// owns its reader, so it must be destroyed before its ring.
//
// Memory ordering: nothing new here. The reader acquires each record's
// header before reading its bytes (pairs with the producer's commit) and
// stores its position with release after a batch (pairs with the producers'
// gating loads); see core/byte_reader.h. Halt and the run state reuse
// processors_internal::RunState (seq_cst halt flag); the exception count is
// a relaxed statistic.

#ifndef RINGFLOW_PROCESSORS_RECORD_PROCESSOR_H_
#define RINGFLOW_PROCESSORS_RECORD_PROCESSOR_H_

#include <atomic>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "ringflow/core/byte_reader.h"
#include "ringflow/core/byte_ring.h"
#include "ringflow/core/config.h"
#include "ringflow/core/internal/consumer_counters.h"
#include "ringflow/core/internal/consumer_table.h"
#include "ringflow/core/internal/status_macros.h"
#include "ringflow/core/record_reader.h"
#include "ringflow/core/ring_options.h"
#include "ringflow/core/sequence.h"
#include "ringflow/core/wait_result.h"
#include "ringflow/processors/event_handler.h"
#include "ringflow/processors/exception_policy.h"
#include "ringflow/processors/internal/lifecycle_call.h"
#include "ringflow/processors/internal/processor_status.h"
#include "ringflow/processors/internal/run_state.h"
#include "ringflow/processors/internal/type_name.h"

namespace ringflow {

template <typename H>
concept RecordHandler = requires(H& h, std::span<const std::byte> r, int64_t p,
                                 bool b) {
  h.OnRecord(r, p, b);
};

// OnBatchStart(position of the batch's first record). HasOnStart and
// HasOnShutdown come from event_handler.h.
template <typename H>
concept HasOnRecordBatchStart = requires(H& h, int64_t p) {
  h.OnBatchStart(p);
};

template <typename H>
inline constexpr bool kNothrowRecordHandler = noexcept(
    std::declval<H&>().OnRecord(std::declval<std::span<const std::byte>>(),
                                int64_t{0}, true));

struct RecordProcessorOptions {
  ExceptionPolicy exception_policy;
  // Label for logs, errors and metrics, and the reader's name when Create
  // registers it (see ValidateName); defaults to the handler's type name.
  // The ring makes it unique (#2, #3...). CreateOnReader takes the
  // reader's name.
  std::string name;
};

// `R` is the reader the processor runs on (the RecordReader concept):
// ByteReader (the default: a reader of a ByteRing or shm::SharedByteRing,
// owned by the processor), or shm::SharedByteReader::ProcessorView (a
// reader in another process; shm::CreateRecordProcessor builds it).
template <typename H, typename R = ByteReader>
requires RecordHandler<H> && RecordReader<R>
class RecordProcessor {
 public:
  // Registers a reader on `ring` (ByteRing, shm::SharedByteRing: any ring
  // whose RegisterReader gives a ByteReader; starting at `start`) and
  // builds the processor over it. `handler` must outlive the processor.
  // Setup path.
  template <typename Ring>
  requires std::same_as<R, ByteReader> && requires(Ring& ring) {
    {
      ring.RegisterReader(std::string_view(), ReaderStart::kLatest)
      } -> std::same_as<absl::StatusOr<ByteReader>>;
  }
  static absl::StatusOr<std::unique_ptr<RecordProcessor>> Create(
      Ring& ring, H& handler, RecordProcessorOptions options = {},
      ReaderStart start = ReaderStart::kLatest) {
    RINGFLOW_RETURN_IF_ERROR(Validate(options));
    if (options.name.empty()) {
      options.name = SanitizeName(processors_internal::TypeName<H>());
    }
    RINGFLOW_ASSIGN_OR_RETURN(ByteReader reader,
                              ring.RegisterReader(options.name, start));
    return CreateOnReader(std::move(reader), handler, std::move(options));
  }

  // As Create, on a reader the caller registered (and may have read from):
  // the processor goes on from the reader's position and takes its name.
  // Setup path.
  static absl::StatusOr<std::unique_ptr<RecordProcessor>> CreateOnReader(
      ByteReader reader, H& handler,
      RecordProcessorOptions options = {}) requires
      std::same_as<R, ByteReader> {
    const Sequence& sequence = reader.sequence();
    const core_internal::ConsumerCounters counters = reader.consumer_counters();
    return CreateOn(std::move(reader), sequence, counters, handler,
                    std::move(options));
  }

  // The general form: `reader` (moved in), the gating Sequence its reads
  // release (the processor's sequence()) and the consumer counters of its
  // slot, both outliving the processor. Takes the reader's name.
  static absl::StatusOr<std::unique_ptr<RecordProcessor>> CreateOn(
      R reader, const Sequence& sequence,
      core_internal::ConsumerCounters counters, H& handler,
      RecordProcessorOptions options = {}) {
    RINGFLOW_RETURN_IF_ERROR(Validate(options));
    options.name = reader.name();  // made unique by the ring
    return std::unique_ptr<RecordProcessor>(new RecordProcessor(
        std::move(reader), sequence, counters, handler, std::move(options)));
  }

  RecordProcessor(const RecordProcessor&) = delete;
  RecordProcessor& operator=(const RecordProcessor&) = delete;

  // Processes records until Halt(), the exception policy halts, or the ring
  // is halted and drained. Returns at once if already running or halted.
  // Never allocates per record (only when a handler throws).
  void Run() {
    processors_internal::RunProcessor(
        state_, handler_, Lifecycle(), [&] { reader_.ClearAlert(); },
        [&] { Loop(); });
  }

  // Stops Run after the current batch, or at once when it waits (the
  // reader's alert wakes it). Thread-safe.
  void Halt() noexcept {
    state_.Halt();
    reader_.Alert();
  }

  bool IsRunning() const noexcept { return state_.IsRunning(); }

  // The reader's gating position (bytes released), any thread: read it
  // with LoadAcquire.
  const Sequence& sequence() const noexcept { return sequence_; }
  // The position of the next record to handle. Processor thread, or any
  // thread after Run returned.
  int64_t position() const noexcept { return reader_.position(); }
  const R& reader() const noexcept { return reader_; }
  const std::string& name() const noexcept { return options_.name; }

  // OK, or the error that made the exception policy halt the processor.
  absl::Status status() const { return status_.status(); }
  // Exceptions the handler threw (any policy, any callback). Relaxed read.
  uint64_t exception_count() const noexcept {
    return status_.exception_count();
  }

 private:
  RecordProcessor(R reader, const Sequence& sequence,
                  core_internal::ConsumerCounters counters, H& handler,
                  RecordProcessorOptions options)
      : reader_(std::move(reader)),
        sequence_(sequence),
        counters_(counters),
        handler_(handler),
        options_(std::move(options)) {}

  static absl::Status Validate(const RecordProcessorOptions& options) {
    if (options.exception_policy.action == ExceptionAction::kRewind &&
        options.exception_policy.max_rewinds < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("max_rewinds ", options.exception_policy.max_rewinds,
                       " must be at least 1 for ExceptionAction::kRewind"));
    }
    return absl::OkStatus();
  }

  void Loop() {
    int rewinds = 0;  // kRewind: deliveries of the same failing record
    while (!state_.IsHalted()) {
      const WaitResult result = reader_.Wait();
      if (RINGFLOW_LIKELY(result.ok())) {
        // A data record is next (Wait passed the skip records before it).
        if constexpr (HasOnRecordBatchStart<H>) {
          processors_internal::CallLifecycle(Lifecycle(), "OnBatchStart", [&] {
            handler_.OnBatchStart(result.available);
          });
        }
        if (!ProcessBatch(rewinds)) return;  // the policy halted us
      } else if (result.status == WaitStatus::kAlerted) {
        // Halt alerted the reader, or the ring was halted and everything
        // is read.
        state_.Halt();
        return;
      }
      // kTimeout (kTimeoutBlocking's wait_timeout): check for Halt.
    }
  }

  // Handles every available record. False when the exception policy halted
  // the processor.
  bool ProcessBatch(int& rewinds) {
    if constexpr (kNothrowRecordHandler<H>) {
      const int64_t n = reader_.ReadBatch(
          [this](std::span<const std::byte> record, int64_t position,
                 bool end_of_batch) noexcept {
            handler_.OnRecord(record, position, end_of_batch);
          });
      counters_.OnBatch(n, n);
      return true;
    } else {
      int64_t current = reader_.position();  // the record being handled
      int64_t handled = 0;
      try {
        int64_t n;
        if (options_.exception_policy.action ==
            ExceptionAction::kLogAndContinue) {
          n = reader_.ReadBatch([&](std::span<const std::byte> record,
                                    int64_t position, bool end_of_batch) {
            current = position;
            try {
              handler_.OnRecord(record, position, end_of_batch);
            } catch (...) {
              CountException();
              processors_internal::LogHandlerException(
                  options_.name, position,
                  processors_internal::CurrentExceptionMessage(), "skipped");
            }
            ++handled;
          });
        } else {
          n = reader_.ReadBatch([&](std::span<const std::byte> record,
                                    int64_t position, bool end_of_batch) {
            current = position;
            handler_.OnRecord(record, position, end_of_batch);
            ++handled;
          });
        }
        counters_.OnBatch(n, n);
        rewinds = 0;
        return true;
      } catch (...) {
        // ReadBatch released the records before `current`; it is next.
        CountException();
        const std::string what = processors_internal::CurrentExceptionMessage();
        const ExceptionPolicy& policy = options_.exception_policy;
        if (policy.action == ExceptionAction::kRewind &&
            rewinds < policy.max_rewinds) {
          ++rewinds;
          processors_internal::LogHandlerException(options_.name, current, what,
                                                   "retrying record");
          if (handled > 0) counters_.OnBatch(handled, handled);
          return true;
        }
        processors_internal::LogHandlerException(options_.name, current, what,
                                                 "halting");
        // Count what the handler was handed, the failing record included.
        counters_.OnBatch(handled + 1, handled + 1);
        HaltOnError(current, what);
        return false;
      }
    }
  }

  void CountException() noexcept {
    status_.CountException();
    counters_.OnException();
  }

  void HaltOnError(int64_t failed, const std::string& what) {
    status_.Fail(absl::AbortedError(absl::StrCat(
        "handler '", options_.name, "' threw at record position ", failed, ": ",
        what, "; processor halted with its reader at position ", failed)));
    state_.Halt();
  }

  // What CallLifecycle needs to report a throwing lifecycle callback.
  processors_internal::LifecycleSink Lifecycle() noexcept {
    return {options_.name, sequence_, status_, counters_};
  }

  R reader_;                  // used by the processor thread only
  const Sequence& sequence_;  // the reader's slot; written by reader_
  core_internal::ConsumerCounters
      counters_;  // the slot's; written by the processor thread
  H& handler_;
  RecordProcessorOptions options_;
  processors_internal::RunState state_;
  processors_internal::ProcessorStatus status_;  // error + exception count
};

}  // namespace ringflow

#endif  // RINGFLOW_PROCESSORS_RECORD_PROCESSOR_H_
