// epoll_loop.cc — one thread, one epoll loop: a ring and a socket side by
// side, no reader thread.
//
// What it shows:
//   * EventNotifier: an eventfd that becomes readable when the ring has
//     events for the loop's EventPoller; the loop polls, arms, and sleeps
//     in epoll_wait only when Arm says nothing is there,
//   * a producer thread that pays for a wake-up only when the loop is armed
//     (one eventfd write per arming, counted by wakes()), never per event,
//   * a socket (a socketpair) handled by the same loop.
//
// Run:   build/dev/examples/example_epoll_loop
// Prints: epoll_loop: 100000 events (sum ok) and 100 socket messages in one
//         thread; <k> sleeps, <w> eventfd writes
// Exits non-zero when an event or a message is missing.

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "ringflow/ringflow.h"

namespace {

constexpr int64_t kEvents = 100'000;
constexpr int kMessages = 100;

absl::Status Run() {
  RINGFLOW_ASSIGN_OR_RETURN(
      auto ring, ringflow::RingBuffer<int64_t>::Create(
                     {.capacity = 4096,
                      .producer_type = ringflow::ProducerType::kSingle,
                      // The producers of a blocking ring wake sleepers.
                      .wait_strategy = ringflow::WaitStrategyKind::kBlocking}));
  RINGFLOW_ASSIGN_OR_RETURN(auto poller,
                            ringflow::EventPoller<int64_t>::Create(*ring));
  RINGFLOW_ASSIGN_OR_RETURN(auto notifier,
                            ringflow::EventNotifier::Create(*ring));
  int sockets[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets) != 0) {
    return absl::InternalError("socketpair failed");
  }
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  for (int fd : {notifier->fd(), sockets[0]}) {
    epoll_event e{};
    e.events = EPOLLIN;
    e.data.fd = fd;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
  }

  std::thread producer([&] {
    for (int64_t i = 0; i < kEvents; ++i) {
      ring->PublishEvent([i](int64_t& e, int64_t) { e = i; });
      if (i % (kEvents / kMessages) == 0) {
        const char byte = 'm';
        (void)::write(sockets[1], &byte, 1);
      }
    }
  });

  int64_t events = 0;
  int64_t sum = 0;
  int messages = 0;
  int sleeps = 0;
  while (events < kEvents || messages < kMessages) {
    // Everything the ring has now.
    while (poller->Poll([&](const int64_t& v, int64_t, bool) {
      sum += v;
      ++events;
    }) == ringflow::PollState::kProcessing) {
    }
    if (events == kEvents && messages == kMessages) break;  // all there
    epoll_event ready[2];
    int n = 0;
    if (notifier->Arm(*poller)) {  // nothing there: sleep until something is
      ++sleeps;
      n = ::epoll_wait(ep, ready, 2, -1);
    } else {
      n = ::epoll_wait(ep, ready, 2, 0);  // look at the socket, then poll
    }
    notifier->Disarm();
    for (int i = 0; i < n; ++i) {
      if (ready[i].data.fd != sockets[0]) continue;
      char buffer[64];
      const ssize_t got = ::read(sockets[0], buffer, sizeof buffer);
      if (got > 0) messages += static_cast<int>(got);
    }
  }
  producer.join();
  ::close(ep);
  ::close(sockets[0]);
  ::close(sockets[1]);
  if (sum != kEvents * (kEvents - 1) / 2 || messages != kMessages) {
    return absl::InternalError(
        absl::StrCat("sum ", sum, ", messages ", messages));
  }
  std::printf(
      "epoll_loop: %lld events (sum ok) and %d socket messages in one "
      "thread; %d sleeps, %llu eventfd writes\n",
      static_cast<long long>(events), messages, sleeps,
      static_cast<unsigned long long>(notifier->wakes()));
  return absl::OkStatus();
}

}  // namespace

int main() {
  const absl::Status status = Run();
  if (!status.ok()) {
    std::fprintf(stderr, "epoll_loop: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
