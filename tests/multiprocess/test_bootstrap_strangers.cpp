// Strangers on the ports a job exposes: braidrun's bootstrap root (for the whole job),
// and each rank's listeners while it forms (bootstrap ring, tcp transport). While a real
// 4-rank job runs collective_check, strangers keep connecting and (a) send random bytes,
// (b) send nothing and hold the connection, (c) send the start of a valid hello and close,
// (d) send a whole hello with a wrong secret. The job must finish with exact results, no
// error, and in about the time it takes undisturbed. The parser regressions found while
// hardening these paths are at the end.
#include "braidrun_fixture.h"

#include "bootstrap/bootstrap.h"
#include "bootstrap/peer_table.h"
#include "bootstrap/wire.h"
#include "core/socket.h"
#include "transport/tcp/tcp_transport.h"

#include <braid/error.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>

#include <atomic>
#include <cstddef>
#include <cstring>
#include <random>
#include <regex>

#ifndef COLLECTIVE_CHECK_PATH
#error "COLLECTIVE_CHECK_PATH must name the collective_check program"
#endif

namespace {

using namespace braid;
using namespace braid::testing;
using namespace std::chrono_literals;

constexpr int kRanks = 4;

// Each rank runs collective_check this many times in a row: braidrun's root serves
// every init, so strangers meet communicators forming as well as working.
constexpr int kRuns = 3;

void expectExactAndClean(const Result& r) {
  ASSERT_TRUE(r.finished) << "still running at the limit\n" << r.err;
  EXPECT_EQ(r.exitCode, 0) << r.out << r.err;
  std::regex line(R"(rank (\d+): (\d+) checks, 0 failed)");
  auto lines = std::distance(std::sregex_iterator(r.out.begin(), r.out.end(), line), std::sregex_iterator());
  EXPECT_EQ(lines, kRanks * kRuns) << r.out << r.err;
  EXPECT_EQ(r.err.find("collective_check:"), std::string::npos) << r.err;
}

// Socket inode -> port of every listening TCP socket in this network namespace. The
// tables also hold every connection, so only rows in state 0A (LISTEN) are parsed.
std::map<std::string, int> listeningSockets() {
  std::map<std::string, int> out;
  for (const char* table : {"/proc/self/net/tcp", "/proc/self/net/tcp6"}) {
    auto lines = splitLines(readFile(table));
    for (std::size_t i = 1; i < lines.size(); ++i) {
      const std::string& l = lines[i];
      if (l.find(" 0A ") == std::string::npos) continue;
      std::istringstream in(l);
      std::string slot, local, remote, state, skip, inode;
      in >> slot >> local >> remote >> state;
      for (int f = 0; f < 5; ++f) in >> skip;  // tx:rx tr:when retrnsmt uid timeout
      in >> inode;
      auto colon = local.rfind(':');
      if (state == "0A" && colon != std::string::npos) out[inode] = std::stoi(local.substr(colon + 1), nullptr, 16);
    }
  }
  return out;
}

// The ports among `listening` that process `pid` holds open.
void portsOf(pid_t pid, const std::map<std::string, int>& listening, std::set<int>& ports) {
  std::string fdDir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = ::opendir(fdDir.c_str());
  if (!d) return;
  while (dirent* e = ::readdir(d)) {
    char target[128] = {};
    if (::readlink((fdDir + "/" + e->d_name).c_str(), target, sizeof target - 1) <= 0) continue;
    std::string t = target;
    if (t.rfind("socket:[", 0) != 0) continue;
    auto it = listening.find(t.substr(8, t.size() - 9));
    if (it != listening.end()) ports.insert(it->second);
  }
  ::closedir(d);
}

// The listening ports of rank shells `pids` and of the collective_check each runs.
std::set<int> listeningPorts(const std::vector<pid_t>& pids) {
  auto listening = listeningSockets();
  std::set<int> ports;
  for (pid_t pid : pids) {
    portsOf(pid, listening, ports);
    std::istringstream children(readFile("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children"));
    for (pid_t child; children >> child;) portsOf(child, listening, ports);
  }
  return ports;
}

SockAddr withPort(SockAddr a, int port) {
  if (a.storage.ss_family == AF_INET) reinterpret_cast<sockaddr_in&>(a.storage).sin_port = htons(port);
  else reinterpret_cast<sockaddr_in6&>(a.storage).sin6_port = htons(port);
  return a;
}

enum class Kind { Random, Silent, HalfHello, WrongSecret };

// Connects strangers of every kind, keeping the silent ones open until it is destroyed.
class Strangers {
 public:
  explicit Strangers(std::array<unsigned char, 16> secret) : secret_(secret) {}

