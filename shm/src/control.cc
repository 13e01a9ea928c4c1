#include "ringflow/shm/control.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "ringflow/core/status_macros.h"

namespace ringflow::shm {
namespace {

using shm_internal::CurrentPid;
using shm_internal::MonotonicNanos;
using shm_internal::ProcessAlive;
using shm_internal::ProcessStartTicks;
using shm_internal::Segment;

constexpr size_t RoundUp128(size_t n) { return (n + 127) / 128 * 128; }

bool NameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

}  // namespace

ControlLayout ControlLayout::For(int64_t capacity, int max_consumers) {
  ControlLayout l;
  l.slots_offset =
      kAvailableOffset + RoundUp128(static_cast<size_t>(capacity) * 8);
  const int group = observability::CountersBlock::kGroup;
  const int per_consumer =
      (ConsumerCounters::kCount + group - 1) / group * group;
  l.counters_capacity = group + 2 * max_consumers * per_consumer;
  l.counters_offset = l.slots_offset +
                      sizeof(ConsumerSlot) * static_cast<size_t>(max_consumers);
  l.counters_bytes =
      RoundUp128(observability::CountersBlock::BytesFor(l.counters_capacity));
  l.control_bytes = l.counters_offset + l.counters_bytes;
  return l;
}

absl::Status ValidateRingName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("ring name '", std::string(name), "' must be 1 to ",
                     kMaxNameLength, " characters"));
  }
  if (name[0] == '.') {
    return absl::InvalidArgumentError(absl::StrCat(
        "ring name '", std::string(name), "' must not start with '.'"));
  }
  for (char c : name) {
    if (!NameChar(c)) {
      return absl::InvalidArgumentError(
          absl::StrCat("ring name '", std::string(name),
                       "' may only use letters, digits, '_', '.' and '-'"));
    }
  }
  return absl::OkStatus();
}

std::string ControlSegmentName(std::string_view ring) {
  return absl::StrCat("/", std::string(ring));
}
std::string DataSegmentName(std::string_view ring) {
  return absl::StrCat("/", std::string(ring), ".data");
}

