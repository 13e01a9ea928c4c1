// tools/bridge_command.h — `ringflow bridge out | in` (bridge_command.cc),
// built when ringflow::bridge is (RINGFLOW_BUILD_BRIDGE, libnats-dev).
#ifndef RINGFLOW_TOOLS_BRIDGE_COMMAND_H_
#define RINGFLOW_TOOLS_BRIDGE_COMMAND_H_

namespace ringflow::tools {

int BridgeCommand(int argc, char** argv);

}  // namespace ringflow::tools

#endif  // RINGFLOW_TOOLS_BRIDGE_COMMAND_H_
