// ringflow/core/internal/counters_block.h
//
// Provides `CountersBlock`: a fixed-size table of counters placed in
// caller-provided memory (heap, or a shared-memory segment so another
// process — `ringflow stat`, a metrics sidecar — can read it), after
// Aeron's counters file:
//
//   offset 0                 +------------------------------+
//                            | BlockHeader (128 bytes)      |
//   128                      +------------------------------+
//                            | MetadataRecord x capacity    |  256 bytes each:
//                            |  state, type, le, deadline,  |  name[64],
//                            |  name, help, labels          |  help[64],
//                            labels[96]
//   128 + 256 * capacity     +------------------------------+
//                            | Counter x capacity           |  8 bytes each
//                            +------------------------------+
//
// Values and metadata are separate so writers touch only dense value
// lines. Allocation hands out whole groups of 16 values (128 bytes), so
// counters of different allocations never share a line pair: one
// allocation per writer, and a counter with several writers gets its own.
//
// Record life cycle: kUnused -> kClaimed (CAS) -> metadata written -> value
// zeroed -> kAllocated (release). Free sets kReclaimed with a deadline; the
// record is claimed again only after it, so a reader that saw kAllocated
// never pairs a new value with an old label (Aeron's reuse timeout).
//
// Who calls what: Allocate/Free from any thread of any process mapping the
// block (lock-free CAS on state words); value writes by each counter's
// writer(s); ForEach from any reader. Reading never blocks a writer.
//
// Memory ordering: a record's state is written last with release and read
// first with acquire, so a reader that sees kAllocated sees its metadata.
// Values are relaxed (see Counter).

#ifndef RINGFLOW_CORE_INTERNAL_COUNTERS_BLOCK_H_
#define RINGFLOW_CORE_INTERNAL_COUNTERS_BLOCK_H_

#include <time.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "ringflow/core/internal/counter.h"

namespace ringflow::core_internal {

enum class CounterType : uint32_t {
  kCounter = 1,          // monotonic: exported as <name> (name ends _total)
  kGauge = 2,            // may go down
  kHistogramBucket = 3,  // one bucket (non-cumulative count) of <name>
  kHistogramSum = 4,     // <name>_sum
  kHistogramCount = 5,   // <name>_count
};

// What to allocate: one entry per counter.
struct CounterSpec {
  std::string_view name;    // [a-zA-Z_:][a-zA-Z0-9_:]*, < 64 chars
  std::string_view help;    // < 64 chars
  std::string_view labels;  // rendered: ring="r",consumer="c" (< 96 chars)
  CounterType type = CounterType::kCounter;
  uint64_t le = 0;  // kHistogramBucket: upper bound; UINT64_MAX is +Inf
};

// A reader's view of one allocated counter.
struct CounterView {
  int index;
  CounterType type;
  uint64_t le;
  std::string_view name;
  std::string_view help;
  std::string_view labels;
  uint64_t value;
};

class CountersBlock {
 public:
  static constexpr uint64_t kMagic = 0x31534e544e434652ULL;  // "RFCNTNS1"
  static constexpr uint32_t kVersion = 1;
  static constexpr int kGroup = 16;  // values per 128-byte line pair
  static constexpr uint32_t kMaxCapacity = 1u << 24;  // sanity bound on Attach

  enum State : uint32_t {
    kUnused = 0,
    kClaimed = 1,
    kAllocated = 2,
    kReclaimed = 3,
  };

  struct alignas(128) BlockHeader {
    uint64_t magic;
    uint32_t version;
    uint32_t capacity;        // number of value records
    uint32_t metadata_bytes;  // sizeof(MetadataRecord)
    uint32_t reserved;
    int64_t reuse_delay_ns;       // how long a freed record rests
    std::atomic<uint32_t> ready;  // 1 once initialised (written last)
  };

  struct MetadataRecord {
    std::atomic<uint32_t> state;  // written last on allocate (release)
    uint32_t type;
    uint64_t le;
    // kReclaimed: claimable again after this. Relaxed: ordered by the
    // release store / acquire load of `state` around it.
    std::atomic<int64_t> free_deadline_ns;
    uint64_t reserved;
    char name[64];
    char help[64];
    char labels[96];
  };

  static_assert(sizeof(BlockHeader) == 128, "header fills one line pair");
  static_assert(sizeof(MetadataRecord) == 256,
                "fixed-size metadata records, as in the layout diagram");
  static_assert(offsetof(MetadataRecord, name) == 32,
                "metadata fields at the offsets readers expect");
  static_assert(std::atomic<uint32_t>::is_always_lock_free,
                "state words are shared across processes");
  static_assert(std::is_standard_layout_v<MetadataRecord> &&
                    std::is_standard_layout_v<BlockHeader>,
                "placed in shared memory by offset");

  // Bytes needed for `capacity` counters (rounded up to whole groups).
  static size_t BytesFor(int capacity) noexcept {
    const size_t n = RoundUp(capacity);
    return sizeof(BlockHeader) + n * sizeof(MetadataRecord) +
           n * sizeof(Counter);
  }

