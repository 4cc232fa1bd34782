#pragma once
// Command-line parsing for braidrun: `braidrun -n N [--prefix] [--timeout S] [--] CMD ARGS...`.
#include <string>
#include <vector>

namespace braidrun {

struct Options {
  int nprocs = 0;
  bool prefix = false;
  double timeoutSeconds = 0;  // 0: no timeout
  std::string timeoutText;    // as the user wrote it, for messages
  std::vector<std::string> command;
};

enum class ParseStatus { Run, Help, UsageError };

struct ParseResult {
  ParseStatus status = ParseStatus::UsageError;
  Options options;
  std::string error;  // set for UsageError
};

// The largest -n accepted; more would exhaust file descriptors with --prefix.
constexpr int kMaxProcs = 4096;

ParseResult parseArgs(int argc, char** argv);
std::string usageText();   // the full help (--help)
std::string usageSummary();  // the usage line and a pointer to --help (usage errors)

}  // namespace braidrun
