#include "options.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace braidrun {
namespace {

bool parseCount(const std::string& text, int& out) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) return false;
  errno = 0;
  char* end = nullptr;
  long v = std::strtol(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || end == text.c_str()) return false;
  if (v < 1 || v > kMaxProcs) return false;
  out = static_cast<int>(v);
  return true;
}

bool parseSeconds(const std::string& text, double& out) {
  if (text.empty()) return false;
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (errno != 0 || *end != '\0' || end == text.c_str()) return false;
  if (!std::isfinite(v) || v <= 0 || v > 1e9) return false;
  out = v;
  return true;
}

ParseResult usageError(std::string message) {
  ParseResult r;
  r.status = ParseStatus::UsageError;
  r.error = std::move(message);
  return r;
}

}  // namespace

constexpr const char* kUsageLine = "usage: braidrun -n N [--prefix] [--timeout SECONDS] [--] CMD [ARGS...]\n";

std::string usageSummary() { return std::string(kUsageLine) + "Run 'braidrun --help' for the options.\n"; }

std::string usageText() {
  return std::string(kUsageLine) +
         "\n"
         "Starts N local processes of CMD ARGS, ranks 0..N-1, with BRAID_UNIQUE_ID, BRAID_RANK,\n"
         "BRAID_SIZE, BRAID_LOCAL_RANK and BRAID_LOCAL_SIZE set, and waits for them. If a rank\n"
         "fails, the others are stopped (SIGTERM, then SIGKILL after 3 s) and braidrun exits\n"
         "with that rank's status (128+signal if it was killed).\n"
         "\n"
         "  -n N, -nN             number of processes (1.." + std::to_string(kMaxProcs) + ")\n"
         "  -p, --prefix          prefix every output line with \"[rank] \"\n"
         "  --timeout SECONDS     stop the job after SECONDS (exit status 124)\n"
         "  -h, --help            print this help\n"
         "  --                    end of braidrun's options\n";
}

ParseResult parseArgs(int argc, char** argv) {
  ParseResult r;
  Options& o = r.options;
  bool haveN = false;
  int i = 1;
  for (; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") { ++i; break; }
    if (a.empty() || a[0] != '-' || a == "-") break;  // the command starts here
    if (a == "-h" || a == "--help") {
      r.status = ParseStatus::Help;
      return r;
    }
    if (a == "-p" || a == "--prefix") {
      o.prefix = true;
    } else if (a == "-n" || a.rfind("-n", 0) == 0 || a == "--np" || a.rfind("--np=", 0) == 0) {
      std::string value;
      if (a == "-n" || a == "--np") {
        if (i + 1 >= argc) return usageError("option " + a + " needs a value");
        value = argv[++i];
      } else {
        value = a.rfind("--np=", 0) == 0 ? a.substr(5) : a.substr(2);
      }
      if (!parseCount(value, o.nprocs))
        return usageError("invalid number of processes '" + value + "' (expected an integer from 1 to " +
                          std::to_string(kMaxProcs) + ")");
      haveN = true;
    } else if (a == "--timeout" || a.rfind("--timeout=", 0) == 0) {
      std::string value;
      if (a == "--timeout") {
        if (i + 1 >= argc) return usageError("option --timeout needs a value");
        value = argv[++i];
      } else {
        value = a.substr(10);
      }
      if (!parseSeconds(value, o.timeoutSeconds))
        return usageError("invalid timeout '" + value + "' (expected a positive number of seconds)");
      o.timeoutText = value;
    } else {
      return usageError("unknown option '" + a + "'");
    }
  }
  for (; i < argc; ++i) o.command.emplace_back(argv[i]);
  if (!haveN) return usageError("missing -n N (the number of processes)");
  if (o.command.empty()) return usageError("no command given");
  r.status = ParseStatus::Run;
  return r;
}

}  // namespace braidrun
