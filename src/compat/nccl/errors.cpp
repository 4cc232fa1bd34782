// Result codes, their texts, and the per-thread last error. Also ncclGetVersion and
// ncclResetDebugInit, the two calls that need no communicator.
#include "compat/nccl/errors.h"

#include "core/env.h"
#include "core/log.h"

#include <new>

namespace braid::nccl {
namespace {

// NCCL keeps the last error per thread, and so does Braid: a message from one thread's
// failed call never replaces another thread's.
thread_local std::string tLastError;

}  // namespace

ncclResult_t toResult(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::InvalidArgument: return ncclInvalidArgument;
    case ErrorKind::InvalidUsage:
    case ErrorKind::Unsupported:
    case ErrorKind::Aborted: return ncclInvalidUsage;
    case ErrorKind::System: return ncclSystemError;
    case ErrorKind::Remote:
    case ErrorKind::Timeout: return ncclRemoteError;
    case ErrorKind::Internal: return ncclInternalError;
  }
  return ncclInternalError;
}

const std::string& lastError() { return tLastError; }
void setLastError(const std::string& text) { tLastError = text; }

ncclResult_t classifyCurrentException(std::string& what) {
  try {
    throw;
  } catch (const ApiError& e) {
    what = e.what();
    return e.code();
  } catch (const Error& e) {
    what = e.what();
    return toResult(e.kind());
  } catch (const std::bad_alloc&) {
    what = "out of host memory";
    return ncclSystemError;
  } catch (const std::exception& e) {
    what = std::string("unexpected error: ") + e.what();
  } catch (...) {
    what = "unexpected error of unknown type";
  }
  return ncclInternalError;
}

ncclResult_t recordCurrentException(const char* function) noexcept {
  std::string what;
  ncclResult_t code = ncclInternalError;
  try {
    code = classifyCurrentException(what);
    tLastError = std::string(function) + ": " + what;
    // Callers see the code and ncclGetLastError(); the log is for NCCL_DEBUG=INFO runs.
    BRAID_INFO(tLastError);
  } catch (...) {
    // Out of memory while describing the error: the code alone still says enough.
  }
  return code;
}

}  // namespace braid::nccl

using namespace braid::nccl;

const char* ncclGetErrorString(ncclResult_t result) {
  switch (rawValue(result)) {
    case ncclSuccess: return "no error";
    case ncclUnhandledCudaError: return "a CUDA call failed (ncclGetLastError says which)";
    case ncclSystemError: return "a system call failed (ncclGetLastError says which)";
    case ncclInternalError: return "internal error in Braid (please report it with ncclGetLastError's text)";
    case ncclInvalidArgument: return "invalid argument (ncclGetLastError names it)";
    case ncclInvalidUsage: return "invalid or unsupported usage (ncclGetLastError says why)";
    case ncclRemoteError: return "a peer failed, exited or could not be reached";
    case ncclInProgress: return "operation in progress";
    default: return "unknown result code";
  }
}
BRAID_NCCL_TWIN(ncclGetErrorString)

// NCCL ignores the communicator here too: the text is the calling thread's.
const char* ncclGetLastError(ncclComm_t) { return tLastError.c_str(); }
BRAID_NCCL_TWIN(ncclGetLastError)

ncclResult_t ncclGetVersion(int* version) {
  return guarded("ncclGetVersion", [&] {
    if (!version) fail(ncclInvalidArgument, "argument 'version' is NULL");
    *version = NCCL_VERSION_CODE;
    return ncclSuccess;
  });
}
BRAID_NCCL_TWIN(ncclGetVersion)

// Re-reads the settings (NCCL_DEBUG among them) for communicators made afterwards,
// which refuse a value that does not parse; ncclGetLastError says so at once.
void ncclResetDebugInit() {
  braid::Env::reload();
  if (!braid::Env::get().problems().empty())
    setLastError("ncclResetDebugInit: " + braid::Env::get().problems().front() +
                 " (communicators made from now on refuse it)");
}
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
BRAID_NCCL_TWIN(ncclResetDebugInit)
#pragma GCC diagnostic pop
