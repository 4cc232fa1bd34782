#pragma once
// One object owns every BRAID_* environment variable: its default, its description,
// and the NCCL_* alias that existing job scripts set. Nothing else calls getenv for
// a setting, so `braid-probe --env` and the README print the complete list.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace braid {

struct Setting {
  const char* name;         // BRAID_...
  const char* alias;        // NCCL_... or nullptr
  const char* defaultValue;
  const char* description;  // one line
};

// How much ranks verify that they make the same calls (BRAID_CHECK).
enum class CheckLevel { Off, On, Full };

// The settings are read leniently: a value that does not parse is set aside (its default
// stands in) and kept as a problem, so that reading never throws. A communicator checks
// them before it joins (requireValid), through its peers: a rank whose settings are bad
// still takes part in the peer-table gather and tells the others why, so the job stops
// at once on every rank instead of leaving the others to wait until BRAID_TIMEOUT.
class Env {
 public:
  // The process-wide settings, read once on first use. Never throws.
  static const Env& get();
  // Re-reads the environment (tests change variables between communicators).
  static void reload();
  static const std::vector<Setting>& table();

  std::string value(const char* name) const;  // the value in force (env, alias, default)
  const char* source(const char* name) const;  // "BRAID_X", "NCCL_X" or "default"

  // Typed accessors for the settings the core reads on hot-ish paths.
  std::chrono::milliseconds timeout() const { return timeout_; }
  std::string transports() const { return transports_; }
  std::string socketIfname() const { return socketIfname_; }
  std::size_t shmBufferBytes() const { return shmBufferBytes_; }
  int tcpSockets() const { return tcpSockets_; }
  std::size_t chunkBytes() const { return chunkBytes_; }
  int logLevel() const { return logLevel_; }  // 0 none, 1 warn, 2 info, 3 debug
  std::string hostId() const { return hostId_; }
  CheckLevel checkLevel() const { return checkLevel_; }
  bool cudaIpc() const { return cudaIpc_; }

  // Why each value that did not parse was refused, in table order; empty when all did.
  const std::vector<std::string>& problems() const { return problems_; }
  // Throws InvalidArgument for the first problem, "rank R: " first when rank >= 0.
  void requireValid(int rank) const;

 private:
  Env();
  // parse(value), or parse(default) with the problem kept when the value is refused.
  template <class Parse>
  auto read(const char* name, Parse parse);
  std::chrono::milliseconds timeout_;
  std::string transports_, socketIfname_, hostId_;
  std::size_t shmBufferBytes_, chunkBytes_;
  int tcpSockets_, logLevel_;
  CheckLevel checkLevel_;
  bool cudaIpc_;
  std::vector<std::string> problems_;
};

// Parses a whole number of things (a count, not a size: "4", never "4K" or "1.5") from
// lo to hi; throws InvalidArgument naming `what`.
int parseCount(const std::string& text, const char* what, int lo, int hi);
// Parses "4M", "512K", "1G", "123" into bytes; throws InvalidArgument naming `what`.
std::uint64_t parseBytes(const std::string& text, const char* what);
// Parses "30", "30s", "500ms", "2m" into milliseconds; throws InvalidArgument naming `what`.
std::chrono::milliseconds parseDuration(const std::string& text, const char* what);

}  // namespace braid
