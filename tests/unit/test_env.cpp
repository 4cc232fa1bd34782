// Sizes and durations in BRAID_* settings: units, and clear errors for bad text.
#include "core/env.h"
#include "scoped_env.h"

#include <braid/error.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>

namespace braid {
namespace {

using testing::ScopedEnv;

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

// Casting infinity or 1e300 ms to an integer is undefined: such durations are refused.
TEST(Env, DurationsAreFiniteAndAtMostAYear) {
  EXPECT_EQ(refusalOf("BRAID_TIMEOUT", "1.5m"), "");
  for (const char* bad : {"inf", "nan", "-inf", "infs"})
    EXPECT_EQ(refusalOf("BRAID_TIMEOUT", bad), std::string("BRAID_TIMEOUT: '") + bad + "' is not a duration (e.g. 30s, 500ms)");
  EXPECT_EQ(refusalOf("BRAID_TIMEOUT", "1e300"), "BRAID_TIMEOUT: '1e300' is more than a year");
  EXPECT_EQ(refusalOf("BRAID_TIMEOUT", "400d"), "BRAID_TIMEOUT: unknown unit in '400d'");
}

// A bad value leaves the default in force (the settings are read leniently) and is
// refused when a communicator checks them.
TEST(Env, ABadValueIsKeptAsAProblemAndTheDefaultStandsIn) {
  ScopedEnv chunk("BRAID_CHUNK", "lots");
  ScopedEnv sockets("BRAID_TCP_SOCKETS", "99");
  EXPECT_EQ(Env::get().chunkBytes(), 512u * 1024);
  EXPECT_EQ(Env::get().tcpSockets(), 2);
  ASSERT_EQ(Env::get().problems().size(), 2u);
  EXPECT_EQ(Env::get().problems()[1], "BRAID_CHUNK: 'lots' is not a size below 8 EiB (e.g. 512K, 4M, 1.5G)");
  try {
    Env::get().requireValid(3);
    ADD_FAILURE() << "a bad BRAID_TCP_SOCKETS went through";
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(std::string(e.what()), "rank 3: BRAID_TCP_SOCKETS: '99' is not a whole number from 1 to 16");
    EXPECT_EQ(e.context().rank, 3);
  }
}

TEST(Env, SizesReadFractionsOfAUnit) {
  EXPECT_EQ(parseBytes("1.5M", "X"), 3u << 19);
  EXPECT_EQ(refusalOf("BRAID_CHUNK", "0.5K"), "");
}

}  // namespace
}  // namespace braid
