// The replication frames: a node's store commits to its replica peer, the peer's answers, and
// the whole copy handed back to a node that lost its store. Plain values; any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "net/frame.hpp"

namespace rill::net {

/// One put, delete or clear of a store, as persistence::WriteBatch::Op (kind and db by
/// number: net/ does not depend on persistence/; actors/ converts).
struct StoreOp {
  uint8_t kind = 0;  ///< 0 put, 1 put_new, 2 del, 3 clear
  uint8_t db = 0;    ///< 0 meta, 1 wal, 2 state, 3 markers
  std::string key;
  std::string value;
};
inline constexpr uint8_t kStoreOpKinds = 4;
inline constexpr uint8_t kStoreDbs = 4;

/// A store commit, or the whole of a store when reset.
struct StoreCopy {
  uint64_t incarnation = 0;
  uint64_t seq = 0;
  bool reset = false;
  bool more = false;  ///< the whole store continues in the next commit
  std::vector<StoreOp> ops;
};

/// What a node asks its replica peer: apply a commit, or (restore) send back the copy.
struct ReplicaRequest {
  bool restore = false;
  std::shared_ptr<const StoreCopy> commit;  ///< when not restore; shared: resent until answered
};

/// The peer's answer.
struct ReplicaReply {
  enum class Outcome : uint8_t { applied, gap, failed };
  uint64_t seq = 0;  ///< the commit answered
  Outcome outcome = Outcome::applied;
  std::string error;   ///< failed, or a restore that could not read the copy
  bool found = false;  ///< restore: the peer holds a copy (in contents)
  StoreCopy contents;
};

Frame encode_replicate(uint64_t session, uint64_t id, const StoreCopy& commit);
Frame encode_replicated(uint64_t session, uint64_t id, const ReplicaReply& ack);
Frame encode_restore(uint64_t session, uint64_t id);
/// reply.found says whether reply.contents is the copy; reply.error why there is none.
Frame encode_restored(uint64_t session, uint64_t id, const ReplicaReply& reply);

}  // namespace rill::net