  // One of each kind against `where`. `hello` is a well-formed first message for that
  // port (with the right secret): the half and wrong-secret strangers start from it.
  // Returns how many connected.
  int visit(const SockAddr& where, std::vector<unsigned char> hello, std::size_t secretOffset) {
    int connected = 0;
    for (Kind k : {Kind::Random, Kind::Silent, Kind::HalfHello, Kind::WrongSecret}) {
      try {
        Socket s = Socket::connect(where, Deadline(500ms));
        ++connected;
        send(s, k, hello, secretOffset);
        if (k == Kind::Silent && silent_.size() < 64) silent_.push_back(std::move(s));
        if (k == Kind::WrongSecret && wrongSecret_.size() < 64) wrongSecret_.push_back(std::move(s));
      } catch (const Error&) {
        // The port closed between finding it and connecting: the rank moved on.
      }
    }
    return connected;
  }

  // Every wrong-secret stranger must have been hung up on by now (within `limit`).
  int hungUpOn(std::chrono::milliseconds limit) {
    int closed = 0;
    Deadline d(limit);
    for (Socket& s : wrongSecret_) {
      char c;
      try {
        s.recvAll(&c, 1, d);
      } catch (const SystemError&) {
        ++closed;  // EOF or reset: dropped
      } catch (const TimeoutError&) {
      }
    }
    return closed;
  }
  std::size_t wrongSecretCount() const { return wrongSecret_.size(); }

 private:
  void send(Socket& s, Kind k, std::vector<unsigned char> hello, std::size_t secretOffset) {
    switch (k) {
      case Kind::Random: {
        std::vector<unsigned char> junk(1 + rng_() % 4096);
        for (auto& b : junk) b = static_cast<unsigned char>(rng_());
        s.sendAll(junk.data(), junk.size(), Deadline(2s));
        break;
      }
      case Kind::Silent: break;
      case Kind::HalfHello:
        s.sendAll(hello.data(), hello.size() / 2, Deadline(2s));
        s.close();
        break;
      case Kind::WrongSecret:
        hello[secretOffset] ^= 0xff;
        s.sendAll(hello.data(), hello.size(), Deadline(2s));
        break;
    }
  }

