// libFuzzer target for shm_internal::ValidateControl, the check every attach
// runs on a control segment another process wrote. Whatever the bytes and size:
// no crash, no read past `size` (ASan: the input is copied into a buffer of
// exactly that size), and a non-OK result always carries a message. An OK
// result must describe a ring that fits in the bytes it was given.
//
// Built with clang (-fsanitize=fuzzer,address) by
// run_validate_control_fuzzer.sh; see tests/shm/CMakeLists.txt.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "absl/status/status.h"
#include "ringflow/shm/internal/control.h"
#include "ringflow/shm/internal/layout.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

void CheckResult(const absl::Status& status, const uint8_t* data, size_t size) {
  if (!status.ok()) {
    Check(!status.message().empty());
    Check(status.code() == absl::StatusCode::kFailedPrecondition ||
          status.code() == absl::StatusCode::kUnavailable);
    return;
  }
  Check(size >= sizeof(ringflow::shm_internal::ControlHeader));
  const auto* h =
      reinterpret_cast<const ringflow::shm_internal::ControlHeader*>(data);
  Check(h->magic == ringflow::shm_internal::kMagic);
  Check(h->capacity > 0 && (h->capacity & (h->capacity - 1)) == 0);
  Check(h->control_bytes <= size);
  Check(h->slots_offset + 256 * uint64_t{h->max_consumers} <= size);
  Check(h->counters_offset + h->counters_bytes <= size);
  Check(std::memchr(h->type_tag, '\0', sizeof(h->type_tag)) != nullptr);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Exactly `size` bytes on the heap (aligned like a mapping's start).
  const std::unique_ptr<uint8_t[]> copy(new uint8_t[size]);
  if (size > 0) std::memcpy(copy.get(), data, size);
  CheckResult(
      ringflow::shm_internal::ValidateControl(copy.get(), size, nullptr),
      copy.get(), size);
  const ringflow::shm_internal::RingIdentity identity{16, 8,
                                                      "ringflow.test.ShmEvent"};
  const absl::Status typed =
      ringflow::shm_internal::ValidateControl(copy.get(), size, &identity);
  CheckResult(typed, copy.get(), size);
  if (typed.ok()) {
    const auto* h =
        reinterpret_cast<const ringflow::shm_internal::ControlHeader*>(
            copy.get());
    Check(h->event_size == 16 && h->event_alignment == 8 && h->ring_kind == 0);
  }
  // As a byte reader sees it: only a byte ring of byte-ring geometry.
  ringflow::shm_internal::RingIdentity bytes{1, 8, ""};
  bytes.kind = ringflow::shm_internal::RingKind::kBytes;
  const absl::Status byte_ring =
      ringflow::shm_internal::ValidateControl(copy.get(), size, &bytes);
  CheckResult(byte_ring, copy.get(), size);
  if (byte_ring.ok()) {
    const auto* h =
        reinterpret_cast<const ringflow::shm_internal::ControlHeader*>(
            copy.get());
    Check(h->ring_kind == 1 && h->event_size == 1 && h->event_alignment == 8 &&
          h->data_bytes == static_cast<uint64_t>(h->capacity) &&
          h->capacity >= 64);
  }
  return 0;
}
