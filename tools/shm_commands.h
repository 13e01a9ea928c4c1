// tools/shm_commands.h — `ringflow list | stat | rm | consume | serve-metrics`.
#ifndef RINGFLOW_TOOLS_SHM_COMMANDS_H_
#define RINGFLOW_TOOLS_SHM_COMMANDS_H_

#include <string>

#include "absl/status/status.h"

namespace ringflow::tools {

int ListCommand(int argc, char** argv);
int StatCommand(int argc, char** argv);
int RmCommand(int argc, char** argv);
int ConsumeCommand(int argc, char** argv);
int ServeMetricsCommand(int argc, char** argv);

// OK when each of ring `ring`'s segment paths under /dev/shm is a regular
// file or absent (then the library says the ring does not exist); checked
// without opening or following them, so a command names a planted file
// plainly. InvalidArgument for a bad ring name.
absl::Status CheckRingFiles(const std::string& ring);

}  // namespace ringflow::tools

#endif  // RINGFLOW_TOOLS_SHM_COMMANDS_H_