  std::array<unsigned char, 16> secret_;
  std::mt19937 rng_{12345};
  std::vector<Socket> silent_, wrongSecret_;
};

template <class T>
std::vector<unsigned char> copyBytes(const T& v) {
  auto* p = reinterpret_cast<const unsigned char*>(&v);
  return {p, p + sizeof v};
}

std::vector<unsigned char> joinHello(const RootInfo& root) {
  wire::JoinHello h{};
  h.magic = wire::kJoinMagic;
  h.version = wire::kVersion;
  std::memcpy(h.secret, root.secret.data(), 16);
  h.rank = 0;
  h.size = kRanks;
  h.listen.length = root.address.length;
  h.listen.storage = root.address.storage;
  return copyBytes(h);
}

// A rank's listener may be its bootstrap ring's or its tcp transport's; strangers do
// not know which, so the hello they start from is a ring hello for one and a tcp hello
// for the other (both are checked the same way, and both fail on the secret).
std::vector<unsigned char> listenerHello(const RootInfo& root, bool ring) {
  if (ring) {
    wire::RingHello h{wire::kRingMagic, {}, 0, 0};
    std::memcpy(h.secret, root.secret.data(), 16);
    return copyBytes(h);
  }
  tcp::Hello h{};
  h.magic = tcp::Hello::kMagic;
  h.rank = kRanks - 1;
  h.sockets = 1;
  std::memcpy(h.secret, root.secret.data(), 16);
  return copyBytes(h);
}

class BootstrapStrangers : public BraidrunTest {
 protected:
  // Each rank records its pid and unique id, and ranks above 0 wait for $1/go when
  // `gated` (bounded: 60 s), so strangers can be let in while rank 0 is still joining.
  std::vector<std::string> job(bool gated) {
    std::string script =
        "echo $$ > \"$1/pid.tmp.$BRAID_RANK\" && mv \"$1/pid.tmp.$BRAID_RANK\" \"$1/pid.$BRAID_RANK\" && "
        "echo \"$BRAID_UNIQUE_ID\" > \"$1/uid.tmp.$BRAID_RANK\" && mv \"$1/uid.tmp.$BRAID_RANK\" \"$1/uid.$BRAID_RANK\" && ";
    if (gated)
      script += "if [ \"$BRAID_RANK\" != 0 ]; then i=0; while [ ! -e \"$1/go\" ]; do i=$((i+1)); "
                "[ $i -gt 6000 ] && exit 9; sleep 0.01; done; fi; ";
    std::string check = COLLECTIVE_CHECK_PATH;
    for (int run = 1; run < kRuns; ++run) script += check + " && ";
    script += "exec " + check;
    return shJob(kRanks, script);
  }
  const std::map<std::string, std::string> env_{{"BRAID_TRANSPORTS", "tcp"}, {"BRAID_TIMEOUT", "30s"}};

  // Waits (bounded) for the file `name` in the test directory and returns its first line.
  std::string waitForFile(const std::string& name, std::chrono::seconds limit = 30s) {
    auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      std::string text = readFile(dir_ / name);
      if (!text.empty() && text.back() == '\n') return text.substr(0, text.size() - 1);
      std::this_thread::sleep_for(5ms);  // polling a file the job writes, with a deadline
    }
    ADD_FAILURE() << "no " << name << " within " << limit.count() << " s";
    return {};
  }

  double baselineSeconds() {
    Result r = run(job(false), 300s, env_);
    expectExactAndClean(r);
    return r.seconds;
  }
};

// Attacks root and rank listeners over and over until `stop`; counts what it did.
struct Attack {
  std::atomic<bool> stop{false};
  int rootVisits = 0, listenerVisits = 0;
  std::set<int> listenersSeen;

  void loop(Strangers& strangers, const RootInfo& root, const std::vector<pid_t>& ranks) {
    while (!stop) {
      if (strangers.visit(root.address, joinHello(root), offsetof(wire::JoinHello, secret)) > 0) ++rootVisits;
      for (int port : listeningPorts(ranks)) {
        if (port == root.address.port()) continue;
        listenersSeen.insert(port);
        bool ring = listenerVisits % 2 == 0;
        if (strangers.visit(withPort(root.address, port), listenerHello(root, ring),
                            ring ? offsetof(wire::RingHello, secret) : offsetof(tcp::Hello, secret)) > 0)
          ++listenerVisits;
      }
      // Pacing, not synchronisation: a few dozen rounds a second keep every port busy
      // without the test itself starving the job of the machine's CPUs.
      std::this_thread::sleep_for(50ms);
    }
  }
};

