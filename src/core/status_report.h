#pragma once
// The text a TimeoutError carries after the executor's own account (which peers still
// owe this rank bytes): what every other rank said it was doing when asked, measured
// against the call that timed out here. Ranks in the same state share a line, so a
// large job reads as a few lines: who never arrived, who is elsewhere, who is waiting.
#include "core/call_record.h"
#include "core/status_board.h"

#include <string>
#include <vector>

namespace braid {

// `current` is the collective that timed out here, or null for send/recv (no sequence
// to compare against). `hosts` is indexed by rank.
std::string statusReport(int self, const CallDesc* current, const std::vector<StatusBoard::Answer>& answers,
                         const std::vector<std::string>& hosts, int askedMs);

}  // namespace braid
