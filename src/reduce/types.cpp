// Names of data types and ops (as nccl-tests prints them) and Reduction helpers.
#include <braid/error.h>
#include <braid/types.h>

#include <cstring>
#include <string>

namespace braid {
namespace {

struct TypeName {
  std::string_view name;
  DataType type;
};

// Canonical names first (toString picks the first match), then aliases.
constexpr TypeName kTypeNames[] = {
    {"int8", DataType::Int8},          {"uint8", DataType::Uint8},
    {"int32", DataType::Int32},        {"uint32", DataType::Uint32},
    {"int64", DataType::Int64},        {"uint64", DataType::Uint64},
    {"half", DataType::Float16},       {"float", DataType::Float32},
    {"double", DataType::Float64},     {"bfloat16", DataType::Bfloat16},
    {"f8e4m3", DataType::Float8E4M3},  {"f8e5m2", DataType::Float8E5M2},
    {"char", DataType::Int8},          {"int", DataType::Int32},
    {"float16", DataType::Float16},    {"float32", DataType::Float32},
    {"float64", DataType::Float64},    {"bf16", DataType::Bfloat16},
    {"e4m3", DataType::Float8E4M3},    {"e5m2", DataType::Float8E5M2},
    {"fp8_e4m3", DataType::Float8E4M3}, {"fp8_e5m2", DataType::Float8E5M2},
};

struct OpName {
  std::string_view name;
  ReduceOp op;
};

constexpr OpName kOpNames[] = {
    {"sum", ReduceOp::Sum}, {"prod", ReduceOp::Prod}, {"max", ReduceOp::Max},
    {"min", ReduceOp::Min}, {"avg", ReduceOp::Avg},   {"premulsum", ReduceOp::PreMulSum},
};

}  // namespace

// An out-of-range value gets a placeholder rather than an exception: these names
// end up in log lines and error messages, which must not throw themselves.
std::string_view toString(DataType t) {
  for (const auto& n : kTypeNames)
    if (n.type == t) return n.name;
  return "invalid";
}

std::string_view toString(ReduceOp op) {
  for (const auto& n : kOpNames)
    if (n.op == op) return n.name;
  return "invalid";
}

bool parse(std::string_view name, DataType& out) {
  for (const auto& n : kTypeNames) {
    if (n.name == name) {
      out = n.type;
      return true;
    }
  }
  return false;
}

bool parse(std::string_view name, ReduceOp& out) {
  for (const auto& n : kOpNames) {
    if (n.name == name) {
      out = n.op;
      return true;
    }
  }
  return false;
}

Reduction Reduction::preMulSum(const void* value, DataType type) {
  if (!isValid(type)) throw InvalidArgument("PreMulSum scalar: invalid data type " + std::to_string(static_cast<int>(type)));
  if (!value) throw InvalidArgument("PreMulSum scalar: null pointer");
  Reduction r(ReduceOp::PreMulSum);
  std::memcpy(r.scalar, value, sizeOf(type));
  return r;
}

}  // namespace braid
