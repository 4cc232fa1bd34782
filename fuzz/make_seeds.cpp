// Writes one seed corpus per fuzz target under DIR/<target>/: well-formed messages, built
// with the structs and encoders the library itself uses, so that the fuzzers start from
// inputs that reach past every check and mutate from there.
#include "bootstrap/bootstrap.h"
#include "bootstrap/wire.h"
#include "targets/fuzz_common.h"
#include "transport/tcp/tcp_transport.h"
#include "transport/transport.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace braid;
namespace fs = std::filesystem;

namespace {

using Blob = std::vector<unsigned char>;

template <class T>
void append(Blob& out, const T& value) {
  auto* p = reinterpret_cast<const unsigned char*>(&value);
  out.insert(out.end(), p, p + sizeof value);
}

void write(const fs::path& dir, const std::string& target, const std::string& name, const Blob& bytes) {
  fs::create_directories(dir / target);
  std::ofstream(dir / target / name, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                                             static_cast<std::streamsize>(bytes.size()));
}

SockAddr v4(int port) {
  SockAddr a;
  auto& in = reinterpret_cast<sockaddr_in&>(a.storage);
  in.sin_family = AF_INET;
  in.sin_port = htons(static_cast<std::uint16_t>(port));
  in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.length = sizeof in;
  return a;
}

SockAddr v6(int port) {
  SockAddr a;
  auto& in = reinterpret_cast<sockaddr_in6&>(a.storage);
  in.sin6_family = AF_INET6;
  in.sin6_port = htons(static_cast<std::uint16_t>(port));
  in.sin6_addr = in6addr_loopback;
  a.length = sizeof in;
  return a;
}

wire::Address wireAddress(const SockAddr& a) {
  wire::Address w{};
  w.length = a.length;
  w.storage = a.storage;
  return w;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds DIR\n");
    return 2;
  }
  fs::path dir = argv[1];
  const auto& secret = fuzz::kSecret;

  for (const SockAddr& a : {v4(29500), v6(29501)}) {
    RootInfo info;
    info.address = a;
    info.secret = secret;
    UniqueId id = info.encode();
    std::string family = a.storage.ss_family == AF_INET ? "v4" : "v6";
    write(dir, "unique_id", "bytes_" + family, Blob(id.bytes.begin(), id.bytes.end()));
    std::string text = id.toString();
    write(dir, "unique_id", "text_" + family, Blob(text.begin(), text.end()));
  }
  std::string secretText = "000102030405060708090a0b0c0d0e0F";
  write(dir, "unique_id", "secret_text", Blob(secretText.begin(), secretText.end()));

  wire::JoinHello join{};
  join.magic = wire::kJoinMagic;
  join.version = wire::kVersion;
  std::memcpy(join.secret, secret.data(), 16);
  join.rank = 1;
  join.size = 2;
  join.listen = wireAddress(v4(40001));
  Blob b;
  append(b, join);
  write(dir, "join_hello", "valid", b);

  for (int ranks : {1, 3}) {
    Blob r{static_cast<unsigned char>(ranks - 1)};
    append(r, wire::JoinReply{wire::kReplyMagic, wire::JoinStatus::Ok, ranks, 7});
    for (int i = 0; i < ranks; ++i) append(r, wireAddress(i % 2 ? v6(41000 + i) : v4(41000 + i)));
    write(dir, "join_reply", "ok_" + std::to_string(ranks), r);
  }
  Blob mismatch{1};
  append(mismatch, wire::JoinReply{wire::kReplyMagic, wire::JoinStatus::SizeMismatch, 4, 0});
  write(dir, "join_reply", "size_mismatch", mismatch);

  wire::RingHello ring{wire::kRingMagic, {}, 2, 1};
  std::memcpy(ring.secret, secret.data(), 16);
  Blob rb{static_cast<unsigned char>(2 + 4 * 1)};  // prev 2, round 1
  append(rb, ring);
  write(dir, "ring_hello", "valid", rb);

  Blob frame;
  append(frame, std::uint64_t{sizeof(PeerInfo)});
  append(frame, std::uint64_t{sizeof(PeerInfo)});
  write(dir, "frame_length", "match", frame);

  Blob table;
  for (int r = 0; r < 2; ++r) {
    PeerInfo p;
    p.rank = r;
    p.pid = 1000 + r;
    std::strcpy(p.hostId, "host-a:boot-1234");
    std::strcpy(p.hostName, "host-a");
    p.package = 0;
    p.numa = r;
    tcp::encodeEndpoint(v4(42000 + r), p.endpoint[1].data());
    append(table, p);
  }
  write(dir, "peer_info", "two_ranks", table);
  write(dir, "peer_info", "one_rank", Blob(table.begin(), table.begin() + sizeof(PeerInfo)));

  for (const SockAddr& a : {v4(43000), v6(43001)}) {
    Blob e(PeerInfo::kEndpointBytes);
    tcp::encodeEndpoint(a, e.data());
    write(dir, "tcp_endpoint", a.storage.ss_family == AF_INET ? "v4" : "v6", e);
  }

  tcp::Hello hello{};
  hello.magic = tcp::Hello::kMagic;
  hello.rank = 1;
  hello.index = 0;
  hello.sockets = 2;
  hello.tagHash = 0x0123456789abcdefull;
  std::memcpy(hello.secret, secret.data(), 16);
  // Selector: size 2 (0 % 4 -> 2), self 0, K 2 (16 / 16 % 4 + 1).
  Blob hb{16};
  append(hb, hello);
  write(dir, "tcp_hello", "valid", hb);
  return 0;
}
