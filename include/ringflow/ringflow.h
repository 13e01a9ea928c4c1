// ringflow/ringflow.h — the umbrella header: the whole public API (core,
// processors, shm). The metrics exporter has its own headers under
// ringflow/observability/ (they pull in prometheus-cpp).
#ifndef RINGFLOW_RINGFLOW_H_
#define RINGFLOW_RINGFLOW_H_

#include "ringflow/core.h"
#include "ringflow/processors.h"
#include "ringflow/shm/internal/control.h"
#include "ringflow/shm/internal/layout.h"
#include "ringflow/shm/shared_consumer.h"
#include "ringflow/shm/shared_ring.h"

#endif  // RINGFLOW_RINGFLOW_H_
