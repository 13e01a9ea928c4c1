// ringflow/processors/sharded_queue.h
//
// Provides `ShardedQueue<T>`: a bounded multi-producer multi-consumer queue
// for users who want a queue, not handlers, built on a ShardedRing<T>.
// Each producer token owns one shard (a single-producer ring); consumers
// compete for the shards, and each item goes to exactly one consumer.
//
//   auto queue = ShardedQueue<Order>::Create({.shard_capacity = 4096});
//   auto producer = (*queue)->RegisterProducer();   // on the producer thread
//   (*queue)->TryEnqueue(*producer, order);
//   ShardedQueue<Order>::ConsumerToken consumer =
//   (*queue)->MakeConsumerToken(); Order out; if
//   ((*queue)->WaitDequeueFor(consumer, out, absl::Milliseconds(5))) ...
//
// Competing consumers: a consumer takes one shard at a time (an exchange on
// that shard's busy flag), copies out what it wants, and gives it back. It
// starts at the shard it last found items in, then tries the others in
// turn (stealing from the other consumers' favourite shards when its own is
// empty). Guarantee: the items of one producer are dequeued in the order it
// enqueued them, across all consumers (a shard is read by one consumer at a
// time, and the hand-over of the busy flag orders one reader's reads before
// the next one's). Nothing orders items of different producers.
//
// Items are copied in and out (T must be default constructible and
// nothrow copy-assignable: a throwing copy could lose an item half-way);
// there is no allocation per item after registration. A consumer leases
// what the last read of a shard's cursor found and hands it out over as
// many calls as it takes, giving the slots back (one sequence store) when
// the lease is used up, or once an eighth of the shard was handed out: a
// consumer taking one item at a time writes the producer-read line once per
// batch, not once per item.
//
// Waiting (default kBlocking strategy): WaitDequeue/WaitDequeueFor sleep in
// the kernel on the ring's wakeup signal, and a producer makes a syscall
// only while a consumer sleeps; WaitEnqueue/WaitEnqueueFor sleep on the
// queue's space signal, and a consumer giving slots back (once per lease,
// not per item) makes a syscall only while a producer sleeps. Both spin a
// little first. With a spinning strategy they spin, yield and nap (20 us)
// instead, and nobody pays for a wake.
//
// Close: enqueues fail from then on (waiting ones return false; one that
// raced with Close may still land, and is drained like the rest), and
// consumers drain what is left: WaitDequeue returns false once the queue is
// closed and every shard is empty.
//
// Who calls what: a ProducerToken from one thread at a time; a
// ConsumerToken from one thread at a time; everything else thread-safe.
// Tokens must not outlive their queue.

#ifndef RINGFLOW_PROCESSORS_SHARDED_QUEUE_H_
#define RINGFLOW_PROCESSORS_SHARDED_QUEUE_H_

#include <sched.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "ringflow/core/config.h"
#include "ringflow/core/internal/monotonic_clock.h"
#include "ringflow/core/internal/status_macros.h"
#include "ringflow/core/internal/stream_backoff.h"
#include "ringflow/core/sharded_ring.h"
#include "ringflow/processors/event_notifier.h"
#include "ringflow/processors/event_poller.h"
#include "ringflow/processors/lease.h"

namespace ringflow {

struct ShardedQueueOptions {
  // Items each producer's shard holds; a power of two.
  int64_t shard_capacity = 1024;
  // Producer tokens that may exist at once, in [1, kMaxShards].
  int max_producers = 16;
  // kBlocking: waiting consumers sleep in the kernel. A spinning kind
  // saves the producer's seq_cst publish and wake check per item.
  WaitStrategyKind wait_strategy = WaitStrategyKind::kBlocking;
  // Pacing of a consumer's reads of a shard's cursor in a dense stream
  // (EventPoller's PollerOptions::stream_backoff_pauses): after a small
  // batch, TryDequeue serves what the last read found and reads again only
  // after up to this many pauses' worth of time, so a consumer taking one
  // item at a time does not pull the producer's cache line on every call.
  // In [0, 1024]; 0 reads on every call. WaitDequeue's last look before it
  // sleeps always reads.
  int stream_backoff_pauses = 256;
  // Metrics label of the ring (shards are "<name>.<i>").
  std::string name = "queue";
  bool counters = true;
};

template <typename T>
class ShardedQueue {
  using Shard = typename ShardedRing<T>::Shard;

