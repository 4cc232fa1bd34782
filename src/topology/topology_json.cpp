// The Topology as JSON. Loading checks every field by hand rather than through
// nlohmann's from_json, so a hand-written BRAID_TOPO_FILE with a typo gets an error
// that names the field ("nics[3].speed_gbps: expected a number") instead of a type
// error from deep inside the library.
#include "topology/topology.h"

#include <braid/error.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <initializer_list>
#include <sstream>

namespace braid {
namespace {

// Ordered, so a saved file reads in the order of the model rather than alphabetically.
using json = nlohmann::ordered_json;

// Names this format in every file; bump when a field changes meaning.
constexpr const char* kFormat = "braid-topology/1";

json packageJson(const Package& p) { return {{"id", p.id}, {"model", p.model}, {"cpuset", p.cpuset}}; }

json numaJson(const NumaNode& n) {
  return {{"id", n.id}, {"package", n.package}, {"cpuset", n.cpuset}, {"memory_bytes", n.memoryBytes}};
}

json cacheJson(const CacheLevel& c) {
  return {{"level", c.level},
          {"type", c.type},
          {"size_bytes", c.sizeBytes},
          {"shared_by_cores", c.sharedByCores},
          {"count", c.count}};
}

json gpuJson(const Gpu& g) {
  return {{"name", g.name},   {"pci_bus_id", g.pciBusId},        {"numa", g.numa},
          {"model", g.model}, {"nvlink_peers", g.nvlinkPeers}, {"nvlink_gbps", g.nvlinkGBps}};
}

json nicJson(const Nic& n) {
  return {{"name", n.name},         {"kind", toString(n.kind)}, {"netdev", n.netdev},
          {"pci_bus_id", n.pciBusId}, {"numa", n.numa},          {"speed_gbps", n.speedGbps},
          {"link_layer", n.linkLayer}};
}

template <class T, class F>
json arrayOf(const std::vector<T>& items, F toJsonItem) {
  json out = json::array();
  for (const T& item : items) out.push_back(toJsonItem(item));
  return out;
}

// Reads one JSON object whose fields must be among `expected` (a caller that reads an
// optional one asks has() first); every error names the path to the offending field.
class Fields {
 public:
  Fields(const json& object, std::string path, std::initializer_list<const char*> expected)
      : object_(object), path_(std::move(path)) {
    if (!object_.is_object()) fail(path_, "expected an object");
    for (const auto& [key, value] : object_.items())
      if (std::find_if(expected.begin(), expected.end(), [&](const char* e) { return key == e; }) == expected.end())
        fail(at(key), "unknown field");
  }

  std::string str(const char* key) const {
    const json& v = field(key);
    if (!v.is_string()) fail(at(key), "expected a string");
    return v.get<std::string>();
  }
  int integer(const char* key) const {
    const json& v = field(key);
    if (!v.is_number_integer() || v.get<std::int64_t>() < INT32_MIN || v.get<std::int64_t>() > INT32_MAX)
      fail(at(key), "expected an integer");
    return v.get<int>();
  }
  std::uint64_t bytes(const char* key) const {
    const json& v = field(key);
    if (!v.is_number_unsigned()) fail(at(key), "expected a non-negative integer");
    return v.get<std::uint64_t>();
  }
  double number(const char* key) const {
    const json& v = field(key);
    if (!v.is_number()) fail(at(key), "expected a number");
    return v.get<double>();
  }
  template <class T, class F>
  std::vector<T> array(const char* key, F fromJsonItem) const {
    const json& v = field(key);
    if (!v.is_array()) fail(at(key), "expected an array");
    std::vector<T> out;
    for (std::size_t i = 0; i < v.size(); ++i) out.push_back(fromJsonItem(v[i], at(key) + "[" + std::to_string(i) + "]"));
    return out;
  }
  bool has(const char* key) const { return object_.contains(key); }
  std::string at(const char* key) const { return path_.empty() ? key : path_ + "." + key; }
  std::string at(const std::string& key) const { return at(key.c_str()); }

  [[noreturn]] static void fail(const std::string& path, const std::string& why) {
    throw InvalidArgument("topology JSON: " + (path.empty() ? std::string("top level") : path) + ": " + why);
  }

