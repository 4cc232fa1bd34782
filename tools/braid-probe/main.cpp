// braid-probe: what Braid sees on this machine. For now, the settings: every BRAID_*
// variable with the value in force, where it came from, and what it means.
// (Topology and tuner tables come with the topology work.)
#include "core/env.h"

#include <braid/version.h>

#include <cstdio>
#include <cstring>
#include <string>

namespace {

int usage(FILE* to, int code) {
  std::fprintf(to,
               "usage: braid-probe --env [--markdown]\n"
               "  --env        every BRAID_* setting: value in force, its source, description\n"
               "  --markdown   print the settings as the README's table (defaults, no values)\n");
  return code;
}

void printEnv(bool markdown) {
  const braid::Env& env = braid::Env::get();
  if (markdown) {
    std::printf("| variable | NCCL alias | default | meaning |\n|---|---|---|---|\n");
    for (const auto& s : braid::Env::table())
      std::printf("| `%s` | %s | %s | %s |\n", s.name, s.alias ? (std::string("`") + s.alias + "`").c_str() : "",
                  *s.defaultValue ? (std::string("`") + s.defaultValue + "`").c_str() : "", s.description);
    return;
  }
  for (const auto& s : braid::Env::table())
    std::printf("%-20s = %-16s (%s)  %s\n", s.name, ("'" + env.value(s.name) + "'").c_str(), env.source(s.name),
                s.description);
}

}  // namespace

int main(int argc, char** argv) {
  bool env = false, markdown = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--env")) env = true;
    else if (!std::strcmp(argv[i], "--markdown")) markdown = true;
    else if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) return usage(stdout, 0);
    else if (!std::strcmp(argv[i], "--version")) {
      std::printf("braid %d.%d.%d\n", BRAID_VERSION_MAJOR, BRAID_VERSION_MINOR, BRAID_VERSION_PATCH);
      return 0;
    } else {
      std::fprintf(stderr, "braid-probe: unknown argument '%s'\n", argv[i]);
      return usage(stderr, 2);
    }
  }
  if (!env) return usage(stderr, 2);
  try {
    printEnv(markdown);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "braid-probe: %s\n", e.what());
    return 1;
  }
  return 0;
}
