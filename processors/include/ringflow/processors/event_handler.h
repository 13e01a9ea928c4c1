// ringflow/processors/event_handler.h
//
// Provides the `EventHandler<H, E>` concept and the compile-time detection
// of its optional callbacks. A handler is any type with
//
//   void OnEvent(E& event, int64_t sequence, bool end_of_batch);
//
// and, optionally,
//
//   void OnStart();                                  // processor thread, first
//   void OnShutdown();                               // processor thread, last
//   void OnBatchStart(int64_t batch_size, int64_t queue_depth);
//   void OnTimeout(int64_t sequence);                // kTimeoutBlocking only
//   std::string_view Name() const;   // label in logs, errors and metrics
//
// Processors call these on the handler's static type: no virtual call per
// event, and a handler may be `final` or have no vtable at all. A handler
// whose OnEvent is noexcept skips the exception machinery entirely.
//
// During OnEvent a handler reaches the events of its batch only through the
// references it was handed (keeping those references until end_of_batch is
// fine; reading other slots through the ring is not). The batch loop relies
// on it to keep the handler's own state in registers
// (processors/internal/handle_range.h).
//
// Placement: the processor thread writes a handler's state at least once
// per batch. A handler that shares a cache line with data another thread
// reads on every event (a handler on the stack beside the producer's ring
// pointer, say) costs that thread a miss per batch; declare it
// `alignas(kFalseSharingRange)` (ringflow/core/config.h) or allocate it on
// its own. Measured: OneToOneBatch10 at ~890 instead of ~1,580 M ev/s in
// the processes whose stack placement put them together
// (docs/architecture.md, "Measured figures").

#ifndef RINGFLOW_PROCESSORS_EVENT_HANDLER_H_
#define RINGFLOW_PROCESSORS_EVENT_HANDLER_H_

#include <concepts>
#include <cstdint>
#include <string_view>
#include <utility>

namespace ringflow {

template <typename H, typename E>
concept EventHandler = requires(H& h, E& e, int64_t s, bool b) {
  h.OnEvent(e, s, b);
};

template <typename H>
concept HasOnStart = requires(H& h) {
  h.OnStart();
};
template <typename H>
concept HasOnShutdown = requires(H& h) {
  h.OnShutdown();
};
template <typename H>
concept HasOnBatchStart = requires(H& h, int64_t n, int64_t d) {
  h.OnBatchStart(n, d);
};
template <typename H>
concept HasOnTimeout = requires(H& h, int64_t s) {
  h.OnTimeout(s);
};

template <typename H>
concept HasName = requires(const H& h) {
  { h.Name() } -> std::convertible_to<std::string_view>;
};

template <typename H, typename E>
inline constexpr bool kNothrowHandler =
    noexcept(std::declval<H&>().OnEvent(std::declval<E&>(), int64_t{0}, true));

}  // namespace ringflow

#endif  // RINGFLOW_PROCESSORS_EVENT_HANDLER_H_
