// The [tls] files checked before a node goes on the network: caf-openssl would otherwise fail
// deep in its I/O thread, on the first connection, with no word of which file was wrong.
#pragma once

#include <string>

#include "net/cluster_config.hpp"

namespace rill::net {

/// Why `tls`'s files cannot serve a TLS link, naming the file, or empty when they can: the
/// certificate and key must be PEM and belong together, the CA file PEM, and the certificate
/// signed by that CA (the peers check it against their own copy). REQUIRES: tls.enabled.
std::string tls_files_problem(const TlsConfig& tls);

}  // namespace rill::net