absl::Status ValidateControl(const void* data, size_t size,
                             const RingIdentity* expected) {
  if (data == nullptr || size < sizeof(ControlHeader)) {
    return absl::FailedPreconditionError(
        absl::StrCat("control segment is ", size, " bytes, smaller than its ",
                     sizeof(ControlHeader), "-byte header (truncated)"));
  }
  const auto* h = static_cast<const ControlHeader*>(data);
  // Acquire: pairs with the creator's release store of `ready`, written
  // after every other field.
  const uint32_t ready = std::atomic_ref<const uint32_t>(
                             *reinterpret_cast<const uint32_t*>(&h->ready))
                             .load(std::memory_order_acquire);
  if (h->magic == 0 && ready == 0) {
    // Created and sized, header not written yet: a creator mid-way (or one
    // that died there). Attach waits for it until its timeout.
    return absl::UnavailableError(
        "control segment is still zero-filled: its creator has not written "
        "the header");
  }
  if (h->magic != kMagic) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "magic 0x%016x != 0x%016x: not a ringflow ring", h->magic, kMagic));
  }
  if (ready != 1) {
    return absl::UnavailableError(
        absl::StrCat("ring is not ready (ready word ", ready,
                     "): its creator has not finished initialising it"));
  }
  if (h->layout_version != kLayoutVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "layout version ", h->layout_version, " != ", kLayoutVersion));
  }
  if (h->header_bytes != sizeof(ControlHeader)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "header size ", h->header_bytes, " != ", sizeof(ControlHeader)));
  }
  const int64_t capacity = h->capacity;
  if (capacity < 1 || capacity > kMaxCapacity ||
      (capacity & (capacity - 1)) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("capacity ", capacity, " is not a power of two in [1, ",
                     kMaxCapacity, "]"));
  }
  if (h->max_consumers < 1 ||
      h->max_consumers > static_cast<uint32_t>(kMaxConsumers)) {
    return absl::FailedPreconditionError(
        absl::StrCat("max consumers ", h->max_consumers, " is outside [1, ",
                     kMaxConsumers, "]"));
  }
  if (h->wait_strategy >
      static_cast<uint32_t>(WaitStrategyKind::kTimeoutBlocking)) {
    return absl::FailedPreconditionError(
        absl::StrCat("wait strategy ", h->wait_strategy, " is unknown"));
  }
  if (h->producer_type > 1) {
    return absl::FailedPreconditionError(
        absl::StrCat("producer type ", h->producer_type, " is unknown"));
  }
  if (h->event_size == 0 || h->event_size > (uint64_t{1} << 30) ||
      h->event_alignment == 0 ||
      (h->event_alignment & (h->event_alignment - 1)) != 0 ||
      h->event_alignment > 4096) {
    return absl::FailedPreconditionError(
        absl::StrCat("event size ", h->event_size, " / alignment ",
                     h->event_alignment, " are not a valid type layout"));
  }
  const ControlLayout layout =
      ControlLayout::For(capacity, static_cast<int>(h->max_consumers));
  if (h->slots_offset != layout.slots_offset ||
      h->counters_offset != layout.counters_offset ||
      h->counters_bytes != layout.counters_bytes ||
      h->control_bytes != layout.control_bytes) {
    return absl::FailedPreconditionError(absl::StrCat(
        "control layout (", h->control_bytes, " bytes, slots at ",
        h->slots_offset, ") does not match capacity ", capacity, " and ",
        h->max_consumers, " consumers (", layout.control_bytes, " bytes)"));
  }
  if (size < layout.control_bytes) {
    return absl::FailedPreconditionError(
        absl::StrCat("control segment is ", size, " bytes but its header says ",
                     layout.control_bytes, " (truncated)"));
  }
  if (h->data_bytes != static_cast<uint64_t>(capacity) * h->event_size) {
    return absl::FailedPreconditionError(
        absl::StrCat("data size ", h->data_bytes, " != capacity ", capacity,
                     " x event size ", h->event_size));
  }
  if (std::memchr(h->type_tag, '\0', kTypeTagBytes) == nullptr) {
    return absl::FailedPreconditionError("type tag is not terminated");
  }
  if (expected != nullptr) {
    if (h->event_size != expected->event_size) {
      return absl::FailedPreconditionError(absl::StrCat(
          "event size ", expected->event_size, " != ", h->event_size,
          " (this process's type vs the ring's)"));
    }
    if (h->event_alignment != expected->event_alignment) {
      return absl::FailedPreconditionError(absl::StrCat(
          "event alignment ", expected->event_alignment,
          " != ", h->event_alignment, " (this process's type vs the ring's)"));
    }
    if (expected->type_tag != h->type_tag) {
      return absl::FailedPreconditionError(
          absl::StrCat("type tag '", expected->type_tag, "' != '", h->type_tag,
                       "' (this process's type vs the ring's)"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Control>> Control::Attach(
    std::string_view ring, const RingIdentity* expected,
    absl::Duration timeout) {
  RINGFLOW_RETURN_IF_ERROR(ValidateRingName(ring));
  const absl::Time deadline = absl::Now() + timeout;
  auto control = std::unique_ptr<Control>(new Control());
  control->name_ = std::string(ring);
  for (;;) {
    absl::StatusOr<Segment> opened =
        Segment::Open(ControlSegmentName(ring), Segment::Access::kReadWrite);
    // Unavailable: the segment exists but is still empty (being created).
    if (!opened.ok() && !absl::IsUnavailable(opened.status())) {
      return opened.status();
    }
    absl::Status valid = opened.status();
    if (opened.ok()) {
      control->control_ = std::move(*opened);
      valid = ValidateControl(control->control_.data(),
                              control->control_.size(), expected);
    }
    if (valid.ok()) break;
    if (!absl::IsUnavailable(valid)) {
      return absl::Status(
          valid.code(),
          absl::StrCat("ring '", std::string(ring), "': ", valid.message()));
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "ring '", std::string(ring), "' did not become ready within ",
          absl::FormatDuration(timeout),
          " (its creator may have died while initialising it)"));
    }
    // Not ready: the creator is still initialising. Poll the ready word at
    // a coarse interval; attach is a setup path with a deadline.
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  RINGFLOW_ASSIGN_OR_RETURN(
      control->data_,
      Segment::Open(DataSegmentName(ring), Segment::Access::kReadOnly));
  if (control->data_.size() < control->header().data_bytes) {
    return absl::FailedPreconditionError(
        absl::StrCat("ring '", std::string(ring), "': data segment is ",
                     control->data_.size(), " bytes, expected ",
                     control->header().data_bytes, " (truncated)"));
  }
  std::string error;
  control->counters_ = observability::CountersBlock::Attach(
      control->At<void>(control->header().counters_offset),
      control->header().counters_bytes, &error);
  if (!control->counters_.valid()) {
    return absl::FailedPreconditionError(
        absl::StrCat("ring '", std::string(ring), "': ", error));
  }
  return control;
}

absl::Status Control::Remove(std::string_view ring) {
  RINGFLOW_RETURN_IF_ERROR(ValidateRingName(ring));
  const absl::Status control = Segment::Remove(ControlSegmentName(ring));
  const absl::Status data = Segment::Remove(DataSegmentName(ring));
  if (!control.ok() && !data.ok()) {
    return absl::NotFoundError(
        absl::StrCat("ring '", std::string(ring), "' does not exist"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Control>> Control::CreateOrResume(
    const SharedRingOptions& options, const RingIdentity& identity,
    bool* resumed) {
  *resumed = false;
  RINGFLOW_RETURN_IF_ERROR(ValidateRingName(options.name));
  RingOptions ring_options;
  ring_options.capacity = options.capacity;
  ring_options.producer_type = options.producer_type;
  ring_options.wait_strategy = options.wait_strategy;
  ring_options.max_consumers = options.max_consumers;
  ring_options.name = options.name;
  RINGFLOW_RETURN_IF_ERROR(
      ValidateRingOptions(ring_options, identity.event_size));
  if ((options.mode & ~0777u) != 0 || (options.mode & 0600u) != 0600u) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "mode 0%o must be a permission mode that lets the owner read and "
        "write (e.g. 0600, 0660)",
        options.mode));
  }
  if (options.consumer_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "consumer_timeout ", absl::FormatDuration(options.consumer_timeout),
        " must be positive"));
  }
  if (options.slow_consumer_policy == SlowConsumerPolicy::kEvict &&
      options.max_stall <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_stall ", absl::FormatDuration(options.max_stall),
                     " must be positive with SlowConsumerPolicy::kEvict"));
  }
  if (identity.type_tag.size() >= kTypeTagBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("type tag '", identity.type_tag, "' is longer than ",
                     kTypeTagBytes - 1, " characters"));
  }
  const ControlLayout layout =
      ControlLayout::For(options.capacity, options.max_consumers);
  const std::string cname = ControlSegmentName(options.name);
  const std::string dname = DataSegmentName(options.name);
  const int32_t pid = CurrentPid();
  const uint64_t start = ProcessStartTicks(pid);

  auto control = std::unique_ptr<Control>(new Control());
  control->name_ = options.name;
  absl::StatusOr<Segment> created =
      Segment::Create(cname, layout.control_bytes, options.mode);
  if (!created.ok() && absl::IsAlreadyExists(created.status())) {
    // An existing ring: resume it if its producer is gone and it matches.
    RINGFLOW_ASSIGN_OR_RETURN(
        Segment existing, Segment::Open(cname, Segment::Access::kReadWrite));
    const auto* h = static_cast<const ControlHeader*>(existing.data());
    const absl::Status valid =
        ValidateControl(existing.data(), existing.size(), &identity);
    const bool same_shape =
        valid.ok() && h->capacity == options.capacity &&
        h->max_consumers == static_cast<uint32_t>(options.max_consumers) &&
        h->producer_type == static_cast<uint32_t>(options.producer_type);
    if (valid.ok() || absl::IsUnavailable(valid)) {
      const auto* live = reinterpret_cast<const ProducerLiveness*>(
          static_cast<const char*>(existing.data()) + kLivenessOffset);
      const int32_t owner = valid.ok()
                                ? live->pid.load(std::memory_order_acquire)
                                : h->creator_pid;
      const uint64_t owner_start =
          valid.ok() ? live->start_ticks.load(std::memory_order_acquire)
                     : h->creator_start_ticks;
      if (owner != pid && ProcessAlive(owner, owner_start)) {
        return absl::AlreadyExistsError(absl::StrCat(
            "ring '", options.name, "' is owned by live process ", owner));
      }
    }
    if (same_shape) {
      control->control_ = std::move(existing);
      RINGFLOW_ASSIGN_OR_RETURN(
          control->data_, Segment::Open(dname, Segment::Access::kReadWrite));
      if (control->data_.size() < control->header().data_bytes) {
        return absl::FailedPreconditionError(absl::StrCat(
            "ring '", options.name, "': data segment is truncated"));
      }
      std::string error;
      control->counters_ = observability::CountersBlock::Attach(
          control->At<void>(control->header().counters_offset),
          control->header().counters_bytes, &error);
      if (!control->counters_.valid()) {
        return absl::FailedPreconditionError(error);
      }
      // Resume at the last published sequence. For a multi-producer ring,
      // claims the dead producer never finished are discarded: entries
      // published above the first gap are cleared so they are not read as
      // new events when the sequences are claimed again.
      const int64_t published = control->PublishedSequence();
      const int64_t claimed = control->cursor().LoadAcquire();
      for (int64_t s = published + 1; s <= claimed; ++s) {
        std::atomic<int64_t>& entry =
            control->available()[s & (options.capacity - 1)];
        // Relaxed: the ring has no producer; consumers cannot pass the gap.
        if (entry.load(std::memory_order_relaxed) == s) {
          entry.store(kInitialSequence, std::memory_order_relaxed);
        }
      }
      control->cursor().StoreSeqCst(published);
      ProducerLiveness& live = control->liveness();
      live.start_ticks.store(start, std::memory_order_relaxed);
      live.heartbeat_ns.store(MonotonicNanos(), std::memory_order_relaxed);
      live.generation.fetch_add(1, std::memory_order_relaxed);
      // Release: the liveness fields above are visible with the pid.
      live.pid.store(pid, std::memory_order_release);
      control->gate().Reopen();
      *resumed = true;
      return control;
    }
    // Stale or incompatible, and nobody alive owns it: recreate.
    (void)Segment::Remove(cname);
    (void)Segment::Remove(dname);
    created = Segment::Create(cname, layout.control_bytes, options.mode);
  }
  if (!created.ok()) return created.status();
  control->control_ = std::move(*created);
  (void)Segment::Remove(dname);  // a stale data segment from a dead ring
  RINGFLOW_ASSIGN_OR_RETURN(
      control->data_,
      Segment::Create(
          dname, std::max<size_t>(1, options.capacity * identity.event_size),
          options.mode));

  // Initialise everything before `ready`. The segment is zero-filled.
  char* base = static_cast<char*>(control->control_.data());
  auto* h = new (base) ControlHeader{};
  h->magic = kMagic;
  h->layout_version = kLayoutVersion;
  h->header_bytes = sizeof(ControlHeader);
  h->event_size = identity.event_size;
  h->event_alignment = identity.event_alignment;
  h->producer_type = static_cast<uint32_t>(options.producer_type);
  h->capacity = options.capacity;
  h->max_consumers = static_cast<uint32_t>(options.max_consumers);
  h->wait_strategy = static_cast<uint32_t>(options.wait_strategy);
  h->control_bytes = layout.control_bytes;
  h->data_bytes = static_cast<uint64_t>(options.capacity) * identity.event_size;
  h->slots_offset = layout.slots_offset;
  h->counters_offset = layout.counters_offset;
  h->counters_bytes = layout.counters_bytes;
  h->consumer_timeout_ns = absl::ToInt64Nanoseconds(options.consumer_timeout);
  h->max_stall_ns = options.slow_consumer_policy == SlowConsumerPolicy::kEvict
                        ? absl::ToInt64Nanoseconds(options.max_stall)
                        : 0;
  h->creator_pid = pid;
  h->creator_start_ticks = start;
  std::memcpy(h->type_tag, identity.type_tag.data(), identity.type_tag.size());
  new (base + kCursorOffset) Sequence();
  new (base + kWakeupOffset) WakeupSignal();
  new (base + kGateOffset) ProducerGate();
  auto* live = new (base + kLivenessOffset) ProducerLiveness{};
  live->pid.store(pid, std::memory_order_relaxed);
  live->start_ticks.store(start, std::memory_order_relaxed);
  live->heartbeat_ns.store(MonotonicNanos(), std::memory_order_relaxed);
  auto* available = control->available();
  for (int64_t i = 0; i < options.capacity; ++i) {
    // Relaxed: published by the release store of `ready` below.
    new (&available[i]) std::atomic<int64_t>(kInitialSequence);
  }
  for (int i = 0; i < options.max_consumers; ++i) {
    auto* slot = new (&control->slot(i)) ConsumerSlot{};
    slot->sequence.StoreRelaxed(kInitialSequence);
    slot->counters.store(-1, std::memory_order_relaxed);
  }
  // The block always exists (consumers in other processes allocate their
  // counters in it); `counters` only decides the producer's own.
  std::string error;
  control->counters_ = observability::CountersBlock::Initialize(
      base + layout.counters_offset, layout.counters_bytes,
      layout.counters_capacity, /*reuse_delay_ns=*/1'000'000'000, &error);
  if (!control->counters_.valid()) return absl::InternalError(error);
  // Release: every field and structure above is complete before `ready`
  // reads 1. Pairs with the acquire load in ValidateControl.
  std::atomic_ref<uint32_t>(*reinterpret_cast<uint32_t*>(&h->ready))
      .store(1, std::memory_order_release);
  return control;
}

