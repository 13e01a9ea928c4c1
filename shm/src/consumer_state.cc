#include "ringflow/shm/shared_consumer.h"

namespace ringflow::shm {

std::string_view ConsumerStateName(ConsumerState state) {
  switch (state) {
    case ConsumerState::kOk:
      return "ok";
    case ConsumerState::kTimeout:
      return "timeout";
    case ConsumerState::kEvicted:
      return "evicted";
    case ConsumerState::kProducerGone:
      return "producer-gone";
    case ConsumerState::kStopped:
      return "stopped";
    case ConsumerState::kHalted:
      return "halted";
  }
  return "unknown";
}

}  // namespace ringflow::shm
