// tests/support/topo_handlers.h
//
// The event and the handlers of the topology tests (LMAX's OneToOne,
// OneToThreeMulticast, OneToThreePipeline, OneToThreeDiamond, ThreeToOne and
// the worker pool). Each handler records what it saw so that a test can
// check exact counts, sums and order once the consumers have stopped.
//
// Who calls what: OnEvent & co. run on the processor's thread. The plain
// accessors (count(), sum(), ...) may be read only after that thread was
// joined (Disruptor::Shutdown / Halt, WorkerPool::Shutdown, or an explicit
// join). `processed()` may be read from any thread at any time.
//
// Memory ordering: `processed()` is an acquire load that pairs with the
// handler's release store after each event, so a thread that spins until
// processed() == n also sees the plain fields as they were after event n.
// The producer resets every annotation in the slot, so a stage that runs
// before the stage it depends on sees -1 / false and counts an error.

#ifndef RINGFLOW_TESTS_SUPPORT_TOPO_HANDLERS_H_
#define RINGFLOW_TESTS_SUPPORT_TOPO_HANDLERS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <stdexcept>

namespace ringflow::testing {

struct TopoEvent {
  int64_t value = -1;     // written by the producer
  int64_t producer = -1;  // written by the producer (ThreeToOne)
  // stage[k] is written by pipeline stage k (stage 0 also by a pool
  // worker), -1 until then.
  std::array<int64_t, 3> stage = {-1, -1, -1};
  bool fizz = false;  // written by FizzHandler
  bool buzz = false;  // written by BuzzHandler
};

// Sum of 0 + 1 + ... + (n - 1).
constexpr int64_t SumBelow(int64_t n) { return n * (n - 1) / 2; }

// The producer side of every single-source topology: value = sequence,
// every annotation reset.
inline void FillSequence(TopoEvent& event, int64_t sequence) noexcept {
  event.value = sequence;
  event.producer = 0;
  event.stage = {-1, -1, -1};
  event.fizz = false;
  event.buzz = false;
}

// Counts and sums the values it sees, and checks that sequences arrive one
// at a time, in order, without gaps, with value == sequence, and that the
// batches announced by OnBatchStart add up.
class SequenceSum final {
 public:
  void OnBatchStart(int64_t batch_size, int64_t queue_depth) noexcept {
    if (batch_size < 1 || queue_depth < batch_size) ++bad_batches_;
    announced_ += batch_size;
    if (batch_size > max_batch_) max_batch_ = batch_size;
  }

  void OnEvent(TopoEvent& event, int64_t sequence, bool end_of_batch) noexcept {
    if (sequence != next_expected_) ++out_of_order_;
    next_expected_ = sequence + 1;
    if (event.value != sequence) ++value_mismatches_;
    ++count_;
    sum_ += event.value;
    last_end_of_batch_ = end_of_batch;
    // Release: the fields above are visible to whoever reads processed()
    // with acquire. Pairs with processed().
    processed_.store(count_, std::memory_order_release);
  }

  int64_t count() const { return count_; }
  int64_t sum() const { return sum_; }
  int64_t out_of_order() const { return out_of_order_; }
  int64_t value_mismatches() const { return value_mismatches_; }
  int64_t announced() const { return announced_; }
  int64_t bad_batches() const { return bad_batches_; }
  int64_t max_batch() const { return max_batch_; }
  // True when the last event seen closed its batch (the final event always
  // must: nothing after it was published).
  bool last_end_of_batch() const { return last_end_of_batch_; }

  // Acquire: pairs with the release store in OnEvent. Any thread.
  int64_t processed() const noexcept {
    return processed_.load(std::memory_order_acquire);
  }

