#pragma once
#include <braid/error.h>

#include <string>

namespace braid {

// Throws an error of the same subclass as `kind` (so callers can still catch
// RemoteError, TimeoutError, ...) with a message that adds who and where.
[[noreturn]] void throwError(ErrorKind kind, const std::string& what, ErrorContext ctx);

}  // namespace braid
