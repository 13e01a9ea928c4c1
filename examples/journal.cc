// journal.cc — variable-length records: parsers journal into one ByteRing.
//
// What it shows:
//   * a multi-producer ByteRing: three parser threads claim room for a
//     message, format it in place and commit only the bytes they wrote (a
//     short commit; the unused tail is a skip record), and abort the claim
//     for an input they drop (an aborted claim is a skip record too),
//   * a RecordDisruptor running two handlers, each on its own thread with
//     its own reader (broadcast), stopped by a graceful Shutdown: a journal
//     writer appending every record to an in-memory journal, and a verifier
//     checking each record's framing, length, checksum and per-parser order,
//   * the ring's statistics: records, bytes, padding and skipped bytes.
//
// Run:   build/dev/examples/example_journal
// Prints: journal: 59940 records, 6384377 bytes journaled, 24888 padding
//         bytes, 4929224 skipped bytes (60 aborted claims); per parser
//         19980/19980/19980; verifier: 59940 records, 0 errors
// Exits non-zero when a record is missing, torn, duplicated or out of order.

#include <cstdint>
#include <cstdio>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "ringflow/ringflow.h"

namespace {

constexpr int kParsers = 3;
constexpr int64_t kInputs = 20'000;  // per parser; every 1000th is dropped
constexpr int kMaxPayload = 120;
constexpr int64_t kMaxMessage = 192;  // header (at most 58) + payload

uint32_t Fnv1a(std::string_view text) {
  uint32_t hash = 2166136261u;
  for (const char c : text) hash = (hash ^ static_cast<uint8_t>(c)) * 16777619u;
  return hash;
}

std::string_view AsText(std::span<const std::byte> record) {
  return {reinterpret_cast<const char*>(record.data()), record.size()};
}

// Appends every record to the journal, one line each.
struct JournalWriter {
  std::string journal;
  int64_t records = 0;
  void OnRecord(std::span<const std::byte> record, int64_t, bool) noexcept {
    journal.append(AsText(record)).push_back('\n');
    ++records;
  }
};

// "parser=P seq=S len=L fnv=H payload=<L chars>": checks every field.
struct Verifier {
  int64_t next_seq[kParsers] = {};
  int64_t records = 0;
  int64_t errors = 0;
  void OnRecord(std::span<const std::byte> record, int64_t, bool) noexcept {
    ++records;
    const std::string text(AsText(record));
    int parser = -1, offset = 0;
    long long seq = -1, length = -1;
    unsigned hash = 0;
    if (std::sscanf(text.c_str(),
                    "parser=%d seq=%lld len=%lld fnv=%x payload=%n", &parser,
                    &seq, &length, &hash, &offset) != 4 ||
        offset == 0 || parser < 0 || parser >= kParsers) {
      ++errors;
      return;
    }
    const std::string_view payload = std::string_view(text).substr(offset);
    if (seq != next_seq[parser] || std::ssize(payload) != length ||
        Fnv1a(payload) != hash) {
      ++errors;
    }
    next_seq[parser] = seq + 1;
  }
};

// Formats each accepted input straight into the ring (zero-copy).
void Parse(ringflow::ByteRing& ring, int parser, int64_t& committed) {
  std::mt19937 rng(static_cast<uint32_t>(parser + 1));
  char payload[kMaxPayload];
  for (int64_t input = 0; input < kInputs; ++input) {
    const int length = static_cast<int>(rng() % (kMaxPayload + 1));
    for (int i = 0; i < length; ++i)
      payload[i] = static_cast<char>('a' + rng() % 26);
    std::optional<ringflow::WriteClaim> claim = ring.Claim(kMaxMessage);
    if (!claim) return;  // halted: the verifier will see records missing
    if (input % 1000 == 999) {
      claim->Abort();  // a dropped input: a skip record, no sequence number
      continue;
    }
    const std::string_view text(payload, static_cast<size_t>(length));
    char* out = reinterpret_cast<char*>(claim->data().data());
    const int header = std::snprintf(
        out, kMaxMessage, "parser=%d seq=%lld len=%d fnv=%08x payload=", parser,
        static_cast<long long>(committed), length, Fnv1a(text));
    text.copy(out + header, text.size());
    claim->Commit(header + length);  // the rest of the claim is skipped
    ++committed;
  }
}

absl::Status Run(std::string& summary) {
  RINGFLOW_ASSIGN_OR_RETURN(
      auto disruptor,
      ringflow::RecordDisruptor::Create(
          {.ring = {.capacity = 64 * 1024,
                    .producer_type = ringflow::ProducerType::kMulti,
                    .name = "journal"}}));
  JournalWriter writer;
  Verifier verifier;
  // Both readers exist before the first record: each sees every record.
  RINGFLOW_RETURN_IF_ERROR(disruptor->HandleRecordsWith(writer, verifier));
  RINGFLOW_RETURN_IF_ERROR(disruptor->Start());
  ringflow::ByteRing& ring = disruptor->ring();
  int64_t committed[kParsers] = {};
  std::vector<std::thread> parsers;
  for (int p = 0; p < kParsers; ++p) {
    parsers.emplace_back([&, p] { Parse(ring, p, committed[p]); });
  }
  for (std::thread& t : parsers) t.join();
  // Every committed record handled by both, then the threads are joined.
  RINGFLOW_RETURN_IF_ERROR(disruptor->Shutdown(absl::Seconds(30)));

  int64_t expected = 0;
  for (int p = 0; p < kParsers; ++p) {
    expected += committed[p];
    if (verifier.next_seq[p] != committed[p]) ++verifier.errors;
  }
  const uint64_t records = ring.records_published();
  const uint64_t bytes = ring.payload_bytes_published();
  summary = absl::StrCat(
      records, " records, ", bytes, " bytes journaled, ", ring.padding_bytes(),
      " padding bytes, ", ring.skipped_bytes(), " skipped bytes (",
      ring.aborted_records(), " aborted claims); per parser ", committed[0],
      "/", committed[1], "/", committed[2], "; verifier: ", verifier.records,
      " records, ", verifier.errors, " errors");
  if (verifier.errors != 0 || verifier.records != expected ||
      writer.records != expected ||
      records != static_cast<uint64_t>(expected) ||
      writer.journal.size() != bytes + static_cast<uint64_t>(expected)) {
    return absl::InternalError(summary);
  }
  return absl::OkStatus();
}

}  // namespace

int main() {
  std::string summary;
  const absl::Status status = Run(summary);
  if (!status.ok()) {
    std::fprintf(stderr, "journal: %s\n", status.ToString().c_str());
    return 1;
  }
  std::printf("journal: %s\n", summary.c_str());
  return 0;
}
