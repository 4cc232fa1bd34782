// Communicator::fromEnvironment: finds rank, size and the rendezvous from whichever
// launcher started this process. braidrun passes a complete unique id; torchrun, Open
// MPI and Slurm give rank and size, and rank 0 hosts the root at an agreed address.
#include <braid/communicator.h>
#include <braid/error.h>

#include "bootstrap/bootstrap.h"
#include "core/communicator_impl.h"
#include "core/env.h"
#include "core/log.h"

#include <cstdlib>
#include <functional>

namespace braid {
namespace {

const char* get(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

int toInt(const char* name, const char* text) {
  char* end = nullptr;
  long v = std::strtol(text, &end, 10);
  if (!end || *end || v < 0 || v > (1 << 30))
    throw InvalidArgument(std::string(name) + "='" + text + "' is not a valid non-negative integer");
  return static_cast<int>(v);
}

struct Launch {
  const char* launcher;
  int rank, size;
};

// The first launcher whose variables are all present.
bool detect(Launch& out) {
  struct Vars { const char *launcher, *rank, *size; };
  const Vars known[] = {
      {"braidrun", "BRAID_RANK", "BRAID_SIZE"},
      {"torchrun", "RANK", "WORLD_SIZE"},
      {"Open MPI", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"},
      {"PMIx", "PMIX_RANK", "PMI_SIZE"},
      {"Slurm", "SLURM_PROCID", "SLURM_NTASKS"},
  };
  for (const auto& v : known) {
    if (get(v.rank) && get(v.size)) {
      out = {v.launcher, toInt(v.rank, get(v.rank)), toInt(v.size, get(v.size))};
      return true;
    }
  }
  return false;
}

// All ranks of one job must agree on the secret without a unique id to carry it:
// BRAID_SECRET, else a hash of the launcher's job identity (keeps jobs apart, but is
// guessable: set BRAID_SECRET where strangers can reach the port).
std::array<unsigned char, 16> jobSecret() {
  std::array<unsigned char, 16> s{};
  if (std::string h = Env::get().value("BRAID_SECRET"); !h.empty()) {
    // std::stoi would take "-f", " f" or "0x" and throw std::invalid_argument on "zz".
    auto parsed = parseSecretHex(h);
    if (!parsed) throw InvalidArgument("BRAID_SECRET must be 32 hex digits");
    return *parsed;
  }
  std::string job;
  for (const char* name : {"TORCHELASTIC_RUN_ID", "SLURM_JOB_ID", "OMPI_MCA_orte_hnp_uri", "PMIX_NAMESPACE"})
    if (const char* v = get(name)) job += v;
  if (job.empty()) BRAID_WARN("fromEnvironment: no BRAID_SECRET and no job id; the bootstrap secret is guessable");
  std::uint64_t a = std::hash<std::string>()(job + "braid-a"), b = std::hash<std::string>()(job + "braid-b");
  for (int i = 0; i < 8; ++i) {
    s[i] = static_cast<unsigned char>(a >> (8 * i));
    s[8 + i] = static_cast<unsigned char>(b >> (8 * i));
  }
  return s;
}

// Where rank 0 hosts the root: BRAID_ROOT (or its alias NCCL_COMM_ID), or MASTER_ADDR
// with MASTER_PORT + 1 (torchrun's own store already listens on MASTER_PORT).
std::string rootAddress() {
  if (std::string r = Env::get().value("BRAID_ROOT"); !r.empty()) return r;
  const char* addr = get("MASTER_ADDR");
  const char* port = get("MASTER_PORT");
  if (addr && port) return std::string(addr) + ":" + std::to_string(toInt("MASTER_PORT", port) + 1);
  throw InvalidArgument(
      "fromEnvironment: no rendezvous address; set BRAID_ROOT=host:port (or MASTER_ADDR and MASTER_PORT)");
}

}  // namespace

Communicator Communicator::fromEnvironment() {
  Env::reload();
  Launch launch{};
  if (!detect(launch))
    throw InvalidArgument(
        "fromEnvironment: no launcher variables found (braidrun's BRAID_RANK/BRAID_SIZE, torchrun's "
        "RANK/WORLD_SIZE, OMPI_COMM_WORLD_RANK/SIZE, or SLURM_PROCID/SLURM_NTASKS)");
  if (launch.size < 1 || launch.rank >= launch.size)
    throw InvalidArgument(std::string("fromEnvironment: ") + launch.launcher + " gave rank " +
                          std::to_string(launch.rank) + " with size " + std::to_string(launch.size));
  if (std::string id = Env::get().value("BRAID_UNIQUE_ID"); !id.empty())
    return Communicator(std::make_unique<CommunicatorImpl>(UniqueId::fromString(id), launch.rank, launch.size));

  RootInfo info;
  info.address = SockAddr::parse(rootAddress());
  info.secret = jobSecret();
  std::unique_ptr<BootstrapRoot> root;
  if (launch.rank == 0) {
    root = std::make_unique<BootstrapRoot>(info.address, info.secret, 1);
    info = root->info();
  }
  return Communicator(std::make_unique<CommunicatorImpl>(info.encode(), launch.rank, launch.size, std::move(root)));
}

}  // namespace braid
