// ringflow/core/record_reader.h
//
// Provides the `RecordReader` concept: what a processor of variable-length
// records (RecordProcessor) needs of the reader it runs: ByteReader (a
// ByteRing's reader), or shm::SharedByteReader::ProcessorView (a reader of
// a byte ring in another process, which heartbeats and watches its
// producer between waits).
//
//   Wait()         blocks until a record can be read: kAvailable (with the
//                  record's position), kAlerted (stop: Alert, a halted
//                  ring, or a reader that can read no more), kTimeout
//                  (nothing yet; wait again).
//   ReadBatch(h)   h(std::span<const std::byte>, int64_t position, bool
//                  end_of_batch) for every available record; the count.
//   Alert()        makes a waiting Wait return kAlerted (any thread);
//   ClearAlert()   undoes it.
//   position()     the next record's position; name(): the reader's.
//
// Thread-safety: as ByteReader (one thread at a time, Alert from any).

#ifndef RINGFLOW_CORE_RECORD_READER_H_
#define RINGFLOW_CORE_RECORD_READER_H_

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "ringflow/core/byte_reader.h"
#include "ringflow/core/wait_result.h"

namespace ringflow {

template <typename R>
concept RecordReader = requires(R& reader, const R& const_reader,
                                void (*handler)(std::span<const std::byte>,
                                                int64_t, bool)) {
  { reader.Wait() }
  noexcept->std::same_as<WaitResult>;
  { reader.ReadBatch(handler) } -> std::same_as<int64_t>;
  { reader.Alert() }
  noexcept;
  { reader.ClearAlert() }
  noexcept;
  { const_reader.position() }
  noexcept->std::same_as<int64_t>;
  { const_reader.name() } -> std::convertible_to<const std::string&>;
};

static_assert(RecordReader<ByteReader>, "ByteReader is a RecordReader");

}  // namespace ringflow

#endif  // RINGFLOW_CORE_RECORD_READER_H_
