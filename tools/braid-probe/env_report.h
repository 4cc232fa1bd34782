#pragma once
// --env: every BRAID_* setting, or (--markdown) the README's table of them.
namespace probe {

void printEnv(bool markdown);

}  // namespace probe
