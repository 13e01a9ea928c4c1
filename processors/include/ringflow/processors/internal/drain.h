// ringflow/processors/internal/drain.h
//
// "Has this consumer handled everything published?" and the shutdown wait
// built on it. Cold path (shutdown, tests, tools).

#ifndef RINGFLOW_PROCESSORS_INTERNAL_DRAIN_H_
#define RINGFLOW_PROCESSORS_INTERNAL_DRAIN_H_

#include <cstdint>

#include "ringflow/core/internal/published_cursor.h"
#include "ringflow/core/sequence.h"

namespace ringflow::processors_internal {

// True when the sequence after `consumer_sequence` (a value read with
// acquire from the consumer's Sequence *before* this call) is not
// published: the consumer has handled every event published so far. For a
// worker pool pass the minimum over the workers, each read once (see
// WorkProcessor: a worker's sequence passes k only after k was handled).
inline bool IsDrained(const core_internal::PublishedCursor& published,
                      int64_t consumer_sequence) noexcept {
  return !published.IsPublished(consumer_sequence + 1);
}

}  // namespace ringflow::processors_internal

#endif  // RINGFLOW_PROCESSORS_INTERNAL_DRAIN_H_
