// The node handshake's checks: same cluster, a node the config names, the same job and config,
// and proof of the shared secret (HMAC-SHA256 over the other side's fresh nonce). Pure.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "net/task_frames.hpp"

namespace rill::net {

/// What this node is, as the handshake compares it.
struct NodeIdentity {
  std::string cluster;
  std::string node;
  uint64_t dag_fingerprint = 0;
  uint64_t config_fingerprint = 0;
  std::string secret;
  std::vector<std::string> known_nodes;  ///< every node the config names
};

/// 32 bytes from the system's CSPRNG (OpenSSL RAND_bytes).
std::string make_nonce();

/// HMAC-SHA256(secret, context + prover + nonce): `prover` proves the secret over `nonce`.
std::string prove(const std::string& secret, const std::string& prover, const std::string& nonce);

/// A step for `to`, from `me`, carrying `nonce` and the proof over `peer_nonce` (none when
/// empty, as in the opening hello), for a session on `channel` (HelloStep::channel).
HelloStep make_step(const NodeIdentity& me, const std::string& to, uint64_t session,
                    const std::string& nonce, const std::string& peer_nonce,
                    const std::string& channel = "tasks");

/// Why `me` refuses `step`, or empty when it passes: a cluster, node, job (DAG) or config
/// mismatch, a step not meant for this node, an unknown channel, or (when `my_nonce` is not empty)
/// a proof that does not match the secret. Reasons never contain the secret.
std::string refusal_reason(const NodeIdentity& me, const HelloStep& step,
                           const std::string& my_nonce);

}  // namespace rill::net
