// tools/tick.h
//
// The demo's event: a market-data tick, trivially copyable so the same type
// can travel through a shared-memory ring. Payload fields are derived from
// the sequence (TickFor), so any reader can check that a slot holds exactly
// the tick published for its sequence, and a checksum over the stream
// detects lost, duplicated or torn events.

#ifndef RINGFLOW_TOOLS_TICK_H_
#define RINGFLOW_TOOLS_TICK_H_

#include <cstdint>
#include <type_traits>

namespace ringflow::tools {

struct Tick {
  int64_t sequence = -1;   // the ring sequence it was published at
  int64_t instrument = 0;  // 0..kInstruments-1
  int64_t price = 0;       // in ticks of 0.01
  int64_t quantity = 0;
  int64_t publish_ns = 0;  // steady clock at publish, for latency
  // Written by the in-process graph (journal, risk), read by the matcher.
  int64_t journaled = -1;  // sequence the journal saw in this slot
  int64_t risk_checked = -1;
  int64_t notional = 0;
};
static_assert(std::is_trivially_copyable_v<Tick> &&
                  std::is_standard_layout_v<Tick>,
              "ticks must be able to live in shared memory");

inline constexpr int64_t kInstruments = 64;

// The type tag shared-memory rings of ticks carry (checked on attach).
inline constexpr char kTickTypeTag[] = "ringflow.tools.Tick/1";

// splitmix64: a cheap, well-mixed function of the sequence.
inline uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Fills the payload of the tick for `sequence` (not publish_ns).
inline void FillTick(Tick& tick, int64_t sequence) {
  const uint64_t m = Mix(static_cast<uint64_t>(sequence));
  tick.sequence = sequence;
  tick.instrument = static_cast<int64_t>(m % kInstruments);
  tick.price = 10'000 + static_cast<int64_t>((m >> 8) % 5'000);
  tick.quantity = 1 + static_cast<int64_t>((m >> 24) % 100);
  tick.journaled = -1;
  tick.risk_checked = -1;
  tick.notional = 0;
}

// The last tick of a demo stream: tells consumers in other processes that
// the producer is done (it is not counted or checksummed).
inline constexpr int64_t kEndOfStream = -1;
inline void FillEndOfStream(Tick& tick, int64_t sequence) {
  FillTick(tick, sequence);
  tick.instrument = kEndOfStream;
}
inline bool IsEndOfStream(const Tick& tick) {
  return tick.instrument == kEndOfStream;
}

// True when the payload is the one FillTick writes for tick.sequence.
inline bool PayloadMatches(const Tick& tick) {
  Tick expected;
  FillTick(expected, tick.sequence);
  return tick.instrument == expected.instrument &&
         tick.price == expected.price && tick.quantity == expected.quantity;
}

// Order-independent checksum contribution of one tick.
inline uint64_t Checksum(const Tick& tick) {
  return Mix(static_cast<uint64_t>(tick.sequence) ^
             (static_cast<uint64_t>(tick.price) << 20) ^
             static_cast<uint64_t>(tick.quantity));
}

// Tracks one reader's view of the stream: every sequence must arrive once,
// in order, starting at `first`.
class StreamVerifier {
 public:
  explicit StreamVerifier(int64_t first = 0) : expected_(first) {}

  void Observe(const Tick& tick, int64_t sequence) {
    if (tick.sequence != sequence || !PayloadMatches(tick)) ++corrupt_;
    if (sequence > expected_) {
      lost_ += sequence - expected_;
    } else if (sequence < expected_) {
      ++duplicated_;
      return;
    }
    expected_ = sequence + 1;
    ++count_;
    checksum_ += Checksum(tick);
  }

  int64_t count() const { return count_; }
  int64_t lost() const { return lost_; }
  int64_t duplicated() const { return duplicated_; }
  int64_t corrupt() const { return corrupt_; }
  uint64_t checksum() const { return checksum_; }
  int64_t next_expected() const { return expected_; }

 private:
  int64_t expected_;
  int64_t count_ = 0;
  int64_t lost_ = 0;
  int64_t duplicated_ = 0;
  int64_t corrupt_ = 0;
  uint64_t checksum_ = 0;
};

}  // namespace ringflow::tools

#endif  // RINGFLOW_TOOLS_TICK_H_
