// What a replicated store sends its peer: every commit, in order, numbered, and the whole store
// when the peer must start over. The network side (actors/, net/) implements ReplicaChannel.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "dataflow/result.hpp"
#include "persistence/store_writer.hpp"

namespace rill::persistence {

/// One commit of a store, as its replica applies it.
struct ReplicaCommit {
  /// The writer's random number for this process's life: a commit numbered after another
  /// incarnation's cannot be applied on top of it.
  uint64_t incarnation = 0;
  uint64_t seq = 0;    ///< 1, 2, ... within the incarnation
  bool reset = false;  ///< ops are the whole store: the replica clears every database first
  /// The whole store continues in the next commit: a large store travels in pieces (each
  /// within a frame's limit), and the copy counts as whole only after the last.
  bool more = false;
  std::vector<WriteBatch::Op> ops;  ///< values sealed, as stored; put_new travels as put
};

/// What the replica says about a commit.
struct ReplicaAck {
  enum class Outcome : uint8_t {
    applied,  ///< durable on the replica (also said again for a commit it already holds)
    gap,      ///< it does not hold the commits before this one: send the whole store
    failed,   ///< it could not store the commit (error says why: a full disk, ...)
  };
  uint64_t seq = 0;
  Outcome outcome = Outcome::applied;
  std::string error;
};

/// Carries a store's commits to its replica. ship() is called from the store's writer thread
/// in seq order; `done` may be called from any thread, once, when the replica holds the commit
/// (or cannot). Implementations resend across reconnects until then.
class ReplicaChannel {
 public:
  virtual ~ReplicaChannel() = default;
  virtual void ship(ReplicaCommit commit, std::function<void(Status)> done) = 0;
};

}  // namespace rill::persistence