int64_t Control::PublishedSequence() const noexcept {
  const int64_t cursor = this->cursor().LoadAcquire();
  if (producer_type() == ProducerType::kSingle) return cursor;
  const int64_t from = std::max<int64_t>(
      {0, cursor - capacity() + 1, MinimumSequence(cursor) + 1});
  return published_cursor().Published(from, std::memory_order_acquire);
}

bool Control::NameTaken(std::string_view name, int except) const {
  for (int i = 0; i < max_consumers(); ++i) {
    if (i == except) continue;  // the caller's own slot, still named as before
    const ConsumerSlot& s = slot(i);
    const auto state =
        ConsumerSlot::StateOf(s.state.load(std::memory_order_acquire));
    if ((state == ConsumerSlot::kActive || state == ConsumerSlot::kAttaching ||
         state == ConsumerSlot::kJoining) &&
        name == std::string_view(s.name, strnlen(s.name, sizeof(s.name)))) {
      return true;
    }
  }
  return false;
}

absl::StatusOr<int> Control::AcquireSlot(std::string_view requested,
                                         bool oldest) {
  if (!requested.empty()) {
    RINGFLOW_RETURN_IF_ERROR(ValidateName("consumer name", requested));
  }
  const int32_t pid = CurrentPid();
  const uint64_t start = ProcessStartTicks(pid);
  for (int i = 0; i < max_consumers(); ++i) {
    ConsumerSlot& s = slot(i);
    uint32_t word = s.state.load(std::memory_order_acquire);
    const auto state = ConsumerSlot::StateOf(word);
    if (state != ConsumerSlot::kFree &&
        !(state == ConsumerSlot::kEvicted && EvictedOwnerGone(s))) {
      continue;
    }
    const uint32_t generation = ConsumerSlot::GenerationOf(word) + 1;
    // Acq_rel: the claim is exclusive across processes.
    if (!s.state.compare_exchange_strong(
            word, ConsumerSlot::Word(generation, ConsumerSlot::kAttaching),
            std::memory_order_acq_rel)) {
      continue;
    }
    // The slot is ours (attaching): fill it in. Relaxed stores below: the
    // seq_cst store of kJoining/kActive further down publishes them to the
    // producer and to tools (acquire loads of the state word).
    const std::string name = UniqueConsumerName(
        requested, i, [&](std::string_view n) { return NameTaken(n, i); });
    std::memset(s.name, 0, sizeof(s.name));
    std::memcpy(s.name, name.data(), name.size());
    s.pid.store(pid, std::memory_order_relaxed);
    s.start_ticks.store(start, std::memory_order_relaxed);
    s.heartbeat_ns.store(MonotonicNanos(), std::memory_order_relaxed);
    s.generation.store(generation, std::memory_order_relaxed);
    s.evicted_at_ns.store(0, std::memory_order_relaxed);
    const int old_counters = s.counters.load(std::memory_order_relaxed);
    if (counters_.valid()) {
      if (old_counters >= 0)
        counters_.Free(old_counters, ConsumerCounters::kCount);
      std::string labels;
      const auto specs = ConsumerCounters::Specs(name_, name, labels);
      s.counters.store(counters_.Allocate(specs, nullptr),
                       std::memory_order_relaxed);
    }
    if (oldest) {
      JoinAtOldest(s, generation);
    } else {
      JoinAtLatest(s, generation);
    }
    return i;
  }
  return absl::ResourceExhaustedError(absl::StrCat("all ", max_consumers(),
                                                   " consumer slots of ring '",
                                                   name_, "' are taken"));
}

