// ringflow/processors/thread_factory.h
//
// Provides `ThreadFactory`: how the DSLs (Disruptor, RecordDisruptor)
// create the thread each processor runs on. The default is std::thread; a
// factory can name threads, set their scheduling class or run them in a
// pool that tests inspect.

#ifndef RINGFLOW_PROCESSORS_THREAD_FACTORY_H_
#define RINGFLOW_PROCESSORS_THREAD_FACTORY_H_

#include <functional>
#include <thread>

namespace ringflow {

// Creates the thread a processor runs on. The default is std::thread.
using ThreadFactory = std::function<std::thread(std::function<void()>)>;

}  // namespace ringflow

#endif  // RINGFLOW_PROCESSORS_THREAD_FACTORY_H_
