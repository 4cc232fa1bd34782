#include "transport/ibverbs/stream.h"

#include <braid/error.h>

#include <algorithm>
#include <cstring>

namespace braid::verbs {

void StreamWriter::push(const void* data, std::size_t bytes, std::uint32_t signature) {
  queue_.push(Out{static_cast<const unsigned char*>(data), bytes, MessageHeader{MessageHeader::kMagic, signature, bytes},
                  0, false});
}

void StreamWriter::pushNotice(const FailureNotice& notice) {
  // A message partly copied must be completed, or the reader would take the notice's
  // header for payload; those not begun are dropped (their run has failed).
  std::size_t keep = !queue_.empty() && queue_.front().headerCopied ? 1 : 0;
  queue_.truncate(keep);
  MessageHeader h{MessageHeader::kNoticeMagic, static_cast<std::uint32_t>(notice.culprit), notice.pack()};
  queue_.push(Out{nullptr, 0, h, 0, false});
}

std::size_t StreamWriter::fill(unsigned char* chunk, std::size_t cap) {
  std::size_t off = 0;
  while (!queue_.empty() && off < cap) {
    Out& m = queue_.front();
    if (!m.headerCopied) {
      std::size_t pos = alignUp(off);
      if (pos + kHeaderBytes > cap) break;  // the header starts the next chunk
      std::memcpy(chunk + pos, &m.header, kHeaderBytes);
      off = pos + kHeaderBytes;
      m.headerCopied = true;
    }
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(m.bytes - m.copied, cap - off));
    if (n > 0) std::memcpy(chunk + off, m.data + m.copied, n);
    off += n;
    m.copied += n;
    if (m.copied < m.bytes) break;  // the chunk is full
    queue_.pop();
    ++finished_;
  }
  return off;
}

void StreamReader::post(const RecvTarget& target, std::uint32_t signature) {
  if (target.combine) {
    std::size_t e = target.elemSize;
    // Chunks split payloads at multiples of kAlign only (see stream.h).
    if (e == 0 || kAlign % e != 0 || target.bytes % e != 0)
      throw Error(ErrorKind::Internal, "ibverbs: combining receive of " + std::to_string(target.bytes) +
                                           " bytes with element size " + std::to_string(e) + " is not supported");
  }
  queue_.push(In{target, signature, 0});
}

void StreamReader::checkHeader(const In& in, const StreamPeer& who) const {
  ErrorContext ctx{who.self, who.peer, who.host, "ibverbs"};
  const std::string peer = "rank " + std::to_string(who.peer) + " (host " + who.host + ")";
  if (header_.magic == MessageHeader::kNoticeMagic) throw PeerNoticeError(FailureNotice::unpack(header_.bytes), ctx);
  if (header_.magic != MessageHeader::kMagic)
    throw CallMismatchError("rank " + std::to_string(who.self) + " received a corrupt message header from " + peer +
                                " over ibverbs",
                            ctx);
  if (header_.signature && in.signature && header_.signature != in.signature)
    throwSignatureMismatch(who.self, who.peer, "host " + who.host, "ibverbs", header_.signature, in.signature);
  if (header_.bytes != in.target.bytes)
    throw CallMismatchError("rank " + std::to_string(who.self) + " expected " + std::to_string(in.target.bytes) +
                                " bytes from " + peer + " over ibverbs but it sent " + std::to_string(header_.bytes) +
                                ": the ranks called collectives with different counts, types or order",
                            ctx);
}

std::size_t StreamReader::consume(const unsigned char* chunk, std::size_t len, std::size_t offset,
                                  const StreamPeer& who) {
  std::size_t off = offset;
  for (;;) {
    if (!haveHeader_) {
      std::size_t pos = alignUp(off);
      if (pos >= len) return len;
      if (pos + kHeaderBytes > len)
        throw RemoteError("rank " + std::to_string(who.self) + ": a chunk from rank " + std::to_string(who.peer) +
                              " (host " + who.host + ") ends inside a message header (corrupt stream)",
                          ErrorContext{who.self, who.peer, who.host, "ibverbs"});
      std::memcpy(&header_, chunk + pos, kHeaderBytes);
      off = pos + kHeaderBytes;
      haveHeader_ = true;
    }
    if (queue_.empty()) return off;  // the header waits for its receive
    In& in = queue_.front();
    if (!inPayload_) {
      checkHeader(in, who);
      inPayload_ = true;
    }
    const RecvTarget& t = in.target;
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(t.bytes - in.got, len - off));
    if (n > 0) {
      unsigned char* dst = static_cast<unsigned char*>(t.dst) + in.got;
      if (t.combine) {
        const void* src = t.src ? static_cast<const unsigned char*>(t.src) + in.got : dst;
        t.combine(dst, src, chunk + off, n / t.elemSize);
      } else {
        std::memcpy(dst, chunk + off, n);
      }
      in.got += n;
      off += n;
    }
    if (in.got < t.bytes) return off;  // the payload goes on in the next chunk
    queue_.pop();
    ++finished_;
    haveHeader_ = inPayload_ = false;
  }
}

std::optional<FailureNotice> StreamReader::waitingNotice() const {
  if (haveHeader_ && !inPayload_ && header_.magic == MessageHeader::kNoticeMagic)
    return FailureNotice::unpack(header_.bytes);
  return std::nullopt;
}

}  // namespace braid::verbs
