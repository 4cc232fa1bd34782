#pragma once
// Runs `size` ranks as threads of this process, each with its own Communicator made
// from one UniqueId, and collects what each rank threw.
#include <braid/braid.h>

#include <exception>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace braid::testing {

struct RankOutcome {
  std::exception_ptr error;
  std::string message() const {
    if (!error) return "";
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      return e.what();
    }
  }
  template <class E>
  bool threw() const {
    if (!error) return false;
    try {
      std::rethrow_exception(error);
    } catch (const E&) {
      return true;
    } catch (...) {
      return false;
    }
  }
};

inline std::vector<RankOutcome> runRanks(int size, const std::function<void(Communicator&)>& body,
                                         const UniqueId& id = UniqueId::create()) {
  std::vector<RankOutcome> out(static_cast<std::size_t>(size));
  std::vector<std::thread> threads;
  for (int r = 0; r < size; ++r)
    threads.emplace_back([&, r] {
      try {
        Communicator comm(id, r, size);
        body(comm);
      } catch (...) {
        out[static_cast<std::size_t>(r)].error = std::current_exception();
      }
    });
  for (auto& t : threads) t.join();
  return out;
}

}  // namespace braid::testing
