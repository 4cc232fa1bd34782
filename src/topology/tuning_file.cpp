#include "topology/tuning_file.h"

#include <braid/error.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

namespace braid {
namespace {

using nlohmann::json;

constexpr LinkClass kClasses[] = {LinkClass::SameNuma, LinkClass::CrossNuma, LinkClass::SameHost, LinkClass::Network};

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

}  // namespace

CostModel loadTuning(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw SystemError("cannot read tuning file " + path + ": " + std::strerror(errno));
  json doc;
  try {
    doc = json::parse(in);
  } catch (const json::exception& e) {
    throw InvalidArgument("tuning file " + path + " is not JSON: " + e.what());
  }
  if (!doc.is_object()) throw InvalidArgument("tuning file " + path + ": expected a JSON object");

  CostModel model = CostModel::defaults();
  if (doc.contains("links")) {
    const json& links = doc.at("links");
    if (!links.is_object()) throw InvalidArgument("tuning file " + path + ": 'links' must be an object");
    for (const auto& [name, cost] : links.items()) {
      const LinkClass* cls = nullptr;
      for (const LinkClass& c : kClasses)
        if (name == toString(c)) cls = &c;
      if (!cls)
        throw InvalidArgument("tuning file " + path + ": unknown link class '" + name +
                              "' (expected same-numa, cross-numa, same-host, network)");
      const std::string where = "tuning file " + path + ", links." + name;
      if (!cost.is_object()) throw InvalidArgument(where + ": expected {\"latency_us\": ..., \"gb_per_s\": ...}");
      LinkCost& link = model.links[static_cast<std::size_t>(*cls)];
      readNumber(cost, "latency_us", link.latencyUs, Bound::NonNegative, where);
      readNumber(cost, "gb_per_s", link.gbPerSec, Bound::Positive, where);
    }
  }
  readNumber(doc, "reduce_gb_per_s", model.reduceGBps, Bound::Positive, "tuning file " + path);
  readNumber(doc, "step_overhead_us", model.stepOverheadUs, Bound::NonNegative, "tuning file " + path);
  return model;
}

void saveTuning(const std::string& path, const CostModel& model) {
  json doc;
  for (LinkClass c : kClasses)
    doc["links"][toString(c)] = {{"latency_us", model.link(c).latencyUs}, {"gb_per_s", model.link(c).gbPerSec}};
  doc["reduce_gb_per_s"] = model.reduceGBps;
  doc["step_overhead_us"] = model.stepOverheadUs;
  std::ofstream out(path);
  if (!out) throw SystemError("cannot write tuning file " + path + ": " + std::strerror(errno));
  out << doc.dump(2) << '\n';
  if (!out.flush()) throw SystemError("cannot write tuning file " + path + ": " + std::strerror(errno));
}

}  // namespace braid
