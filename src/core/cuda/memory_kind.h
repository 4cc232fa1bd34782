#pragma once
// What kind of memory a caller's pointer is, found without creating a CUDA context or
// even initialising the driver (see memory_kind.cpp for why that is safe).
namespace braid {

enum class MemoryKind {
  Host,        // ordinary (pageable) host memory
  HostPinned,  // host memory allocated or registered with CUDA (page-locked)
  Device,      // memory of one GPU
  Managed,     // CUDA managed (unified) memory
};

const char* toString(MemoryKind kind);  // "pageable host memory", "device memory", ...

struct PointerInfo {
  MemoryKind kind = MemoryKind::Host;
  int device = -1;  // the GPU that holds Device memory; -1 otherwise
};

// True once the CUDA driver library is loaded in this process. Until then no CUDA
// memory can exist, and nothing else here needs asking. Cheap: one look at the list of
// loaded libraries when it changed, a flag otherwise.
bool cudaDriverLoaded();

// Classifies `p`. Host for every pointer while the driver is not loaded or not
// initialised. Throws std::runtime_error with the driver's reason if it cannot answer.
PointerInfo inspectPointer(const void* p);

}  // namespace braid
