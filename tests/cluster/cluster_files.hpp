// Test support for the cluster suite: a temporary directory, files written into it, and the
// pieces of cluster configs the tests combine. One test's own.
#pragma once

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>

namespace rill::test {

/// A directory under /tmp, removed with everything in it at scope end.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/rill_cluster_XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  /// RILL_KEEP_TMP=1 keeps it, logs and stores, for a failure's post-mortem.
  ~TempDir() {
    if (std::getenv("RILL_KEEP_TMP") == nullptr) std::filesystem::remove_all(path);
  }
  /// Writes text to name inside the directory; returns the file's path.
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name, std::ios::binary) << text;
    return (path / name).string();
  }
};

/// Lines 1-3 of a config: name, batch interval, secret.
inline const std::string kConfigHead =
    "name = \"test\"\n"
    "batch_interval = \"1s\"\n"
    "secret = \"test-secret\"\n";

/// A [[node]] table of five lines (header, name, host, port, role; values at column 8), then
/// `extra` lines.
inline std::string node_table(const std::string& name, int port, const std::string& role,
                              const std::string& extra = "") {
  return "[[node]]\nname = \"" + name + "\"\nhost = \"127.0.0.1\"\nport = " + std::to_string(port) +
         "\nrole = \"" + role + "\"\n" + extra;
}

// A CA and a node certificate it signed (one for every node: the CA is what peers check), made
// with the openssl tool; `prefix` names the files. Returns the [tls] table that uses them.
inline std::string make_tls_files(const std::filesystem::path& dir, const std::string& prefix) {
  auto p = [&](const std::string& f) { return (dir / (prefix + f)).string(); };
  const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  const std::string commands =
      "openssl req -x509" + ec + " -keyout " + p("ca.key") + " -out " + p("ca.pem") +
      " -days 2 -subj /CN=" + prefix + "ca && openssl req" + ec + " -keyout " + p("node.key") +
      " -out " + p("node.csr") + " -subj /CN=" + prefix + "node && openssl x509 -req -in " +
      p("node.csr") + " -CA " + p("ca.pem") + " -CAkey " + p("ca.key") +
      " -CAcreateserial -days 2 -out " + p("node.pem") + " 2>/dev/null >/dev/null";
  REQUIRE(std::system(commands.c_str()) == 0);
  return "[tls]\nenabled = true\ncert = \"" + prefix + "node.pem\"\nkey = \"" + prefix +
         "node.key\"\nca = \"" + prefix + "ca.pem\"\n";
}

}  // namespace rill::test
