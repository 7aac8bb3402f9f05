// Receiver actor: owns a receiver slot's lifecycle on a detached thread (under the deterministic
// scheduler, on the pump thread), because on_start and on_stop may block. A restart (requested
// or by the supervisor) stops the old instance first.
#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/type_ids.hpp"
#include "actors/workers.hpp"
#include "dataflow/receiver.hpp"

namespace rill::actors {

namespace {

caf::behavior receiver_actor(caf::event_based_actor* self, Job* job, ReceiverSlot* slot) {
  // Weak: a strong handle held by the slot would keep this detached actor (and its thread,
  // which the actor system joins at shutdown) alive forever.
  caf::actor_addr me = self->address();
  slot->set_handlers(
      // On the receiver's own thread. Under the deterministic scheduler the request is posted
      // to the pump, never awaited: the pump may be joining this very thread in slot->stop().
      [me, slot, pump = job->pump](std::string reason) {
        auto request = [me, slot, reason = std::move(reason)] {
          if (auto strong = caf::actor_cast<caf::actor>(me))
            caf::anon_send(strong, restart_atom::value, reason);
          else
            slot->restart_done();
        };
        if (!pump)
          request();
        else if (!pump->post(request))
          slot->restart_done();  // the job has stopped: nothing to restart
      },
      [job, slot](std::string message) { job->status->receiver_error(slot->name(), message, job->clock->now()); });
  // A killed predecessor could not stop its instance: start() stops it before starting anew.
  slot->start();
  spdlog::info("receiver {} started (generation {})", slot->name(), slot->generation());
  job->status->receiver_started(slot->name());
  self->attach_functor([job, slot](const caf::error&) {
    slot->stop();
    job->status->receiver_stopped(slot->name());
  });
  return {
      [job, slot](restart_atom, const std::string& reason) {
        spdlog::warn("receiver {} restarting: {}", slot->name(), reason);
        slot->start();
        job->status->receiver_stopped(slot->name());
        job->status->receiver_started(slot->name());
        slot->restart_done();
      },
      [job, slot](stop_atom, bool) -> bool {
        slot->stop();
        job->status->receiver_stopped(slot->name());
        return true;
      },
  };
}

}  // namespace

caf::actor spawn_receiver(caf::local_actor& parent, Job& job, ReceiverSlot& slot) {
  // Under the deterministic scheduler a detached actor's thread would send to the others at
  // moments the seed does not fix; on the pump thread, its blocking start and stop only stall
  // the other actors, which changes no order.
  if (job.pump) return parent.spawn(receiver_actor, &job, &slot);
  return parent.spawn<caf::detached>(receiver_actor, &job, &slot);
}

}  // namespace rill::actors
