// tools/byte_demo.cc — `ringflow demo --bytes`: the demo's second mode,
// variable-length records through a byte ring in shared memory.
//
// One producer thread (--producer=single) or two (--producer=multi, a
// kMulti ring) publish text records of 16 to 255 payload bytes
// (tools/demo_record.h: producer, sequence, length and checksum in every
// record) into shm::SharedByteRing --ring; --consumer_processes processes
// (`ringflow tail --verify`) attach to it by name before the first record
// and check every record: per producer each sequence once and in order,
// each length and checksum. The last record of each producer is its end
// record. A progress line prints each second and a table ends the run:
// records and bytes published, and each reader's records, lost,
// duplicated and corrupt.

#include "tools/byte_demo.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "ringflow/core/internal/status_macros.h"
#include "ringflow/shm/internal/control.h"
#include "ringflow/shm/shared_byte_ring.h"
#include "tools/command_line.h"
#include "tools/demo_record.h"
#include "tools/internal/child_process.h"

namespace ringflow::tools {
namespace {

using tools_internal::ChildProcess;
using tools_internal::SpawnOptions;

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A reader process's last line: "reader NAME: N records, B payload bytes,
// L lost, D duplicated, C corrupt, S skipped bytes, stopped: WHY".
struct ReaderReport {
  std::string name;
  int64_t records = -1;
  int64_t lost = -1;
  int64_t duplicated = -1;
  int64_t corrupt = -1;
  bool done = false;
};

int64_t ParseCount(const std::string& text) {
  int64_t value = 0;
  bool any = false;
  for (const char c : text) {
    if (c >= '0' && c <= '9') {
      value = value * 10 + (c - '0');
      any = true;
    } else if (c != ',') {
      break;
    }
  }
  return any ? value : -1;
}

ReaderReport ParseReaderReport(const std::string& output) {
  ReaderReport report;
  const size_t at = output.rfind("reader ");
  if (at == std::string::npos) return report;
  const std::string line = output.substr(at);
  const size_t colon = line.find(": ");
  if (colon == std::string::npos) return report;
  report.name = line.substr(7, colon - 7);
  auto field = [&](const char* label) -> int64_t {
    const size_t end = line.find(label);
    if (end == std::string::npos) return -1;
    size_t begin = line.rfind(' ', end - 1);
    begin = begin == std::string::npos ? 0 : begin + 1;
    return ParseCount(line.substr(begin, end - begin));
  };
  report.records = ParseCount(line.substr(colon + 2));
  report.lost = field(" lost");
  report.duplicated = field(" duplicated");
  report.corrupt = field(" corrupt");
  report.done = line.find("stopped: done") != std::string::npos;
  return report;
}

}  // namespace

absl::Status RunByteDemo(const DemoOptions& options) {
  const int producers =
      options.ring.producer_type == ProducerType::kMulti ? 2 : 1;
  shm::SharedByteRingOptions ring_options;
  ring_options.ring.name = options.ring_name;
  ring_options.ring.capacity = options.ring.capacity;
  ring_options.ring.producer_type = options.ring.producer_type;
  ring_options.ring.wait_strategy = options.ring.wait_strategy;
  // As the event demo: a ring left by a demo that died is discarded.
  (void)shm_internal::Control::Remove(options.ring_name);
  auto created = shm::SharedByteRing::Create(ring_options);
  if (!created.ok()) return created.status();
  // Removed after the ring is destroyed (Remove refuses a ring whose
  // producer runs): `ring` is declared after the remover.
  struct Remover {
    std::string name;
    bool keep;
    ~Remover() {
      if (!keep) (void)shm_internal::Control::Remove(name);
    }
  } remover{options.ring_name, options.keep};
  const std::unique_ptr<shm::SharedByteRing> ring = std::move(*created);
  shm::SharedByteRing& r = *ring;

  // Reader processes attach before the first record, so they see them all.
  RINGFLOW_ASSIGN_OR_RETURN(
      std::vector<ChildProcess> children,
      StartVerifyingProcesses("tail", options.ring_name,
                              options.consumer_processes));

  if (options.events > 0) {
    std::printf("ringflow demo --bytes: %s variable-length records\n",
                WithSeparators(options.events).c_str());
  } else {
    std::printf("ringflow demo --bytes: %.1f s of variable-length records\n",
                options.seconds);
  }
  std::printf(
      "  shared byte ring: /dev/shm/%s (+ :data), capacity %s bytes, %d "
      "producer thread(s), %s wait strategy, %d reader process(es)\n",
      options.ring_name.c_str(), WithSeparators(options.ring.capacity).c_str(),
      producers,
      std::string(WaitStrategyName(options.ring.wait_strategy)).c_str(),
      options.consumer_processes);

  std::atomic<int> running{producers};
  std::vector<int64_t> published(static_cast<size_t>(producers), 0);
  // One entry per producer thread (char, not bool: std::vector<bool>
  // packs the entries into shared words, which two threads would race on).
  std::vector<char> refused(static_cast<size_t>(producers), 0);
  const int64_t start_ns = NowNanos();
  const int64_t stop_ns =
      start_ns + static_cast<int64_t>(options.seconds * 1e9);
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      const size_t index = static_cast<size_t>(p);
      const int64_t quota =
          options.events / producers + (p < options.events % producers ? 1 : 0);
      char line[kMaxDemoRecordBytes];
      int64_t& seq = published[index];
      for (;;) {
        if (options.events > 0 ? seq >= quota
                               : ((seq & 255) == 0 && NowNanos() >= stop_ns)) {
          break;
        }
        const size_t n = FormatDemoRecord(p, seq, line);
        if (!r.Publish(std::as_bytes(std::span<const char>(line, n)))) {
          refused[index] = 1;
          break;
        }
        ++seq;
      }
      const size_t n = FormatDemoEnd(p, seq, producers, line);
      if (!r.Publish(std::as_bytes(std::span<const char>(line, n)))) {
        refused[index] = 1;
      }
      // Release: pairs with the acquire load of the progress loop.
      running.fetch_sub(1, std::memory_order_release);
    });
  }

  // Progress: one line per second until the producers are done.
  int64_t last_report = start_ns;
  uint64_t last_records = 0;
  // Acquire: pairs with each producer's release decrement, so after the
  // loop every producer's `published` and `refused` entries are final
  // (the joins below order them too).
  while (running.load(std::memory_order_acquire) > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const int64_t now = NowNanos();
    if (now - last_report < 1'000'000'000) continue;
    const uint64_t records = r.records_published();
    const int64_t claimed = r.ClaimedPosition();
    const int64_t slowest = r.GatingPosition();
    std::printf(
        "[%5.1fs] records %s  bytes %s  slowest reader %s bytes behind  "
        "%.2f M records/s\n",
        static_cast<double>(now - start_ns) / 1e9,
        WithSeparators(static_cast<int64_t>(records)).c_str(),
        WithSeparators(static_cast<int64_t>(r.payload_bytes_published()))
            .c_str(),
        WithSeparators(std::max<int64_t>(0, claimed - slowest)).c_str(),
        static_cast<double>(records - last_records) /
            (static_cast<double>(now - last_report) / 1e9) / 1e6);
    std::fflush(stdout);
    last_report = now;
    last_records = records;
  }
  for (std::thread& t : threads) t.join();
  for (int p = 0; p < producers; ++p) {
    if (refused[static_cast<size_t>(p)]) {
      return absl::InternalError(
          absl::StrCat("producer ", p, ": the ring refused a record"));
    }
  }
  int64_t records = 0;
  for (const int64_t n : published) records += n;

  std::vector<ReaderReport> reports;
  for (ChildProcess& child : children) {
    RINGFLOW_ASSIGN_OR_RETURN(const VerifierExit exit,
                              AwaitVerifyingProcess(child));
    ReaderReport report = ParseReaderReport(exit.output);
    if (!exit.exited_zero) report.done = false;
    reports.push_back(report);
  }
  const int64_t elapsed_ns = NowNanos() - start_ns;

  std::printf("\n%-10s %14s %8s %11s %8s\n", "reader", "records", "lost",
              "duplicated", "corrupt");
  bool ok = true;
  int64_t lost = 0;
  for (size_t i = 0; i < reports.size(); ++i) {
    const ReaderReport& rep = reports[i];
    // Every record but the end records, which the verifier does not count.
    const bool whole = rep.done && rep.records == records && rep.lost == 0 &&
                       rep.duplicated == 0 && rep.corrupt == 0;
    ok = ok && whole;
    lost += std::max<int64_t>(0, records - std::max<int64_t>(0, rep.records));
    const std::string name =
        rep.name.empty() ? absl::StrCat("audit-", i + 1) : rep.name;
    std::printf("%-10s %14s %8lld %11lld %8lld  (process)%s\n", name.c_str(),
                WithSeparators(std::max<int64_t>(0, rep.records)).c_str(),
                static_cast<long long>(rep.lost),
                static_cast<long long>(rep.duplicated),
                static_cast<long long>(rep.corrupt), whole ? "" : "  FAILED");
  }
  const double seconds = static_cast<double>(elapsed_ns) / 1e9;
  std::printf(
      "\nthroughput  %.2f M records/s, %.1f MB/s of payload (%s records, "
      "%s payload bytes in %.2f s)\n",
      static_cast<double>(records) / seconds / 1e6,
      static_cast<double>(r.payload_bytes_published()) / seconds / 1e6,
      WithSeparators(records).c_str(),
      WithSeparators(static_cast<int64_t>(r.payload_bytes_published())).c_str(),
      seconds);
  std::printf(
      "ring        %s records (with %d end records), %s padding bytes, %s "
      "skipped bytes\n",
      WithSeparators(static_cast<int64_t>(r.records_published())).c_str(),
      producers,
      WithSeparators(static_cast<int64_t>(r.padding_bytes())).c_str(),
      WithSeparators(static_cast<int64_t>(r.skipped_bytes())).c_str());
  ok =
      ok && r.records_published() == static_cast<uint64_t>(records + producers);
  std::printf("verified: %s records, %lld lost\n",
              WithSeparators(records).c_str(), static_cast<long long>(lost));
  if (!ok) {
    return absl::DataLossError("verification failed: see the table above");
  }
  return absl::OkStatus();
}

}  // namespace ringflow::tools
