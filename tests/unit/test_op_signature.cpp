// The signature in every message header must tell apart the calls that ranks most
// often get wrong: another collective, type, op or count at the same point.
#include "core/op_signature.h"

#include <gtest/gtest.h>

namespace braid {
namespace {

OpCall base() {
  OpCall c;
  c.seq = 37;
  c.count = 1024;
  return c;
}

TEST(OpSignature, IsNeverZeroSoZeroCanMeanUnchecked) {
  for (int coll = 0; coll < 6; ++coll) {
    OpCall c;
    c.collective = static_cast<Collective>(coll);
    c.seq = 4096;  // wraps to 0 in the low bits
    EXPECT_NE(opSignature(c), 0u);
  }
}

TEST(OpSignature, DiffersWhenAnyCheckedFieldDiffers) {
  const std::uint32_t a = opSignature(base());
  OpCall c = base();
  c.seq = 38;
  EXPECT_NE(opSignature(c), a);
  c = base();
  c.collective = Collective::AllGather;
  EXPECT_NE(opSignature(c), a);
  c = base();
  c.type = DataType::Float64;
  EXPECT_NE(opSignature(c), a);
  c = base();
  c.op = ReduceOp::Max;
  EXPECT_NE(opSignature(c), a);
  c = base();
  c.count = 1025;
  EXPECT_NE(opSignature(c), a);
}

TEST(OpSignature, IgnoresFieldsThatDoNotApply) {
  OpCall c = base();
  c.collective = Collective::AllGather;
  OpCall d = c;
  d.op = ReduceOp::Max;  // all-gather does not reduce
  d.root = 3;            // nor has a root
  EXPECT_EQ(opSignature(c), opSignature(d));
  c.collective = d.collective = Collective::Broadcast;
  EXPECT_NE(opSignature(c), opSignature(d));  // the root matters here
}

TEST(OpSignature, DescribesItsFields) {
  EXPECT_EQ(describeOpSignature(0), "unchecked");
  OpCall c = base();
  c.op = ReduceOp::Max;
  std::string text = describeOpSignature(opSignature(c));
  EXPECT_NE(text.find("all-reduce (call #37 mod 4096, float, max, count/root hash 0x"), std::string::npos) << text;
  c.collective = Collective::AllGather;
  text = describeOpSignature(opSignature(c));
  EXPECT_NE(text.find("all-gather (call #37 mod 4096, float, count/root"), std::string::npos) << text;
}

}  // namespace
}  // namespace braid
