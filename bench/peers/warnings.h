// bench/peers/warnings.h
//
// RINGFLOW_BENCH_PEER_WARNINGS_OFF / _ON: every peer header puts them
// around its library's includes.

#ifndef RINGFLOW_BENCH_PEERS_WARNINGS_H_
#define RINGFLOW_BENCH_PEERS_WARNINGS_H_

// The peers' headers are theirs: g++ 12 reports -Wnull-dereference and
// -Wstringop-overflow in moodycamel's code once it is inlined into ours
// (paths it cannot prove unreachable). Silenced for these headers and for
// the adapter that inlines them (McCqPeer) only.
#if defined(__clang__)
#define RINGFLOW_BENCH_PEER_WARNINGS_OFF \
  _Pragma("clang diagnostic push")       \
      _Pragma("clang diagnostic ignored \"-Wnull-dereference\"")
#define RINGFLOW_BENCH_PEER_WARNINGS_ON _Pragma("clang diagnostic pop")
#else
#define RINGFLOW_BENCH_PEER_WARNINGS_OFF                       \
  _Pragma("GCC diagnostic push")                               \
      _Pragma("GCC diagnostic ignored \"-Wnull-dereference\"") \
          _Pragma("GCC diagnostic ignored \"-Wstringop-overflow\"")
#define RINGFLOW_BENCH_PEER_WARNINGS_ON _Pragma("GCC diagnostic pop")
#endif

#endif  // RINGFLOW_BENCH_PEERS_WARNINGS_H_
