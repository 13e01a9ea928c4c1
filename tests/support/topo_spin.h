// tests/support/topo_spin.h
//
// `SpinUntil(done, limit)`: the one way the topology tests wait for other
// threads. It spins on `done()` (which reads atomics), yielding between
// tries, and gives up after `limit` so that a stalled library fails the
// test instead of hanging it. The limit is a hang guard, not a timing
// assertion: pick it orders of magnitude above the expected time.
//
// Never allocates (steady_clock and sched_yield only), so it may run
// inside the allocation-counting window of no_allocation_test.

#ifndef RINGFLOW_TESTS_SUPPORT_TOPO_SPIN_H_
#define RINGFLOW_TESTS_SUPPORT_TOPO_SPIN_H_

#include <chrono>
#include <thread>

namespace ringflow::testing {

// Generous bound for a wait that normally takes milliseconds.
inline constexpr std::chrono::seconds kSpinLimit{120};

// True once done() returned true; false when `limit` passed first.
template <typename Done>
bool SpinUntil(Done&& done,
               std::chrono::steady_clock::duration limit = kSpinLimit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return done();
    std::this_thread::yield();
  }
  return true;
}

}  // namespace ringflow::testing

#endif  // RINGFLOW_TESTS_SUPPORT_TOPO_SPIN_H_
