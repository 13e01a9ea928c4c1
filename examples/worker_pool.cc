// worker_pool.cc — competing consumers: each event handled exactly once.
//
// What it shows:
//   * HandleEventsWithWorkerPool(span of handlers): N workers share the
//     ring, and each event goes to exactly one of them (the MPMC-queue use
//     case), unlike HandleEventsWith where every handler sees every event,
//   * checking "exactly once": every worker marks the jobs it handled in a
//     shared table of atomic counters; after Shutdown each must be 1.
//
// How the jobs spread over the workers depends on the scheduler; only the
// total and the exactly-once property are checked.
//
// Run:   build/dev/examples/example_worker_pool
// Prints: worker_pool: 30000 jobs over 3 workers (10211 + 9542 + 10247),
//         each handled exactly once
// Exits non-zero when a job was lost or handled twice.

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "ringflow/ringflow.h"

namespace {

constexpr int64_t kJobs = 30'000;
constexpr int kWorkers = 3;

struct Job {
  int64_t id = 0;
};

// One per worker thread. `handled` is shared by all of them.
class Worker {
 public:
  explicit Worker(std::vector<std::atomic<int>>* handled) : handled_(handled) {}

  void OnEvent(Job& job, int64_t /*sequence*/, bool /*end_of_batch*/) noexcept {
    // Relaxed: a counter; main reads it after Shutdown joined this thread.
    (*handled_)[static_cast<size_t>(job.id)].fetch_add(
        1, std::memory_order_relaxed);
    ++count_;
  }

  int64_t count() const { return count_; }

 private:
  std::vector<std::atomic<int>>* handled_;
  int64_t count_ = 0;  // this worker's thread only
};

absl::Status Run() {
  RINGFLOW_ASSIGN_OR_RETURN(
      auto disruptor,
      ringflow::Disruptor<Job>::Create(
          {.ring = {.capacity = 1024,
                    .producer_type = ringflow::ProducerType::kSingle}}));

  std::vector<std::atomic<int>> handled(kJobs);  // value-initialised to 0
  std::vector<Worker> workers(kWorkers, Worker(&handled));
  disruptor->HandleEventsWithWorkerPool(std::span<Worker>(workers));
  RINGFLOW_RETURN_IF_ERROR(disruptor->Start());

  for (int64_t id = 0; id < kJobs; ++id) {
    disruptor->PublishEvent(
        [id](Job& job, int64_t /*sequence*/) noexcept { job.id = id; });
  }
  RINGFLOW_RETURN_IF_ERROR(disruptor->Shutdown(absl::Seconds(5)));

  int64_t total = 0;
  std::string split;
  for (const Worker& w : workers) {
    total += w.count();
    absl::StrAppend(&split, split.empty() ? "" : " + ", w.count());
  }
  int64_t lost = 0;
  int64_t duplicated = 0;
  for (const std::atomic<int>& times : handled) {
    const int n = times.load(std::memory_order_relaxed);
    if (n == 0) ++lost;
    if (n > 1) ++duplicated;
  }
  std::printf("worker_pool: %lld jobs over %d workers (%s), %s\n",
              static_cast<long long>(total), kWorkers, split.c_str(),
              lost == 0 && duplicated == 0 ? "each handled exactly once"
                                           : "NOT exactly once");
  if (lost != 0 || duplicated != 0 || total != kJobs) {
    return absl::InternalError(absl::StrCat(lost, " jobs lost, ", duplicated,
                                            " handled more than once, ", total,
                                            " handled in all"));
  }
  return absl::OkStatus();
}

}  // namespace

int main() {
  const absl::Status status = Run();
  if (!status.ok()) {
    std::fprintf(stderr, "worker_pool: FAILED: %s\n",
                 status.ToString().c_str());
    return 1;
  }
  return 0;
}
