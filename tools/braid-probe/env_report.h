#pragma once
// --env: every BRAID_* setting, or (--markdown) the README's table of them.
namespace probe {

// Without --markdown, the values in force, then (on stderr) each value that did not
// parse; false when there was one.
bool printEnv(bool markdown);

}  // namespace probe