 public:
  // A producer's shard; from RegisterProducer, on the producer's thread.
  using ProducerToken = ShardProducer<T>;

  // A consumer's place: where it looks first. Cheap; make one per thread.
  class ConsumerToken {
   public:
    ConsumerToken() = default;

   private:
    friend class ShardedQueue;
    explicit ConsumerToken(int start) : next_(start) {}
    int next_ = 0;  // the shard it looks at first
  };

  static absl::StatusOr<std::unique_ptr<ShardedQueue>> Create(
      const ShardedQueueOptions& options) requires
      std::is_default_constructible_v<T> &&
      std::is_nothrow_copy_assignable_v<T> {
    RINGFLOW_RETURN_IF_ERROR(
        core_internal::StreamBackoff::Validate(options.stream_backoff_pauses));
    if (options.wait_strategy == WaitStrategyKind::kTimeoutBlocking) {
      return absl::InvalidArgumentError(
          "wait_strategy kTimeoutBlocking: a queue's waits take their own "
          "timeout (WaitDequeueFor); use kBlocking");
    }
    ShardedRingOptions ring_options;
    ring_options.shard.capacity = options.shard_capacity;
    ring_options.shard.wait_strategy = options.wait_strategy;
    ring_options.shard.max_consumers = 1;  // the queue is one consumer
    ring_options.shard.name = options.name;
    ring_options.shard.counters = options.counters;
    ring_options.max_producers = options.max_producers;
    RINGFLOW_ASSIGN_OR_RETURN(std::unique_ptr<ShardedRing<T>> ring,
                              ShardedRing<T>::Create(ring_options));
    RINGFLOW_ASSIGN_OR_RETURN(ShardedConsumer<T> consumer,
                              ring->RegisterConsumer("dequeue"));
    return std::unique_ptr<ShardedQueue>(new ShardedQueue(
        std::move(ring), std::move(consumer), options.stream_backoff_pauses));
  }

  ShardedQueue(const ShardedQueue&) = delete;
  ShardedQueue& operator=(const ShardedQueue&) = delete;

  ~ShardedQueue() {
    for (Lane& lane : lanes_) {
      if (lane.shard != nullptr) {
        lane.held.reset();
        lane.poller.reset();
        ring_->ReleaseShard(lane.shard);
      }
    }
  }

  // ---- producers -------------------------------------------------------

  // A token owning one shard, built on the calling thread. Errors as
  // ShardedRing::RegisterProducer (closed, all shards in use).
  absl::StatusOr<ProducerToken> RegisterProducer() {
    return ring_->RegisterProducer();
  }

  // False at once when the token's shard is full or the queue is closed.
  bool TryEnqueue(ProducerToken& token, const T& item) noexcept {
    return token->TryPublishEvent([&item](T& slot, int64_t) { slot = item; });
  }

  // Enqueues as many of `items` as fit now (none when closed), in order;
  // returns how many.
  size_t TryEnqueueBulk(ProducerToken& token,
                        std::span<const T> items) noexcept {
    if (items.empty()) return 0;
    const int64_t room = token->RemainingCapacity();
    const int64_t n =
        std::min<int64_t>(room, static_cast<int64_t>(items.size()));
    if (n <= 0) return 0;
    const T* next = items.data();
    if (!token->TryPublishEvents(
            n, [&next](T& slot, int64_t) { slot = *next++; })) {
      return 0;
    }
    return static_cast<size_t>(n);
  }

