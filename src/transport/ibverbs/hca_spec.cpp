#include "transport/ibverbs/hca_spec.h"

#include <braid/error.h>

#include <cctype>

namespace braid::verbs {
namespace {

std::string trimmed(const std::string& s) {
  std::size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

[[noreturn]] void malformed(const std::string& text, const std::string& why) {
  throw InvalidArgument("BRAID_IB_HCA='" + text + "': " + why +
                        " (expected e.g. mlx5_0:1,mlx5_1 or ^mlx5_2 or =mlx5_0)");
}

}  // namespace

bool HcaSpec::accepts(const std::string& device, int port) const {
  if (entries.empty()) return true;
  bool named = false;
  for (const Entry& e : entries) {
    bool nameMatches = exact ? device == e.device : device.compare(0, e.device.size(), e.device) == 0;
    if (nameMatches && (e.port < 0 || e.port == port)) {
      named = true;
      break;
    }
  }
  return exclude ? !named : named;
}

bool HcaSpec::mayUseDevice(const std::string& device) const {
  if (entries.empty()) return true;
  if (!exclude) {
    for (const Entry& e : entries)
      if (exact ? device == e.device : device.compare(0, e.device.size(), e.device) == 0) return true;
    return false;
  }
  // An exclusion of one port leaves the device's other ports usable.
  for (const Entry& e : entries)
    if (e.port < 0 && (exact ? device == e.device : device.compare(0, e.device.size(), e.device) == 0)) return false;
  return true;
}

HcaSpec parseHcaSpec(const std::string& text) {
  HcaSpec spec;
  std::string rest = trimmed(text);
  if (rest.empty()) return spec;
  if (rest[0] == '^') spec.exclude = true, rest.erase(0, 1);
  if (!rest.empty() && rest[0] == '=') spec.exact = true, rest.erase(0, 1);
  std::size_t start = 0;
  while (start <= rest.size()) {
    std::size_t comma = rest.find(',', start);
    std::string item = trimmed(rest.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    start = comma == std::string::npos ? rest.size() + 1 : comma + 1;
    if (item.empty()) malformed(text, "an empty device name");
    HcaSpec::Entry e;
    std::size_t colon = item.find(':');
    e.device = trimmed(item.substr(0, colon));
    if (e.device.empty()) malformed(text, "an entry without a device name");
    if (colon != std::string::npos) {
      std::string port = trimmed(item.substr(colon + 1));
      if (port.empty() || port.size() > 4 || port.find_first_not_of("0123456789") != std::string::npos ||
          std::stoi(port) < 1)
        malformed(text, "port '" + port + "' of " + e.device + " is not a port number (1, 2, ...)");
      e.port = std::stoi(port);
    }
    spec.entries.push_back(e);
  }
  return spec;
}

}  // namespace braid::verbs
