// tools/shm_commands.h — `ringflow list | stat | rm | consume | serve-metrics`.
#ifndef RINGFLOW_TOOLS_SHM_COMMANDS_H_
#define RINGFLOW_TOOLS_SHM_COMMANDS_H_

namespace ringflow::tools {

int ListCommand(int argc, char** argv);
int StatCommand(int argc, char** argv);
int RmCommand(int argc, char** argv);
int ConsumeCommand(int argc, char** argv);
int ServeMetricsCommand(int argc, char** argv);

}  // namespace ringflow::tools

#endif  // RINGFLOW_TOOLS_SHM_COMMANDS_H_