  CountersBlock() = default;

  // Formats `memory` (at least BytesFor(capacity) bytes, 128-aligned) as an
  // empty block. Returns an invalid block (valid() false) when the memory
  // is too small or misaligned or capacity < 1; `error` says why.
  static CountersBlock Initialize(void* memory, size_t bytes, int capacity,
                                  int64_t reuse_delay_ns, std::string* error) {
    if (capacity < 1 || capacity > static_cast<int>(kMaxCapacity) ||
        memory == nullptr || reinterpret_cast<uintptr_t>(memory) % 128 != 0 ||
        bytes < BytesFor(capacity)) {
      if (error != nullptr) {
        *error = "counters block: capacity " + std::to_string(capacity) +
                 " needs " + std::to_string(BytesFor(capacity)) +
                 " bytes at 128-byte alignment; got " + std::to_string(bytes);
      }
      return CountersBlock();
    }
    std::memset(memory, 0, BytesFor(capacity));
    auto* header = new (memory) BlockHeader();
    header->magic = kMagic;
    header->version = kVersion;
    header->capacity = static_cast<uint32_t>(RoundUp(capacity));
    header->metadata_bytes = sizeof(MetadataRecord);
    header->reuse_delay_ns = reuse_delay_ns;
    CountersBlock block(header);
    // Release: the formatted block is complete before `ready` reads 1.
    // Pairs with the acquire load in Attach.
    header->ready.store(1, std::memory_order_release);
    return block;
  }

  // Views an existing block (e.g. mapped from another process). Invalid
  // (and `error` set) when the header does not match or does not fit.
  static CountersBlock Attach(void* memory, size_t bytes, std::string* error) {
    auto* header = static_cast<BlockHeader*>(memory);
    std::string why;
    if (memory == nullptr || bytes < sizeof(BlockHeader)) {
      why = "counters block: " + std::to_string(bytes) +
            " bytes is smaller than its header";
    } else if (header->ready.load(std::memory_order_acquire) != 1) {
      why = "counters block: not initialised";
    } else if (header->magic != kMagic) {
      why = "counters block: bad magic";
    } else if (header->version != kVersion) {
      why = "counters block: version " + std::to_string(header->version) +
            " != " + std::to_string(kVersion);
    } else if (header->metadata_bytes != sizeof(MetadataRecord) ||
               header->capacity == 0 || header->capacity > kMaxCapacity ||
               header->capacity % kGroup != 0 ||
               bytes < BytesFor(static_cast<int>(header->capacity))) {
      why = "counters block: capacity " + std::to_string(header->capacity) +
            " does not fit in " + std::to_string(bytes) + " bytes";
    }
    if (!why.empty()) {
      if (error != nullptr) *error = why;
      return CountersBlock();
    }
    return CountersBlock(header);
  }

  bool valid() const noexcept { return header_ != nullptr; }
  // The capacity read once, when the block was formatted or attached: the
  // shared header may be rewritten by another process afterwards, and no
  // index is ever bounded by it again.
  int capacity() const noexcept { return capacity_; }

  // Allocates specs.size() counters in adjacent records starting on a
  // group boundary; returns the first index, or -1 when the block is full
  // or a spec is malformed (`error` says which). Thread- and process-safe.
  int Allocate(std::span<const CounterSpec> specs, std::string* error) {
    for (const CounterSpec& spec : specs) {
      std::string why = CheckSpec(spec);
      if (!why.empty()) {
        if (error != nullptr) *error = why;
        return -1;
      }
    }
    const int count = static_cast<int>(specs.size());
    const int groups = (count + kGroup - 1) / kGroup;
    const int total_groups = capacity() / kGroup;
    for (int g = 0; g + groups <= total_groups; ++g) {
      const int first = g * kGroup;
      if (!ClaimRun(first, groups * kGroup)) continue;
      for (int i = 0; i < groups * kGroup; ++i) {
        MetadataRecord& m = metadata(first + i);
        if (i < count) {
          const CounterSpec& spec = specs[static_cast<size_t>(i)];
          m.type = static_cast<uint32_t>(spec.type);
          m.le = spec.le;
          Copy(m.name, spec.name);
          Copy(m.help, spec.help);
          Copy(m.labels, spec.labels);
        } else {
          m.type = 0;  // padding in the group: claimed, never exported
          m.name[0] = '\0';
        }
        value(first + i).Set(0);
      }
      for (int i = 0; i < count; ++i) {
        // Release: metadata and the zeroed value are complete before a
        // reader sees kAllocated (acquire in ForEach).
        metadata(first + i).state.store(kAllocated, std::memory_order_release);
      }
      return first;
    }
    if (error != nullptr) {
      *error = "counters block full: no room for " + std::to_string(count) +
               " counters in " + std::to_string(capacity());
    }
    return -1;
  }

