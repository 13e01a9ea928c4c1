// ringflow/core.h — the whole core component.
#ifndef RINGFLOW_CORE_H_
#define RINGFLOW_CORE_H_

#include "ringflow/core/blocking_wait_strategy.h"
#include "ringflow/core/busy_spin_wait_strategy.h"
#include "ringflow/core/config.h"
#include "ringflow/core/consumer_table.h"
#include "ringflow/core/gating_view.h"
#include "ringflow/core/multi_producer_sequencer.h"
#include "ringflow/core/published_cursor.h"
#include "ringflow/core/ring_buffer.h"
#include "ringflow/core/ring_options.h"
#include "ringflow/core/ring_slots.h"
#include "ringflow/core/sequence.h"
#include "ringflow/core/sequence_barrier.h"
#include "ringflow/core/sequencer.h"
#include "ringflow/core/single_producer_sequencer.h"
#include "ringflow/core/sleeping_wait_strategy.h"
#include "ringflow/core/status_macros.h"
#include "ringflow/core/wait_probe.h"
#include "ringflow/core/wait_result.h"
#include "ringflow/core/wait_strategy.h"
#include "ringflow/core/wakeup_signal.h"
#include "ringflow/core/yielding_wait_strategy.h"

#endif  // RINGFLOW_CORE_H_