// Late-joiner protocol (as RingBuffer::RegisterConsumer): the sequence is
// set from the cursor before and after the slot turns active, all seq_cst.
// Partner: the producer's FenceBeforeGatingRead (SP: seq_cst cursor store;
// MP: the seq_cst fetch_add claim) followed by its seq_cst scan of the
// state words in MinimumSequence. Either the producer's scan sees us
// active, or our second cursor load sees a cursor at least as new as the
// one it stored before that scan, so it never claims past
// `latest + capacity` on a minimum that left us out.
void Control::JoinAtLatest(ConsumerSlot& s, uint32_t generation) noexcept {
  s.sequence.StoreSeqCst(cursor().LoadSeqCst());
  s.state.store(ConsumerSlot::Word(generation, ConsumerSlot::kActive),
                std::memory_order_seq_cst);
  s.sequence.StoreSeqCst(cursor().LoadSeqCst());
}

// start=oldest: begin at S, the lowest sequence another fully joined
// consumer holds, so we read S+1.. while the producer can only have
// claimed up to S + capacity. Why this is safe, with every load and store
// below seq_cst:
//  1. Placeholder P0 = min(other active consumers, cursor), stored before
//     the slot turns kJoining (which gates like kActive). A producer scan
//     that sees us uses P0 or the final S >= P0.
//  2. After kJoining, M = min over other *kActive* slots (kJoining ones are
//     someone else's handshake and are skipped) and the cursor, and
//     S = max(P0, M). A producer scan that missed us read our state before
//     our kJoining store; the scan is stable (MinimumSequence re-reads
//     every state word after its sequence loads and retries on a change),
//     so every sequence it used was loaded before that, hence before our
//     loads of the same sequences: it saw values <= ours (coherence of
//     seq_cst loads; sequences only grow once a slot is kActive). If it
//     missed the consumer that gave M too, that consumer was joining and
//     the same argument applied to it bounds the scan by its start <= M.
//     Without other consumers the scan's minimum is at most the cursor the
//     producer stored before it, which our cursor load sees.
//  3. The final S is stored before kActive, so a consumer joining after us
//     and reading us as kActive reads S or later.
void Control::JoinAtOldest(ConsumerSlot& s, uint32_t generation) noexcept {
  const int64_t placeholder = OthersMinimum(s, cursor().LoadSeqCst());
  s.sequence.StoreSeqCst(placeholder);
  s.state.store(ConsumerSlot::Word(generation, ConsumerSlot::kJoining),
                std::memory_order_seq_cst);
  const int64_t minimum = OthersMinimum(s, cursor().LoadSeqCst());
  s.sequence.StoreSeqCst(std::max(placeholder, minimum));
  // A CAS, not a store: the producer may have evicted us meanwhile (a
  // joiner that stalls it past max_stall), and that must stick; the
  // consumer then reports kEvicted. Seq_cst: the producer's scan and later
  // joiners (OthersMinimum) read the state word seq_cst; a failed CAS
  // leaves kEvicted for the consumer's acquire load in Evicted().
  uint32_t joining = ConsumerSlot::Word(generation, ConsumerSlot::kJoining);
  s.state.compare_exchange_strong(
      joining, ConsumerSlot::Word(generation, ConsumerSlot::kActive),
      std::memory_order_seq_cst);
}

