// The ibverbs transport's settings logic, without a device: BRAID_IB_HCA's NCCL syntax,
// the RoCE GID choice over fake sysfs trees, and range checks of the numeric settings.
#include "core/env.h"
#include "transport/ibverbs/gid_select.h"
#include "transport/ibverbs/hca_spec.h"
#include "transport/ibverbs/verbs_endpoint.h"
#include "transport/ibverbs/verbs_settings.h"
#include "scoped_env.h"

#include <braid/error.h>

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>

namespace braid::verbs {
namespace {

namespace fs = std::filesystem;

TEST(IbHcaSpec, EmptyAcceptsEverything) {
  HcaSpec s = parseHcaSpec("");
  EXPECT_TRUE(s.empty());
  EXPECT_TRUE(s.accepts("mlx5_0", 1));
  EXPECT_TRUE(s.mayUseDevice("rxe0"));
}

TEST(IbHcaSpec, PrefixesWithAndWithoutPorts) {
  HcaSpec s = parseHcaSpec("mlx5_0:1,mlx5_1");
  ASSERT_EQ(s.entries.size(), 2u);
  EXPECT_TRUE(s.accepts("mlx5_0", 1));
  EXPECT_FALSE(s.accepts("mlx5_0", 2));
  EXPECT_TRUE(s.accepts("mlx5_1", 2));
  EXPECT_TRUE(s.accepts("mlx5_10", 1)) << "names are prefixes unless '=' is given";
  EXPECT_FALSE(s.accepts("mlx5_2", 1));
  EXPECT_FALSE(s.mayUseDevice("rxe0"));
}

TEST(IbHcaSpec, ExactMatchWithEquals) {
  HcaSpec s = parseHcaSpec("=mlx5_1");
  EXPECT_TRUE(s.exact);
  EXPECT_TRUE(s.accepts("mlx5_1", 1));
  EXPECT_FALSE(s.accepts("mlx5_10", 1));
}

TEST(IbHcaSpec, ExclusionKeepsTheRest) {
  HcaSpec s = parseHcaSpec("^mlx5_2");
  EXPECT_TRUE(s.exclude);
  EXPECT_FALSE(s.accepts("mlx5_2", 1));
  EXPECT_FALSE(s.mayUseDevice("mlx5_2"));
  EXPECT_TRUE(s.accepts("mlx5_0", 1));
  HcaSpec port = parseHcaSpec("^=rxe0:2");
  EXPECT_TRUE(port.exact);
  EXPECT_TRUE(port.accepts("rxe0", 1));
  EXPECT_FALSE(port.accepts("rxe0", 2));
  EXPECT_TRUE(port.mayUseDevice("rxe0")) << "excluding one port leaves the device's others";
}

TEST(IbHcaSpec, MalformedSpecsNameTheVariable) {
  for (const char* bad : {"mlx5_0:", "mlx5_0:x", ":1", "mlx5_0,,mlx5_1", "mlx5_0:0", "^"}) {
    try {
      parseHcaSpec(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find("BRAID_IB_HCA"), std::string::npos) << e.what();
    }
  }
}

// A fake /sys/class/infiniband/<dev>/ports/<p> with the entries given.
class FakePort {
 public:
  FakePort() {
    dir_ = fs::temp_directory_path() / ("braid-gid-" + std::to_string(getpid()) + "-" + std::to_string(counter_++));
    fs::create_directories(dir_ / "gids");
    fs::create_directories(dir_ / "gid_attrs/types");
    fs::create_directories(dir_ / "gid_attrs/ndevs");
  }
  ~FakePort() { fs::remove_all(dir_); }
  void add(int index, const std::string& gid, const std::string& type, const std::string& netdev) {
    write("gids/" + std::to_string(index), gid);
    if (!type.empty()) write("gid_attrs/types/" + std::to_string(index), type);
    if (!netdev.empty()) write("gid_attrs/ndevs/" + std::to_string(index), netdev);
  }
  std::string path() const { return dir_.string(); }

