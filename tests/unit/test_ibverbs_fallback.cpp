// The ibverbs transport on a machine without an RDMA device (this build host): real
// 2-rank jobs (ranks as threads, each with its own bootstrap and transports) must fall
// back to tcp when ibverbs is listed first, and must fail at init, naming the rank and
// the reason, when ibverbs is the only transport. Where a device exists (a Soft-RoCE
// guest), the device-less expectations are skipped; tests/rdma/verbs_checks.sh covers
// that side.
#include "core/env.h"
#include "rank_threads.h"
#include "scoped_env.h"

#include <braid/braid.h>

#include <gtest/gtest.h>

#ifdef BRAID_HAVE_IBVERBS
#include <infiniband/verbs.h>
#endif

#include <cstdlib>
#include <optional>
#include <string>

namespace braid {
namespace {

using testing::runRanks;

using testing::ScopedEnv;

bool rdmaDevicePresent() {
#ifdef BRAID_HAVE_IBVERBS
  int n = 0;
  ibv_device** list = ibv_get_device_list(&n);
  if (list) ibv_free_device_list(list);
  return n > 0;
#else
  return false;
#endif
}

class IbverbsWithoutDevice : public ::testing::Test {
 protected:
  void SetUp() override {
    if (rdmaDevicePresent()) GTEST_SKIP() << "an RDMA device is present: the device-less path does not apply";
  }
  ScopedEnv timeout_{"BRAID_TIMEOUT", "30s"};
};

TEST_F(IbverbsWithoutDevice, TcpTakesEveryPeerWhenIbverbsComesFirst) {
  ScopedEnv transports("BRAID_TRANSPORTS", "ibverbs,tcp");
  std::string used[2];
  int sums[2] = {-1, -1};
  auto outcome = runRanks(2, [&](Communicator& comm) {
    int v = comm.rank() + 1;
    comm.allReduce(&v, &v, 1, DataType::Int32, ReduceOp::Sum);
    sums[comm.rank()] = v;
    used[comm.rank()] = comm.transportTo(1 - comm.rank());
  });
  for (int r = 0; r < 2; ++r) {
    ASSERT_FALSE(outcome[r].error) << "rank " << r << ": " << outcome[r].message();
    EXPECT_EQ(sums[r], 3);
    EXPECT_EQ(used[r], "tcp") << "rank " << r;
  }
}

TEST_F(IbverbsWithoutDevice, IbverbsAloneFailsAtInitNamingTheRank) {
  ScopedEnv transports("BRAID_TRANSPORTS", "ibverbs");
  auto outcome = runRanks(2, [](Communicator&) {});
  for (int r = 0; r < 2; ++r) {
    ASSERT_TRUE(outcome[r].error) << "rank " << r << " initialised with no RDMA device and no fallback";
    const std::string m = outcome[r].message();
    EXPECT_NE(m.find("rank " + std::to_string(r)), std::string::npos) << m;
#ifdef BRAID_HAVE_IBVERBS
    EXPECT_TRUE(outcome[r].threw<InvalidArgument>()) << m;
    EXPECT_NE(m.find("no RDMA device: ibv_get_device_list found none"), std::string::npos) << m;
#else
    EXPECT_NE(m.find("built without ibverbs"), std::string::npos) << m;
#endif
  }
}

TEST_F(IbverbsWithoutDevice, DefaultTransportListStillWorks) {
  // shm,ibverbs,tcp by default: shm takes both ranks of this host, ibverbs steps aside.
  ScopedEnv debug("BRAID_DEBUG", "WARN");
  auto outcome = runRanks(2, [](Communicator& comm) {
    float v = 1.5f;
    comm.allReduce(&v, &v, 1, DataType::Float32, ReduceOp::Sum);
    if (v != 3.0f) throw std::runtime_error("wrong sum " + std::to_string(v));
    if (std::string(comm.transportTo(1 - comm.rank())) != "shm") throw std::runtime_error("not over shm");
  });
  for (int r = 0; r < 2; ++r) EXPECT_FALSE(outcome[r].error) << outcome[r].message();
}

TEST(IbverbsSettingsAtInit, MalformedHcaStopsInitNamingTheVariable) {
  ScopedEnv transports("BRAID_TRANSPORTS", "ibverbs,tcp");
  ScopedEnv hca("BRAID_IB_HCA", "mlx5_0:zero");
  ScopedEnv timeout("BRAID_TIMEOUT", "30s");
  auto outcome = runRanks(2, [](Communicator&) {});
  for (int r = 0; r < 2; ++r) {
#ifdef BRAID_HAVE_IBVERBS
    ASSERT_TRUE(outcome[r].error) << "rank " << r;
    EXPECT_NE(outcome[r].message().find("BRAID_IB_HCA"), std::string::npos) << outcome[r].message();
#else
    EXPECT_NE(outcome[r].message().find("built without ibverbs"), std::string::npos) << outcome[r].message();
#endif
  }
}

}  // namespace
}  // namespace braid
