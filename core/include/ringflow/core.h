// ringflow/core.h — the core component's public headers: RingBuffer,
// RingOptions (ProducerType, WaitStrategyKind), Sequence, SequenceBarrier,
// WaitStrategy, WaitResult, RingSlots. Machinery (sequencers, the consumer
// table, concrete wait strategies) lives in ringflow/core/internal/ and is
// not part of the API; the public headers include what they need of it.
#ifndef RINGFLOW_CORE_H_
#define RINGFLOW_CORE_H_

#include "ringflow/core/byte_reader.h"
#include "ringflow/core/byte_ring.h"
#include "ringflow/core/byte_ring_options.h"
#include "ringflow/core/config.h"
#include "ringflow/core/record_reader.h"
#include "ringflow/core/ring_buffer.h"
#include "ringflow/core/ring_options.h"
#include "ringflow/core/ring_slots.h"
#include "ringflow/core/sequence.h"
#include "ringflow/core/sequence_barrier.h"
#include "ringflow/core/sharded_ring.h"
#include "ringflow/core/wait_result.h"
#include "ringflow/core/wait_strategy.h"
#include "ringflow/core/write_claim.h"

#endif  // RINGFLOW_CORE_H_
