#include "net/handshake.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstdio>
#include <stdexcept>

namespace rill::net {
namespace {

// Binds a proof to this protocol and to who proves it, so a proof cannot be replayed in
// another role.
constexpr char kContext[] = "rill-handshake-v1";

std::string hex(uint64_t v) {
  char buf[19];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

std::string make_nonce() {
  std::string nonce(32, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(nonce.data()), static_cast<int>(nonce.size())) !=
      1)
    throw std::runtime_error("the system's random number generator failed (RAND_bytes)");
  return nonce;
}

std::string prove(const std::string& secret, const std::string& prover, const std::string& nonce) {
  std::string message = std::string(kContext, sizeof kContext) + prover + '\0' + nonce;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
            reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &length))
    throw std::runtime_error("HMAC-SHA256 failed");
  return std::string(reinterpret_cast<const char*>(mac), length);
}

HelloStep make_step(const NodeIdentity& me, const std::string& to, uint64_t session,
                    const std::string& nonce, const std::string& peer_nonce,
                    const std::string& channel) {
  HelloStep step{me.cluster, me.node, to,     me.dag_fingerprint, me.config_fingerprint, nonce,
                 {},         session, channel};
  if (!peer_nonce.empty()) step.proof = prove(me.secret, me.node, peer_nonce);
  return step;
}

std::string refusal_reason(const NodeIdentity& me, const HelloStep& step,
                           const std::string& my_nonce) {
  if (step.cluster != me.cluster)
    return "node '" + step.from + "' belongs to cluster '" + step.cluster + "', this is cluster '" +
           me.cluster + "'";
  if (std::find(me.known_nodes.begin(), me.known_nodes.end(), step.from) == me.known_nodes.end())
    return "unknown node '" + step.from + "': the cluster config names only " +
           joined(me.known_nodes);
  if (step.to != me.node)
    return "node '" + step.from + "' meant to reach node '" + step.to + "', this is '" + me.node +
           "'";
  if (step.config_fingerprint != me.config_fingerprint)
    return "node '" + step.from + "' runs with another cluster config (fingerprint " +
           hex(step.config_fingerprint) + ", here " + hex(me.config_fingerprint) +
           "): start every node from the same file";
  if (step.dag_fingerprint != me.dag_fingerprint)
    return "node '" + step.from + "' runs another job (DAG fingerprint " +
           hex(step.dag_fingerprint) + ", here " + hex(me.dag_fingerprint) +
           "): deploy the same application build to every node";
  if (step.nonce.size() != 32) return "node '" + step.from + "' sent no valid nonce";
  if (step.channel != "tasks" && step.channel != "fetch" && step.channel != "replica")
    return "node '" + step.from + "' asked for an unknown channel '" + step.channel + "'";
  if (!my_nonce.empty()) {
    std::string expected = prove(me.secret, step.from, my_nonce);
    if (step.proof.size() != expected.size() ||
        CRYPTO_memcmp(step.proof.data(), expected.data(), expected.size()) != 0)
      return "node '" + step.from + "' could not prove the cluster secret (wrong secret)";
  }
  return {};
}

}  // namespace rill::net
