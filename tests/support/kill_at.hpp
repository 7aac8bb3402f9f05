// Test support: a FaultInjector that kills the actors whose supervision-tree names start with a
// prefix, once, at one phase of one batch.
#pragma once

#include <atomic>
#include <span>
#include <string>
#include <vector>

#include "dataflow/fault_injector.hpp"

namespace rill::test {

class KillAt final : public FaultInjector {
 public:
  KillAt(std::string prefix, Millis at, FaultPhase phase)
      : prefix_(std::move(prefix)), at_(at), phase_(phase) {}
  std::vector<std::string> kills(Millis t, FaultPhase phase,
                                 std::span<const ActorRef> actors) override {
    std::vector<std::string> out;
    if (t != at_ || phase != phase_ || done_.exchange(true)) return out;
    for (const ActorRef& a : actors)
      if (a.name.rfind(prefix_, 0) == 0) out.push_back(a.name);
    return out;
  }
  bool fail_task(const std::string&, Millis) override { return false; }
  Millis delay_task(const std::string&, Millis) override { return Millis{0}; }
  Millis pause_stage(const std::string&, Millis) override { return Millis{0}; }

 private:
  std::string prefix_;
  Millis at_;
  FaultPhase phase_;
  std::atomic<bool> done_{false};
};

}  // namespace rill::test
