#include "env_report.h"

#include "core/env.h"

#include <cstdio>
#include <string>

namespace probe {

bool printEnv(bool markdown) {
  const braid::Env& env = braid::Env::get();
  if (markdown) {
    std::printf("| variable | NCCL alias | default | meaning |\n|---|---|---|---|\n");
    for (const auto& s : braid::Env::table())
      std::printf("| `%s` | %s | %s | %s |\n", s.name, s.alias ? (std::string("`") + s.alias + "`").c_str() : "",
                  *s.defaultValue ? (std::string("`") + s.defaultValue + "`").c_str() : "", s.description);
    return true;
  }
  for (const auto& s : braid::Env::table())
    std::printf("%-20s = %-16s (%s)  %s\n", s.name, ("'" + env.value(s.name) + "'").c_str(), env.source(s.name),
                s.description);
  for (const auto& p : env.problems())
    std::fprintf(stderr, "braid-probe: %s (a communicator would refuse to start)\n", p.message.c_str());
  return env.problems().empty();
}

}  // namespace probe
