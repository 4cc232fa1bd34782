// Run under braidrun: all-reduces 4 MiB until something fails. After the first one it
// publishes its pid as DIR/pid.<rank>, so a test can kill a rank mid-operation.
#include <braid/braid.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: allreduce_loop DIR\n");
    return 2;
  }
  try {
    braid::Communicator comm = braid::Communicator::fromEnvironment();
    std::vector<float> a(1 << 20, 1.0f), b(a.size());
    comm.allReduce(a.data(), b.data(), a.size(), braid::DataType::Float32, braid::ReduceOp::Sum);
    std::string dir = argv[1], rank = std::to_string(comm.rank());
    std::ofstream(dir + "/pid.tmp." + rank) << getpid() << "\n";
    std::rename((dir + "/pid.tmp." + rank).c_str(), (dir + "/pid." + rank).c_str());
    for (;;) comm.allReduce(a.data(), b.data(), a.size(), braid::DataType::Float32, braid::ReduceOp::Sum);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "allreduce_loop: %s\n", e.what());
    return 1;
  }
}
