// bench/registry_test.cc — the benchmark's registry (every scenario, the
// peers and what their APIs offer, each row's columns) and the checks its
// runs make, tested without timing anything: a registry mistake fails here
// before it costs a benchmark run, and a check that stopped failing on a
// wrong result would let a benchmark time wrong data.

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "columns.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "harness.h"
#include "report.h"
#include "scenario.h"
#include "topology.h"

namespace ringflow::bench {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::ExitedWithCode;
using ::testing::IsSubsetOf;
using ::testing::Not;

const Scenario& Named(const std::vector<Scenario>& all, std::string_view name) {
  for (const Scenario& s : all) {
    if (s.name == name) return s;
  }
  ADD_FAILURE() << "no scenario " << name;
  return all.front();
}

TEST(BenchRegistryTest, EveryRowResolvesAndEachPeerColumnRunsOrSaysWhyNot) {
  for (const Scenario& s : AllScenarios()) {
    SCOPED_TRACE(s.name);
    if (!s.skip.empty()) continue;  // this build cannot measure it
    const absl::StatusOr<std::vector<Impl>> row = ImplsOf(s);
    ASSERT_TRUE(row.ok()) << row.status();
    std::set<std::string> columns;
    for (const Impl& impl : *row) {
      EXPECT_TRUE(columns.insert(impl.column).second)
          << "column " << impl.column << " twice";
      EXPECT_TRUE(impl.run != nullptr) << impl.column;
    }
    EXPECT_TRUE(columns.contains(kRingflowColumn));
    const std::map<std::string, std::string> not_applicable = NotApplicable(s);
    for (const std::string& peer : PeerColumns()) {
      const auto reason = not_applicable.find(peer);
      const bool said_why =
          reason != not_applicable.end() && !reason->second.empty();
      // Exactly one of the two: a peer's column is measured, or the table
      // says why not.
      EXPECT_NE(columns.contains(peer), said_why) << peer;
    }
    for (const Comparison& c : s.comparisons) {
      EXPECT_TRUE(columns.contains(c.a)) << c.a;
      EXPECT_TRUE(c.b == kBestPeer || columns.contains(c.b) ||
                  not_applicable.contains(c.b))
          << c.b;
    }
  }
}

TEST(BenchRegistryTest, RowsPickTheirPeersByWhatTheirApisOffer) {
  const std::vector<Scenario> all = AllScenarios();
  // Bulk push and pop.
  EXPECT_THAT(Named(all, "OneToOneBatch10").peers,
              ElementsAre("mc-cq", "boost-spsc", "mutex"));
  // One producer, one consumer.
  EXPECT_THAT(Named(all, "OneToOnePoller").peers,
              ElementsAre("aq-spsc", "rwq", "boost-spsc"));
  // A queue per edge: the SPSC queues and the lock-based reference.
  EXPECT_THAT(Named(all, "OneToThreeDiamond").peers,
              ElementsAre("aq-spsc", "rwq", "boost-spsc", "mutex"));
  // Several threads at one end.
  EXPECT_THAT(Named(all, "ThreeToOne").peers,
              ElementsAre("aq-mpmc", "mc-cq", "boost-q", "mutex"));
  EXPECT_THAT(Named(all, "ScalingP2C3").peers,
              ElementsAre("aq-mpmc", "mc-cq", "boost-q"));
  // A blocking wait.
  EXPECT_THAT(Named(all, "PingPongBlocking").peers,
              ElementsAre("rwq", "mc-cq", "mutex"));
  // Every in-process peer, none across processes.
  EXPECT_THAT(Named(all, "OneToOne").peers,
              ElementsAre("aq-spsc", "aq-mpmc", "rwq", "mc-cq", "boost-spsc",
                          "boost-q", "mutex"));
  // Across processes: events, blocking, bytes. iceoryx may be n/a here
  // (no RouDi), and is then named with its reason.
  const Scenario& shared = Named(all, "SharedOneToOne");
  EXPECT_THAT(shared.peers, Contains("boost-shm"));
  EXPECT_THAT(shared.peers, IsSubsetOf({"boost-shm", "iceoryx"}));
  const Scenario& blocking = Named(all, "SharedPingPongBlocking");
  EXPECT_THAT(blocking.peers, IsSubsetOf({"iceoryx"}));
  EXPECT_EQ(blocking.not_applicable.at("boost-shm"),
            "a raw lock-free ring has no blocking wait");
  const Scenario& bytes = Named(all, "SharedByteOneToOne64");
  EXPECT_THAT(bytes.peers, Contains("message_queue"));
  EXPECT_THAT(bytes.peers, Not(Contains("boost-shm")));
  for (const std::string_view peer : {"iceoryx", "boost-shm"}) {
    if (PeerUnavailable(peer).empty()) continue;
    EXPECT_EQ(shared.not_applicable.at(std::string(peer)),
              PeerUnavailable(peer));
  }
}

// What PeerApi says a peer offers is what its runs can serve: a row that
// picks peers by the API never gets a peer that cannot run it.
TEST(BenchRegistryTest, APeersApiMatchesTheRowsItsRunsServe) {
  const std::vector<Scenario> all = AllScenarios();
  const Scenario& batch = Named(all, "OneToOneBatch10");
  const Scenario& many = Named(all, "ThreeToOne");
  const Scenario& workers = Named(all, "WorkerPool");
  const Scenario& blocking = Named(all, "PingPongBlocking");
  const Scenario& one = Named(all, "OneToOne");
  const Scenario& shared_events = Named(all, "SharedOneToOne");
  const Scenario& shared_bytes = Named(all, "SharedByteOneToOne64");
  for (const std::string& peer : PeerColumns()) {
    SCOPED_TRACE(peer);
    const std::optional<PeerApi> api = PeerApiOf(peer);
    ASSERT_TRUE(api.has_value());
    if (!api->in_process) {
      EXPECT_EQ(PeerRun(shared_events, peer) != nullptr, api->shm_events);
      EXPECT_EQ(PeerRun(shared_bytes, peer) != nullptr, api->shm_bytes);
      continue;
    }
    EXPECT_NE(PeerRun(one, peer), nullptr);
    EXPECT_EQ(PeerRun(batch, peer) != nullptr, api->bulk);
    EXPECT_EQ(PeerRun(many, peer) != nullptr, !api->spsc);
    EXPECT_EQ(PeerRun(workers, peer) != nullptr, !api->spsc);
    EXPECT_EQ(PeerRun(blocking, peer) != nullptr, api->blocking);
  }
  EXPECT_FALSE(PeerApiOf("no-such-peer").has_value());
  EXPECT_EQ(PeerRun(one, "no-such-peer"), nullptr);
}

TEST(BenchRegistryTest, AColumnThatCannotRunItsRowIsNamed) {
  Scenario s = Named(AllScenarios(), "ThreeToOne");
  s.peers.push_back("aq-spsc");  // one producer only: cannot run 3 -> 1
  const absl::StatusOr<std::vector<Impl>> row = ImplsOf(s);
  ASSERT_FALSE(row.ok());
  EXPECT_THAT(std::string(row.status().message()),
              ::testing::HasSubstr("ThreeToOne: column 'aq-spsc'"));
}

// ---- the report judges each row's declared comparisons -----------------

ScenarioResult Row(double ringflow, double peer, double target) {
  ScenarioResult s{.name = "Row",
                   .unit = "M ev/s",
                   .metrics = {"throughput"},
                   .comparisons = {{.b = "mc-cq", .target = target}},
                   .events = 1000,
                   .reps = 2};
  s.impls = {{kRingflowColumn, "", 1000, {{ringflow, ringflow}}},
             {"mc-cq", "", 1000, {{peer, peer}}}};
  return s;
}

std::string Summary(double ringflow, double peer, double target) {
  const ScenarioResult s = Row(ringflow, peer, target);
  char* text = nullptr;
  size_t size = 0;
  std::FILE* out = open_memstream(&text, &size);
  PrintTable(out, {s}, RunInfo{.reps = 2});
  std::fclose(out);
  std::string result(text, size);
  std::free(text);
  return result;
}

TEST(BenchReportTest, ARowsTargetIsJudgedOnItsPairedRatio) {
  EXPECT_THAT(Summary(30, 10, 2),
              ::testing::HasSubstr(
                  "Row: ringflow / mc-cq = 3.000 [3.000-3.000]; target >= "
                  "2.00: met"));
  EXPECT_THAT(Summary(15, 10, 2),
              ::testing::HasSubstr("target >= 2.00: NOT met on this run"));
}

TEST(BenchReportTest, TheJsonCarriesEachComparisonAndItsVerdict) {
  const std::string path = ::testing::TempDir() + "/bench_report_test.json";
  ASSERT_TRUE(WriteJson(path, {Row(30, 10, 2), Row(15, 10, 2)}, RunInfo{}));
  std::ifstream file(path);
  std::string json;
  for (std::string line; std::getline(file, line);) json += line + "\n";
  std::remove(path.c_str());
  EXPECT_THAT(json,
              ::testing::HasSubstr(
                  "\"a\": \"ringflow\", \"b\": \"mc-cq\", "
                  "\"a_over_b\": {\"median\": 3, \"min\": 3, \"max\": 3}, "
                  "\"target\": 2, \"met\": true}"));
  EXPECT_THAT(json, ::testing::HasSubstr("\"target\": 2, \"met\": false}"));
}

// ---- each Topology's check fails the run on a wrong result -------------

RunContext Context(int64_t events) {
  return {.scenario = "Row", .impl = "impl", .events = events};
}

using BenchChecksDeathTest = ::testing::Test;

TEST_F(BenchChecksDeathTest, EachTopologysCheckPassesTheRightResult) {
  const RunContext ctx = Context(30);
  VerifyOneToOne(ctx, 435);
  const std::vector<int64_t> sums = {435, 435, 435};
  VerifyMulticast(ctx, sums);
  VerifyPipeline(ctx, 0, 435 + 60);
  VerifyDiamond(ctx, 0, 2);  // 0 and 15
  VerifyManyToOne(ctx, 0, 435);
  VerifyManyToOne(ctx, 3, 435, /*producer_fifo=*/false);
  std::vector<SeenBitmap> seen(2, SeenBitmap(30));
  for (int64_t v = 0; v < 30; ++v) seen[static_cast<size_t>(v % 2)].Mark(v);
  VerifyWorkers(ctx, 30, seen);
  VerifyPingPong(ctx, 5, 5, 5, 0);
}

TEST_F(BenchChecksDeathTest, EachTopologysCheckFailsAWrongResult) {
  const RunContext ctx = Context(30);
  const auto failed = ExitedWithCode(1);
  EXPECT_EXIT(VerifyOneToOne(ctx, 434), failed,
              "VERIFICATION FAILED: Row / impl: sum is 434, expected 435");
  const std::vector<int64_t> sums = {435, 434, 435};
  EXPECT_EXIT(VerifyMulticast(ctx, sums), failed,
              "consumer 1 sum is 434, expected 435");
  EXPECT_EXIT(VerifyPipeline(ctx, 1, 495), failed,
              "events not passed through both stages is 1");
  EXPECT_EXIT(VerifyPipeline(ctx, 0, 494), failed, "sum is 494, expected 495");
  EXPECT_EXIT(VerifyDiamond(ctx, 0, 1), failed,
              "fizzbuzz count is 1, expected 2");
  EXPECT_EXIT(VerifyDiamond(ctx, 2, 2), failed, "events with the wrong value");
  EXPECT_EXIT(VerifyManyToOne(ctx, 3, 435), failed,
              "events out of producer order is 3");
  EXPECT_EXIT(VerifyManyToOne(ctx, 0, 436, /*producer_fifo=*/false), failed,
              "sum is 436, expected 435");
  std::vector<SeenBitmap> seen(2, SeenBitmap(30));
  for (int64_t v = 0; v < 30; ++v) seen[static_cast<size_t>(v % 2)].Mark(v);
  seen[0].Mark(1);  // handled by both consumers
  EXPECT_EXIT(VerifyWorkers(ctx, 31, seen), failed,
              "events handled is 31, expected 30");
  EXPECT_EXIT(VerifyWorkers(ctx, 30, seen), failed,
              "0 events never handled, 1 handled more than once");
  EXPECT_EXIT(VerifyPingPong(ctx, 0, 0, 0, 0), failed, "no round trip");
  EXPECT_EXIT(VerifyPingPong(ctx, 5, 4, 4, 0), failed,
              "pongs received is 4, expected 5");
  EXPECT_EXIT(VerifyPingPong(ctx, 5, 5, 4, 0), failed,
              "round trips timed is 4, expected 5");
  EXPECT_EXIT(VerifyPingPong(ctx, 5, 5, 5, 1), failed,
              "pongs with the wrong value is 1");
}

}  // namespace
}  // namespace ringflow::bench
