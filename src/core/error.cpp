#include <braid/error.h>

namespace braid {

Error::Error(ErrorKind kind, const std::string& what, ErrorContext ctx)
    : std::runtime_error(what), kind_(kind), ctx_(std::move(ctx)) {}

}  // namespace braid
