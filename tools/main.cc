// tools/main.cc — the `ringflow` command-line tool.
//
//   ringflow demo [flags]     the main job: a handler graph over a ring,
//                             verified end to end
//   ringflow help             this list
//
// Each subcommand parses its own flags (`ringflow demo --help`).

#include <cstdio>
#include <cstring>
#include <string_view>

#include "tools/demo.h"

namespace {

struct Command {
  const char* name;
  const char* summary;
  int (*run)(int argc, char** argv);
};

constexpr Command kCommands[] = {
    {"demo", "publish ticks through journal | risk -> matcher and verify them",
     ringflow::tools::DemoCommand},
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
