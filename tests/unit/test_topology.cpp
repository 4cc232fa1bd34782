// The topology probe sees this machine, its JSON form round-trips exactly and names
// bad fields, BRAID_TOPO_FILE stands in for the probe, and the DGX file gives the cost
// model and device choices a real 8-GPU 8-NIC node would.
#include "core/host_identity.h"
#include "topology/nic_sysfs.h"
#include "topology/topology.h"
#include "scoped_env.h"

#include <braid/error.h>
#include <gtest/gtest.h>
#include <sched.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

namespace braid {
namespace {

const std::string kDgxFile =
    (std::filesystem::path(__FILE__).parent_path().parent_path() / "data/topology/dgx-2socket-8gpu-8nic.json").string();

using testing::ScopedEnv;

// The error text topologyFromJson gives for `json`, or "" when it loads.
std::string loadError(const std::string& json) {
  try {
    topologyFromJson(json);
  } catch (const InvalidArgument& e) {
    return e.what();
  }
  return "";
}

TEST(Topology, ProbeSeesThisMachine) {
  Topology t = probeTopology();
  EXPECT_GE(t.packages.size(), 1u);
  EXPECT_GE(t.numaNodes.size(), 1u);
  EXPECT_GE(t.cores, 1);
  EXPECT_GE(t.pus, t.cores);
  EXPECT_EQ(t.hostId, hostIdentity());
  EXPECT_EQ(t.hostName, hostName());
  // Every CPU this process may use belongs to some package and NUMA node of the probe.
  int cpusInNuma = 0;
  for (const NumaNode& n : t.numaNodes) cpusInNuma += static_cast<int>(parseCpuList(n.cpuset, "numa").size());
  EXPECT_EQ(cpusInNuma, t.pus);
  for (const Nic& nic : t.nics) EXPECT_FALSE(nic.pciBusId.empty()) << nic.name;
}

TEST(Topology, ProbedTopologyRoundTripsThroughJson) {
  Topology probed = probeTopology();
  EXPECT_EQ(topologyFromJson(toJson(probed)), probed);
}

TEST(Topology, DgxFileLoadsAndRoundTrips) {
  Topology dgx = loadTopologyFile(kDgxFile);
  ASSERT_EQ(dgx.packages.size(), 2u);
  ASSERT_EQ(dgx.numaNodes.size(), 2u);
  EXPECT_EQ(dgx.cores, 112);
  ASSERT_EQ(dgx.gpus.size(), 8u);
  ASSERT_EQ(dgx.nics.size(), 8u);
  EXPECT_EQ(dgx.gpus[5].model, "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(dgx.nics[7].name, "mlx5_7");
  EXPECT_EQ(dgx.nics[7].kind, NicKind::Rdma);
  EXPECT_EQ(dgx.nics[7].linkLayer, "InfiniBand");
  EXPECT_EQ(dgx.nics[7].speedGbps, 400.0);
  EXPECT_EQ(topologyFromJson(toJson(dgx)), dgx);
  // A value that is not a round number survives too.
  dgx.nics[0].speedGbps = 12.5 / 3;
  EXPECT_EQ(topologyFromJson(toJson(dgx)), dgx);
}

TEST(Topology, BadJsonNamesTheField) {
  std::string good = toJson(loadTopologyFile(kDgxFile));
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    std::size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return s.replace(at, from.size(), to);
  };
  EXPECT_EQ(loadError(good), "");
  EXPECT_NE(loadError(replaced("\"speed_gbps\": 400.0", "\"speed_gbps\": \"fast\"")).find("nics[0].speed_gbps"),
            std::string::npos);
  EXPECT_NE(loadError(replaced("\"kind\": \"rdma\"", "\"kind\": \"carrier-pigeon\"")).find("nics[0].kind"),
            std::string::npos);
  EXPECT_NE(loadError(replaced("\"cores\": 112", "\"cores\": -1.5")).find("cores"), std::string::npos);
  EXPECT_NE(loadError(replaced("\"memory_bytes\"", "\"memory_byte\"")).find("numa_nodes[0].memory_byte"),
            std::string::npos);
  EXPECT_NE(loadError(replaced("\"host_name\": \"dgx-h100-01\",", "")).find("host_name: missing"), std::string::npos);
  EXPECT_NE(loadError("{\"format\": \"braid-topology/1\", ").find("not valid JSON"), std::string::npos);
  EXPECT_NE(loadError("[]").find("top level"), std::string::npos);
}

TEST(Topology, TopoFileSettingReplacesTheProbe) {
  {
    ScopedEnv file("BRAID_TOPO_FILE", kDgxFile);
    Topology t = currentTopology();
    EXPECT_EQ(t.hostName, "dgx-h100-01");
    EXPECT_EQ(t.gpus.size(), 8u);
  }
  EXPECT_EQ(currentTopology().hostId, hostIdentity());
  ScopedEnv missing("BRAID_TOPO_FILE", kDgxFile + ".absent");
  EXPECT_THROW(currentTopology(), InvalidArgument);
}

TEST(Topology, CpuListsParseAndRejectTypos) {
  EXPECT_EQ(parseCpuList("0-3,8,10-11", "x"), (std::vector<int>{0, 1, 2, 3, 8, 10, 11}));
  EXPECT_EQ(parseCpuList("", "x"), std::vector<int>{});
  for (const char* bad : {"0-", "3-1", "1,,2", "1,", "a", "0 - 3"}) EXPECT_THROW(parseCpuList(bad, "x"), InvalidArgument) << bad;
}

TEST(Topology, PlacementIsThePackageAndNumaNodeOfAllCpus) {
  Topology dgx = loadTopologyFile(kDgxFile);
  EXPECT_EQ(placementOfCpus(dgx, {0, 1, 113}), (RankPlacement{0, 0, 0}));
  EXPECT_EQ(placementOfCpus(dgx, {60, 200}), (RankPlacement{0, 1, 1}));
  EXPECT_EQ(placementOfCpus(dgx, {0, 60}), (RankPlacement{0, -1, -1}));
  EXPECT_EQ(placementOfCpus(dgx, {500}), (RankPlacement{0, -1, -1}));
  {
    ScopedEnv file("BRAID_TOPO_FILE", kDgxFile);
    EXPECT_EQ(placementOfThisProcess(), placementOfCpus(dgx, [] {
      std::vector<int> cpus;
      cpu_set_t set;
      sched_getaffinity(0, sizeof set, &set);
      for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
        if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
      return cpus;
    }()));
  }
  RankPlacement here = placementOfThisProcess();
  EXPECT_GE(here.package, -1);
  EXPECT_GE(here.numa, -1);
}

TEST(Topology, DgxCostModelHasTheNicsBandwidth) {
  CostModel dgx = costModelFor(linkSpeedsOf(loadTopologyFile(kDgxFile)));
  CostModel defaults = CostModel::defaults();
  EXPECT_GT(dgx.link(LinkClass::Network).gbPerSec, defaults.link(LinkClass::Network).gbPerSec);
  EXPECT_DOUBLE_EQ(dgx.link(LinkClass::Network).gbPerSec, 50.0);  // 400 Gb/s
  EXPECT_EQ(dgx.link(LinkClass::SameNuma).gbPerSec, defaults.link(LinkClass::SameNuma).gbPerSec);
  // No NIC speed known: the defaults stand.
  Topology unknown;
  unknown.nics.push_back(Nic{"eth0", NicKind::Netdev, "eth0", "0000:00:03.0", 0, 0.0, ""});
  EXPECT_EQ(costModelFor(linkSpeedsOf(unknown)).link(LinkClass::Network).gbPerSec, defaults.link(LinkClass::Network).gbPerSec);
}

TEST(Topology, NearestDevicesAreOnTheNumaNode) {
  Topology dgx = loadTopologyFile(kDgxFile);
  for (int numa : {0, 1}) {
    int nic = nearestNic(dgx, numa), gpu = nearestGpu(dgx, numa);
    ASSERT_GE(nic, 0);
    ASSERT_GE(gpu, 0);
    EXPECT_EQ(dgx.nics[nic].numa, numa);
    EXPECT_EQ(dgx.gpus[gpu].numa, numa);
  }
  // With node 1's NICs gone, node 1 falls back to node 0's; with none, -1.
  dgx.nics.resize(4);
  EXPECT_EQ(dgx.nics[nearestNic(dgx, 1)].numa, 0);
  dgx.nics.clear();
  EXPECT_EQ(nearestNic(dgx, 0), -1);
}

TEST(Topology, NearestNicPrefersRdmaThenSpeedOnTheSameNode) {
  Topology t;
  t.numaNodes = {{0, 0, "0-3", 0}, {1, 0, "4-7", 0}, {2, 1, "8-11", 0}};
  t.nics = {{"eth0", NicKind::Netdev, "eth0", "a", 0, 100, ""},
            {"mlx5_0", NicKind::Rdma, "ib0", "b", 0, 25, "InfiniBand"},
            {"mlx5_1", NicKind::Rdma, "ib1", "c", 0, 200, "InfiniBand"},
            {"mlx5_2", NicKind::Rdma, "ib2", "d", 2, 400, "InfiniBand"}};
  EXPECT_EQ(nearestNic(t, 0), 2);
  EXPECT_EQ(nearestNic(t, 1), 2);  // same package as node 0 beats a faster NIC on package 1
  EXPECT_EQ(nearestNic(t, 2), 3);
}

TEST(Topology, RdmaRateTextParses) {
  EXPECT_EQ(parseRdmaRateGbps("400 Gb/sec (4X NDR)"), 400.0);
  EXPECT_EQ(parseRdmaRateGbps("12.5 Gb/sec (1X FDR)"), 12.5);
  EXPECT_EQ(parseRdmaRateGbps(""), 0.0);
  EXPECT_EQ(parseRdmaRateGbps("unknown"), 0.0);
}

}  // namespace
}  // namespace braid
