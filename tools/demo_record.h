// tools/demo_record.h — the records of `ringflow demo --bytes`, and what
// `ringflow tail --verify` checks on them.
//
// A record is one line of ASCII text, so `ringflow tail` prints it as it
// is:
//
//   "rec P SEQ LEN FNV PAYLOAD"   producer P's record SEQ (0, 1, 2...):
//                                 PAYLOAD is LEN printable characters
//                                 derived from (P, SEQ), FNV their FNV-1a
//                                 hash in 8 hex digits
//   "end P COUNT PRODUCERS"       producer P published COUNT records; the
//                                 stream has PRODUCERS producers
//
// The verifier counts, per producer, records lost (a gap in SEQ, or fewer
// than the end record's COUNT), duplicated (SEQ below the next expected)
// and corrupt (a malformed line, a LEN that is not the payload's length, a
// payload or hash that is not the one for (P, SEQ)). Lengths vary from
// 16 to 255 payload bytes, so records cross the end of the ring at every
// offset.
//
// Thread-safety: FormatRecord is pure; a RecordVerifier belongs to one
// thread.

#ifndef RINGFLOW_TOOLS_DEMO_RECORD_H_
#define RINGFLOW_TOOLS_DEMO_RECORD_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ringflow::tools {

// Room FormatRecord needs: the longest record line.
inline constexpr size_t kMaxDemoRecordBytes = 320;
inline constexpr int kMaxDemoProducers = 16;

// Payload length of producer `p`'s record `seq`: 16..255.
inline int64_t DemoPayloadLength(int p, int64_t seq) {
  return 16 + static_cast<int64_t>((static_cast<uint64_t>(seq) * 7919u +
                                    static_cast<uint64_t>(p) * 31u) %
                                   240u);
}

// Writes producer `p`'s record `seq` into `out` (kMaxDemoRecordBytes);
// returns its length.
size_t FormatDemoRecord(int p, int64_t seq, char* out);
// Writes producer `p`'s end record after `count` records of `producers`.
size_t FormatDemoEnd(int p, int64_t count, int producers, char* out);

class RecordVerifier {
 public:
  // Checks one record.
  void Observe(std::string_view record);

  // True once every producer's end record arrived.
  bool done() const { return producers_ > 0 && ended_ == producers_; }
  int64_t records() const { return records_; }
  int64_t payload_bytes() const { return payload_bytes_; }
  int64_t lost() const { return lost_; }
  int64_t duplicated() const { return duplicated_; }
  int64_t corrupt() const { return corrupt_; }

 private:
  std::vector<int64_t> next_ = std::vector<int64_t>(kMaxDemoProducers, 0);
  std::vector<bool> ended_by_ = std::vector<bool>(kMaxDemoProducers, false);
  int producers_ = 0;  // from the first end record
  int ended_ = 0;
  int64_t records_ = 0;
  int64_t payload_bytes_ = 0;
  int64_t lost_ = 0;
  int64_t duplicated_ = 0;
  int64_t corrupt_ = 0;
};

}  // namespace ringflow::tools

#endif  // RINGFLOW_TOOLS_DEMO_RECORD_H_
