// The ibverbs data path without a device: messages cut into chunks (stream.h) pass
// through slot rings governed by credits (credit_window.h) exactly as a connection
// moves them, with the "NIC" being a memcpy into the receiver's ring. A chunk that
// overwrote an unread slot, a lost or reordered chunk, or a misread layout shows up as
// a wrong byte or a thrown protocol error.
#include "reduce/reduce.h"
#include "transport/ibverbs/credit_window.h"
#include "transport/ibverbs/stream.h"

#include <braid/error.h>

#include <gtest/gtest.h>

#include <cstring>
#include <deque>
#include <random>
#include <vector>

namespace braid::verbs {
namespace {

std::vector<unsigned char> pattern(std::size_t n, std::uint32_t seed) {
  std::vector<unsigned char> v(n);
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& b : v) x = x * 1103515245u + 12345u, b = static_cast<unsigned char>(x >> 16);
  return v;
}

const StreamPeer kPeer{0, 1, "hostB"};

TEST(IbCreditWindow, SenderStopsAtTheReceiversSlots) {
  SendWindow w(4);
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(w.canPost());
    EXPECT_EQ(w.nextSlot(), static_cast<std::uint32_t>(i));
    w.posted();
  }
  EXPECT_FALSE(w.canPost()) << "4 unacknowledged chunks fill a 4-slot ring";
  for (int i = 0; i < 4; ++i) w.completed();
  EXPECT_FALSE(w.canPost()) << "locally complete is not consumed by the peer";
  w.credited(1);
  EXPECT_TRUE(w.canPost());
  EXPECT_EQ(w.nextSlot(), 0u) << "slots are reused in order";
  EXPECT_THROW(w.credited(4), RemoteError) << "more credits than chunks outstanding";
}

TEST(IbCreditWindow, StagingSlotWaitsForItsWriteToComplete) {
  SendWindow w(2);
  w.posted();
  w.posted();
  w.credited(2);  // the peer already read both (credits can overtake completions)
  EXPECT_FALSE(w.canPost()) << "the NIC may still be reading the staging slot";
  w.completed();
  EXPECT_TRUE(w.canPost());
  EXPECT_THROW((w.completed(), w.completed()), Error);
}

TEST(IbCreditWindow, ReceiverRejectsOverrunAndBatchesCredits) {
  RecvWindow r(3);
  EXPECT_EQ(r.arrived(), 0u);
  EXPECT_EQ(r.arrived(), 1u);
  EXPECT_EQ(r.arrived(), 2u);
  EXPECT_THROW(r.arrived(), RemoteError) << "a fourth chunk would overwrite an unread slot";
  EXPECT_EQ(r.frontSlot(), 0u);
  r.consumed();
  r.consumed();
  EXPECT_EQ(r.takeCredits(), 2u);
  EXPECT_EQ(r.takeCredits(), 0u);
  EXPECT_EQ(r.arrived(), 0u);
}

// What a timeout report quotes (VerbsConnection::wireState): a chunk written and
// completed by the sender but never arrived reads differently from one arrived unread.
TEST(IbCreditWindow, DescribeCountsWhereTheChunksStand) {
  SendWindow s(4);
  s.posted(), s.posted(), s.posted();
  s.completed();
  s.credited(1);
  EXPECT_EQ(s.describe(), "3 chunks written, 1 completed, 1 credited");
  RecvWindow r(4);
  r.arrived(), r.arrived();
  r.consumed();
  EXPECT_EQ(r.describe(), "2 chunks arrived, 1 read, 1 credits not yet returned");
}

// Two ends of one direction of a connection with K lanes of `slots` x `slotBytes`.
struct Pipe {
  struct Lane {
    SendWindow send;
    RecvWindow recv;
    std::vector<unsigned char> ring;
    std::vector<std::size_t> len;
    std::deque<std::uint64_t> inFlight;  // writes posted, not yet "completed"
    std::size_t readOffset = 0;
    Lane(std::uint32_t slots, std::size_t slotBytes)
        : send(slots), recv(slots), ring(slots * slotBytes), len(slots) {}
  };
  std::size_t slotBytes;
  std::vector<Lane> lanes;
  std::vector<unsigned char> stage;
  std::uint64_t sendChunk = 0, recvChunk = 0;
  StreamWriter writer;
  StreamReader reader;
  std::mt19937 rng{7};