 private:
  int64_t next_expected_ = 0;
  int64_t count_ = 0;
  int64_t sum_ = 0;
  int64_t out_of_order_ = 0;
  int64_t value_mismatches_ = 0;
  int64_t announced_ = 0;
  int64_t bad_batches_ = 0;
  int64_t max_batch_ = 0;
  bool last_end_of_batch_ = false;
  std::atomic<int64_t> processed_{0};  // written by the processor thread
};

// One stage of a pipeline: stage k checks that stage k - 1 annotated the
// event (and that nobody annotated stage k yet), then writes its own mark.
class PipelineStage final {
 public:
  explicit PipelineStage(int stage) : stage_(stage) {}

  static constexpr int64_t Mark(int64_t value, int stage) {
    return value * 4 + stage + 1;
  }

  void OnEvent(TopoEvent& event, int64_t sequence,
               bool /*end_of_batch*/) noexcept {
    if (sequence != next_expected_) ++out_of_order_;
    next_expected_ = sequence + 1;
    if (stage_ > 0 &&
        event.stage[stage_ - 1] != Mark(event.value, stage_ - 1)) {
      ++upstream_missing_;
    }
    if (event.stage[stage_] != -1) ++already_marked_;
    event.stage[stage_] = Mark(event.value, stage_);
    ++count_;
    sum_ += event.value;
  }

  int64_t count() const { return count_; }
  int64_t sum() const { return sum_; }
  int64_t out_of_order() const { return out_of_order_; }
  int64_t upstream_missing() const { return upstream_missing_; }
  int64_t already_marked() const { return already_marked_; }

 private:
  const int stage_;
  int64_t next_expected_ = 0;
  int64_t count_ = 0;
  int64_t sum_ = 0;
  int64_t out_of_order_ = 0;
  int64_t upstream_missing_ = 0;
  int64_t already_marked_ = 0;
};

// The diamond's two parallel stages write different fields of the event.
class FizzHandler final {
 public:
  void OnEvent(TopoEvent& event, int64_t /*sequence*/,
               bool /*end_of_batch*/) noexcept {
    event.fizz = event.value % 3 == 0;
    ++count_;
  }
  int64_t count() const { return count_; }

 private:
  int64_t count_ = 0;
};

class BuzzHandler final {
 public:
  void OnEvent(TopoEvent& event, int64_t /*sequence*/,
               bool /*end_of_batch*/) noexcept {
    event.buzz = event.value % 5 == 0;
    ++count_;
  }
  int64_t count() const { return count_; }

 private:
  int64_t count_ = 0;
};

// Runs after fizz and buzz: checks both annotations and counts multiples
// of 15.
class FizzBuzzHandler final {
 public:
  void OnEvent(TopoEvent& event, int64_t sequence,
               bool /*end_of_batch*/) noexcept {
    if (sequence != next_expected_) ++out_of_order_;
    next_expected_ = sequence + 1;
    if (event.fizz != (event.value % 3 == 0) ||
        event.buzz != (event.value % 5 == 0)) {
      ++wrong_annotations_;
    }
    if (event.fizz && event.buzz) ++fizz_buzz_;
    ++count_;
    processed_.store(count_, std::memory_order_release);
  }

  int64_t count() const { return count_; }
  int64_t fizz_buzz() const { return fizz_buzz_; }
  int64_t out_of_order() const { return out_of_order_; }
  int64_t wrong_annotations() const { return wrong_annotations_; }
  // Acquire: pairs with the release store in OnEvent. Any thread.
  int64_t processed() const noexcept {
    return processed_.load(std::memory_order_acquire);
  }

 private:
  int64_t next_expected_ = 0;
  int64_t count_ = 0;
  int64_t fizz_buzz_ = 0;
  int64_t out_of_order_ = 0;
  int64_t wrong_annotations_ = 0;
  std::atomic<int64_t> processed_{0};  // written by the processor thread
};

// ThreeToOne's consumer: per producer, counters must arrive strictly in
// order with no gaps (events of one producer are published in order).
class PerProducerOrder final {
 public:
  static constexpr int kMaxProducers = 8;