  // Frees counters [first, first + count) (as returned by Allocate). They
  // rest for the block's reuse delay before they can be allocated again.
  // Out-of-range runs (an index read back from shared memory that another
  // process rewrote) are ignored.
  void Free(int first, int count) noexcept {
    const int run = (count + kGroup - 1) / kGroup * kGroup;
    if (first < 0 || count < 0 || first > capacity_ - run) return;
    const int64_t deadline = NowNanos() + reuse_delay_ns_;
    for (int i = 0; i < run; ++i) {
      MetadataRecord& m = metadata(first + i);
      m.free_deadline_ns.store(deadline, std::memory_order_relaxed);
      // Release: the deadline is visible before the state says reclaimed.
      // Pairs with the acquire load in ClaimRun.
      m.state.store(kReclaimed, std::memory_order_release);
    }
  }

  Counter& value(int index) noexcept { return values()[index]; }
  const Counter& value(int index) const noexcept { return values()[index]; }

  // Calls fn(const CounterView&) for every allocated counter, in index
  // order. Never blocks writers.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    const int n = capacity();
    for (int i = 0; i < n; ++i) {
      const MetadataRecord& m = metadata(i);
      // Acquire: pairs with the release store in Allocate.
      if (m.state.load(std::memory_order_acquire) != kAllocated) continue;
      fn(CounterView{
          i, static_cast<CounterType>(m.type), m.le,
          std::string_view(m.name, strnlen(m.name, sizeof(m.name))),
          std::string_view(m.help, strnlen(m.help, sizeof(m.help))),
          std::string_view(m.labels, strnlen(m.labels, sizeof(m.labels))),
          value(i).Load()});
    }
  }

  static int64_t NowNanos() noexcept {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
  }

 private:
  explicit CountersBlock(BlockHeader* header)
      : header_(header),
        capacity_(static_cast<int>(header->capacity)),
        reuse_delay_ns_(header->reuse_delay_ns) {}

  static size_t RoundUp(int capacity) noexcept {
    return static_cast<size_t>((capacity + kGroup - 1) / kGroup * kGroup);
  }

  MetadataRecord* metadata_base() const noexcept {
    return reinterpret_cast<MetadataRecord*>(reinterpret_cast<char*>(header_) +
                                             sizeof(BlockHeader));
  }
  MetadataRecord& metadata(int i) const noexcept { return metadata_base()[i]; }
  Counter* values() const noexcept {
    return reinterpret_cast<Counter*>(reinterpret_cast<char*>(metadata_base()) +
                                      static_cast<size_t>(capacity_) *
                                          sizeof(MetadataRecord));
  }

  // Claims [first, first + n): every record must be unused or rested.
  bool ClaimRun(int first, int n) noexcept {
    const int64_t now = NowNanos();
    for (int i = 0; i < n; ++i) {
      MetadataRecord& m = metadata(first + i);
      uint32_t state = m.state.load(std::memory_order_acquire);
      const bool free = state == kUnused ||
                        (state == kReclaimed && m.free_deadline_ns <= now);
      // Acq_rel: the claim is exclusive across threads and processes.
      if (!free || !m.state.compare_exchange_strong(
                       state, kClaimed, std::memory_order_acq_rel)) {
        for (int j = 0; j < i; ++j) {
          // Release: hand the record back as it was found (rested).
          MetadataRecord& back = metadata(first + j);
          back.free_deadline_ns.store(0, std::memory_order_relaxed);
          back.state.store(kReclaimed, std::memory_order_release);
        }
        return false;
      }
    }
    return true;
  }

  static bool ValidName(std::string_view name) {
    if (name.empty() || name.size() >= 64) return false;
    for (size_t i = 0; i < name.size(); ++i) {
      const char c = name[i];
      const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         c == '_' || c == ':';
      if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
    }
    return true;
  }

  static std::string CheckSpec(const CounterSpec& spec) {
    if (!ValidName(spec.name)) {
      return "counter name '" + std::string(spec.name) +
             "' is not a Prometheus metric name of under 64 characters";
    }
    if (spec.help.size() >= sizeof(MetadataRecord::help)) {
      return "help of counter '" + std::string(spec.name) +
             "' is longer than 63 characters";
    }
    if (spec.labels.size() >= sizeof(MetadataRecord::labels)) {
      return "labels '" + std::string(spec.labels) + "' of counter '" +
             std::string(spec.name) + "' are longer than 95 characters";
    }
    return {};
  }

  template <size_t N>
  static void Copy(char (&dst)[N], std::string_view src) {
    const size_t n = src.size() < N - 1 ? src.size() : N - 1;
    std::memcpy(dst, src.data(), n);
    dst[n] = '\0';
  }

  BlockHeader* header_ = nullptr;
  int capacity_ = 0;            // validated copy of header_->capacity
  int64_t reuse_delay_ns_ = 0;  // copy of header_->reuse_delay_ns
};

}  // namespace ringflow::core_internal

#endif  // RINGFLOW_CORE_INTERNAL_COUNTERS_BLOCK_H_
