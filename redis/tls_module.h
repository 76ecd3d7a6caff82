#pragma once

// The interface between the exporter and its TLS module, librse_tls.so (redis/tls_openssl.cpp),
// which links OpenSSL so that the exporter need not. redis/tls.cpp loads it with dlopen() on
// first use and finds it through the DT_RPATH of the exporter (build tree and installed layout)
// or of a test binary, which name the private library directory lib/redis_sentinel_exporter/.

#include <memory>
#include <string>
#include <string_view>

#include "redis/tls.h"

namespace rse::redis {

class TlsModule {
 public:
  virtual std::unique_ptr<TlsContext> NewClientContext(const TlsOptions& options, std::string& error) const = 0;
  virtual std::unique_ptr<ServerTlsContext> NewServerContext(const ServerTlsOptions& options,
                                                             std::string& error) const = 0;
  virtual std::string LastError() const = 0;
  virtual std::string Sha256(std::string_view data) const = 0;

 protected:
  ~TlsModule() = default;  // a static object of the module, never deleted
};

// The classes above cross the module boundary as C++ objects, so binary and module must come
// from the same sources: bump this whenever tls.h or this file changes a type or a signature.
inline constexpr unsigned kTlsModuleVersion = 3;
inline constexpr char kTlsModuleFile[] = "librse_tls.so";
inline constexpr char kTlsModuleEntry[] = "rse_tls_module";

}  // namespace rse::redis

// The module's one exported symbol: its TlsModule, or null when `version` is not its own.
extern "C" const rse::redis::TlsModule* rse_tls_module(unsigned version);
