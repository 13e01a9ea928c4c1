// bench/byte_bench.cc — the Bytes family (issue 14): ByteRing, variable-length
// records in and across processes; each row's columns carry their runs.
//
//   ByteOneToOne{16,64,256,1024,4096}  1 producer (kSingle: Claim, memcpy,
//        Commit) -> 1 reader (ReadBatch in place, spinning).
//   ByteTwoToOne{64,256}  2 producers (kMulti) -> 1 reader; one claim in 64
//        per producer is a TryClaim timed with rdtsc (the successful try
//        only: the claim's CAS and contention, not a wait for room).
//   Columns: boost-spsc = boost::lockfree::spsc_queue<char> of the same
//   capacity, an 8-byte length prefix + payload pushed in one bulk push
//   once write_available() has room for both (2 producers: under a
//   std::mutex), read by bulk pops into a 64 KiB buffer and parsed; bound =
//   one thread writing the same records (header + memcpy + stamps) round an
//   L2-sized ring, no reader: the bandwidth ceiling.
//
// Ring: 1 MiB, half the 2 MiB per-core L2 of the development machine, so
// the records stay cache-resident on both sides and the rows measure the
// ring, not DRAM. Every record is [value][pattern][~value]; the reader
// checks its length, that the last 8 bytes are ~ the first 8, each
// producer's order and the sum of the values, and adds up the first word
// of every 64-byte line in between (so every line of the record crosses to
// the reader, as it would for a consumer that reads the bytes), checked
// against the pattern's at the end.

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "byte_framing.h"
#include "harness.h"
#include "peers/boost_lockfree.h"
#include "peers/boost_message_queue.h"
#include "peers/iceoryx.h"
#include "ringflow/core/byte_ring.h"
#include "scenario.h"
#include "topology.h"

