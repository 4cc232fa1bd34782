// Telling host from device memory without paying for CUDA in a host-memory job.
//
// Why the test is cheap and correct: every CUDA allocation (device, managed, pinned)
// is made by the driver library, libcuda. A process that has not loaded it has no CUDA
// memory, and Braid does not load it: we look at the list of loaded libraries instead
// (dl_iterate_phdr; rescanned only when a library was loaded or unloaded since).
// A process that loaded it but never initialised the driver has no CUDA memory either,
// and the driver's own cuPointerGetAttributes says so (CUDA_ERROR_NOT_INITIALIZED)
// without initialising anything. Otherwise the driver answers from its unified address
// table, with no current context needed and none created. We call that function in
// the library already loaded (dlopen with RTLD_NOLOAD), not through the CUDA runtime:
// the runtime's first call initialises the driver, which a host job must not pay for.
#include "core/cuda/memory_kind.h"

#include <cuda.h>
#include <dlfcn.h>
#include <link.h>

#include <atomic>
#include <cstddef>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>

namespace braid {
namespace {

struct LoadCounts {
  bool known = false;
  unsigned long long adds = 0, subs = 0;
};

std::mutex scanMutex;
std::atomic<bool> driverSeen{false};
LoadCounts scannedAt;     // guarded by scanMutex
std::string driverPath;   // written once, before driverSeen is set

int readCounts(dl_phdr_info* info, std::size_t size, void* out) {
  auto* counts = static_cast<LoadCounts*>(out);
  if (size >= offsetof(dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) {
    counts->known = true;
    counts->adds = info->dlpi_adds;
    counts->subs = info->dlpi_subs;
  }
  return 1;  // the counters are the same in every entry: one is enough
}

int findDriver(dl_phdr_info* info, std::size_t, void* out) {
  const char* name = info->dlpi_name ? info->dlpi_name : "";
  const char* slash = std::strrchr(name, '/');
  const char* base = slash ? slash + 1 : name;
  if (std::strncmp(base, "libcuda.so", 10) != 0) return 0;
  *static_cast<std::string*>(out) = name;
  return 1;
}

using GetAttributesFn = CUresult (*)(unsigned int, CUpointer_attribute*, void**, CUdeviceptr);

GetAttributesFn pointerAttributes() {
  // Our own reference keeps the library loaded for as long as we may call into it.
  static const GetAttributesFn fn = [] {
    void* handle = dlopen(driverPath.c_str(), RTLD_NOLOAD | RTLD_LAZY);
    return handle ? reinterpret_cast<GetAttributesFn>(dlsym(handle, "cuPointerGetAttributes")) : nullptr;
  }();
  return fn;
}

}  // namespace

const char* toString(MemoryKind kind) {
  switch (kind) {
    case MemoryKind::Host: return "pageable host memory";
    case MemoryKind::HostPinned: return "pinned host memory";
    case MemoryKind::Device: return "device memory";
    case MemoryKind::Managed: return "managed memory";
  }
  return "memory of an unknown kind";
}

bool cudaDriverLoaded() {
  if (driverSeen.load(std::memory_order_acquire)) return true;
  LoadCounts now;
  dl_iterate_phdr(readCounts, &now);
  std::lock_guard<std::mutex> lock(scanMutex);
  if (driverSeen.load(std::memory_order_relaxed)) return true;
  if (now.known && scannedAt.known && now.adds == scannedAt.adds && now.subs == scannedAt.subs) return false;
  std::string path;
  dl_iterate_phdr(findDriver, &path);
  if (!path.empty()) {
    driverPath = path;
    driverSeen.store(true, std::memory_order_release);
    return true;
  }
  // The counts read before the scan: a library loaded during it is scanned for next time.
  scannedAt = now;
  return false;
}

PointerInfo inspectPointer(const void* p) {
  if (!p || !cudaDriverLoaded()) return {};
  GetAttributesFn getAttributes = pointerAttributes();
  if (!getAttributes) throw std::runtime_error("the loaded CUDA driver (" + driverPath + ") has no cuPointerGetAttributes");
  CUmemorytype type = static_cast<CUmemorytype>(0);
  unsigned int managed = 0;
  int ordinal = -1;
  CUpointer_attribute attributes[] = {CU_POINTER_ATTRIBUTE_MEMORY_TYPE, CU_POINTER_ATTRIBUTE_IS_MANAGED,
                                      CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL};
  void* values[] = {&type, &managed, &ordinal};
  const CUresult result = getAttributes(3, attributes, values, reinterpret_cast<CUdeviceptr>(p));
  // An uninitialised driver holds no memory; one shutting down at exit no longer does.
  if (result == CUDA_ERROR_NOT_INITIALIZED || result == CUDA_ERROR_DEINITIALIZED) return {};
  if (result != CUDA_SUCCESS)
    throw std::runtime_error("cuPointerGetAttributes failed with CUDA error " + std::to_string(static_cast<int>(result)));
  if (managed) return {MemoryKind::Managed, -1};
  if (type == CU_MEMORYTYPE_DEVICE) return {MemoryKind::Device, ordinal};
  if (type == CU_MEMORYTYPE_HOST) return {MemoryKind::HostPinned, -1};
  return {};
}

}  // namespace braid
