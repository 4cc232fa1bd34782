// One grammar for sizes everywhere (settings, BRAID_ALGO ranges, perf tools, braid-sim).
#include "core/byte_size.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>

namespace braid {
namespace {

TEST(ByteSize, BinaryUnitsInEitherCaseWithOptionalBOrIB) {
  EXPECT_EQ(parseByteSize("0"), 0u);
  EXPECT_EQ(parseByteSize("123"), 123u);
  EXPECT_EQ(parseByteSize("123B"), 123u);
  EXPECT_EQ(parseByteSize("64k"), 64u << 10);
  EXPECT_EQ(parseByteSize("64KB"), 64u << 10);
  EXPECT_EQ(parseByteSize("4MiB"), 4u << 20);
  EXPECT_EQ(parseByteSize("2g"), std::uint64_t{2} << 30);
  EXPECT_EQ(parseByteSize("2Gb"), std::uint64_t{2} << 30);  // "b" is bytes here too, never bits
  EXPECT_EQ(parseByteSize("4mib"), 4u << 20);
  EXPECT_EQ(parseByteSize("4KIB"), 4u << 10);
}

TEST(ByteSize, FractionsOfAUnitRoundDownToWholeBytes) {
  EXPECT_EQ(parseByteSize("1.5M"), 3u << 19);
  EXPECT_EQ(parseByteSize(".5K"), 512u);
  EXPECT_EQ(parseByteSize("0.001K"), 1u);  // 1.024 bytes
  EXPECT_EQ(parseByteSize("2.9"), 2u);
  EXPECT_EQ(parseByteSize("0.999999999G"), (std::uint64_t{1} << 30) - 2);
  EXPECT_EQ(parseByteSize("0.99999999999999G"), (std::uint64_t{1} << 30) - 2);  // digits past 9 are dropped
}

TEST(ByteSize, RejectsWhatIsNotASize) {
  for (const char* bad : {"", "K", "B", ".", "5.", "-1", "+1", " 1", "1 ", "1KK", "1iB", "1T", "1e3", "0x10", "1.2.3",
                          "1Bi", "1KBB", "64KiBB", "1BB", "lots"})
    EXPECT_EQ(parseByteSize(bad), std::nullopt) << "'" << bad << "'";
}

TEST(ByteSize, RejectsSizesPast63Bits) {
  EXPECT_EQ(parseByteSize("8589934591G"), std::uint64_t{8589934591} << 30);
  EXPECT_EQ(parseByteSize("8589934592G"), std::nullopt);  // 2^63
  EXPECT_EQ(parseByteSize("17179869184G"), std::nullopt);
  EXPECT_EQ(parseByteSize("999999999999999999"), 999999999999999999u);
  EXPECT_EQ(parseByteSize("9223372036854775807"), 9223372036854775807u);  // 2^63 - 1
  EXPECT_EQ(parseByteSize("9223372036854775808"), std::nullopt);
  EXPECT_EQ(parseByteSize("9999999999999999999"), std::nullopt);
  EXPECT_EQ(parseByteSize("99999999999999999999999"), std::nullopt);
}

}  // namespace
}  // namespace braid
