// The status endpoint of a started context (ContextOptions::http_port): its metrics listener
// and the HTTP server that reads them and the supervision tree.
#include <spdlog/spdlog.h>

#include "actors/context_runtime.hpp"
#include "persistence/store_stats.hpp"

namespace rill {

std::shared_ptr<JobMetrics> ContextRuntime::status_metrics(const ContextOptions& options, Millis interval) {
  if (options.http_port == 0) return nullptr;
  if (options.http_port < ContextOptions::kAnyFreePort || options.http_port > 65535)
    throw ConfigError("http_port " + std::to_string(options.http_port) +
                      ": must be 1..65535, 0 (off) or -1 (any free port)");
  return std::make_shared<JobMetrics>(interval);
}

void ContextRuntime::start_status_endpoint(const ContextOptions& options) {
  if (!metrics_) return;
  net::StatusSources sources{.metrics = metrics_};
  if (job.store)
    sources.store = [store = job.store]() -> std::optional<StoreStats> {
      auto stats = persistence::store_stats(store->env());
      if (!stats) return std::nullopt;
      return *stats;
    };
  sources.supervision = [this] { return tree(); };
  int port = options.http_port == ContextOptions::kAnyFreePort ? 0 : options.http_port;
  auto server = net::StatusServer::start(options.http_host, port, std::move(sources));
  if (!server) {
    shutdown();  // the actors are up: stop them before the constructor throws
    throw ConfigError("http_port: " + server.status().to_string());
  }
  spdlog::info("{}: status page at http://{}:{}/ (metrics at /metrics)", options.app_name, options.http_host,
               (*server)->port());
  std::lock_guard lock(status_mu_);
  status_server_ = std::move(*server);
}

void ContextRuntime::stop_status_endpoint() {
  std::unique_ptr<net::StatusServer> server;
  {
    std::lock_guard lock(status_mu_);
    server = std::move(status_server_);
  }
  server.reset();  // joins its threads, outside the lock
}

int ContextRuntime::http_port() {
  std::lock_guard lock(status_mu_);
  return status_server_ ? status_server_->port() : 0;
}

int StreamingContext::http_port() const { return runtime_ ? runtime_->http_port() : 0; }

}  // namespace rill
