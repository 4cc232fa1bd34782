// Creating a unique id starts its root; the id's bytes and text are root_info.cpp's.
#include <braid/error.h>
#include <braid/unique_id.h>

#include "bootstrap/bootstrap.h"
#include "core/env.h"

#include <sys/random.h>

#include <cstring>

namespace braid {
namespace {

std::array<unsigned char, 16> randomSecret() {
  std::array<unsigned char, 16> s{};
  std::size_t got = 0;
  while (got < s.size()) {
    ssize_t n = getrandom(s.data() + got, s.size() - got, 0);
    if (n < 0) throw SystemError("getrandom failed");
    got += static_cast<std::size_t>(n);
  }
  return s;
}

}  // namespace

UniqueId UniqueId::create() { return createAt(""); }

UniqueId UniqueId::createAt(const std::string& hostPort) {
  SockAddr where = hostPort.empty() ? chooseInterfaceAddress(Env::get().socketIfname()) : SockAddr::parse(hostPort);
  // The root serves this one init, then its thread ends by itself.
  BootstrapRoot root(where, randomSecret(), 1);
  UniqueId id = root.info().encode();
  root.detach();
  return id;
}

}  // namespace braid
