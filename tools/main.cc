// tools/main.cc — the `ringflow` command-line tool.
//
//   ringflow demo [flags]          the main job, verified end to end
//   ringflow list | stat | rm      look at rings in shared memory
//   ringflow consume NAME          attach as a consumer
//   ringflow tail NAME             read a byte ring's records
//   ringflow serve-metrics NAME..  a metrics sidecar
//   ringflow bridge out|in RING    to and from NATS JetStream (with
//                                  ringflow::bridge)
//   ringflow help                  this list
//
// Each subcommand parses its own flags (`ringflow demo --help`).

#include <cstdio>
#include <cstring>
#include <string_view>

#ifdef RINGFLOW_TOOL_BRIDGE
#include "tools/bridge_command.h"
#include "tools/demo_cluster.h"
#endif
#include "tools/demo.h"
#include "tools/shm_commands.h"
#include "tools/tail_command.h"

namespace {

struct Command {
  const char* name;
  const char* summary;
  int (*run)(int argc, char** argv);
};

constexpr Command kCommands[] = {
    {"demo",
     "the main job: a shared ring, an in-process graph, two consumer "
     "processes, metrics; every event verified",
     ringflow::tools::DemoCommand},
    {"list", "rings under /dev/shm", ringflow::tools::ListCommand},
    {"stat", "a ring's header, cursors, consumers and counters",
     ringflow::tools::StatCommand},
    {"rm", "remove a ring's segments", ringflow::tools::RmCommand},
    {"consume", "attach to a ring of ticks as a consumer (and verify)",
     ringflow::tools::ConsumeCommand},
    {"tail", "attach to a byte ring as a reader: print or verify records",
     ringflow::tools::TailCommand},
    {"serve-metrics", "serve /metrics for rings owned by other processes",
     ringflow::tools::ServeMetricsCommand},
#ifdef RINGFLOW_TOOL_BRIDGE
    {"bridge",
     "out: a ring to a NATS JetStream subject; in: a stream into a ring",
     ringflow::tools::BridgeCommand},
    {"demo-cluster",
     "the path beyond one host: rings bridged through a 3-node JetStream "
     "cluster on loopback, the stream leader killed midway, every event "
     "verified",
     ringflow::tools::DemoClusterCommand},
#endif
};

int Usage(FILE* out) {
  std::fprintf(out, "usage: ringflow <command> [flags]\n\ncommands:\n");
  for (const Command& c : kCommands) {
    std::fprintf(out, "  %-14s %s\n", c.name, c.summary);
  }
  std::fprintf(out, "\n`ringflow <command> --help` lists a command's flags.\n");
  return out == stdout ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage(stderr);
  const std::string_view name = argv[1];
  if (name == "help" || name == "--help" || name == "-h") return Usage(stdout);
  for (const Command& c : kCommands) {
    if (name == c.name) {
      // argv[1] becomes the program name the subcommand's parser sees.
      static char program[64];
      std::snprintf(program, sizeof(program), "ringflow %s", c.name);
      argv[1] = program;
      return c.run(argc - 1, argv + 1);
    }
  }
  std::fprintf(stderr, "ringflow: unknown command '%s'\n\n", argv[1]);
  return Usage(stderr);
}