  Pipe(int k, std::uint32_t slots, std::size_t slotBytes_) : slotBytes(slotBytes_), stage(slotBytes_) {
    for (int j = 0; j < k; ++j) lanes.emplace_back(slots, slotBytes);
  }
  // Sender side: fill and "write" chunks while credits allow; completions land at random.
  void send() {
    for (;;) {
      Lane& l = lanes[sendChunk % lanes.size()];
      if (rng() % 3 == 0 && !l.inFlight.empty()) l.inFlight.pop_front(), l.send.completed();
      if (!writer.pending() || !l.send.canPost()) return;
      std::size_t n = writer.fill(stage.data(), slotBytes);
      ASSERT_GT(n, 0u);
      std::uint32_t slot = l.send.nextSlot();
      l.send.posted();
      l.inFlight.push_back(slot);
      // The remote side's arrival: RecvWindow checks that no unread slot is overwritten.
      std::uint32_t landed = l.recv.arrived();
      ASSERT_EQ(landed, slot);
      std::memcpy(l.ring.data() + slot * slotBytes, stage.data(), n);
      l.len[slot] = n;
      ++sendChunk;
    }
  }
  // Receiver side: read chunks in stream order, return credits.
  void receive() {
    reader.settle(kPeer);
    for (;;) {
      Lane& l = lanes[recvChunk % lanes.size()];
      if (!l.recv.hasChunk()) break;
      std::uint32_t slot = l.recv.frontSlot();
      std::size_t off = reader.consume(l.ring.data() + slot * slotBytes, l.len[slot], l.readOffset, kPeer);
      l.readOffset = off;
      if (off < l.len[slot]) break;
      l.readOffset = 0;
      l.recv.consumed();
      ++recvChunk;
    }
    for (Lane& l : lanes) {
      while (!l.inFlight.empty()) l.inFlight.pop_front(), l.send.completed();
      l.send.credited(l.recv.takeCredits());
    }
  }
};

TEST(IbStream, ManySizesOverSeveralLanesArriveExactAndInOrder) {
  for (int k : {1, 2, 3}) {
    Pipe pipe(k, 4, 256);
    std::vector<std::size_t> sizes = {0, 1, 15, 16, 17, 200, 240, 241, 256, 1000, 4096, 0, 3};
    std::vector<std::vector<unsigned char>> in, out;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      in.push_back(pattern(sizes[i], static_cast<std::uint32_t>(i + 100 * k)));
      out.emplace_back(sizes[i], 0xee);
    }
    std::size_t posted = 0;
    for (int round = 0; round < 10000 && pipe.reader.finished() < sizes.size(); ++round) {
      // Sends all queued at once; receives posted one per round, so chunks wait for them.
      if (round == 0)
        for (auto& v : in) pipe.writer.push(v.data(), v.size(), 42);
      if (posted < sizes.size()) {
        pipe.reader.post(RecvTarget{out[posted].data(), out[posted].size()}, 42);
        ++posted;
      }
      pipe.send();
      pipe.receive();
    }
    ASSERT_EQ(pipe.reader.finished(), sizes.size()) << "lanes " << k;
    EXPECT_EQ(pipe.writer.finished(), sizes.size());
    for (std::size_t i = 0; i < sizes.size(); ++i) EXPECT_EQ(out[i], in[i]) << "message " << i << ", lanes " << k;
  }
}

