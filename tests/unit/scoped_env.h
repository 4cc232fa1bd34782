#pragma once
// Sets (or, given nullptr, unsets) an environment variable for one scope, and re-reads
// Braid's settings on the way in and out: the test sees its value, and the next test
// finds the environment as it was.
#include "core/env.h"

#include <cstdlib>
#include <optional>
#include <string>

namespace braid::testing {

class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) setenv(name, value, 1);
    else unsetenv(name);
    Env::reload();
  }
  ScopedEnv(const char* name, const std::string& value) : ScopedEnv(name, value.c_str()) {}
  ~ScopedEnv() {
    if (old_) setenv(name_, old_->c_str(), 1);
    else unsetenv(name_);
    Env::reload();
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

}  // namespace braid::testing
