// What every check of the drop-in test shares: the rank it runs as, its communicator,
// buffers with a guard region after the data, and failure reports that name the check,
// the rank and the values. A wrong value is reported and the run goes on (the calls
// stay in step on every rank); an NCCL call that fails when it must succeed ends the
// rank at once, since its peers' next calls would no longer match.
#pragma once

#include "reference.h"

#include <string>
#include <vector>

namespace dropin {

struct RankContext {
  int rank = 0;
  int nranks = 0;
  ncclComm_t comm = nullptr;
};

// Printed with every report: "rank R: ".
void setReportRank(int rank);
void reportFailure(const char* format, ...) __attribute__((format(printf, 1, 2)));
[[noreturn]] void reportFatal(const char* format, ...) __attribute__((format(printf, 1, 2)));
int failureCount();
int checkCount();
void countCheck();

// Ends the rank when `result` is not ncclSuccess, naming `what` and NCCL's last error.
void requireSuccess(ncclResult_t result, const char* what, ncclComm_t comm);
// A check that `result` is exactly `expected`, and that ncclGetLastError then says why.
void expectError(ncclResult_t result, ncclResult_t expected, const char* what, ncclComm_t comm);

// Elements of one type followed by a guard region the library must not write.
class GuardedBuffer {
 public:
  // The data starts as 0xFF bytes: never a pattern byte, NaN in the float types.
  GuardedBuffer(const TypeInfo& type, size_t count);
  void* data() { return bytes_.data(); }
  const void* data() const { return bytes_.data(); }
  unsigned char* element(size_t index) { return bytes_.data() + index * type_->size; }
  size_t count() const { return count_; }
  // Reports (as `what`) a write past the data.
  void checkGuard(const std::string& what) const;

 private:
  const TypeInfo* type_;
  size_t count_;
  std::vector<unsigned char> bytes_;
};

// Compares `count` elements at `actual` with `expected(i)`; reports the first few
// differences as "what: element i is X, expected Y". Returns whether all matched.
template <typename Expected>
bool checkElements(const TypeInfo& type, const void* actual, size_t count, const std::string& what,
                   Expected expected) {
  countCheck();
  size_t wrong = 0;
  for (size_t i = 0; i < count; ++i) {
    const Scalar want = expected(i);
    const Scalar got = load(type, actual, i);
    if (sameValue(type, got, want)) continue;
    if (++wrong <= 3)
      reportFailure("%s: element %zu is %s, expected %s", what.c_str(), i, describe(type, got).c_str(),
                    describe(type, want).c_str());
  }
  if (wrong > 3) reportFailure("%s: %zu of %zu elements wrong in all", what.c_str(), wrong, count);
  return wrong == 0;
}

// Compares bytes; `expected(i)` gives byte i.
template <typename Expected>
bool checkBytes(const void* actual, size_t bytes, const std::string& what, Expected expected) {
  countCheck();
  const unsigned char* got = static_cast<const unsigned char*>(actual);
  size_t wrong = 0;
  for (size_t i = 0; i < bytes; ++i) {
    const unsigned char want = expected(i);
    if (got[i] == want) continue;
    if (++wrong <= 3) reportFailure("%s: byte %zu is 0x%02x, expected 0x%02x", what.c_str(), i, got[i], want);
  }
  if (wrong > 3) reportFailure("%s: %zu of %zu bytes wrong in all", what.c_str(), wrong, bytes);
  return wrong == 0;
}

// "allreduce float16 sum count 7 in-place" style names, built with printf formats.
std::string describeCall(const char* format, ...) __attribute__((format(printf, 1, 2)));

}  // namespace dropin
