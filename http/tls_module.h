#pragma once

// The HTTP front's entry point into the TLS module, librse_tls.so (http/tls_openssl.cpp, built
// into the one module beside redis/tls_openssl.cpp; redis/tls_module.h loads it).

#include <memory>
#include <string>
#include <string_view>

#include "http/tls.h"
#include "redis/tls_module.h"

namespace rse::http {

class ServerTlsModule {
 public:
  virtual std::unique_ptr<ServerTlsContext> NewServerContext(const ServerTlsOptions& options,
                                                             std::string& error) const = 0;
  virtual std::string LastError() const = 0;
  virtual std::string Sha256(std::string_view data) const = 0;

 protected:
  ~ServerTlsModule() = default;  // a static object of the module, never deleted
};

// As redis/tls_module.h's version (which covers the sessions): bump this whenever http/tls.h or
// this file changes a type or a signature.
inline constexpr unsigned kServerTlsModuleVersion = 1;
inline constexpr char kServerTlsModuleEntry[] = "rse_server_tls_module";

// The module's ServerTlsModule, loaded once. Null with `error` set.
inline const ServerTlsModule* LoadServerTlsModule(std::string& error) {
  return redis::TlsModuleEntry<ServerTlsModule>(kServerTlsModuleEntry, kServerTlsModuleVersion, error);
}

}  // namespace rse::http

// The module's entry point for the HTTP front: its ServerTlsModule, or null when `version` is
// not its own.
extern "C" const rse::http::ServerTlsModule* rse_server_tls_module(unsigned version);
