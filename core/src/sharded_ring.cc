// ringflow/core/sharded_ring.cc: ValidateShardedRingOptions.

#include "ringflow/core/sharded_ring.h"

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "ringflow/core/internal/status_macros.h"
#include "ringflow/core/ring_options.h"

namespace ringflow {

absl::Status ValidateShardedRingOptions(const ShardedRingOptions& options,
                                        std::size_t event_size) {
  if (options.max_producers < 1 || options.max_producers > kMaxShards) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_producers ", options.max_producers,
                     " must be in [1, ", kMaxShards, "]"));
  }
  // Shard i is labelled "<name>.<i>": room for ".255".
  constexpr size_t kSuffix = 4;
  if (options.shard.name.size() > kMaxNameLength - kSuffix) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ring name '", options.shard.name, "' has ", options.shard.name.size(),
        " characters; a sharded ring's name may have at most ",
        kMaxNameLength - kSuffix, " (its shards add .<index>)"));
  }
  RingOptions shard = options.shard;
  shard.producer_type = ProducerType::kSingle;  // ignored, see the header
  return ValidateRingOptions(shard, event_size);
}

}  // namespace ringflow
