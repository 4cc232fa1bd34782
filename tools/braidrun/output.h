#pragma once
// Output helpers: whole-line prefixing of a rank's output for --prefix, and writes
// that never split a message (braidrun is the only writer, from one thread).
#include <cstddef>
#include <string>

namespace braidrun {

// Writes everything, retrying short writes and EINTR. False on error (e.g. EPIPE).
bool writeAll(int fd, const char* data, std::size_t n);
inline bool writeAll(int fd, const std::string& s) { return writeAll(fd, s.data(), s.size()); }

// Prints "braidrun: <message>\n" to stderr in one write.
void report(const std::string& message);

// "[3] " for rank 3 of 4, "[03] " for rank 3 of 11: zero-padded to the width of size-1.
std::string rankPrefix(int rank, int size);

// Splits one stream of a rank (its stdout or stderr pipe) into lines and writes each
// complete line, prefixed, to `outFd`. Lines are written only whole, so lines of
// different ranks never interleave. A line longer than kMaxLine is cut (with a
// newline) so that memory stays bounded.
class LinePrefixer {
 public:
  static constexpr std::size_t kMaxLine = 1 << 20;
  LinePrefixer(std::string prefix, int outFd) : prefix_(std::move(prefix)), fd_(outFd) {}
  // Takes bytes read from the pipe; false once writing to outFd has failed.
  bool feed(const char* data, std::size_t n);
  // Writes a last line that had no newline (adding one).
  bool finish();

 private:
  std::string prefix_, pending_;
  int fd_;
  bool failed_ = false;
};

enum class DrainResult { Open, Closed };

// Reads what `fd` (non-blocking) has, up to `budget` bytes, into `sink`. Closed on
// end of file, a read error, or when the sink can no longer write (the caller then
// closes fd, so the child sees EPIPE as it would writing to a closed pipe).
DrainResult drainInto(int fd, LinePrefixer& sink, std::size_t budget);

}  // namespace braidrun