TEST_F(BootstrapStrangers, JobRunsCollectivesExactlyWhileStrangersHitTheRootAndListeners) {
  double baseline = baselineSeconds();
  fs::remove_all(dir_);
  fs::create_directories(dir_);

  pid_t job = start(this->job(false), env_);
  RootInfo root = RootInfo::decode(UniqueId::fromString(waitForFile("uid.0")));
  std::vector<pid_t> ranks;
  for (int r = 0; r < kRanks; ++r) ranks.push_back(std::stoi(waitForFile("pid." + std::to_string(r))));
  Strangers strangers(root.secret);
  Attack attack;
  std::thread attacker([&] { attack.loop(strangers, root, ranks); });
  Result r = wait(job, 300s);
  attack.stop = true;
  attacker.join();

  expectExactAndClean(r);
  EXPECT_GT(attack.rootVisits, 0);
  // Generous: the machine is shared, and a stall per stranger would cost 5 s each.
  EXPECT_LT(r.seconds, 3 * baseline + 20) << "baseline " << baseline << " s";
  // The root logged why it dropped them, and hung up on every wrong secret.
  EXPECT_NE(r.err.find("bootstrap root: dropped connection"), std::string::npos) << r.err;
  EXPECT_EQ(strangers.hungUpOn(10s), static_cast<int>(strangers.wrongSecretCount()));
  std::printf("[ info ] baseline %.1f s, with strangers %.1f s; %d root visits, %d listener visits (%zu ports)\n",
              baseline, r.seconds, attack.rootVisits, attack.listenerVisits, attack.listenersSeen.size());
}

TEST_F(BootstrapStrangers, StrangersWhileRanksJoinDoNotStopTheJobFromForming) {
  double baseline = baselineSeconds();
  fs::remove_all(dir_);
  fs::create_directories(dir_);

  pid_t job = start(this->job(true), env_);
  RootInfo root = RootInfo::decode(UniqueId::fromString(waitForFile("uid.0")));
  pid_t rank0 = std::stoi(waitForFile("pid.0"));
  // Rank 0 listens for its ring predecessor before it joins the root, and waits there
  // for the gated ranks: find that listener (bounded), then crowd it and the root.
  std::set<int> ports;
  for (auto until = Clock::now() + 30s; Clock::now() < until; std::this_thread::sleep_for(5ms)) {
    ports = listeningPorts({rank0});
    if (!ports.empty()) break;
  }
  ASSERT_FALSE(ports.empty()) << "rank 0 never listened";
  Strangers strangers(root.secret);
  // Eight silent strangers queue ahead of rank 3 on rank 0's ring listener: a rank that
  // read hellos one connection at a time would wait out each one's deadline in turn.
  for (int i = 0; i < 8; ++i)
    for (int port : ports)
      strangers.visit(withPort(root.address, port), listenerHello(root, true), offsetof(wire::RingHello, secret));
  strangers.visit(root.address, joinHello(root), offsetof(wire::JoinHello, secret));
  std::ofstream(dir_ / "go") << "go\n";

  std::vector<pid_t> ranks{rank0};
  for (int r = 1; r < kRanks; ++r) ranks.push_back(std::stoi(waitForFile("pid." + std::to_string(r))));
  Attack attack;
  std::thread attacker([&] { attack.loop(strangers, root, ranks); });
  Result r = wait(job, 300s);
  attack.stop = true;
  attacker.join();

  expectExactAndClean(r);
  // Generous: the machine is shared, and a stall per stranger would cost 5 s each.
  EXPECT_LT(r.seconds, 3 * baseline + 20) << "baseline " << baseline << " s";
  EXPECT_NE(r.err.find("bootstrap ring: rank 0: dropped a connection"), std::string::npos) << r.err;
  EXPECT_EQ(strangers.hungUpOn(10s), static_cast<int>(strangers.wrongSecretCount()));
  std::printf("[ info ] baseline %.1f s, with strangers at init %.1f s; %d root visits, %d listener visits\n",
              baseline, r.seconds, attack.rootVisits, attack.listenerVisits);
}

// --- Regressions: parsers of bytes from other processes (found while fuzzing, fuzz/).

UniqueId idWith(std::size_t length, int family, int port) {
  RootInfo info;
  info.address.length = static_cast<socklen_t>(sizeof(sockaddr_in6));
  auto& in6 = reinterpret_cast<sockaddr_in6&>(info.address.storage);
  in6.sin6_family = static_cast<sa_family_t>(family);
  in6.sin6_port = htons(static_cast<std::uint16_t>(port));
  UniqueId id = info.encode();
  id.bytes[6] = static_cast<unsigned char>(length);
  return id;
}

