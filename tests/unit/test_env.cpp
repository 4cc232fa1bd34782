// Sizes and durations in BRAID_* settings: units, and clear errors for bad text.
#include "core/env.h"

#include <braid/error.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>

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

// The message Env gives for `name`=`value`, "" when it accepts it.
std::string refusalOf(const char* name, const char* value) {
  const char* was = std::getenv(name);
  const std::optional<std::string> old = was ? std::optional<std::string>(was) : std::nullopt;
  setenv(name, value, 1);
  Env::reload();  // never throws: the problem is kept
  std::string why;
  try {
    Env::get().requireValid(-1);
  } catch (const InvalidArgument& e) {
    why = e.what();
  }
  if (old) setenv(name, old->c_str(), 1);
  else unsetenv(name);
  Env::reload();
  return why;
}

TEST(Env, CountsAreWholeNumbersInTheirRange) {
  EXPECT_EQ(refusalOf("BRAID_TCP_SOCKETS", "16"), "");
  for (const char* bad : {"1.5", "0", "17", "4294967298", "2K", "-1", " 2"})
    EXPECT_EQ(refusalOf("BRAID_TCP_SOCKETS", bad),
              std::string("BRAID_TCP_SOCKETS: '") + bad + "' is not a whole number from 1 to 16") << bad;
}

TEST(Env, SizesReadFractionsOfAUnit) {
  EXPECT_EQ(parseBytes("1.5M", "X"), 3u << 19);
  EXPECT_EQ(refusalOf("BRAID_CHUNK", "0.5K"), "");
}

}  // namespace
}  // namespace braid
