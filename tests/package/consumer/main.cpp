// A program outside the Braid tree, built against an installed Braid.
#include <braid/braid.h>

#include <cstdio>

int main() {
  braid::Communicator comm(braid::UniqueId::create(), 0, 1);
  double in[3] = {1.5, 2.5, 3.5}, out[3] = {};
  comm.allReduce(in, out, 3, braid::DataType::Float64, braid::ReduceOp::Sum);
  bool ok = out[0] == 1.5 && out[1] == 2.5 && out[2] == 3.5;
  std::printf("consumer: %s\n", ok ? "ok" : "WRONG");
  return ok ? 0 : 1;
}
