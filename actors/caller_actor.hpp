// CallerActor: a caf::scoped_actor for threads the actor system does not own (the user's, a
// signal handler's, the status server's), which leaves no reference to CAF's logger behind.
#pragma once

#include <caf/logger.hpp>
#include <caf/scoped_actor.hpp>

namespace rill::actors {

/// CAF 0.17's scoped_actor pins the system's logger to the calling thread (a thread-local
/// reference), and ~actor_system waits for the logger's destructor: a system destroyed on any
/// other thread than the last one that made a scoped_actor would wait forever. This one drops
/// the reference when it goes.
class CallerActor {
 public:
  explicit CallerActor(caf::actor_system& sys) : self_(sys) {}
  caf::scoped_actor& operator*() { return self_; }
  caf::scoped_actor& operator->() { return self_; }

 private:
  struct LoggerRelease {
    ~LoggerRelease() { caf::logger::set_current_actor_system(nullptr); }
  };
  LoggerRelease release_;  // declared first: runs after self_ is gone
  caf::scoped_actor self_;
};

}  // namespace rill::actors
