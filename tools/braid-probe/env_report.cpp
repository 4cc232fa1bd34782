#include "env_report.h"

#include "core/algorithm_choice.h"
#include "core/env.h"

#include <cstdio>
#include <string>
#include <vector>

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
  std::vector<std::string> refused = env.problems();
  try {
    braid::readTunerSettings(-1);  // BRAID_ALGO and the tuning file: their own parsers
  } catch (const std::exception& e) {
    refused.push_back(e.what());
  }
  for (const auto& why : refused) std::fprintf(stderr, "braid-probe: %s (a communicator would refuse it)\n", why.c_str());
  return refused.empty();
}

}  // namespace probe
