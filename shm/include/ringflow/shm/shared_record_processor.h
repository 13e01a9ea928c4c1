// ringflow/shm/shared_record_processor.h
//
// Provides `shm::CreateRecordProcessor`: a RecordProcessor (processors/
// record_processor.h) over a SharedByteReader, so a process attached to a
// byte ring in shared memory runs the same handlers, exception policies and
// lifecycle callbacks as one on an in-process ByteRing.
//
//   auto reader = shm::SharedByteReader::Attach("journal", {.name = "audit"});
//   auto p = shm::CreateRecordProcessor(**reader, handler);
//   std::thread t([&] { (*p)->Run(); });
//
// The processor runs on the reader's ProcessorView: its waits heartbeat,
// keep waiting while the producer is gone (a restarted producer goes on),
// and end Run once the reader is evicted or the ring is halted. The reader
// must outlive the processor.
//
// Producer-side readers (a SharedByteRing's RegisterReader, in the
// producer's process) take RecordProcessor<H>::Create(ring, handler)
// directly.

#ifndef RINGFLOW_SHM_SHARED_RECORD_PROCESSOR_H_
#define RINGFLOW_SHM_SHARED_RECORD_PROCESSOR_H_

#include <memory>
#include <utility>

#include "absl/status/statusor.h"
#include "ringflow/processors/record_processor.h"
#include "ringflow/shm/shared_byte_reader.h"

namespace ringflow::shm {

template <typename H>
using SharedRecordProcessor =
    RecordProcessor<H, SharedByteReader::ProcessorView>;

// A processor over `reader` (its slot's position and counters) running
// `handler`; both must outlive it. InvalidArgument for a bad option.
template <typename H>
absl::StatusOr<std::unique_ptr<SharedRecordProcessor<H>>> CreateRecordProcessor(
    SharedByteReader& reader, H& handler, RecordProcessorOptions options = {}) {
  return SharedRecordProcessor<H>::CreateOn(
      reader.processor_view(), reader.sequence(), reader.consumer_counters(),
      handler, std::move(options));
}

}  // namespace ringflow::shm

#endif  // RINGFLOW_SHM_SHARED_RECORD_PROCESSOR_H_
