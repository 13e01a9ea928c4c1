// ringflow/core.h — the whole core component.
#ifndef RINGFLOW_CORE_H_
#define RINGFLOW_CORE_H_

#include "ringflow/core/config.h"
#include "ringflow/core/internal/blocking_wait_strategy.h"
#include "ringflow/core/internal/busy_spin_wait_strategy.h"
#include "ringflow/core/internal/consumer_table.h"
#include "ringflow/core/internal/gating_view.h"
#include "ringflow/core/internal/multi_producer_sequencer.h"
#include "ringflow/core/internal/published_cursor.h"
#include "ringflow/core/internal/sequencer.h"
#include "ringflow/core/internal/single_producer_sequencer.h"
#include "ringflow/core/internal/sleeping_wait_strategy.h"
#include "ringflow/core/internal/status_macros.h"
#include "ringflow/core/internal/wait_probe.h"
#include "ringflow/core/internal/wakeup_signal.h"
#include "ringflow/core/internal/yielding_wait_strategy.h"
#include "ringflow/core/ring_buffer.h"
#include "ringflow/core/ring_options.h"
#include "ringflow/core/ring_slots.h"
#include "ringflow/core/sequence.h"
#include "ringflow/core/sequence_barrier.h"
#include "ringflow/core/wait_result.h"
#include "ringflow/core/wait_strategy.h"

#endif  // RINGFLOW_CORE_H_
