#include "net/status_server.hpp"

#include <cstdlib>
#include <thread>

#include <httplib.h>

#include "dataflow/json_text.hpp"
#include "dataflow/streaming_context.hpp"
#include "net/status_page.hpp"

namespace rill::net {

namespace {

// Few threads: the endpoint serves a person's browser and a scraper, not traffic. Keep-alive
// is short so an idle browser tab does not hold a thread for long.
constexpr int kThreads = 3;
constexpr int kKeepAliveSeconds = 2;
constexpr std::size_t kDefaultBatches = 100;

void no_store(httplib::Response& res) { res.set_header("Cache-Control", "no-store"); }

}  // namespace

std::string supervision_json(const SupervisionNode& n) {
  std::string s = "{\"name\":" + json_quote(n.name) + ",\"kind\":" + json_quote(n.kind) +
                  ",\"restarts\":" + std::to_string(n.restarts) + ",\"children\":[";
  for (std::size_t i = 0; i < n.children.size(); ++i)
    s += (i ? "," : "") + supervision_json(n.children[i]);
  return s + "]}";
}

struct StatusServer::Impl {
  StatusSources sources;
  httplib::Server server;
  std::thread thread;
  int port = 0;

  void routes() {
    server.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      std::optional<StoreStats> store;
      if (sources.store) store = sources.store();
      res.set_content(sources.metrics->prometheus_text(store),
                      "text/plain; version=0.0.4; charset=utf-8");
      no_store(res);
    });
    server.Get("/api/batches", [this](const httplib::Request& req, httplib::Response& res) {
      std::size_t last = kDefaultBatches;
      if (req.has_param("last"))
        last = std::strtoull(req.get_param_value("last").c_str(), nullptr, 10);
      res.set_content(sources.metrics->batches_json(last), "application/json");
      no_store(res);
    });
    server.Get("/api/receivers", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(sources.metrics->receivers_json(), "application/json");
      no_store(res);
    });
    server.Get("/api/supervision", [this](const httplib::Request&, httplib::Response& res) {
      std::string tree = "null";
      if (sources.supervision) {
        SupervisionNode root = sources.supervision();
        if (!root.name.empty()) tree = supervision_json(root);
      }
      res.set_content(
          "{\"tree\":" + tree + ",\"restarts\":" + sources.metrics->restarts_json() + "}",
          "application/json");
      no_store(res);
    });
    server.Get("/", [](const httplib::Request&, httplib::Response& res) {
      std::string_view page = status_page_html();
      res.set_content(page.data(), page.size(), "text/html; charset=utf-8");
      no_store(res);
    });
  }
};

StatusServer::StatusServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<StatusServer>> StatusServer::start(const std::string& host, int port,
                                                          StatusSources sources) {
  if (!sources.metrics) return Status(Errc::invalid_argument, "status endpoint: no metrics");
  if (port < 0 || port > 65535)
    return Status(Errc::invalid_argument,
                  "status endpoint: port " + std::to_string(port) + " is not 0..65535");
  auto impl = std::make_unique<Impl>();
  impl->sources = std::move(sources);
  // httplib owns the queue it gets (its API takes a raw pointer).
  impl->server.new_task_queue = [] { return new httplib::ThreadPool(kThreads); };
  // httplib's default adds SO_REUSEPORT, which lets a second job bind the same port and share
  // its requests: only SO_REUSEADDR (a restart may rebind while old connections linger).
  impl->server.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  impl->server.set_keep_alive_timeout(kKeepAliveSeconds);
  impl->routes();
  if (port == 0) {
    impl->port = impl->server.bind_to_any_port(host);
    if (impl->port < 0) impl->port = 0;
  } else if (impl->server.bind_to_port(host, port)) {
    impl->port = port;
  }
  if (impl->port == 0)
    return Status(Errc::io_error, "status endpoint: cannot listen on " + host + ":" +
                                      std::to_string(port) +
                                      " (port in use, or not an address of this machine)");
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->server.listen_after_bind(); });
  return std::unique_ptr<StatusServer>(new StatusServer(std::move(impl)));
}

StatusServer::~StatusServer() {
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

int StatusServer::port() const { return impl_->port; }

}  // namespace rill::net