int64_t Control::OthersMinimum(const ConsumerSlot& self,
                               int64_t default_value) const noexcept {
  int64_t minimum = default_value;
  for (int i = 0; i < max_consumers(); ++i) {
    const ConsumerSlot& s = slot(i);
    if (&s == &self) continue;
    // Seq_cst loads: see JoinAtOldest, step 2.
    if (ConsumerSlot::StateOf(s.state.load(std::memory_order_seq_cst)) ==
        ConsumerSlot::kActive) {
      minimum = std::min(minimum, s.sequence.LoadSeqCst());
    }
  }
  return minimum;
}

// An evicted consumer that is still running keeps storing its sequence
// until it notices, so its slot is reused only once its process is gone
// (or it released the slot itself, which makes it kFree).
bool Control::EvictedOwnerGone(const ConsumerSlot& s) const noexcept {
  // Relaxed: the pid is stable while the slot is kEvicted (acquire above).
  return !ProcessAlive(s.pid.load(std::memory_order_relaxed),
                       s.start_ticks.load(std::memory_order_relaxed));
}

void Control::ReleaseSlot(int index, uint32_t generation) noexcept {
  ConsumerSlot& s = slot(index);
  for (const auto state : {ConsumerSlot::kActive, ConsumerSlot::kEvicted}) {
    uint32_t word = ConsumerSlot::Word(generation, state);
    // Release: the producer may reuse our slots once it sees the slot free.
    if (s.state.compare_exchange_strong(
            word, ConsumerSlot::Word(generation, ConsumerSlot::kFree),
            std::memory_order_release, std::memory_order_relaxed)) {
      return;
    }
  }
}

