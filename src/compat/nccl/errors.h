#pragma once
// How failures cross the C boundary: every entry point runs its body through
// guarded(), which turns any exception into NCCL's result code and this thread's
// ncclGetLastError() text. Nothing throws past an extern "C" function.
#include <braid/error.h>
#include <nccl.h>

#include <cstring>
#include <stdexcept>
#include <string>

namespace braid::nccl {

// A failure the NCCL layer itself detects, carrying NCCL's code for it.
class ApiError : public std::runtime_error {
 public:
  ApiError(ncclResult_t code, const std::string& what) : std::runtime_error(what), code_(code) {}
  ncclResult_t code() const { return code_; }

 private:
  ncclResult_t code_;
};

// The int a C caller passed in an enum parameter. A value outside the enum's range
// (which the API must reject, not trust) cannot be read as the enum in C++ without
// undefined behaviour, so its bytes are read as the int the ABI carries.
template <class Enum>
int rawValue(const Enum& e) {
  static_assert(sizeof(Enum) == sizeof(int), "NCCL's enums are passed as int");
  int v;
  std::memcpy(&v, &e, sizeof v);
  return v;
}

[[noreturn]] inline void fail(ncclResult_t code, const std::string& what) { throw ApiError(code, what); }

// "rank 3: " (or "" before the rank is known), the prefix of every message.
inline std::string rankPrefix(int rank) { return rank < 0 ? std::string() : "rank " + std::to_string(rank) + ": "; }

// The result code for an error of the C++ core.
ncclResult_t toResult(ErrorKind kind);

// Inside a catch block: the code for the exception in flight, and its text.
ncclResult_t classifyCurrentException(std::string& what);
// As classifyCurrentException, and records the text, prefixed with `function`, as this
// thread's last error.
ncclResult_t recordCurrentException(const char* function) noexcept;

// This thread's last error text, and its replacement.
const std::string& lastError();
void setLastError(const std::string& text);

// What a call ended with, carried from the thread that ran it to the one that reports it.
struct Outcome {
  ncclResult_t code = ncclSuccess;
  std::string text;
  bool failed() const { return code != ncclSuccess && code != ncclInProgress; }
};

template <class Body>
ncclResult_t guarded(const char* function, Body&& body) noexcept {
  try {
    return body();
  } catch (...) {
    return recordCurrentException(function);
  }
}

// Runs body (returning void) and says how it ended.
template <class Body>
Outcome capture(const char* function, Body&& body) noexcept {
  Outcome o;
  o.code = guarded(function, [&] {
    body();
    return ncclSuccess;
  });
  if (o.failed()) o.text = lastError();
  return o;
}

// Reports an outcome on this thread: its text becomes the last error; returns its code.
inline ncclResult_t report(const Outcome& o) {
  if (o.failed()) setLastError(o.text);
  return o.code;
}

}  // namespace braid::nccl

// Defines the "p" twin of an NCCL function as an alias of the same code; the function
// must be defined earlier in the same file.
#define BRAID_NCCL_TWIN(name) extern "C" decltype(name) p##name __attribute__((alias(#name)));
