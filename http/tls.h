#pragma once

// HTTPS of the exporter's own endpoint (--web.config.file), served by http/server.cpp. The
// OpenSSL code is in the TLS module beside the connection layer's (http/tls_openssl.cpp, built
// into librse_tls.so; redis/tls.h says why a module), so an exporter without TLS maps no OpenSSL.

#include <memory>
#include <string>

#include "redis/tls.h"

namespace rse::http {

struct ServerTlsOptions {
  enum class ClientAuth { kNone, kRequest, kRequireAny, kVerifyIfGiven, kRequireAndVerify };
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;
  ClientAuth client_auth = ClientAuth::kNone;
  int min_version = 0;  // TLS protocol versions (0x0303: TLS 1.2); 0: TLS 1.2
  int max_version = 0;  // 0: the library's highest
};

// A server context built once from the options (certificate, key, client CAs and verify mode
// loaded when it is made), shared by every accepted connection. A certificate rotation builds a
// new context; sessions already made keep the old one alive.
class ServerTlsContext {
 public:
  // Null with `error` set when the module cannot be loaded or a file is bad.
  static std::shared_ptr<const ServerTlsContext> Create(const ServerTlsOptions& options, std::string& error);
  virtual ~ServerTlsContext() = default;
  // A session that answers the handshake on the accepted non-blocking socket `fd`
  // (TlsSession::Handshake runs the server side). Null with `error` set.
  virtual std::unique_ptr<redis::TlsSession> NewSession(int fd, std::string& error) const = 0;
};

}  // namespace rse::http
