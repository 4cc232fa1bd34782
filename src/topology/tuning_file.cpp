#include "topology/tuning_file.h"

#include "topology/algo_override.h"

#include <braid/error.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace braid {
namespace {

using nlohmann::json;

constexpr LinkClass kClasses[] = {LinkClass::SameNuma, LinkClass::CrossNuma, LinkClass::SameHost, LinkClass::Network,
                                  LinkClass::SameGpu,  LinkClass::NvLink,    LinkClass::Pcie};

// Bandwidths must be positive (every prediction divides by them); latencies and
// overheads may be zero but not negative, which would make a slow path look free.
enum class Bound { Positive, NonNegative };

void readNumber(const json& object, const char* key, double& into, Bound bound, const std::string& where) {
  if (!object.contains(key)) return;
  const json& v = object.at(key);
  const bool ok = v.is_number() && (bound == Bound::Positive ? v.get<double>() > 0 : v.get<double>() >= 0);
  if (!ok)
    throw InvalidArgument(where + ": '" + key + "' must be a " +
                          (bound == Bound::Positive ? "positive" : "non-negative") + " number, not " + v.dump());
  into = v.get<double>();
}

// One row of "measured"; `where` names it ("tuning file F, measured[3]").
MeasuredTime measuredRow(const json& row, const std::string& where) {
  if (!row.is_object()) throw InvalidArgument(where + ": expected an object");
  auto text = [&](const char* key) {
    if (!row.contains(key) || !row.at(key).is_string())
      throw InvalidArgument(where + ": '" + key + "' must be a string");
    return row.at(key).get<std::string>();
  };
  auto positiveInteger = [&](const char* key) {
    if (!row.contains(key) || !row.at(key).is_number_unsigned() || row.at(key).get<std::uint64_t>() == 0)
      throw InvalidArgument(where + ": '" + key + "' must be a positive integer");
    return row.at(key).get<std::uint64_t>();
  };
  MeasuredTime m;
  const std::string collective = text("collective"), algorithm = text("algorithm");
  const auto c = collectiveSpelled(collective);
  if (!c) throw InvalidArgument(where + ": unknown collective '" + collective + "'");
  const auto a = parseAlgorithm(algorithm);
  if (!a) throw InvalidArgument(where + ": unknown algorithm '" + algorithm + "'");
  if (!supports(*a, *c)) throw InvalidArgument(where + ": " + algorithm + " does not run " + collective);
  m.collective = *c;
  m.algorithm = *a;
  const std::uint64_t ranks = positiveInteger("ranks"), nodes = positiveInteger("nodes");
  if (ranks > (1u << 24) || nodes > ranks)
    throw InvalidArgument(where + ": 'ranks' and 'nodes' must satisfy 1 <= nodes <= ranks <= 2^24");
  m.ranks = static_cast<int>(ranks);
  m.nodes = static_cast<int>(nodes);
  m.bytes = positiveInteger("bytes");
  m.us = -1;
  readNumber(row, "us", m.us, Bound::Positive, where);
  if (m.us < 0) throw InvalidArgument(where + ": 'us' is missing");
  return m;
}

}  // namespace

Tuning loadTuning(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw SystemError("cannot read tuning file " + path + ": " + std::strerror(errno));
  json doc;
  try {
    doc = json::parse(in);
  } catch (const json::exception& e) {
    throw InvalidArgument("tuning file " + path + " is not JSON: " + e.what());
  }
  if (!doc.is_object()) throw InvalidArgument("tuning file " + path + ": expected a JSON object");

  Tuning tuning;
  CostModel& model = tuning.model;
  if (doc.contains("links")) {
    const json& links = doc.at("links");
    if (!links.is_object()) throw InvalidArgument("tuning file " + path + ": 'links' must be an object");
    for (const auto& [name, cost] : links.items()) {
      const LinkClass* cls = nullptr;
      for (const LinkClass& c : kClasses)
        if (name == toString(c)) cls = &c;
      if (!cls) {
        std::string known;
        for (LinkClass c : kClasses) known += std::string(known.empty() ? "" : ", ") + toString(c);
        throw InvalidArgument("tuning file " + path + ": unknown link class '" + name + "' (expected " + known + ")");
      }
      const std::string where = "tuning file " + path + ", links." + name;
      if (!cost.is_object()) throw InvalidArgument(where + ": expected {\"latency_us\": ..., \"gb_per_s\": ...}");
      LinkCost& link = model.links[static_cast<std::size_t>(*cls)];
      readNumber(cost, "latency_us", link.latencyUs, Bound::NonNegative, where);
      readNumber(cost, "gb_per_s", link.gbPerSec, Bound::Positive, where);
    }
  }
  readNumber(doc, "reduce_gb_per_s", model.reduceGBps, Bound::Positive, "tuning file " + path);
  readNumber(doc, "step_overhead_us", model.stepOverheadUs, Bound::NonNegative, "tuning file " + path);
  if (doc.contains("measured")) {
    const json& rows = doc.at("measured");
    if (!rows.is_array()) throw InvalidArgument("tuning file " + path + ": 'measured' must be an array");
    for (std::size_t i = 0; i < rows.size(); ++i)
      tuning.measured.push_back(measuredRow(rows[i], "tuning file " + path + ", measured[" + std::to_string(i) + "]"));
  }
  return tuning;
}

std::string tuningJson(const Tuning& tuning) {
  const CostModel& model = tuning.model;
  json doc;
  for (LinkClass c : kClasses)
    doc["links"][toString(c)] = {{"latency_us", model.link(c).latencyUs}, {"gb_per_s", model.link(c).gbPerSec}};
  doc["reduce_gb_per_s"] = model.reduceGBps;
  doc["step_overhead_us"] = model.stepOverheadUs;
  doc["measured"] = json::array();
  for (const MeasuredTime& m : tuning.measured)
    doc["measured"].push_back({{"collective", spelling(m.collective)},
                               {"ranks", m.ranks},
                               {"nodes", m.nodes},
                               {"bytes", m.bytes},
                               {"algorithm", toString(m.algorithm)},
                               {"us", m.us}});
  return doc.dump(2) + '\n';
}

void saveTuning(const std::string& path, const Tuning& tuning) {
  // The file a symlink names is the one replaced (the link stays), and it keeps its
  // permissions (a group-writable file shared by a team stays so).
  std::error_code unresolved;
  const std::filesystem::path resolved = std::filesystem::weakly_canonical(path, unresolved);
  const std::string target = unresolved ? path : resolved.string();
  struct stat old {};
  const bool existed = ::stat(target.c_str(), &old) == 0;
  const std::string temporary = target + ".tmp." + std::to_string(getpid());
  auto fail = [&](const std::string& what) {
    const std::string why = std::strerror(errno);
    std::remove(temporary.c_str());
    throw SystemError("cannot write tuning file " + path + ": " + what + ": " + why);
  };
  {
    std::ofstream out(temporary);
    if (!out) fail("creating " + temporary);
    out << tuningJson(tuning);
    if (!out.flush()) fail("writing " + temporary);
  }
  if (existed && ::chmod(temporary.c_str(), old.st_mode & 07777) != 0) fail("giving " + temporary + " its permissions");
  if (std::rename(temporary.c_str(), target.c_str()) != 0) fail("renaming " + temporary + " over it");
}

}  // namespace braid
