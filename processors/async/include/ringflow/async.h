// ringflow/async.h
//
// The ringflow::async component: C++20 coroutines on standalone Asio.
// AsyncQueue (a bounded MPMC queue whose tasks suspend while it is full or
// empty), AsyncReader (co_await a ring's next batch or lease) and
// AsyncPublisher (co_await room in a ring, or publish into it). Link
// ringflow::async (CMake component `async`; needs libasio-dev).

#ifndef RINGFLOW_ASYNC_H_
#define RINGFLOW_ASYNC_H_

#include "ringflow/async/async_publisher.h"
#include "ringflow/async/async_queue.h"
#include "ringflow/async/async_reader.h"
#include "ringflow/async/notifier_wait.h"

#endif  // RINGFLOW_ASYNC_H_
