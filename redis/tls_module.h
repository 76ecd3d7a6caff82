#pragma once

// The interface between the exporter and its TLS module, librse_tls.so (redis/tls_openssl.cpp),
// which links OpenSSL so that the exporter need not. redis/tls.cpp loads it with dlopen() on
// first use and finds it through the DT_RPATH of the exporter (build tree and installed layout)
// or of a test binary, which name the private library directory lib/redis_sentinel_exporter/.
//
// One module, several entry points: this file's is the connection layer's (client contexts and
// the sessions every TLS user shares). A layer above that needs more of OpenSSL adds its own
// interface and entry point to the same module and looks it up with TlsModuleEntry(), so that
// the connection layer need not know it.

#include <memory>
#include <string>

#include "redis/tls.h"

namespace rse::redis {

class TlsModule {
 public:
  virtual std::unique_ptr<TlsContext> NewClientContext(const TlsOptions& options, std::string& error) const = 0;

 protected:
  ~TlsModule() = default;  // a static object of the module, never deleted
};

// The classes above cross the module boundary as C++ objects, so binary and module must come
// from the same sources: bump this whenever tls.h or this file changes a type or a signature.
// Loading the module checks it, whichever entry point is wanted: every entry's sessions are
// TlsSessions.
inline constexpr unsigned kTlsModuleVersion = 4;
inline constexpr char kTlsModuleFile[] = "librse_tls.so";
inline constexpr char kTlsModuleEntry[] = "rse_tls_module";

// The address of the module's exported `symbol`, the module loaded (once, never unloaded) and
// its version checked. Null with `error` set.
void* TlsModuleSymbol(const char* symbol, std::string& error);
// The error for an entry point that refuses the caller's interface version.
std::string TlsModuleMismatchError();

// An entry point of the module: an extern "C" function `const Interface* symbol(unsigned
// version)` that returns its interface, or null when `version` is not its own. Looked up once
// per interface. Null with `error` set.
template <typename Interface>
const Interface* TlsModuleEntry(const char* symbol, unsigned version, std::string& error) {
  struct Found {
    const Interface* module = nullptr;
    std::string error;
  };
  static const Found found = [&] {
    Found out;
    void* address = TlsModuleSymbol(symbol, out.error);
    if (address == nullptr) return out;
    out.module = reinterpret_cast<const Interface* (*)(unsigned)>(address)(version);
    if (out.module == nullptr) out.error = TlsModuleMismatchError();
    return out;
  }();
  if (found.module == nullptr) error = found.error;
  return found.module;
}

}  // namespace rse::redis

// The module's entry point for the connection layer: its TlsModule, or null when `version` is
// not its own.
extern "C" const rse::redis::TlsModule* rse_tls_module(unsigned version);
