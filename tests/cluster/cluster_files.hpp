// Test support for the cluster suite: a temporary directory, files written into it, and the
// pieces of cluster configs the tests combine. One test's own.
#pragma once

#include <stdlib.h>

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

}  // namespace rill::test
