#include "ringflow/shm/internal/layout.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ringflow/core/byte_ring_options.h"
#include "ringflow/core/internal/consumer_counters.h"
#include "ringflow/core/internal/counters_block.h"

namespace ringflow::shm_internal {
namespace {

constexpr size_t RoundUp128(size_t n) { return (n + 127) / 128 * 128; }

bool NameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

}  // namespace

std::string_view RingKindName(RingKind kind) {
  switch (kind) {
    case RingKind::kEvents:
      return "event ring";
    case RingKind::kBytes:
      return "byte ring";
  }
  return "unknown ring kind";
}

ControlLayout ControlLayout::For(int64_t capacity, int max_consumers,
                                 RingKind kind) {
  ControlLayout l;
  l.slots_offset =
      kind == RingKind::kBytes
          ? kAvailableOffset + kByteRegionBytes
          : kAvailableOffset + RoundUp128(static_cast<size_t>(capacity) * 8);
  const int group = core_internal::CountersBlock::kGroup;
  const int per_consumer =
      (core_internal::ConsumerCounters::kCount + group - 1) / group * group;
  l.counters_capacity = group + 2 * max_consumers * per_consumer;
  l.counters_offset = l.slots_offset +
                      sizeof(ConsumerSlot) * static_cast<size_t>(max_consumers);
  l.counters_bytes =
      RoundUp128(core_internal::CountersBlock::BytesFor(l.counters_capacity));
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
  return absl::StrCat("/", std::string(ring), ":data");
}

absl::StatusOr<RingGeometry> ReadGeometry(const void* data, size_t size,
                                          const RingIdentity* expected) {
  if (data == nullptr || size < sizeof(ControlHeader)) {
    return absl::FailedPreconditionError(
        absl::StrCat("control segment is ", size, " bytes, smaller than its ",
                     sizeof(ControlHeader), "-byte header (truncated)"));
  }
  // Acquire: pairs with the creator's release store of `ready`, written
  // after every other field.
  const uint32_t ready =
      std::atomic_ref<const uint32_t>(
          *reinterpret_cast<const uint32_t*>(static_cast<const char*>(data) +
                                             offsetof(ControlHeader, ready)))
          .load(std::memory_order_acquire);
  // One copy into private memory, then every check and every value below
  // reads the copy: a writer racing us cannot make a checked field differ
  // from the one used.
  alignas(ControlHeader) unsigned char copy[sizeof(ControlHeader)];
  std::memcpy(copy, data, sizeof(copy));
  const auto* h = reinterpret_cast<const ControlHeader*>(copy);
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
  if (h->ring_kind > static_cast<uint32_t>(RingKind::kBytes)) {
    return absl::FailedPreconditionError(
        absl::StrCat("ring kind ", h->ring_kind, " is unknown"));
  }
  const auto kind = static_cast<RingKind>(h->ring_kind);
  if (expected != nullptr && expected->kind != kind) {
    return absl::FailedPreconditionError(absl::StrCat(
        "it is a ", std::string(RingKindName(kind)), ", not ",
        expected->kind == RingKind::kEvents ? "an event ring" : "a byte ring"));
  }
  const int64_t capacity = h->capacity;
  if (kind == RingKind::kBytes &&
      (h->event_size != 1 ||
       h->event_alignment != static_cast<uint32_t>(kByteRecordAlignment) ||
       capacity < kMinByteRingCapacity || capacity > kMaxByteRingCapacity)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "byte ring with event size ", h->event_size, ", alignment ",
        h->event_alignment, ", capacity ", capacity, " (expected 1, ",
        kByteRecordAlignment, ", [", kMinByteRingCapacity, ", ",
        kMaxByteRingCapacity, "] bytes)"));
  }
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
      ControlLayout::For(capacity, static_cast<int>(h->max_consumers), kind);
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
  if (h->consumer_timeout_ns <= 0 || h->max_stall_ns < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("consumer timeout ", h->consumer_timeout_ns,
                     " ns / max stall ", h->max_stall_ns, " ns are invalid"));
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
  RingGeometry g;
  g.kind = kind;
  g.event_size = h->event_size;
  g.event_alignment = h->event_alignment;
  g.producer_type = static_cast<ProducerType>(h->producer_type);
  g.capacity = capacity;
  g.max_consumers = static_cast<int>(h->max_consumers);
  g.wait_strategy = static_cast<WaitStrategyKind>(h->wait_strategy);
  g.layout = layout;
  g.data_bytes = static_cast<size_t>(h->data_bytes);
  g.consumer_timeout_ns = h->consumer_timeout_ns;
  g.max_stall_ns = h->max_stall_ns;
  g.creator_pid = h->creator_pid;
  g.creation_id = h->creation_id;
  g.type_tag = h->type_tag;
  return g;
}

absl::Status ValidateControl(const void* data, size_t size,
                             const RingIdentity* expected) {
  return ReadGeometry(data, size, expected).status();
}

absl::Status ValidateData(const void* data, size_t size,
                          const RingGeometry& geometry) {
  if (data == nullptr || size < kDataHeaderBytes + geometry.data_bytes) {
    return absl::FailedPreconditionError(
        absl::StrCat("data segment is ", size, " bytes, expected ",
                     kDataHeaderBytes + geometry.data_bytes, " (truncated)"));
  }
  DataHeader h;
  std::memcpy(&h, data, sizeof(h));
  if (h.magic != kDataMagic) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "data segment magic 0x%016x != 0x%016x: not a ringflow data segment",
        h.magic, kDataMagic));
  }
  if (h.creation_id != geometry.creation_id) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "data segment belongs to ring creation %016x, not to this control "
        "segment's %016x",
        h.creation_id, geometry.creation_id));
  }
  if (h.events_offset != kDataHeaderBytes ||
      h.data_bytes != geometry.data_bytes) {
    return absl::FailedPreconditionError(absl::StrCat(
        "data segment layout (events at ", h.events_offset, ", ", h.data_bytes,
        " bytes) != (", kDataHeaderBytes, ", ", geometry.data_bytes, ")"));
  }
  return absl::OkStatus();
}

}  // namespace ringflow::shm_internal
