#pragma once
// --env: every BRAID_* setting, or (--markdown) the README's table of them.
namespace probe {

// Without --markdown, each setting's value as set, then (on stderr) why a communicator
// would refuse any of them (Env's own, BRAID_ALGO, the tuning file); false when it would.
bool printEnv(bool markdown);

}  // namespace probe
