// ringflow/processors.h — the processors component's public headers: the
// EventHandler concept, BatchEventProcessor, EventPoller with Lease and
// LeaseBatch, WorkerPool, ExceptionPolicy, and the Disruptor DSL with
// EventHandlerGroup, and RecordProcessor over a ByteRing. Machinery
// (WorkProcessor, run state, drain) lives in ringflow/processors/internal/
// and is not part of the API.
#ifndef RINGFLOW_PROCESSORS_H_
#define RINGFLOW_PROCESSORS_H_

#include "ringflow/core.h"
#include "ringflow/processors/batch_event_processor.h"
#include "ringflow/processors/disruptor.h"
#include "ringflow/processors/event_handler.h"
#include "ringflow/processors/event_handler_group.h"
#include "ringflow/processors/event_notifier.h"
#include "ringflow/processors/event_poller.h"
#include "ringflow/processors/exception_policy.h"
#include "ringflow/processors/lease.h"
#include "ringflow/processors/record_disruptor.h"
#include "ringflow/processors/record_processor.h"
#include "ringflow/processors/sharded_disruptor.h"
#include "ringflow/processors/sharded_event_processor.h"
#include "ringflow/processors/sharded_poller.h"
#include "ringflow/processors/sharded_queue.h"
#include "ringflow/processors/space_notifier.h"
#include "ringflow/processors/thread_factory.h"
#include "ringflow/processors/worker_pool.h"

#endif  // RINGFLOW_PROCESSORS_H_