TEST(BootstrapParsers, UniqueIdRefusesAddressesOfTheWrongLengthFamilyOrPort) {
  EXPECT_NO_THROW(RootInfo::decode(idWith(sizeof(sockaddr_in6), AF_INET6, 5000)));
  EXPECT_NO_THROW(RootInfo::decode(idWith(sizeof(sockaddr_in), AF_INET, 5000)));
  // Each of these used to decode, and failed later in connect() with EINVAL.
  EXPECT_THROW(RootInfo::decode(idWith(2, AF_INET, 5000)), InvalidArgument);
  EXPECT_THROW(RootInfo::decode(idWith(sizeof(sockaddr_in6), AF_INET, 5000)), InvalidArgument);
  EXPECT_THROW(RootInfo::decode(idWith(sizeof(sockaddr_in), AF_INET6, 5000)), InvalidArgument);
  EXPECT_THROW(RootInfo::decode(idWith(sizeof(sockaddr_in6), AF_INET6, 0)), InvalidArgument);
}

TEST(BootstrapParsers, SecretTextIsExactlyThirtyTwoHexDigits) {
  EXPECT_TRUE(parseSecretHex("000102030405060708090a0b0c0d0eFF"));
  // std::stoi took these (or threw std::invalid_argument, not a Braid error).
  EXPECT_FALSE(parseSecretHex("-f0102030405060708090a0b0c0d0e0f"));
  EXPECT_FALSE(parseSecretHex(" f0102030405060708090a0b0c0d0e0f"));
  EXPECT_FALSE(parseSecretHex("0x0102030405060708090a0b0c0d0e0f"));
  EXPECT_FALSE(parseSecretHex("zz0102030405060708090a0b0c0d0e0f"));
  EXPECT_FALSE(parseSecretHex("0102"));
}

TEST(BootstrapParsers, AddressTableEntriesMustBeUsableAddresses) {
  wire::Address a{};
  a.length = 1u << 30;  // used to be passed to connect() as the address length
  std::vector<unsigned char> table = copyBytes(a);
  auto parsed = wire::parseAddressTable(table, 1);
  EXPECT_FALSE(parsed);
  EXPECT_FALSE(wire::parseAddressTable(table, 2)) << "a short table";
}

TEST(BootstrapParsers, JoinReplyWithUnknownStatusOrOtherSizeIsRefused) {
  wire::JoinReply r{wire::kReplyMagic, static_cast<wire::JoinStatus>(7), 4, 0};
  EXPECT_FALSE(wire::parseJoinReply(copyBytes(r), 4));
  r.status = wire::JoinStatus::Ok;
  EXPECT_TRUE(wire::parseJoinReply(copyBytes(r), 4));
  EXPECT_FALSE(wire::parseJoinReply(copyBytes(r), 3));
}

TEST(BootstrapParsers, PeerInfoWithUnterminatedStringsOrWrongRankIsRefused) {
  PeerInfo p;
  p.rank = 1;
  std::strcpy(p.hostId, "h");
  EXPECT_TRUE(parsePeerInfo(copyBytes(p), 1));
  EXPECT_FALSE(parsePeerInfo(copyBytes(p), 0));
  std::memset(p.hostName, 'x', sizeof p.hostName);  // printed with operator+ as a C string
  EXPECT_FALSE(parsePeerInfo(copyBytes(p), 1));
  std::vector<unsigned char> two = copyBytes(p);
  EXPECT_THROW(decodePeerTable(two, 2, 0), RemoteError);
}

TEST(BootstrapParsers, TcpEndpointMustHoldAnIpAddress) {
  SockAddr a;
  a.length = 200;  // longer than the storage it claims
  unsigned char endpoint[PeerInfo::kEndpointBytes] = {};
  tcp::encodeEndpoint(a, endpoint);
  EXPECT_FALSE(tcp::parseEndpoint(endpoint));
}

}  // namespace