 private:
  const json& field(const char* key) const {
    auto it = object_.find(key);
    if (it == object_.end()) fail(at(key), "missing");
    return *it;
  }
  const json& object_;
  std::string path_;
};

Package packageFrom(const json& j, const std::string& path) {
  Fields f(j, path, {"id", "model", "cpuset"});
  return {f.integer("id"), f.str("model"), f.str("cpuset")};
}

NumaNode numaFrom(const json& j, const std::string& path) {
  Fields f(j, path, {"id", "package", "cpuset", "memory_bytes"});
  return {f.integer("id"), f.integer("package"), f.str("cpuset"), f.bytes("memory_bytes")};
}

CacheLevel cacheFrom(const json& j, const std::string& path) {
  Fields f(j, path, {"level", "type", "size_bytes", "shared_by_cores", "count"});
  CacheLevel c{f.integer("level"), f.str("type"), f.bytes("size_bytes"), f.integer("shared_by_cores"),
               f.integer("count")};
  if (c.type != "data" && c.type != "instruction" && c.type != "unified")
    Fields::fail(f.at("type"), "expected data, instruction or unified, got '" + c.type + "'");
  return c;
}

// The NVLink fields came later than the format: a file without them has no NVLink.
Gpu gpuFrom(const json& j, const std::string& path) {
  Fields f(j, path, {"name", "pci_bus_id", "numa", "model", "nvlink_peers", "nvlink_gbps"});
  Gpu g{f.str("name"), f.str("pci_bus_id"), f.integer("numa"), f.str("model"), {}, 0};
  if (f.has("nvlink_peers"))
    g.nvlinkPeers = f.array<std::string>("nvlink_peers", [](const json& v, const std::string& where) {
      if (!v.is_string()) Fields::fail(where, "expected a PCI bus id string");
      return v.get<std::string>();
    });
  if (f.has("nvlink_gbps")) g.nvlinkGBps = f.number("nvlink_gbps");
  if (g.nvlinkGBps < 0) Fields::fail(f.at("nvlink_gbps"), "expected a non-negative number");
  return g;
}

NicKind nicKindFrom(const Fields& f) {
  std::string kind = f.str("kind");
  if (kind == toString(NicKind::Netdev)) return NicKind::Netdev;
  if (kind == toString(NicKind::Rdma)) return NicKind::Rdma;
  Fields::fail(f.at("kind"), "expected netdev or rdma, got '" + kind + "'");
}

Nic nicFrom(const json& j, const std::string& path) {
  Fields f(j, path, {"name", "kind", "netdev", "pci_bus_id", "numa", "speed_gbps", "link_layer"});
  return {f.str("name"),    nicKindFrom(f),       f.str("netdev"),    f.str("pci_bus_id"),
          f.integer("numa"), f.number("speed_gbps"), f.str("link_layer")};
}

}  // namespace

std::string toJson(const Topology& topo) {
  json j = {{"format", kFormat},
            {"host_id", topo.hostId},
            {"host_name", topo.hostName},
            {"cores", topo.cores},
            {"pus", topo.pus},
            {"packages", arrayOf(topo.packages, packageJson)},
            {"numa_nodes", arrayOf(topo.numaNodes, numaJson)},
            {"caches", arrayOf(topo.caches, cacheJson)},
            {"gpus", arrayOf(topo.gpus, gpuJson)},
            {"nics", arrayOf(topo.nics, nicJson)}};
  return j.dump(2) + "\n";
}

Topology topologyFromJson(const std::string& text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    throw InvalidArgument(std::string("topology JSON: not valid JSON: ") + e.what());
  }
  Fields f(j, "", {"format", "host_id", "host_name", "cores", "pus", "packages", "numa_nodes", "caches", "gpus", "nics"});
  if (std::string format = f.str("format"); format != kFormat)
    Fields::fail("format", "expected '" + std::string(kFormat) + "', got '" + format + "'");
  Topology topo;
  topo.hostId = f.str("host_id");
  topo.hostName = f.str("host_name");
  topo.cores = f.integer("cores");
  topo.pus = f.integer("pus");
  topo.packages = f.array<Package>("packages", packageFrom);
  topo.numaNodes = f.array<NumaNode>("numa_nodes", numaFrom);
  topo.caches = f.array<CacheLevel>("caches", cacheFrom);
  topo.gpus = f.array<Gpu>("gpus", gpuFrom);
  topo.nics = f.array<Nic>("nics", nicFrom);
  return topo;
}

Topology loadTopologyFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InvalidArgument("topology file '" + path + "' cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  try {
    return topologyFromJson(text.str());
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(path + ": " + e.what());
  }
}

}  // namespace braid
