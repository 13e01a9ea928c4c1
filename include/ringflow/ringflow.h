// ringflow/ringflow.h — the umbrella header: the public API of core,
// processors and shm (SharedRing, SharedConsumer, SharedRingOptions). Only
// public headers: machinery lives in ringflow/<component>/internal/. The
// metrics exporter has its own headers under ringflow/observability/ (they
// pull in prometheus-cpp). A core-only project includes ringflow/core.h
// and ringflow/processors.h instead (see README, "Public headers").
#ifndef RINGFLOW_RINGFLOW_H_
#define RINGFLOW_RINGFLOW_H_

#include "ringflow/core.h"
#include "ringflow/processors.h"
#include "ringflow/shm/shared_byte_reader.h"
#include "ringflow/shm/shared_byte_ring.h"
#include "ringflow/shm/shared_byte_ring_options.h"
#include "ringflow/shm/shared_consumer.h"
#include "ringflow/shm/shared_event_notifier.h"
#include "ringflow/shm/shared_record_processor.h"
#include "ringflow/shm/shared_ring.h"
#include "ringflow/shm/shared_ring_options.h"

#endif  // RINGFLOW_RINGFLOW_H_
