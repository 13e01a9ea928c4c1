// ringflow/ringflow.h — the umbrella header: the whole public API that is
// built (core and processors; shm and observability join when built).
#ifndef RINGFLOW_RINGFLOW_H_
#define RINGFLOW_RINGFLOW_H_

#include "ringflow/core.h"
#include "ringflow/processors.h"

#endif  // RINGFLOW_RINGFLOW_H_