 private:
  void write(const std::string& rel, const std::string& text) { std::ofstream(dir_ / rel) << text << "\n"; }
  fs::path dir_;
  static inline int counter_ = 0;
};

const std::string kZero = "0000:0000:0000:0000:0000:0000:0000:0000";
const std::string kLinkLocal = "fe80:0000:0000:0000:5054:00ff:fe12:3456";
const std::string kV4Mapped = "0000:0000:0000:0000:0000:ffff:0a00:020f";  // ::ffff:10.0.2.15
const std::string kGlobal6 = "2001:0db8:0000:0000:0000:0000:0000:0001";

TEST(IbGid, ParsesKernelText) {
  std::array<std::uint8_t, 16> g{};
  ASSERT_TRUE(parseGidText(kV4Mapped, g));
  EXPECT_EQ(g[10], 0xff);
  EXPECT_EQ(g[15], 0x0f);
  EXPECT_EQ(gidText(g), kV4Mapped);
  EXPECT_FALSE(parseGidText("0000:0000", g));
  EXPECT_FALSE(parseGidText("zzzz:0000:0000:0000:0000:ffff:0a00:020f", g));
}

TEST(IbGid, SoftRoceTablePicksTheIpv4MappedRoceV2Entry) {
  // What rxe shows on a guest with 10.0.2.15: v1 and v2 link-local, v1 and v2 IPv4.
  FakePort port;
  port.add(0, kLinkLocal, "IB/RoCE v1", "eth0");
  port.add(1, kLinkLocal, "RoCE v2", "eth0");
  port.add(2, kV4Mapped, "IB/RoCE v1", "eth0");
  port.add(3, kV4Mapped, "RoCE v2", "eth0");
  port.add(4, kZero, "", "");
  auto table = readGidTable(port.path(), 8);
  ASSERT_EQ(table.size(), 4u) << "zero and missing entries are skipped";
  GidChoice c = chooseGid(table);
  EXPECT_EQ(c.index, 3) << c.why;
  EXPECT_NE(c.why.find("RoCE v2"), std::string::npos);
}

TEST(IbGid, FallsBackToGlobalIpv6ThenAnyRoceV2) {
  FakePort port;
  port.add(0, kLinkLocal, "RoCE v2", "eth0");
  port.add(1, kGlobal6, "RoCE v2", "eth0");
  EXPECT_EQ(chooseGid(readGidTable(port.path(), 4)).index, 1);
  FakePort onlyLinkLocal;
  onlyLinkLocal.add(0, kLinkLocal, "IB/RoCE v1", "eth0");
  onlyLinkLocal.add(1, kLinkLocal, "RoCE v2", "eth0");
  EXPECT_EQ(chooseGid(readGidTable(onlyLinkLocal.path(), 4)).index, 1);
}

TEST(IbGid, PreferredInterfaceWinsWithinItsClass) {
  FakePort port;
  port.add(0, kV4Mapped, "RoCE v2", "eth0");
  port.add(1, "0000:0000:0000:0000:0000:ffff:c0a8:0101", "RoCE v2", "eth1");
  EXPECT_EQ(chooseGid(readGidTable(port.path(), 4)).index, 0);
  EXPECT_EQ(chooseGid(readGidTable(port.path(), 4), "eth1").index, 1);
  EXPECT_EQ(chooseGid(readGidTable(port.path(), 4), "eth").index, 0) << "a prefix, lowest index among matches";
  FakePort classFirst;
  classFirst.add(0, kV4Mapped, "RoCE v2", "eth0");
  classFirst.add(1, kLinkLocal, "RoCE v2", "eth1");
  EXPECT_EQ(chooseGid(readGidTable(classFirst.path(), 4), "eth1").index, 0)
      << "the interface only breaks ties within a class: IPv4-mapped RoCE v2 still comes first";
}

TEST(IbGid, EmptyTableIsNoChoiceWithAReason) {
  FakePort port;
  port.add(0, kZero, "", "");
  GidChoice c = chooseGid(readGidTable(port.path(), 4));
  EXPECT_EQ(c.index, -1);
  EXPECT_FALSE(c.why.empty());
}

TEST(IbGid, ForcedIndexMustNameAUsableEntry) {
  FakePort port;
  port.add(0, kLinkLocal, "IB/RoCE v1", "eth0");
  port.add(1, kV4Mapped, "RoCE v2", "eth0");
  auto table = readGidTable(port.path(), 4);
  EXPECT_EQ(checkForcedGid(table, 0, "rxe0 port 1").index, 0) << "a forced index is taken as it is";
  try {
    checkForcedGid(table, 5, "rxe0 port 1");
    ADD_FAILURE() << "index 5 accepted";
  } catch (const InvalidArgument& e) {
    std::string w = e.what();
    EXPECT_NE(w.find("BRAID_IB_GID_INDEX=5"), std::string::npos) << w;
    EXPECT_NE(w.find("rxe0 port 1"), std::string::npos) << w;
    EXPECT_NE(w.find(kV4Mapped), std::string::npos) << "the error lists the usable entries: " << w;
  }
}

TEST(IbGid, SettingTextIsANumberOrAuto) {
  EXPECT_EQ(parseGidIndexSetting(""), -1);
  EXPECT_EQ(parseGidIndexSetting("auto"), -1);
  EXPECT_EQ(parseGidIndexSetting("3"), 3);
  EXPECT_THROW(parseGidIndexSetting("three"), InvalidArgument);
  EXPECT_THROW(parseGidIndexSetting("-2"), InvalidArgument);
}

using testing::ScopedEnv;

TEST(IbSettings, DefaultsAndNcclAliases) {
  IbSettings d = readIbSettings();
  EXPECT_EQ(d.timeout, 14);
  EXPECT_EQ(d.retryCount, 7);
  EXPECT_EQ(d.qpsPerPeer, 1);
  EXPECT_EQ(d.gidIndex, -1);
  ScopedEnv hca("NCCL_IB_HCA", "=rxe0:1");
  ScopedEnv gid("NCCL_IB_GID_INDEX", "1");
  ScopedEnv qps("NCCL_IB_QPS_PER_CONNECTION", "2");
  ScopedEnv tc("NCCL_IB_TC", "106");
  IbSettings s = readIbSettings();
  EXPECT_TRUE(s.hca.exact);
  EXPECT_TRUE(s.hca.accepts("rxe0", 1));
  EXPECT_EQ(s.gidIndex, 1);
  EXPECT_EQ(s.qpsPerPeer, 2);
  EXPECT_EQ(s.trafficClass, 106);
}

TEST(IbSettings, OutOfRangeValuesNameTheVariable) {
  for (auto [name, value] : {std::pair{"BRAID_IB_TIMEOUT", "0"}, {"BRAID_IB_TIMEOUT", "32"},
                             {"BRAID_IB_RETRY_CNT", "8"}, {"BRAID_IB_SL", "16"}, {"BRAID_IB_TC", "x"},
                             {"BRAID_IB_QPS_PER_PEER", "0"}}) {
    ScopedEnv v(name, value);
    try {
      readIbSettings();
      ADD_FAILURE() << name << "=" << value << " accepted";
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  }
}

// Endpoints come from other processes: only a well-formed "usable" one is believed.
TEST(IbEndpoint, OnlyWellFormedUsableEndpointsParse) {
  PortEndpoint good;
  good.usable = 1;
  good.linkLayer = LinkLayer::Ethernet;
  good.port = 1;
  good.activeMtu = 3;  // IBV_MTU_1024
  good.qps = 2;
  std::memset(good.device, 'x', sizeof good.device);  // no terminator
  unsigned char bytes[256] = {};
  encodeEndpoint(good, bytes);
  auto parsed = parseEndpoint(bytes);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->qps, 2);
  EXPECT_EQ(std::string(parsed->device).size(), sizeof good.device - 1) << "terminated by the parser";

  auto broken = [&](auto change) {
    PortEndpoint e = good;
    change(e);
    unsigned char b[256] = {};
    encodeEndpoint(e, b);
    return !parseEndpoint(b).has_value();
  };
  EXPECT_TRUE(broken([](PortEndpoint& e) { e.magic = 0; }));
  EXPECT_TRUE(broken([](PortEndpoint& e) { e.usable = 0; })) << "a rank without a device";
  EXPECT_TRUE(broken([](PortEndpoint& e) { e.linkLayer = LinkLayer::None; }));
  EXPECT_TRUE(broken([](PortEndpoint& e) { e.qps = 0; }));
  EXPECT_TRUE(broken([](PortEndpoint& e) { e.qps = 17; }));
  EXPECT_TRUE(broken([](PortEndpoint& e) { e.activeMtu = 6; }));
  EXPECT_TRUE(broken([](PortEndpoint& e) { e.port = 0; }));
  unsigned char zeros[256] = {};
  EXPECT_FALSE(parseEndpoint(zeros).has_value()) << "what a transport that publishes nothing leaves";
}

}  // namespace
}  // namespace braid::verbs
