#include "env_report.h"

#include "core/env.h"

#include <cstdio>
#include <string>

namespace probe {

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

}  // namespace probe
