#include "check.h"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace dropin {
namespace {

int reportRank = -1;
int failures = 0;
int checks = 0;
constexpr size_t kGuardBytes = 64;
constexpr unsigned char kGuardByte = 0xA7;
constexpr unsigned char kUnwrittenByte = 0xFF;

void printReport(const char* label, const char* format, va_list args) {
  char message[2048];
  std::vsnprintf(message, sizeof message, format, args);
  // One write per line, so that lines of different ranks do not interleave.
  char line[2200];
  const int length = std::snprintf(line, sizeof line, "rank %d: %s%s\n", reportRank, label, message);
  std::fwrite(line, 1, static_cast<size_t>(length) < sizeof line ? static_cast<size_t>(length) : sizeof line - 1,
              stderr);
}

}  // namespace

void setReportRank(int rank) { reportRank = rank; }

void reportFailure(const char* format, ...) {
  ++failures;
  va_list args;
  va_start(args, format);
  printReport("FAIL ", format, args);
  va_end(args);
}

void reportFatal(const char* format, ...) {
  va_list args;
  va_start(args, format);
  printReport("FATAL ", format, args);
  va_end(args);
  std::fflush(stderr);
  std::_Exit(2);
}

int failureCount() { return failures; }
int checkCount() { return checks; }
void countCheck() { ++checks; }

void requireSuccess(ncclResult_t result, const char* what, ncclComm_t comm) {
  countCheck();
  if (result == ncclSuccess) return;
  const char* lastError = ncclGetLastError(comm);
  reportFatal("%s returned %d (%s); ncclGetLastError: \"%s\"", what, static_cast<int>(result),
              ncclGetErrorString(result), lastError ? lastError : "(null)");
}

void expectError(ncclResult_t result, ncclResult_t expected, const char* what, ncclComm_t comm) {
  countCheck();
  const char* lastError = ncclGetLastError(comm);
  if (result != expected) {
    reportFailure("%s returned %d (%s), expected %d (%s); ncclGetLastError: \"%s\"", what, static_cast<int>(result),
                  ncclGetErrorString(result), static_cast<int>(expected), ncclGetErrorString(expected),
                  lastError ? lastError : "(null)");
  } else if (lastError == nullptr || lastError[0] == '\0') {
    reportFailure("%s returned %d as expected, but ncclGetLastError is empty", what, static_cast<int>(result));
  }
}

GuardedBuffer::GuardedBuffer(const TypeInfo& type, size_t count)
    : type_(&type), count_(count), bytes_(count * type.size + kGuardBytes, kUnwrittenByte) {
  std::memset(bytes_.data() + count * type.size, kGuardByte, kGuardBytes);
}

void GuardedBuffer::checkGuard(const std::string& what) const {
  countCheck();
  for (size_t i = count_ * type_->size; i < bytes_.size(); ++i) {
    if (bytes_[i] != kGuardByte) {
      reportFailure("%s: wrote past the end of a %zu-element buffer (byte %zu after it is 0x%02x)", what.c_str(),
                    count_, i - count_ * type_->size, bytes_[i]);
      return;
    }
  }
}

std::string describeCall(const char* format, ...) {
  char text[256];
  va_list args;
  va_start(args, format);
  std::vsnprintf(text, sizeof text, format, args);
  va_end(args);
  return text;
}

}  // namespace dropin
