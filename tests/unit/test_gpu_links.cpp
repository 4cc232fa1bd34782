// What the tuner knows of the links between GPUs: NVML's NVLink lanes become each GPU's
// NVLink peers and bandwidth, peers form domains, two ranks' GPUs give the class of the
// link between their buffers (same GPU, NVLink, PCIe), and the GPU tuner prices calls
// on those classes, with ranks on one GPU sharing its memory.
#include "topology/nvlink_probe.h"
#include "topology/topology.h"
#include "topology/tuner.h"

#include <braid/error.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace braid {
namespace {

constexpr std::size_t M = 1024 * 1024;

Gpu gpuAt(const std::string& bus) { return Gpu{"cuda", bus, 0, "", {}, 0}; }

std::vector<Gpu> fourGpus() {
  return {gpuAt("0000:18:00.0"), gpuAt("0000:2a:00.0"), gpuAt("0000:3a:00.0"), gpuAt("0000:5d:00.0")};
}

TEST(NvlinkProbe, LaneBandwidthFollowsTheVersionInEitherNumbering) {
  constexpr int kUnknown = -1, kAmpere = 8, kHopper = 9, kBlackwell = 10;
  EXPECT_EQ(nvlinkLaneGBps(0, kHopper), 0);
  EXPECT_EQ(nvlinkLaneGBps(1, kUnknown), 20);
  EXPECT_EQ(nvlinkLaneGBps(4, kHopper), 25);  // NVLink 4 as a major version, 3.0 as NVML's enum
  EXPECT_EQ(nvlinkLaneGBps(6, kHopper), 25);  // NVML_NVLINK_VERSION_4_0
  EXPECT_EQ(nvlinkLaneGBps(7, kUnknown), 50);  // NVML_NVLINK_VERSION_5_0
  // 5: NVML_NVLINK_VERSION_3_1 on an Ampere GPU, NVLink 5 as a major version on Blackwell.
  EXPECT_EQ(nvlinkLaneGBps(5, kAmpere), 25);
  EXPECT_EQ(nvlinkLaneGBps(5, kUnknown), 25);
  EXPECT_EQ(nvlinkLaneGBps(5, kBlackwell), 50);
}

TEST(NvlinkProbe, GpusOnNvSwitchesReachEachOtherAndOnlyThem) {
  std::vector<Gpu> gpus = fourGpus();
  // NVML writes 8-digit domains and capitals; hwloc 4 digits and lower case.
  std::vector<GpuNvlinks> reports;
  for (const char* bus : {"00000000:18:00.0", "00000000:2A:00.0", "00000000:3A:00.0"})
    reports.push_back({bus, std::vector<NvlinkLane>(18, NvlinkLane{"00000000:C0:00.0", true, 25})});
  reports.push_back({"00000000:5D:00.0", {}});  // no active lane
  applyNvlinks(gpus, reports);
  EXPECT_EQ(gpus[0].nvlinkPeers, (std::vector<std::string>{"0000:2a:00.0", "0000:3a:00.0"}));
  EXPECT_EQ(gpus[2].nvlinkPeers, (std::vector<std::string>{"0000:18:00.0", "0000:2a:00.0"}));
  EXPECT_EQ(gpus[0].nvlinkGBps, 18 * 25);
  EXPECT_TRUE(gpus[3].nvlinkPeers.empty());
  EXPECT_EQ(gpus[3].nvlinkGBps, 0);
}

TEST(NvlinkProbe, BridgedPairsReachOnlyTheirPartner) {
  std::vector<Gpu> gpus = fourGpus();
  const std::vector<GpuNvlinks> reports = {
      {"00000000:18:00.0", {{"00000000:2A:00.0", false, 25}, {"00000000:2A:00.0", false, 25}}},
      {"00000000:2A:00.0", {{"00000000:18:00.0", false, 25}, {"00000000:18:00.0", false, 25}}},
      {"00000000:3A:00.0", {{"00000000:5D:00.0", false, 25}}},
      {"00000000:5D:00.0", {{"00000000:3A:00.0", false, 25}}}};
  applyNvlinks(gpus, reports);
  EXPECT_EQ(gpus[0].nvlinkPeers, std::vector<std::string>{"0000:2a:00.0"});
  EXPECT_EQ(gpus[3].nvlinkPeers, std::vector<std::string>{"0000:3a:00.0"});
  EXPECT_EQ(gpus[1].nvlinkGBps, 50);
  Topology topo;
  topo.gpus = gpus;
  EXPECT_EQ(nvlinkDomain(topo, 0), 0);
  EXPECT_EQ(nvlinkDomain(topo, 1), 0);
  EXPECT_EQ(nvlinkDomain(topo, 2), 2);
  EXPECT_EQ(nvlinkDomain(topo, 3), 2);
}

TEST(NvlinkDomain, FollowsLinksListedOnOneSideAndThroughOthers) {
  Topology topo;
  topo.gpus = fourGpus();
  topo.gpus[3].nvlinkPeers = {"0000:3A:00.0"};  // 3 - 2, listed by 3 only
  topo.gpus[2].nvlinkPeers = {"0000:2a:00.0"};  // 2 - 1
  EXPECT_EQ(nvlinkDomain(topo, 3), 1);
  EXPECT_EQ(nvlinkDomain(topo, 1), 1);  // 1 lists nobody but is reached
  EXPECT_EQ(nvlinkDomain(topo, 0), -1);
  EXPECT_EQ(nvlinkDomain(topo, 4), -1);
  EXPECT_EQ(nvlinkDomain(topo, -1), -1);
}

TEST(NvlinkDomain, BusIdsCompareInAnyNotation) {
  EXPECT_EQ(canonicalBusId("00000000:3B:00.0"), "0000:3b:00.0");
  EXPECT_EQ(canonicalBusId("0001:3b:1f.7"), "0001:3b:1f.7");
  EXPECT_EQ(canonicalBusId("not a bus"), "not a bus");
  EXPECT_EQ(canonicalBusId("0000:3b:00.0x"), "0000:3b:00.0x");
  EXPECT_EQ(canonicalBusId("0000:3b:20.0"), "0000:3b:20.0");  // devices stop at 1f
  EXPECT_EQ(canonicalBusId("0000:3b:00.8"), "0000:3b:00.8");  // functions at 7
  Topology topo;
  topo.gpus = fourGpus();
  EXPECT_EQ(gpuIndexOf(topo, "00000000:5D:00.0"), 3);
  EXPECT_EQ(gpuIndexOf(topo, "0000:99:00.0"), -1);
}

TEST(GpuLinks, ClassOfTwoRanksGpus) {
  const RankPlacement a{0, 0, 0, 0, 0}, sameGpu{0, 1, 1, 0, 0}, nvlinked{0, 0, 0, 1, 0}, pcie{0, 0, 0, 2, -1},
      unknown{0, 0, 0, -1, -1}, remote{1, 0, 0, 0, 0};
  EXPECT_EQ(gpuLinkBetween(a, sameGpu), LinkClass::SameGpu);
  EXPECT_EQ(gpuLinkBetween(a, nvlinked), LinkClass::NvLink);
  EXPECT_EQ(gpuLinkBetween(a, pcie), LinkClass::Pcie);
  EXPECT_EQ(gpuLinkBetween(a, unknown), LinkClass::Pcie);
  EXPECT_EQ(gpuLinkBetween(a, remote), LinkClass::Network);
  // Host buffers do not care where the GPUs are.
  EXPECT_EQ(linkBetween(a, pcie), LinkClass::SameNuma);
  EXPECT_EQ(linkBetween(a, sameGpu), LinkClass::SameHost);
}

TEST(GpuLinks, CostModelTakesTheSlowestGpusNvlink) {
  Topology topo;
  topo.gpus = fourGpus();
  const CostModel host = CostModel::defaults();
  const CostModel none = gpuCostModelFor(linkSpeedsOf(topo), host);
  EXPECT_EQ(none.link(LinkClass::NvLink).gbPerSec, host.link(LinkClass::NvLink).gbPerSec);
  EXPECT_EQ(none.reduceGBps, host.link(LinkClass::SameGpu).gbPerSec);
  topo.gpus[1].nvlinkGBps = 300;
  topo.gpus[2].nvlinkGBps = 50;
  const CostModel bridged = gpuCostModelFor(linkSpeedsOf(topo), host);
  EXPECT_EQ(bridged.link(LinkClass::NvLink).gbPerSec, 50);
  EXPECT_EQ(bridged.link(LinkClass::Network).gbPerSec, host.link(LinkClass::Network).gbPerSec);
}

// `ranks` ranks of one host, rank r on GPU gpuOf(r) with NVLink domain domainOf(r).
template <class GpuOf, class DomainOf>
std::vector<RankPlacement> onGpus(int ranks, GpuOf gpuOf, DomainOf domainOf) {
  std::vector<RankPlacement> out;
  for (int r = 0; r < ranks; ++r) out.push_back({0, 0, 0, gpuOf(r), domainOf(r)});
  return out;
}

double ringUs(const std::vector<RankPlacement>& at, const CostModel& model, std::size_t bytes) {
  const Tuner t(model, at, {}, std::nullopt, {}, BufferSpace::Gpu);
  return t.predictUs(Collective::AllReduce, Algorithm::Ring, bytes, 4 * M);
}

// The GPU model without latencies: large calls then cost their bytes alone.
CostModel bandwidthOnly() {
  CostModel model = gpuCostModelFor(LinkSpeeds{}, CostModel::defaults());
  for (LinkCost& link : model.links) link.latencyUs = 0;
  return model;
}

TEST(GpuTuner, NvlinkIsPricedFasterThanPcieByItsBandwidth) {
  const CostModel model = bandwidthOnly();
  auto own = [](int r) { return r; };
  const double nvlink = ringUs(onGpus(8, own, [](int) { return 0; }), model, 256 * M);
  const double pcie = ringUs(onGpus(8, own, [](int) { return -1; }), model, 256 * M);
  const double ratio = model.link(LinkClass::NvLink).gbPerSec / model.link(LinkClass::Pcie).gbPerSec;
  EXPECT_GT(pcie / nvlink, 0.8 * ratio);
  EXPECT_LT(pcie / nvlink, 1.2 * ratio);
  // Two NVLink pairs joined by PCIe: a ring through all four crosses PCIe.
  const double pairs = ringUs(onGpus(4, own, [](int r) { return r / 2 * 2; }), model, 256 * M);
  EXPECT_DOUBLE_EQ(pairs, ringUs(onGpus(4, own, [](int) { return -1; }), model, 256 * M));
}

TEST(GpuTuner, RanksOnOneGpuShareItsMemory) {
  CostModel model = bandwidthOnly();
  model.links[static_cast<std::size_t>(LinkClass::NvLink)] = model.link(LinkClass::SameGpu);
  const double oneGpu = ringUs(onGpus(4, [](int) { return 0; }, [](int) { return -1; }), model, 256 * M);
  const double fourGpus = ringUs(onGpus(4, [](int r) { return r; }, [](int) { return 0; }), model, 256 * M);
  EXPECT_GT(oneGpu / fourGpus, 3.0);  // four flows through one GPU's memory
  EXPECT_LT(oneGpu / fourGpus, 4.5);
}

TEST(GpuTuner, HostBuffersIgnoreTheGpus) {
  const std::vector<RankPlacement> plain(8);
  std::vector<RankPlacement> withGpus = onGpus(8, [](int r) { return r % 2; }, [](int) { return -1; });
  const Tuner a(CostModel::defaults(), plain, {}), b(CostModel::defaults(), withGpus, {});
  for (std::size_t bytes : {std::size_t{8}, 64 * std::size_t{1024}, 16 * M, 256 * M}) {
    const Decision x = a.choose(Collective::AllReduce, bytes), y = b.choose(Collective::AllReduce, bytes);
    EXPECT_EQ(x.algorithm, y.algorithm) << bytes;
    EXPECT_EQ(x.predictedUs, y.predictedUs) << bytes;
  }
}

TEST(GpuTuner, SlicesAreNeverSmallerThanAGpuStepIsWorth) {
  const Tuner gpu(gpuCostModelFor(LinkSpeeds{}, CostModel::defaults()), std::vector<RankPlacement>(4), {}, std::nullopt,
                  {}, BufferSpace::Gpu);
  for (std::size_t bytes : {std::size_t{64} << 10, 3 * M, 6 * M, 64 * M, 1024 * M})
    for (Collective c : {Collective::AllReduce, Collective::Broadcast, Collective::ReduceScatter}) {
      const Decision d = gpu.choose(c, bytes);
      EXPECT_TRUE(d.sliceBytes >= Tuner::kGpuMinSliceBytes || d.sliceBytes == bytes) << toString(c) << " " << bytes;
    }
}

TEST(GpuTopologyJson, NvlinkFieldsRoundTripAndOlderFilesHaveNone) {
  Topology topo;
  topo.gpus = fourGpus();
  topo.gpus[0].nvlinkPeers = {"0000:2a:00.0"};
  topo.gpus[0].nvlinkGBps = 12.5;
  EXPECT_EQ(topologyFromJson(toJson(topo)), topo);

  std::string old = toJson(Topology{});
  old.replace(old.find("\"gpus\": []"), 10, R"("gpus": [{"name": "cuda0", "pci_bus_id": "0000:18:00.0", "numa": 0,
                                              "model": "H100"}])");
  const Topology loaded = topologyFromJson(old);
  ASSERT_EQ(loaded.gpus.size(), 1u);
  EXPECT_TRUE(loaded.gpus[0].nvlinkPeers.empty());
  EXPECT_EQ(loaded.gpus[0].nvlinkGBps, 0);

  std::string bad = toJson(topo);
  bad.replace(bad.find("\"0000:2a:00.0\"\n"), 14, "42");
  try {
    topologyFromJson(bad);
    FAIL() << "a number among the NVLink peers was accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("gpus[0].nvlink_peers[0]"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace braid