TEST(IbStream, CombiningReceiveSeesWholeAlignedElements) {
  Pipe pipe(2, 3, 128);
  const std::size_t n = 1000;  // floats spanning many chunks
  std::vector<float> a(n), b(n), out(n, -1);
  for (std::size_t i = 0; i < n; ++i) a[i] = static_cast<float>(i), b[i] = static_cast<float>(3 * i + 1);
  std::vector<unsigned char> small = pattern(5, 1);  // misaligns what follows it in the stream
  std::vector<unsigned char> smallOut(5);
  pipe.writer.push(small.data(), small.size(), 0);
  pipe.writer.push(b.data(), n * sizeof(float), 0);
  pipe.reader.post(RecvTarget{smallOut.data(), 5}, 0);
  RecvTarget t{out.data(), n * sizeof(float), a.data(), reduce::binary(DataType::Float32, ReduceOp::Sum), sizeof(float)};
  pipe.reader.post(t, 0);
  for (int round = 0; round < 1000 && pipe.reader.finished() < 2; ++round) pipe.send(), pipe.receive();
  ASSERT_EQ(pipe.reader.finished(), 2u);
  EXPECT_EQ(smallOut, small);
  for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(out[i], a[i] + b[i]) << "element " << i;
}

TEST(IbStream, SizeOrSignatureMismatchNamesThePeer) {
  Pipe pipe(1, 2, 128);
  std::vector<unsigned char> msg(40, 1), out(41);
  pipe.writer.push(msg.data(), msg.size(), 7);
  pipe.reader.post(RecvTarget{out.data(), out.size()}, 7);
  pipe.send();
  try {
    pipe.receive();
    ADD_FAILURE() << "a 40-byte message was taken for 41 bytes";
  } catch (const CallMismatchError& e) {
    EXPECT_NE(std::string(e.what()).find("rank 1 (host hostB)"), std::string::npos) << e.what();
  }
  Pipe other(1, 2, 128);
  other.writer.push(msg.data(), msg.size(), 7);
  other.reader.post(RecvTarget{out.data(), msg.size()}, 9);
  other.send();
  EXPECT_THROW(other.receive(), CallMismatchError);
}

TEST(IbStream, NoticeReplacesUnstartedMessagesAndIsSeenWithoutAReceive) {
  Pipe pipe(1, 2, 64);
  std::vector<unsigned char> big = pattern(300, 3), other = pattern(10, 4);
  pipe.writer.push(big.data(), big.size(), 0);
  pipe.writer.push(other.data(), other.size(), 0);
  // Only two 64-byte slots: the first message is under way when the sender gives up.
  pipe.send();
  ASSERT_EQ(pipe.writer.finished(), 0u);
  pipe.writer.pushNotice(FailureNotice{FailureNotice::Kind::PeerGone, 5});
  EXPECT_EQ(pipe.writer.queued(), 2u) << "the started message stays, the unstarted one is dropped";
  std::vector<unsigned char> out(300);
  pipe.reader.post(RecvTarget{out.data(), out.size()}, 0);
  for (int round = 0; round < 100 && pipe.reader.finished() < 1; ++round) pipe.send(), pipe.receive();
  ASSERT_EQ(pipe.reader.finished(), 1u);
  EXPECT_EQ(out, big);
  for (int round = 0; round < 100 && pipe.writer.pending(); ++round) pipe.send(), pipe.receive();
  auto notice = pipe.reader.waitingNotice();
  ASSERT_TRUE(notice.has_value()) << "the notice's header is read with no receive posted";
  EXPECT_EQ(notice->culprit, 5);
  pipe.reader.post(RecvTarget{out.data(), 10}, 0);
  try {
    pipe.receive();
    ADD_FAILURE() << "a receive took a notice for a message";
  } catch (const PeerNoticeError& e) {
    EXPECT_EQ(e.notice.culprit, 5);
  }
}

TEST(IbStream, ChunksNeverSplitAHeader) {
  StreamWriter w;
  std::vector<unsigned char> a(40), b(8);
  w.push(a.data(), a.size(), 0);  // header 0-16, payload 16-56
  w.push(b.data(), b.size(), 0);  // next header would start at 64: past a 64-byte chunk
  std::vector<unsigned char> chunk(64);
  EXPECT_EQ(w.fill(chunk.data(), 64), 56u);
  EXPECT_EQ(w.finished(), 1u);
  EXPECT_EQ(w.fill(chunk.data(), 64), 24u) << "the second message starts the next chunk";
  EXPECT_EQ(w.fill(chunk.data(), 64), 0u);
}

}  // namespace
}  // namespace braid::verbs
