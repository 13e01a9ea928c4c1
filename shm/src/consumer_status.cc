#include "ringflow/shm/shared_consumer.h"

namespace ringflow::shm {

std::string_view ConsumerStatusName(ConsumerStatus status) {
  switch (status) {
    case ConsumerStatus::kOk:
      return "ok";
    case ConsumerStatus::kTimeout:
      return "timeout";
    case ConsumerStatus::kEvicted:
      return "evicted";
    case ConsumerStatus::kProducerGone:
      return "producer-gone";
    case ConsumerStatus::kStopped:
      return "stopped";
  }
  return "unknown";
}

}  // namespace ringflow::shm
