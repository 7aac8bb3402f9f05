// The driver's HTTP status endpoint: /metrics (Prometheus), /api/batches, /api/receivers,
// /api/supervision (JSON) and / (the status page). Serves from its own threads; thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "dataflow/job_metrics.hpp"
#include "dataflow/result.hpp"

namespace rill {
struct SupervisionNode;
}

namespace rill::net {

/// Where the endpoint reads what it serves. Callbacks run on the server's threads, one request
/// at a time each; they must be thread-safe and quick.
struct StatusSources {
  std::shared_ptr<const JobMetrics> metrics;  ///< required
  /// The checkpoint store's size; empty, or returning nullopt, without a store.
  std::function<std::optional<StoreStats>()> store{};
  /// The supervision tree; empty: /api/supervision lists restarts only.
  std::function<SupervisionNode()> supervision{};
};

/// An HTTP server on host:port. httplib stays in the .cpp.
class StatusServer {
 public:
  /// Binds host:port and starts serving; port 0 takes any free port (see port()). Errors name
  /// the address (in use, not local, ...). Never throws.
  static Result<std::unique_ptr<StatusServer>> start(const std::string& host, int port,
                                                     StatusSources sources);
  /// Stops listening and waits for requests in flight.
  ~StatusServer();
  StatusServer(const StatusServer&) = delete;
  StatusServer& operator=(const StatusServer&) = delete;

  /// The port it listens on.
  int port() const;

 private:
  struct Impl;
  explicit StatusServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// The supervision tree as JSON: {"name","kind","restarts","children":[...]}.
std::string supervision_json(const SupervisionNode& root);

}  // namespace rill::net
