// ringflow/processors.h — the whole processors component.
#ifndef RINGFLOW_PROCESSORS_H_
#define RINGFLOW_PROCESSORS_H_

#include "ringflow/processors/batch_event_processor.h"
#include "ringflow/processors/disruptor.h"
#include "ringflow/processors/event_handler.h"
#include "ringflow/processors/event_handler_group.h"
#include "ringflow/processors/event_poller.h"
#include "ringflow/processors/exception_policy.h"
#include "ringflow/processors/internal/work_processor.h"
#include "ringflow/processors/lease.h"
#include "ringflow/processors/worker_pool.h"

#endif  // RINGFLOW_PROCESSORS_H_