  // Waits for space (until Close); false when closed.
  bool WaitEnqueue(ProducerToken& token, const T& item) noexcept {
    return WaitEnqueueUntil(token, item, INT64_MAX);
  }
  // Waits for space at most `timeout`; false (nothing enqueued) after it
  // or when closed.
  bool WaitEnqueueFor(ProducerToken& token, const T& item,
                      absl::Duration timeout) noexcept {
    return WaitEnqueueUntil(token, item, Deadline(timeout));
  }

  // ---- consumers -------------------------------------------------------

  // Consumers made one after another start at different shards.
  ConsumerToken MakeConsumerToken() noexcept {
    // Relaxed: only spreads start positions.
    return ConsumerToken(tokens_.fetch_add(1, std::memory_order_relaxed));
  }

  // One item, if any shard has one. Never waits (a shard another consumer
  // is reading is skipped). Never allocates, except once per new shard.
  bool TryDequeue(ConsumerToken& token, T& out) {
    return TryDequeueBulk(token, std::span<T>(&out, 1)) == 1;
  }

  // Up to out.size() items, from one shard (in its producer's order);
  // returns how many.
  size_t TryDequeueBulk(ConsumerToken& token, std::span<T> out) {
    return Dequeue(token, out, /*fresh=*/false);
  }
  // TryDequeueBulk; `fresh`: read every shard's cursor (no deferral);
  // `exhaustive`: wait for a shard another consumer is reading instead of
  // skipping it, so that 0 from a closed queue (no enqueue can land any
  // more) means every shard was empty when this consumer held it: drained.
  size_t Dequeue(ConsumerToken& token, std::span<T> out, bool fresh,
                 bool exhaustive = false) {
    if (out.empty()) return 0;
    const int high = ring_->high_water();
    if (high == 0) return 0;
    const int first = token.next_ % high;
    for (int k = 0; k < high; ++k) {
      const int index = first + k < high ? first + k : first + k - high;
      const size_t n = DequeueFrom(index, out, fresh, exhaustive);
      if (n > 0) {
        token.next_ = index;
        return n;
      }
    }
    return 0;
  }

  // Waits until an item is dequeued (true) or the queue is closed and
  // empty (false).
  bool WaitDequeue(ConsumerToken& token, T& out) {
    return WaitDequeueUntil(token, out, INT64_MAX);
  }
  // As WaitDequeue, giving up (false) after `timeout`.
  bool WaitDequeueFor(ConsumerToken& token, T& out, absl::Duration timeout) {
    return WaitDequeueUntil(token, out, Deadline(timeout));
  }

  // ---- lifecycle and queries -----------------------------------------

  // Enqueues fail from now on; waiting consumers wake and drain, waiting
  // producers return false. Any thread.
  void Close() noexcept {
    ring_->Close();
    space_.WakeAll();
  }
  bool IsClosed() const noexcept { return ring_->IsClosed(); }

  // Items enqueued and not yet dequeued (a snapshot: exact only while
  // nobody enqueues or dequeues). Thread-safe.
  int64_t SizeApprox() const {
    int64_t size = 0;
    ring_->ForEachShard([&](const std::shared_ptr<const Shard>& shard) {
      const Sequence* read = shard->sequences[consumer_.id()];
      if (read != nullptr) {
        // Relaxed `taken`: an estimate, as the whole sum.
        size += shard->ring->Cursor() - read->LoadAcquire() -
                lanes_[shard->index].taken.load(std::memory_order_relaxed);
      }
    });
    return size;
  }
  bool IsEmptyApprox() const { return SizeApprox() == 0; }
  // Producers asleep in WaitEnqueue/WaitEnqueueFor, or about to be
  // (statistic; relaxed).
  uint32_t SleepingProducers() const noexcept { return space_.Waiters(); }
  // Items the queue can hold: shard capacity times max producers.
  int64_t capacity() const noexcept {
    return ring_->shard_capacity() * ring_->max_producers();
  }
  int64_t shard_capacity() const noexcept { return ring_->shard_capacity(); }

  // ---- event loops -----------------------------------------------------

