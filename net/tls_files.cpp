#include "net/tls_files.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <memory>

namespace rill::net {
namespace {

std::string openssl_error() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

}  // namespace

std::string tls_files_problem(const TlsConfig& tls) {
  ERR_clear_error();
  std::unique_ptr<SSL_CTX, void (*)(SSL_CTX*)> ctx(SSL_CTX_new(TLS_method()), SSL_CTX_free);
  if (!ctx) return "cannot create a TLS context: " + openssl_error();
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), tls.cert.c_str()) != 1)
    return "tls.cert " + tls.cert + ": not a PEM certificate: " + openssl_error();
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), tls.key.c_str(), SSL_FILETYPE_PEM) != 1) {
    if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
      ERR_clear_error();
      return "tls.key " + tls.key + " does not belong to the certificate in " + tls.cert;
    }
    return "tls.key " + tls.key + ": not a PEM private key: " + openssl_error();
  }
  if (SSL_CTX_load_verify_locations(ctx.get(), tls.ca.c_str(), nullptr) != 1)
    return "tls.ca " + tls.ca + ": no PEM CA certificate: " + openssl_error();
  // The peers verify this node's certificate against the CA: check now what they will.
  X509* cert = SSL_CTX_get0_certificate(ctx.get());
  std::unique_ptr<X509_STORE_CTX, void (*)(X509_STORE_CTX*)> verify(X509_STORE_CTX_new(),
                                                                     X509_STORE_CTX_free);
  STACK_OF(X509)* chain = nullptr;
  SSL_CTX_get0_chain_certs(ctx.get(), &chain);
  if (!verify ||
      X509_STORE_CTX_init(verify.get(), SSL_CTX_get_cert_store(ctx.get()), cert, chain) != 1)
    return "cannot check tls.cert against tls.ca: " + openssl_error();
  if (X509_verify_cert(verify.get()) != 1)
    return "tls.cert " + tls.cert + " is not signed by the CA in " + tls.ca + " (" +
           X509_verify_cert_error_string(X509_STORE_CTX_get_error(verify.get())) +
           "): peers would refuse it";
  return {};
}

}  // namespace rill::net