int64_t Control::MinimumSequence(int64_t default_value) const noexcept {
  const int n = max_consumers();  // <= kMaxConsumers: ValidateControl
  std::array<uint32_t, kMaxConsumers> seen;
  for (;;) {
    int64_t minimum = default_value;
    for (int i = 0; i < n; ++i) {
      const ConsumerSlot& s = slot(i);
      // Seq_cst: as ConsumerTable::MinimumSequence (late-joiner handshake,
      // partner: the joiner's seq_cst state store then cursor load).
      seen[i] = s.state.load(std::memory_order_seq_cst);
      if (ConsumerSlot::Gates(seen[i])) {
        // Seq_cst (a plain load on x86): start=oldest joiners compare the
        // values they read with the ones we read (JoinAtOldest, step 2).
        // It also pairs with the consumer's release of its sequence.
        minimum = std::min(minimum, s.sequence.LoadSeqCst());
      }
    }
    // Stable scan: no slot changed state while we read the sequences, so
    // every sequence load above precedes the last state load of each slot.
    // A change means a join, leave or eviction: rare, and we retry.
    bool stable = true;
    for (int i = 0; i < n && stable; ++i) {
      stable = slot(i).state.load(std::memory_order_seq_cst) == seen[i];
    }
    if (stable) return minimum;
  }
}

