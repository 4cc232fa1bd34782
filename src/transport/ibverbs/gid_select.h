#pragma once
// Which GID a RoCE port sends from. A RoCE port has a GID table with one entry per
// (address, RoCE version): a RoCE v2 entry whose address is IPv4-mapped routes over IP
// like any UDP packet, which is what fabrics (and Soft-RoCE) expect, so the automatic
// choice prefers it. BRAID_IB_GID_INDEX (alias NCCL_IB_GID_INDEX) forces an index.
//
// The table is read from sysfs (/sys/class/infiniband/<dev>/ports/<port>/gids/<i>,
// gid_attrs/types/<i>, gid_attrs/ndevs/<i>), so tests feed it fake trees.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace braid::verbs {

struct GidEntry {
  int index = -1;
  std::array<std::uint8_t, 16> gid{};
  std::string type;    // "RoCE v2", "IB/RoCE v1", or "" when unknown
  std::string netdev;  // the interface it belongs to, or ""
  bool isRoceV2() const { return type == "RoCE v2"; }
  bool isIpv4Mapped() const;  // ::ffff:a.b.c.d
  bool isZero() const;
  bool isLinkLocal() const;  // fe80::/10
};

// Parses "fe80:0000:...:0001" (8 groups of 4 hex digits); false if malformed.
bool parseGidText(const std::string& text, std::array<std::uint8_t, 16>& out);
std::string gidText(const std::array<std::uint8_t, 16>& gid);

// The usable (non-zero) entries of a port's table, in index order. `portDir` is
// .../ports/<port>; `tableLen` is how many indices to look at.
std::vector<GidEntry> readGidTable(const std::string& portDir, int tableLen);

struct GidChoice {
  int index = -1;
  std::string why;  // for the log, or for the error when index < 0
};

// The automatic choice: RoCE v2 with an IPv4-mapped address, then RoCE v2 with a
// global IPv6 address, then any RoCE v2, then any non-zero entry; lowest index first
// within a class. Entries whose interface starts with `preferredNetdev` (when set: the
// interface BRAID_SOCKET_IFNAME names) win within their class.
GidChoice chooseGid(const std::vector<GidEntry>& table, const std::string& preferredNetdev = "");

// BRAID_IB_GID_INDEX: -1 (empty or "auto") for the automatic choice; throws
// InvalidArgument for anything that is not a small non-negative number.
int parseGidIndexSetting(const std::string& text);

// A forced index must name a non-zero entry of the table; the error lists the table.
GidChoice checkForcedGid(const std::vector<GidEntry>& table, int index, const std::string& where);

}  // namespace braid::verbs
