#include <braid/error.h>

namespace braid {

Error::Error(ErrorKind kind, const std::string& what, ErrorContext ctx)
    : std::runtime_error(what), kind_(kind), ctx_(std::move(ctx)) {}

}  // namespace braid

#include "core/rethrow.h"

namespace braid {

void throwError(ErrorKind kind, const std::string& what, ErrorContext ctx) {
  switch (kind) {
    case ErrorKind::InvalidArgument: throw InvalidArgument(what, std::move(ctx));
    case ErrorKind::InvalidUsage: throw InvalidUsage(what, std::move(ctx));
    case ErrorKind::System: throw SystemError(what, std::move(ctx));
    case ErrorKind::Remote: throw RemoteError(what, std::move(ctx));
    case ErrorKind::Timeout: throw TimeoutError(what, std::move(ctx));
    case ErrorKind::Unsupported: throw UnsupportedError(what, std::move(ctx));
    case ErrorKind::Aborted: throw AbortedError(what, std::move(ctx));
    case ErrorKind::Internal: break;
  }
  throw Error(kind, what, std::move(ctx));
}

}  // namespace braid
