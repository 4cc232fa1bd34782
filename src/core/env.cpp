#include "core/env.h"

#include "core/byte_size.h"

#include <braid/error.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <mutex>

namespace braid {
namespace {

const std::vector<Setting> kSettings = {
    {"BRAID_TIMEOUT", nullptr, "300s", "Deadline for any wait (bootstrap, connect, collective): 30s, 500ms, 5m"},
    {"BRAID_TRANSPORTS", nullptr, "shm,ibverbs,tcp",
     "Transports to try, in priority order (e.g. tcp to force sockets); ibverbs steps aside where no RDMA device is usable"},
    {"BRAID_SOCKET_IFNAME", "NCCL_SOCKET_IFNAME", "", "Interface for bootstrap and tcp: prefix, =exact, ^exclude"},
    {"BRAID_SHM_BUFFER", nullptr, "4M", "Bytes of each shared-memory ring between two local ranks"},
    {"BRAID_IB_HCA", "NCCL_IB_HCA", "", "RDMA devices/ports for ibverbs: mlx5_0:1,mlx5_1 (prefixes), =exact, ^exclude"},
    {"BRAID_IB_GID_INDEX", "NCCL_IB_GID_INDEX", "", "RoCE GID table index; empty = auto (RoCE v2, IPv4-mapped first)"},
    {"BRAID_IB_TIMEOUT", "NCCL_IB_TIMEOUT", "14", "ibverbs ack timeout exponent: 4.096us * 2^N per retry (1..31)"},
    {"BRAID_IB_RETRY_CNT", "NCCL_IB_RETRY_CNT", "7", "ibverbs retransmissions before a dead peer fails the queue pair (0..7)"},
    {"BRAID_IB_TC", "NCCL_IB_TC", "0", "ibverbs traffic class (RoCE: DSCP << 2), 0..255"},
    {"BRAID_IB_SL", "NCCL_IB_SL", "0", "ibverbs service level, 0..15"},
    {"BRAID_IB_QPS_PER_PEER", "NCCL_IB_QPS_PER_CONNECTION", "1", "Reliable queue pairs per ibverbs peer; chunks rotate over them (1..16)"},
    {"BRAID_TCP_SOCKETS", nullptr, "2", "Sockets per tcp peer; large messages are striped across them"},
    {"BRAID_CHUNK", nullptr, "512K", "Pipeline slice size of ring collectives, in bytes"},
    {"BRAID_ALGO", "NCCL_ALGO", "",
     "Force algorithms by collective and size (allreduce:0-64K:tree,64K-:ring;allgather:bruck) or a list (ring,tree)"},
    {"BRAID_TUNING_FILE", nullptr, "",
     "Link costs and algorithm times measured by braid-probe --calibrate (JSON); built-in model when empty"},
    {"BRAID_CHECK", nullptr, "on",
     "Call matching: on (message headers carry each call's signature), full (ranks also swap call details first), off"},
    {"BRAID_DEBUG", "NCCL_DEBUG", "WARN", "Log level: NONE, WARN, INFO, TRACE"},
    {"BRAID_DEBUG_SUBSYS", "NCCL_DEBUG_SUBSYS", "",
     "Accepted from NCCL job scripts (INIT,NET,...); Braid's log has no subsystems yet, so every line is kept"},
    {"BRAID_HOST_ID", nullptr, "", "Overrides the host identity (hostname + boot id), to pose as several hosts"},
    {"BRAID_UNIQUE_ID", nullptr, "", "Rendezvous id in hex (set by braidrun)"},
    {"BRAID_RANK", nullptr, "", "This process's rank (set by braidrun)"},
    {"BRAID_SIZE", nullptr, "", "Number of ranks (set by braidrun)"},
    {"BRAID_LOCAL_RANK", nullptr, "", "Rank among this host's ranks (set by braidrun)"},
    {"BRAID_LOCAL_SIZE", nullptr, "", "Number of ranks on this host (set by braidrun)"},
    {"BRAID_ROOT", "NCCL_COMM_ID", "", "host:port where rank 0 hosts the rendezvous (torchrun/Open MPI/Slurm launches)"},
    {"BRAID_SECRET", nullptr, "", "32 hex digits shared by all ranks of a torchrun/MPI/Slurm launch"},
    {"BRAID_CPU_ISA", nullptr, "", "Force the reduction kernels' instruction set: generic, avx2, avx512"},
    {"BRAID_TOPO_FILE", nullptr, "", "Topology JSON to use instead of probing this machine (pose as another node)"},
    {"BRAID_CUDA_IPC", nullptr, "0",
     "GPU buffers, all ranks on one host: 1 = run on the GPUs, peers read through CUDA IPC (experimental); 0 = stage in host memory"},
};

// The settings in force, and earlier ones: references handed out before a reload stay
// valid. Never destroyed: a detached bootstrap root (UniqueId::create) may still read
// settings while the process runs its exit handlers.
struct Settings {
  std::mutex mutex;
  std::unique_ptr<Env> current;
  std::vector<std::unique_ptr<Env>> retired;
};
Settings& settings() {
  static Settings* s = new Settings;
  return *s;
}

const Setting* find(const char* name) {
  for (const auto& s : kSettings)
    if (std::string_view(s.name) == name) return &s;
  return nullptr;
}

int parseLogLevel(const std::string& v) {
  std::string u;
  for (char c : v) u += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (u == "NONE" || u == "VERSION") return 0;
  if (u == "INFO") return 2;
  if (u == "TRACE" || u == "DEBUG") return 3;
  return 1;
}

CheckLevel parseCheckLevel(const std::string& v) {
  std::string u;
  for (char c : v) u += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (u == "off" || u == "0" || u == "none") return CheckLevel::Off;
  if (u == "on" || u == "1" || u == "cheap") return CheckLevel::On;
  if (u == "full" || u == "2") return CheckLevel::Full;
  throw InvalidArgument("BRAID_CHECK: '" + v + "' is not one of on, full, off");
}

}  // namespace

template <class Parse>
auto Env::read(const char* name, Parse parse) {
  try {
    return parse(value(name));
  } catch (const InvalidArgument& e) {
    problems_.push_back(e.what());
    return parse(find(name)->defaultValue);
  }
}

Env::Env() {
  timeout_ = read("BRAID_TIMEOUT", [](const std::string& v) { return parseDuration(v, "BRAID_TIMEOUT"); });
  transports_ = value("BRAID_TRANSPORTS");
  socketIfname_ = value("BRAID_SOCKET_IFNAME");
  shmBufferBytes_ = read("BRAID_SHM_BUFFER", [](const std::string& v) {
    const std::uint64_t bytes = parseBytes(v, "BRAID_SHM_BUFFER");
    if (bytes < 4096) throw InvalidArgument("BRAID_SHM_BUFFER: '" + v + "' is less than 4K");
    return static_cast<std::size_t>(bytes);
  });
  tcpSockets_ = read("BRAID_TCP_SOCKETS", [](const std::string& v) { return parseCount(v, "BRAID_TCP_SOCKETS", 1, 16); });
  chunkBytes_ = read("BRAID_CHUNK", [](const std::string& v) {
    const std::uint64_t bytes = parseBytes(v, "BRAID_CHUNK");
    if (bytes < 64) throw InvalidArgument("BRAID_CHUNK: '" + v + "' is less than 64 bytes");
    return static_cast<std::size_t>(bytes);
  });
  logLevel_ = parseLogLevel(value("BRAID_DEBUG"));
  hostId_ = value("BRAID_HOST_ID");
  checkLevel_ = read("BRAID_CHECK", parseCheckLevel);
  cudaIpc_ = read("BRAID_CUDA_IPC", [](const std::string& v) {
    if (v != "0" && v != "1") throw InvalidArgument("BRAID_CUDA_IPC: '" + v + "' is neither 0 nor 1");
    return v == "1";
  });
}

void Env::requireValid(int rank) const {
  if (problems_.empty()) return;
  const std::string& why = problems_.front();
  if (rank < 0) throw InvalidArgument(why);
  throw InvalidArgument("rank " + std::to_string(rank) + ": " + why, ErrorContext{rank, -1, "", ""});
}

const Env& Env::get() {
  Settings& s = settings();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (!s.current) s.current.reset(new Env());
  return *s.current;
}

void Env::reload() {
  auto fresh = std::unique_ptr<Env>(new Env());
  Settings& s = settings();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (s.current) s.retired.push_back(std::move(s.current));
  s.current = std::move(fresh);
}

const std::vector<Setting>& Env::table() { return kSettings; }

std::string Env::value(const char* name) const {
  const Setting* s = find(name);
  if (!s) throw InvalidArgument(std::string("unknown setting ") + name);
  if (const char* v = std::getenv(s->name); v && *v) return v;
  if (s->alias)
    if (const char* v = std::getenv(s->alias); v && *v) return v;
  return s->defaultValue;
}

const char* Env::source(const char* name) const {
  const Setting* s = find(name);
  if (!s) return "unknown";
  if (const char* v = std::getenv(s->name); v && *v) return s->name;
  if (s->alias)
    if (const char* v = std::getenv(s->alias); v && *v) return s->alias;
  return "default";
}

int parseCount(const std::string& text, const char* what, int lo, int hi) {
  const bool digits = !text.empty() && text.size() <= 9 &&
                      std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  const long n = digits ? std::stol(text) : -1;
  if (n < lo || n > hi)
    throw InvalidArgument(std::string(what) + ": '" + text + "' is not a whole number from " + std::to_string(lo) +
                          " to " + std::to_string(hi));
  return static_cast<int>(n);
}

std::uint64_t parseBytes(const std::string& text, const char* what) {
  if (const auto bytes = parseByteSize(text)) return *bytes;
  throw InvalidArgument(std::string(what) + ": '" + text + "' is not a size below 8 EiB (e.g. 512K, 4M, 1.5G)");
}

std::chrono::milliseconds parseDuration(const std::string& text, const char* what) {
  std::size_t pos = 0;
  double n = 0;
  try {
    n = std::stod(text, &pos);
  } catch (...) {
    throw InvalidArgument(std::string(what) + ": '" + text + "' is not a duration (e.g. 30s, 500ms)");
  }
  if (!std::isfinite(n)) throw InvalidArgument(std::string(what) + ": '" + text + "' is not a duration (e.g. 30s, 500ms)");
  if (n < 0) throw InvalidArgument(std::string(what) + " must not be negative");
  std::string unit = text.substr(pos);
  double ms;
  if (unit.empty() || unit == "s") ms = n * 1000;
  else if (unit == "ms") ms = n;
  else if (unit == "m" || unit == "min") ms = n * 60000;
  else throw InvalidArgument(std::string(what) + ": unknown unit in '" + text + "'");
  // A year is far beyond any sensible wait, and keeps the cast below defined.
  if (ms > 365.0 * 24 * 3600 * 1000) throw InvalidArgument(std::string(what) + ": '" + text + "' is more than a year");
  return std::chrono::milliseconds(static_cast<long long>(ms));
}

}  // namespace braid
