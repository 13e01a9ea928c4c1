// tests/support/shm_bytes.h — the record framing the shm byte-ring tests
// and shm_child agree on, and its checker.
//
// A record of producer `p`'s `seq`-th message: 16 header bytes (u32
// producer, u32 length, u64 seq) then filler bytes derived from (p, seq),
// then nothing else; its length is ByteRecordLength(p, seq) (16..250, all
// residues mod 8, so records end at every alignment). A checker verifies
// every record's length and bytes and each producer's order (seq + 1).

#ifndef RINGFLOW_TESTS_SUPPORT_SHM_BYTES_H_
#define RINGFLOW_TESTS_SUPPORT_SHM_BYTES_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace ringflow::testing {

inline size_t ByteRecordLength(uint32_t producer, uint64_t seq) {
  return 16 + static_cast<size_t>((seq * 37 + producer * 11) % 235);
}

inline std::byte ByteFill(uint32_t producer, uint64_t seq, size_t i) {
  return static_cast<std::byte>((seq * 131 + producer * 7 + i * 29) & 0xff);
}

// Writes producer `p`'s `seq`-th record into `out` (ByteRecordLength bytes).
inline void FillByteRecord(uint32_t producer, uint64_t seq,
                           std::span<std::byte> out) {
  const auto length = static_cast<uint32_t>(out.size());
  std::memcpy(out.data(), &producer, 4);
  std::memcpy(out.data() + 4, &length, 4);
  std::memcpy(out.data() + 8, &seq, 8);
  for (size_t i = 16; i < out.size(); ++i) out[i] = ByteFill(producer, seq, i);
}

inline std::vector<std::byte> ByteRecord(uint32_t producer, uint64_t seq) {
  std::vector<std::byte> bytes(ByteRecordLength(producer, seq));
  FillByteRecord(producer, seq, bytes);
  return bytes;
}

// Checks records as a reader sees them.
struct ByteStreamCheck {
  int64_t count = 0;
  int64_t bytes = 0;
  int64_t order_violations = 0;       // a producer's seq not previous + 1
  int64_t content_violations = 0;     // a length or byte that does not match
  std::map<uint32_t, uint64_t> next;  // producer -> next expected seq

  // `first_seq`: the seq each producer's first record must have (-1: any).
  void Check(std::span<const std::byte> record, int64_t first_seq = 0) {
    ++count;
    bytes += static_cast<int64_t>(record.size());
    if (record.size() < 16) {
      ++content_violations;
      return;
    }
    uint32_t producer = 0;
    uint32_t length = 0;
    uint64_t seq = 0;
    std::memcpy(&producer, record.data(), 4);
    std::memcpy(&length, record.data() + 4, 4);
    std::memcpy(&seq, record.data() + 8, 8);
    if (length != record.size() ||
        record.size() != ByteRecordLength(producer, seq)) {
      ++content_violations;
      return;
    }
    for (size_t i = 16; i < record.size(); ++i) {
      if (record[i] != ByteFill(producer, seq, i)) {
        ++content_violations;
        return;
      }
    }
    auto it = next.find(producer);
    if (it == next.end()) {
      if (first_seq >= 0 && seq != static_cast<uint64_t>(first_seq)) {
        ++order_violations;
      }
    } else if (seq != it->second) {
      ++order_violations;
    }
    next[producer] = seq + 1;
  }

  std::string ToString() const {
    return absl::StrCat("count=", count, " bytes=", bytes,
                        " order_violations=", order_violations,
                        " content_violations=", content_violations);
  }
};

}  // namespace ringflow::testing

#endif  // RINGFLOW_TESTS_SUPPORT_SHM_BYTES_H_