  // An eventfd for a loop that waits for items: arm it with
  // `n->ArmUnless([&] { return queue.Dequeue(token, out, true) > 0; })`
  // (fresh: a TryDequeue may serve a deferred read and miss an item
  // published before the arming) and sleep on n->fd() when that returns
  // true. Producers write it (once per
  // arming) when they publish, Close writes it. InvalidArgument for a
  // spinning wait strategy (nobody wakes); errors as EventNotifier::Create.
  absl::StatusOr<std::unique_ptr<EventNotifier>> CreateItemNotifier() {
    RINGFLOW_RETURN_IF_ERROR(CheckSleeps("item"));
    return EventNotifier::CreateOnSignal(ring_->signal());
  }
  // An eventfd for a loop whose producer waits for space: arm it with
  // `ArmUnless([&] { return queue.TryEnqueue(token, item); })`. Consumers
  // write it (once per arming) when they give slots back; Close writes it.
  absl::StatusOr<std::unique_ptr<EventNotifier>> CreateSpaceNotifier() {
    RINGFLOW_RETURN_IF_ERROR(CheckSleeps("space"));
    return EventNotifier::CreateOnSignal(space_);
  }

  // The signals those notifiers watch, for adapters that arm their own
  // (ringflow/async): items are announced on the first, space on the
  // second.
  core_internal::WakeupSignal& item_signal() noexcept {
    return ring_->signal();
  }
  core_internal::WakeupSignal& space_signal() noexcept { return space_; }

  // The ring underneath (metrics, inspection).
  const ShardedRing<T>& ring() const noexcept { return *ring_; }

 private:
  // One shard's reading state, handed from consumer to consumer by `busy`.
  struct alignas(kFalseSharingRange) Lane {
    // Acquire on taking, release on giving back: the next holder sees the
    // previous holder's reads and sequence stores (and shard, poller).
    std::atomic<bool> busy{false};
    Shard* shard = nullptr;                  // guarded by busy
    std::unique_ptr<EventPoller<T>> poller;  // guarded by busy
    // Leased items not yet handed out (held[next]...), guarded by busy.
    std::optional<LeaseBatch<T>> held;
    int64_t next = 0;
    // `next`, for SizeApprox (written by the holder).
    std::atomic<int64_t> taken{0};
  };

  ShardedQueue(std::unique_ptr<ShardedRing<T>> ring,
               ShardedConsumer<T> consumer, int stream_backoff_pauses)
      : ring_(std::move(ring)),
        consumer_(std::move(consumer)),
        stream_backoff_pauses_(stream_backoff_pauses),
        release_every_(std::max<int64_t>(1, ring_->shard_capacity() / 8)),
        lanes_(static_cast<size_t>(ring_->max_producers())),
        sleeps_(ring_->wait_strategy().NeedsWakeup()) {}

  absl::Status CheckSleeps(const char* what) const {
    if (sleeps_) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat(
        "queue '", ring_->options().shard.name, "' has wait_strategy ",
        std::string(WaitStrategyName(ring_->wait_strategy().kind())), ": an ",
        what,
        " notifier needs kBlocking (only then do the other side's calls "
        "wake anybody)"));
  }