namespace ringflow::bench {
namespace {

constexpr int64_t kByteCapacity = int64_t{1} << 20;
constexpr int64_t kSampleEvery = 64;  // claims timed per producer: 1 in 64
constexpr size_t kStage = 64 * 1024;  // boost-spsc reader's pop buffer

uint64_t Ticks() noexcept {
#if defined(__x86_64__)
  return __rdtsc();
#else
  return static_cast<uint64_t>(NowNs());
#endif
}

// Ticks per ns, measured once against the steady clock (20 ms).
double TicksPerNs() {
  static const double ratio = [] {
    const int64_t t0 = NowNs();
    const uint64_t c0 = Ticks();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return static_cast<double>(Ticks() - c0) /
           static_cast<double>(NowNs() - t0);
  }();
  return ratio;
}

// `producers` threads run produce(p, per, backoff), one reader thread
// read(sink, backoff) until every record is taken; timed by a RunClock.
template <typename Produce, typename Read>
Metrics TwoSided(const RunContext& ctx, const Framing& framing, int producers,
                 Produce produce, Read read) {
  const int threads = producers + 1;
  ByteSink sink(framing, producers);
  RunClock clock(threads, 1);
  std::vector<std::thread> pool;
  pool.push_back(Spawn(0, threads, [&] {
    clock.Ready();
    Backoff backoff(ModeFor(threads));
    while (sink.count < ctx.events) read(sink, backoff);
    clock.Finish();
  }));
  for (int p = 0; p < producers; ++p) {
    pool.push_back(Spawn(p + 1, threads, [&, p] {
      clock.Ready();
      clock.WaitGo();
      Backoff backoff(ModeFor(threads));
      produce(p, ctx.events / producers, backoff);
    }));
  }
  clock.Start();
  clock.WaitFinishedOrDie(ctx);
  for (std::thread& t : pool) t.join();
  sink.Verify(ctx);
  return ByteRates(ctx.events, framing.n(), clock.elapsed_ns());
}

Metrics RingflowBytes(const RunContext& ctx, int64_t n, int producers) {
  const double ticks_per_ns = TicksPerNs();
  auto ring =
      ByteRing::Create({.capacity = ctx.capacity,
                        .producer_type = producers == 1 ? ProducerType::kSingle
                                                        : ProducerType::kMulti,
                        .wait_strategy = StrategyFor(producers + 1),
                        .name = "bytes"});
  Check(ctx, ring.ok(), ring.status().ToString());
  auto reader = (*ring)->RegisterReader("bench");
  Check(ctx, reader.ok(), reader.status().ToString());
  const Framing framing(n);
  std::vector<std::vector<uint64_t>> ticks(static_cast<size_t>(producers));
  auto produce = [&](int p, int64_t per, Backoff& backoff) {
    std::vector<uint64_t>& samples = ticks[static_cast<size_t>(p)];
    samples.reserve(static_cast<size_t>(per / kSampleEvery + 1));
    for (int64_t i = 0; i < per; ++i) {
      std::optional<WriteClaim> claim;
      if (producers > 1 && i % kSampleEvery == 0) {
        for (;; backoff.Pause()) {
          const uint64_t t0 = Ticks();
          claim = (*ring)->TryClaim(n);
          const uint64_t t1 = Ticks();
          if (claim) {
            samples.push_back(t1 - t0);
            break;
          }
        }
        backoff.Reset();
      } else {
        claim = (*ring)->Claim(n);
      }
      if (!claim) Fail(ctx.scenario, ctx.impl, "Claim failed");
      framing.Write(claim->data().data(), i * producers + p);
      claim->Commit();
    }
  };
  auto read = [&](ByteSink& sink, Backoff& backoff) {
    const int64_t got = reader->ReadBatch(
        [&](std::span<const std::byte> r, int64_t, bool) noexcept {
          sink.Take(r.data(), static_cast<int64_t>(r.size()));
        });
    if (got == 0) {
      backoff.Pause();
    } else {
      backoff.Reset();
    }
  };
  Metrics m = TwoSided(ctx, framing, producers, produce, read);
  if (producers == 1) return m;
  std::vector<uint64_t> all;
  for (const auto& t : ticks) all.insert(all.end(), t.begin(), t.end());
  Check(ctx, !all.empty(), "no claim timed");
  std::sort(all.begin(), all.end());
  for (double q : {0.50, 0.99}) {
    const size_t at =
        std::min(all.size() - 1, static_cast<size_t>(q * double(all.size())));
    m.push_back(static_cast<double>(all[at]) / ticks_per_ns);
  }
  return m;
}

Metrics BoostBytes(const RunContext& ctx, int64_t n, int producers) {
  boost::lockfree::spsc_queue<char> queue(static_cast<size_t>(ctx.capacity));
  std::mutex mu;  // 2 producers: the one SPSC queue's push side
  const Framing framing(n);
  const size_t frame = static_cast<size_t>(n) + 8;
  auto produce = [&](int p, int64_t per, Backoff& backoff) {
    std::vector<std::byte> record(frame);
    std::memcpy(record.data(), &n, 8);
    framing.Write(record.data() + 8, 0);
    const char* bytes = reinterpret_cast<const char*>(record.data());
    for (int64_t i = 0; i < per; ++i) {
      framing.Stamp(record.data() + 8, i * producers + p);
      for (;; backoff.Pause()) {
        std::unique_lock<std::mutex> lock(mu, std::defer_lock);
        if (producers > 1) lock.lock();
        if (queue.write_available() >= frame) {  // whole frames only
          queue.push(bytes, frame);
          break;
        }
      }
      backoff.Reset();
    }
  };
  std::vector<std::byte> stage(kStage);
  size_t have = 0;
  auto read = [&](ByteSink& sink, Backoff& backoff) {
    const size_t got =
        queue.pop(reinterpret_cast<char*>(stage.data()) + have, kStage - have);
    if (got == 0) return backoff.Pause();
    backoff.Reset();
    have += got;
    size_t off = 0;
    for (int64_t len = 0; have - off >= 8;
         off += 8 + static_cast<size_t>(len)) {
      std::memcpy(&len, stage.data() + off, 8);
      if (len < 0 || static_cast<size_t>(len) > kStage - 8) {
        Fail(ctx.scenario, ctx.impl, "bad frame length");
      }
      if (have - off - 8 < static_cast<size_t>(len)) break;
      sink.Take(stage.data() + off + 8, len);
    }
    std::memmove(stage.data(), stage.data() + off, have - off);
    have -= off;
  };
  return TwoSided(ctx, framing, producers, produce, read);
}

// The same records written by one thread round the ring, nothing read.
Metrics MemcpyBytes(const RunContext& ctx, int64_t n) {
  const Framing framing(n);
  const int64_t size = 8 + ((n + 7) & ~int64_t{7});
  auto words =
      std::make_unique<uint64_t[]>(static_cast<size_t>(ctx.capacity / 8));
  std::byte* ring = reinterpret_cast<std::byte*>(words.get());
  int64_t pos = 0, last = 0;
  const int64_t start = NowNs();
  for (int64_t i = 0; i < ctx.events; ++i) {
    if (pos + size > ctx.capacity) pos = 0;
    std::memcpy(ring + pos, &n, 8);
    framing.Write(ring + pos + 8, i);
    last = pos;
    pos += size;
  }
  const int64_t elapsed = std::max<int64_t>(1, NowNs() - start);
  int64_t head = 0, tail = 0;
  std::memcpy(&head, ring + last + 8, 8);
  std::memcpy(&tail, ring + last + n, 8);
  Check(ctx,
        head == ctx.events - 1 && tail == ~head &&
            framing.LineSum(ring + last + 8) == framing.line_sum(),
        "the last record is not as written");
  return ByteRates(ctx.events, n, elapsed);
}

// Records and bytes per second, and with several producers the claim's
// p50 and p99.
Measure ByteMeasure(int producers) {
  Measure m{.unit = "", .metrics = {"Mrec/s", "GB/s"}, .bound_label = "memcpy"};
  if (producers > 1) {
    m.metrics.insert(m.metrics.end(), {"claim p50 ns", "claim p99 ns"});
  }
  return m;
}

}  // namespace

std::vector<Scenario> ByteScenarios() {
  std::vector<Scenario> rows;
  auto row = [&](int producers, int64_t n) {
    const std::string name = producers == 1 ? "ByteOneToOne" : "ByteTwoToOne";
    rows.push_back(
        {.name = name + std::to_string(n),
         .family = "Bytes",
         .topology = Topology::kOwn,
         .producers = producers,
         .events = std::min<int64_t>(8'000'000, (int64_t{2} << 30) / n),
         .smoke_events = 2000,
         .multiple_of = producers,
         .capacity = kByteCapacity,
         .record_bytes = n,
         .measure = ByteMeasure(producers),
         .ringflow =
             Own(kRingflowColumn,
                 producers == 1 ? "ByteRing kSingle: Claim, memcpy, Commit"
                                : "ByteRing kMulti: Claim (1 in 64 a timed "
                                  "TryClaim), memcpy, Commit",
                 [n, producers](const RunContext& ctx) {
                   return RingflowBytes(ctx, n, producers);
                 }),
         .columns =
             {Own(std::string(BoostSpscPeer::kName),
                  "spsc_queue<char>, length prefix, bulk push/pop" +
                      std::string(producers > 1 ? ", push under a mutex" : ""),
                  [n, producers](const RunContext& ctx) {
                    return BoostBytes(ctx, n, producers);
                  }),
              Own(kBoundColumn, "1 thread, same records, no reader",
                  [n](const RunContext& ctx) { return MemcpyBytes(ctx, n); })},
         .others = "no byte-record API (boost-spsc: spsc_queue<char> framing)",
         .comparisons = {{.b = std::string(BoostSpscPeer::kName), .target = 2}},
         .note = std::to_string(n) +
                 "-byte records, 1 MiB ring; length, both 8-byte stamps, "
                 "order, sum and a word of every 64-byte line checked" +
                 (producers > 1 ? "; claim ns: rdtsc round one successful "
                                  "TryClaim in 64 (seed: ~95 cycles p50)"
                                : "") +
                 "; targets ringflow >= 2x boost-spsc" +
                 (n >= 1024 ? ", >= 0.7x memcpy" : "")});
  };
  for (int64_t n : {16, 64, 256, 1024, 4096}) {
    row(1, n);
    if (n >= 1024)
      rows.back().comparisons.push_back({.b = kBoundColumn, .target = 0.7});
  }
  for (int64_t n : {64, 256}) row(2, n);
  // Across processes: the reader in a child process.
  for (int64_t n : {64, 1024}) {
    Scenario s{
        .name = std::string(kSharedBytePrefix) + std::to_string(n),
        .family = "Bytes",
        .topology = Topology::kOwn,
        .events = n <= 64 ? 4'000'000 : 1'000'000,
        .smoke_events = 2000,
        .capacity = kByteCapacity,
        .record_bytes = n,
        .bound = false,
        .measure = ByteMeasure(1),
        .ringflow = Own(kRingflowColumn,
                        "shm::SharedByteRing kSingle: Claim, memcpy, Commit; "
                        "shm::SharedByteReader ReadBatch in a child process",
                        SharedByteRun(n)),
        .peers = PeersWith([](const PeerApi& p) { return p.shm_bytes; }),
        .peer_detail = "",
        .others = "in process only",
        .comparisons = {{.b = kBestPeer, .target = 2}},
        .note = std::to_string(n) +
                "-byte records, 1 MiB ring, reader in a child process; "
                "message_queue: boost::interprocess::message_queue of "
                "capacity / (n + 8) messages, send/receive (blocking); "
                "iceoryx: UntypedPublisher loan(n)/publish in one child, "
                "UntypedSubscriber take/release in another (RouDi started "
                "per scenario); every reader checks length, stamps, order, "
                "sum and a word of every 64-byte line; targets ringflow >= "
                "2x the best peer and >= 0.9x ByteOneToOne" +
                std::to_string(n)};
    rows.push_back(std::move(s));
  }
  return rows;
}

}  // namespace ringflow::bench
