#include "transport/ibverbs/gid_select.h"

#include <braid/error.h>

#include <cstdio>
#include <fstream>

namespace braid::verbs {
namespace {

std::string firstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return "";
  while (!line.empty() && (line.back() == '\n' || line.back() == ' ' || line.back() == '\r')) line.pop_back();
  return line;
}

int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Lower is better.
int gidClass(const GidEntry& e) {
  if (e.isRoceV2() && e.isIpv4Mapped()) return 0;
  if (e.isRoceV2() && !e.isLinkLocal()) return 1;
  if (e.isRoceV2()) return 2;
  return 3;
}

std::string describe(const GidEntry& e) {
  return std::to_string(e.index) + " " + gidText(e.gid) + " (" + (e.type.empty() ? "type unknown" : e.type) +
         (e.netdev.empty() ? "" : ", " + e.netdev) + ")";
}

}  // namespace

bool GidEntry::isIpv4Mapped() const {
  for (int i = 0; i < 10; ++i)
    if (gid[i] != 0) return false;
  return gid[10] == 0xff && gid[11] == 0xff;
}

bool GidEntry::isZero() const {
  for (auto b : gid)
    if (b) return false;
  return true;
}

bool GidEntry::isLinkLocal() const { return gid[0] == 0xfe && (gid[1] & 0xc0) == 0x80; }

bool parseGidText(const std::string& text, std::array<std::uint8_t, 16>& out) {
  // Exactly 8 groups of 4 hex digits, as the kernel prints them.
  if (text.size() != 39) return false;
  for (int g = 0; g < 8; ++g) {
    if (g > 0 && text[g * 5 - 1] != ':') return false;
    int v = 0;
    for (int k = 0; k < 4; ++k) {
      int d = hexDigit(text[g * 5 + k]);
      if (d < 0) return false;
      v = v * 16 + d;
    }
    out[2 * g] = static_cast<std::uint8_t>(v >> 8);
    out[2 * g + 1] = static_cast<std::uint8_t>(v);
  }
  return true;
}

std::string gidText(const std::array<std::uint8_t, 16>& gid) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x", gid[0],
                gid[1], gid[2], gid[3], gid[4], gid[5], gid[6], gid[7], gid[8], gid[9], gid[10], gid[11], gid[12],
                gid[13], gid[14], gid[15]);
  return buf;
}

std::vector<GidEntry> readGidTable(const std::string& portDir, int tableLen) {
  std::vector<GidEntry> out;
  for (int i = 0; i < tableLen; ++i) {
    GidEntry e;
    e.index = i;
    if (!parseGidText(firstLine(portDir + "/gids/" + std::to_string(i)), e.gid) || e.isZero()) continue;
    // Reading the type of an unused entry fails (EINVAL); a used one has it.
    e.type = firstLine(portDir + "/gid_attrs/types/" + std::to_string(i));
    e.netdev = firstLine(portDir + "/gid_attrs/ndevs/" + std::to_string(i));
    out.push_back(e);
  }
  return out;
}

GidChoice chooseGid(const std::vector<GidEntry>& table, const std::string& preferredNetdev) {
  const GidEntry* best = nullptr;
  auto rank = [&](const GidEntry& e) {
    // A prefix, as BRAID_SOCKET_IFNAME is ("eth" prefers eth0).
    int netdevPenalty = !preferredNetdev.empty() && e.netdev.compare(0, preferredNetdev.size(), preferredNetdev) != 0;
    return gidClass(e) * 2 + netdevPenalty;
  };
  for (const GidEntry& e : table) {
    if (e.isZero()) continue;
    if (!best || rank(e) < rank(*best)) best = &e;
  }
  GidChoice c;
  if (!best) {
    c.why = "the port's GID table has no usable entry (is the interface up with an address?)";
    return c;
  }
  c.index = best->index;
  c.why = "GID " + describe(*best);
  return c;
}

int parseGidIndexSetting(const std::string& text) {
  if (text.empty() || text == "auto" || text == "-1") return -1;
  if (text.size() > 4 || text.find_first_not_of("0123456789") != std::string::npos)
    throw InvalidArgument("BRAID_IB_GID_INDEX='" + text + "' is not a GID table index (0, 1, 3, ... or auto)");
  return std::stoi(text);
}

GidChoice checkForcedGid(const std::vector<GidEntry>& table, int index, const std::string& where) {
  for (const GidEntry& e : table)
    if (e.index == index) return GidChoice{index, "GID " + describe(e) + " (BRAID_IB_GID_INDEX)"};
  std::string have;
  for (const GidEntry& e : table) have += (have.empty() ? "" : "; ") + describe(e);
  throw InvalidArgument("BRAID_IB_GID_INDEX=" + std::to_string(index) + " names no usable GID on " + where +
                        (have.empty() ? ": its GID table is empty" : "; usable entries: " + have));
}

}  // namespace braid::verbs