  // Takes lane `index` if free, copies up to out.size() items from it,
  // gives it back. Never waits.
  size_t DequeueFrom(int index, std::span<T> out, bool fresh, bool wait_busy) {
    Lane& lane = lanes_[index];
    // Relaxed pre-check: skip a lane another consumer holds without
    // taking its line exclusively.
    while (lane.busy.load(std::memory_order_relaxed) ||
           lane.busy.exchange(true, std::memory_order_acquire)) {
      // A holder copies out and gives it back without waiting on anything.
      if (!wait_busy) return 0;
      CpuRelax();
    }
    size_t n = 0;
    // Gives the lane back, also when copying an item throws.
    struct GiveBack {
      ShardedQueue& queue;
      Lane& lane;
      ~GiveBack() { queue.GiveBackLane(lane, lane.held.has_value()); }
    } give_back{*this, lane};
    if (lane.shard == nullptr) {
      lane.shard = ring_->TakeAssigned(index, consumer_.id());
      if (lane.shard != nullptr) {
        // Cannot fail: the pacing was validated by Create.
        lane.poller =
            EventPoller<T>::CreateOnSlot(
                *lane.shard->ring,
                std::move(lane.shard->handles[consumer_.id()]), {},
                PollerOptions{.stream_backoff_pauses = stream_backoff_pauses_})
                .value();
      }
    }
    if (lane.shard == nullptr) return 0;
    const size_t max = out.size();
    while (n < max) {
      if (!lane.held) {
        if (fresh) lane.poller->ClearDeferral();
        // The events the last cursor read found (or a new read): one
        // sequence store when the lease is used up, not one per item.
        lane.held = lane.poller->TryLeaseBatch(INT64_MAX);
        lane.next = 0;
        if (!lane.held) {
          if (n == 0) TryRetire(lane);
          break;
        }
      }
      const LeaseBatch<T>& held = *lane.held;
      const int64_t size = held.size();
      const size_t end =
          n + static_cast<size_t>(std::min<int64_t>(
                  size - lane.next, static_cast<int64_t>(max - n)));
      for (; n < end; ++n) out[n] = held[lane.next++];  // nothrow (Create)
      if (lane.next == size) {
        lane.held.reset();  // gives the slots back to the producer
        lane.next = 0;
        SpaceFreed();
      } else if (lane.next >= release_every_) {
        // A long lease gives back what it handed out now and then, so a
        // small shard does not stay full while its items trickle out.
        lane.held->ReleaseFront(lane.next);
        lane.next = 0;
        SpaceFreed();
      }
    }
    // Relaxed: SizeApprox's estimate only.
    lane.taken.store(lane.next, std::memory_order_relaxed);
    return n;
  }

  // After slots were given back (the sequence stored with release): wakes
  // producers asleep in WaitEnqueue. Seq_cst fence, then the seq_cst load
  // of the waiter count: a producer going to sleep registers, fences
  // (seq_cst) and retries its enqueue, whose gating read then sees our
  // sequence, or we see it registered.
  void SpaceFreed() noexcept {
    if (!sleeps_) return;
    std::atomic_thread_fence(std::memory_order_seq_cst);
    space_.WakeIfWaiters();
  }

  static int64_t Deadline(absl::Duration timeout) noexcept {
    const int64_t now = core_internal::MonotonicNanos();
    if (timeout <= absl::ZeroDuration()) return now;
    if (timeout >= absl::Hours(24 * 365)) return INT64_MAX;
    return now + absl::ToInt64Nanoseconds(timeout);
  }

