// tests/support/shm_files.h — files planted in /dev/shm by tests, as a
// hostile or broken process would leave them.
#ifndef RINGFLOW_TESTS_SUPPORT_SHM_FILES_H_
#define RINGFLOW_TESTS_SUPPORT_SHM_FILES_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "ringflow/core/internal/status_macros.h"
#include "ringflow/shm/internal/segment.h"

namespace ringflow::testing {

// Creates the shared-memory file `name` ("/x") of `bytes` zero bytes with
// permissions `mode`, mapped read-write. AlreadyExists when it exists.
inline absl::StatusOr<shm_internal::Segment> PlantSegment(
    const std::string& name, size_t bytes, uint32_t mode) {
  RINGFLOW_ASSIGN_OR_RETURN(
      shm_internal::Segment segment,
      shm_internal::Segment::CreateUnnamed(name, bytes, mode));
  RINGFLOW_RETURN_IF_ERROR(segment.Link());
  return segment;
}

}  // namespace ringflow::testing

#endif  // RINGFLOW_TESTS_SUPPORT_SHM_FILES_H_