  void OnEvent(TopoEvent& event, int64_t sequence,
               bool /*end_of_batch*/) noexcept {
    if (sequence != next_sequence_) ++out_of_order_;
    next_sequence_ = sequence + 1;
    if (event.producer < 0 || event.producer >= kMaxProducers) {
      ++bad_producer_;
      return;
    }
    const auto p = static_cast<size_t>(event.producer);
    if (event.value != next_expected_[p]) ++gaps_;
    next_expected_[p] = event.value + 1;
    ++count_[p];
    sum_[p] += event.value;
  }

  int64_t count(int producer) const {
    return count_[static_cast<size_t>(producer)];
  }
  int64_t sum(int producer) const {
    return sum_[static_cast<size_t>(producer)];
  }
  int64_t gaps() const { return gaps_; }
  int64_t out_of_order() const { return out_of_order_; }
  int64_t bad_producer() const { return bad_producer_; }

 private:
  int64_t next_sequence_ = 0;
  std::array<int64_t, kMaxProducers> next_expected_ = {};
  std::array<int64_t, kMaxProducers> count_ = {};
  std::array<int64_t, kMaxProducers> sum_ = {};
  int64_t gaps_ = 0;
  int64_t out_of_order_ = 0;
  int64_t bad_producer_ = 0;
};

// A competing consumer: marks `seen[index]` for each event (index =
// producer * per_producer + value), counts and sums, and checks that the
// sequences one worker gets increase. It marks the event as pipeline stage
// 0, so a PipelineStage(1) behind the pool can check that a worker handled
// the event before it. With kMayThrow, OnEvent throws
// instead, without marking anything, when throw_every > 0 and
// sequence % throw_every == throw_offset; without it, OnEvent is noexcept
// and the processor compiles without the exception machinery.
template <bool kMayThrow>
class BasicExactlyOnceWorker final {
 public:
  struct Config {
    std::atomic<uint32_t>* seen = nullptr;  // one entry per event
    int64_t per_producer = 0;
    int64_t throw_every = 0;  // kMayThrow only
    int64_t throw_offset = 0;
  };

  void Bind(const Config& config) { config_ = config; }

  void OnEvent(TopoEvent& event, int64_t sequence,
               bool /*end_of_batch*/) noexcept(!kMayThrow) {
    if (sequence <= last_sequence_) ++out_of_order_;
    last_sequence_ = sequence;
    if constexpr (kMayThrow) {
      if (config_.throw_every > 0 &&
          sequence % config_.throw_every == config_.throw_offset) {
        throw std::runtime_error("planned failure");
      }
    }
    const int64_t index = event.producer * config_.per_producer + event.value;
    // Relaxed: a per-event counter, read only after the workers were joined
    // (or after processed() was acquired).
    config_.seen[index].fetch_add(1, std::memory_order_relaxed);
    event.stage[0] = PipelineStage::Mark(event.value, 0);
    ++count_;
    sum_ += event.value;
    // Release: pairs with processed().
    processed_.store(count_, std::memory_order_release);
  }

  int64_t count() const { return count_; }
  int64_t sum() const { return sum_; }
  int64_t out_of_order() const { return out_of_order_; }
  // Acquire: pairs with the release store in OnEvent. Any thread.
  int64_t processed() const noexcept {
    return processed_.load(std::memory_order_acquire);
  }

 private:
  Config config_;
  int64_t last_sequence_ = -1;
  int64_t count_ = 0;
  int64_t sum_ = 0;
  int64_t out_of_order_ = 0;
  std::atomic<int64_t> processed_{0};  // written by the worker thread
};

using ExactlyOnceWorker = BasicExactlyOnceWorker<false>;
using ThrowingWorker = BasicExactlyOnceWorker<true>;

}  // namespace ringflow::testing

#endif  // RINGFLOW_TESTS_SUPPORT_TOPO_HANDLERS_H_