  // Pause between tries of a spinning wait (or before a sleeping one
  // registers): spin, then yield, then (spinning kinds) nap.
  static void Pause(uint32_t tries) noexcept {
    if (tries < 64) {
      CpuRelax();
    } else if (tries < 1024) {
      sched_yield();
    } else {
      const struct timespec ts { 0, 20'000 };
      nanosleep(&ts, nullptr);
    }
  }

  bool WaitEnqueueUntil(ProducerToken& token, const T& item,
                        int64_t deadline) noexcept {
    auto closed = [&token] { return token->IsClosed(); };
    return WaitUntil(
        space_, deadline, [&] { return TryEnqueue(token, item); }, closed,
        closed);
  }

  // The wait both sides share. `try_once` until it succeeds (true);
  // `finished()` ends the wait after one last try; false at the deadline.
  // A spinning strategy spins, yields and naps; a sleeping one spins
  // kSpinTries tries, then sleeps on `signal` with WakeupSignal's
  // handshake: register, read the epoch, fence, try again, sleep unless
  // `closed()` (nobody would wake it).
  template <typename Try, typename Finished, typename Closed>
  bool WaitUntil(core_internal::WakeupSignal& signal, int64_t deadline,
                 Try try_once, Finished finished, Closed closed) {
    for (uint32_t tries = 0;; ++tries) {
      if (try_once()) return true;
      if (finished()) return try_once();
      const int64_t now = core_internal::MonotonicNanos();
      if (now >= deadline) return false;
      if (!sleeps_ || tries < kSpinTries) {
        Pause(tries);
        continue;
      }
      signal.Register();
      const uint32_t epoch = signal.Epoch();
      // Seq_cst fence: orders the registration before the retry's loads
      // (enqueue: the consumers' sequences, pairing with SpaceFreed's
      // fence; dequeue: the shards' cursors and busy flags, pairing with
      // the producers' seq_cst cursor store and GiveBackLane's seq_cst
      // store, each followed by a seq_cst load of the waiter count). Close
      // bumps the epoch (WakeAll).
      std::atomic_thread_fence(std::memory_order_seq_cst);
      const bool done = try_once();
      if (!done && !closed()) {
        signal.Wait(epoch, deadline == INT64_MAX ? -1 : deadline - now);
      }
      signal.Unregister();
      if (done) return true;
    }
  }

  // Ends a DequeueFrom. `maybe_more`: items the holder leased remain in
  // the lane, and no producer will wake a sleeping consumer for them: wake
  // one if any sleeps.
  void GiveBackLane(Lane& lane, bool maybe_more) noexcept {
    if (!maybe_more || !sleeps_) {
      // Release: pairs with the next holder's acquire exchange.
      lane.busy.store(false, std::memory_order_release);
      return;
    }
    // Seq_cst store, then the seq_cst load of the waiter count in
    // WakeIfWaiters: a consumer going to sleep registers, fences (seq_cst)
    // and re-reads this flag, so either it sees the lane free or we see it.
    lane.busy.store(false, std::memory_order_seq_cst);
    ring_->signal().WakeIfWaiters();
  }

  // Releases the lane's shard if its producer left and it is drained.
  // Holder of the lane only.
  void TryRetire(Lane& lane) noexcept {
    // Acquire: pairs with ShardedRing::ReleaseProducer's release, so the
    // cursor read next is the producer's last.
    if (!lane.shard->draining.load(std::memory_order_acquire)) return;
    if (lane.held || lane.poller->lease_outstanding()) return;
    if (lane.poller->sequence().LoadRelaxed() < lane.shard->ring->Cursor()) {
      return;
    }
    lane.poller.reset();  // our slot goes back to the shard first
    ring_->ReleaseShard(std::exchange(lane.shard, nullptr));
  }

  bool WaitDequeueUntil(ConsumerToken& token, T& out, int64_t deadline) {
    std::span<T> one(&out, 1);
    auto closed = [this] { return ring_->IsClosed(); };
    // Closed ends it after one last, exhaustive try: that one waits for
    // shards other consumers hold, so it takes an item from an enqueue that
    // raced with Close, or returns only once every shard was seen empty.
    // (An estimate such as IsEmptyApprox could read one consumer's
    // sequence and hand-out count between its two stores, and end the
    // wait with items left.)
    return WaitUntil(
        ring_->signal(), deadline,
        [&] {
          return Dequeue(token, one, /*fresh=*/true,
                         /*exhaustive=*/closed()) == 1;
        },
        closed, closed);
  }

  std::unique_ptr<ShardedRing<T>> ring_;
  ShardedConsumer<T> consumer_;
  // Tries of a sleeping wait before it registers (a short spin saves the
  // syscalls of a brief empty or full spell).
  static constexpr uint32_t kSpinTries = 64;

  const int stream_backoff_pauses_;
  // A lease gives back the items it handed out once they are this many
  // (an eighth of a shard): one sequence store per that many dequeues.
  const int64_t release_every_;
  std::vector<Lane> lanes_;  // by shard index
  const bool sleeps_;        // waiting consumers sleep on the ring's signal
  // Producers asleep in WaitEnqueue sleep here; consumers wake them after
  // giving slots back.
  core_internal::WakeupSignal space_;
  std::atomic<int> tokens_{0};
};

}  // namespace ringflow

#endif  // RINGFLOW_PROCESSORS_SHARDED_QUEUE_H_