int Control::EvictDeadConsumers(int64_t wrap_point,
                                int64_t stall_started_ns) noexcept {
  const int64_t now = MonotonicNanos();
  const int32_t self = CurrentPid();
  const ControlHeader& h = header();
  int evicted = 0;
  for (int i = 0; i < max_consumers(); ++i) {
    ConsumerSlot& s = slot(i);
    uint32_t word = s.state.load(std::memory_order_acquire);
    if (!ConsumerSlot::Gates(word)) continue;
    // Relaxed: liveness fields are statistics written by the consumer.
    const int32_t pid = s.pid.load(std::memory_order_relaxed);
    if (pid == self) continue;  // our own in-process consumers
    const bool gone =
        !ProcessAlive(pid, s.start_ticks.load(std::memory_order_relaxed));
    const bool silent = now - s.heartbeat_ns.load(std::memory_order_relaxed) >
                        h.consumer_timeout_ns;
    const bool stalling = h.max_stall_ns > 0 && stall_started_ns > 0 &&
                          now - stall_started_ns > h.max_stall_ns &&
                          s.sequence.LoadAcquire() < wrap_point;
    if (!gone && !silent && !stalling) continue;
    // Acq_rel: only the owner generation we saw is evicted.
    if (s.state.compare_exchange_strong(
            word,
            ConsumerSlot::Word(ConsumerSlot::GenerationOf(word),
                               ConsumerSlot::kEvicted),
            std::memory_order_acq_rel)) {
      // The time of the eviction itself, not of the scan's start: a dead
      // pid found by a scan that began before the death must not look
      // evicted before it died (a kill -9 trial saw evicted_at 470 us
      // before its kill under TSan). Relaxed: a statistic for tools.
      s.evicted_at_ns.store(MonotonicNanos(), std::memory_order_relaxed);
      s.evictions.fetch_add(1, std::memory_order_relaxed);
      ++evicted;
    }
  }
  if (evicted > 0) wakeup().WakeAll();  // evicted consumers notice sooner
  return evicted;
}

void Control::ProducerHeartbeat() noexcept {
  // Relaxed: a liveness statistic.
  liveness().heartbeat_ns.store(MonotonicNanos(), std::memory_order_relaxed);
}

bool Control::ProducerAlive() const noexcept {
  const ProducerLiveness& live = liveness();
  // Acquire: pairs with the release store of pid by a (re)starting producer.
  const int32_t pid = live.pid.load(std::memory_order_acquire);
  return ProcessAlive(pid, live.start_ticks.load(std::memory_order_relaxed));
}

}  // namespace ringflow::shm
