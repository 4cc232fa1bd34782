#include "output.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace braidrun {

bool writeAll(int fd, const char* data, std::size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

void report(const std::string& message) {
  std::string line = "braidrun: " + message + "\n";
  writeAll(STDERR_FILENO, line);
}

std::string rankPrefix(int rank, int size) {
  std::size_t width = std::to_string(size > 1 ? size - 1 : 0).size();
  std::string digits = std::to_string(rank);
  if (digits.size() < width) digits.insert(0, width - digits.size(), '0');
  return "[" + digits + "] ";
}

bool LinePrefixer::feed(const char* data, std::size_t n) {
  if (failed_) return false;
  std::string out;
  const char* end = data + n;
  while (data < end) {
    const char* nl = static_cast<const char*>(std::memchr(data, '\n', static_cast<std::size_t>(end - data)));
    if (!nl) {
      pending_.append(data, end);
      if (pending_.size() >= kMaxLine) {
        out += prefix_;
        out += pending_;
        out += '\n';
        pending_.clear();
      }
      break;
    }
    out += prefix_;
    if (!pending_.empty()) {
      out += pending_;
      pending_.clear();
    }
    out.append(data, nl + 1);
    data = nl + 1;
  }
  if (!out.empty() && !writeAll(fd_, out)) failed_ = true;
  return !failed_;
}

bool LinePrefixer::finish() {
  if (pending_.empty() || failed_) return !failed_;
  std::string out = prefix_ + pending_ + "\n";
  pending_.clear();
  if (!writeAll(fd_, out)) failed_ = true;
  return !failed_;
}

DrainResult drainInto(int fd, LinePrefixer& sink, std::size_t budget) {
  char buf[65536];
  while (budget > 0) {
    std::size_t want = budget < sizeof buf ? budget : sizeof buf;
    ssize_t r = ::read(fd, buf, want);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return DrainResult::Open;
      return DrainResult::Closed;
    }
    if (r == 0) return DrainResult::Closed;
    if (!sink.feed(buf, static_cast<std::size_t>(r))) return DrainResult::Closed;
    budget -= static_cast<std::size_t>(r);
  }
  return DrainResult::Open;
}

}  // namespace braidrun
