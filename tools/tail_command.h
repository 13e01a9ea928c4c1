// tools/tail_command.h — `ringflow tail`: print or verify the records of a
// byte ring in shared memory.
#ifndef RINGFLOW_TOOLS_TAIL_COMMAND_H_
#define RINGFLOW_TOOLS_TAIL_COMMAND_H_

namespace ringflow::tools {

int TailCommand(int argc, char** argv);

}  // namespace ringflow::tools

#endif  // RINGFLOW_TOOLS_TAIL_COMMAND_H_
