// Sizes and durations in BRAID_* settings: units, and clear errors for bad text.
#include "core/env.h"

#include <braid/error.h>

#include <gtest/gtest.h>

namespace braid {
namespace {

TEST(Env, ParseBytesTakesBinaryUnits) {
  EXPECT_EQ(parseBytes("123", "X"), 123u);
  EXPECT_EQ(parseBytes("512K", "X"), 512u << 10);
  EXPECT_EQ(parseBytes("4MiB", "X"), 4u << 20);
  EXPECT_EQ(parseBytes("2GB", "X"), std::uint64_t{2} << 30);
}

TEST(Env, ParseBytesRejectsUnknownUnitsAndOverflowNamingTheSetting) {
  for (const char* bad : {"4X", "lots", "17179869184G"}) {
    try {
      parseBytes(bad, "BRAID_CHUNK");
      ADD_FAILURE() << bad << " was accepted";
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find("BRAID_CHUNK"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace braid
