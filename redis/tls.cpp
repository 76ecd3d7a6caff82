#include "redis/tls.h"

#include <dlfcn.h>

#include "redis/tls_module.h"

namespace rse::redis {
namespace {

struct Loaded {
  const TlsModule* module = nullptr;
  std::string error;
};

// dlopen() by file name: glibc searches the DT_RPATH of the program (the exporter, or a test
// binary), which names lib/redis_sentinel_exporter/ beside it. RTLD_LOCAL: nothing of the
// module joins the global symbol scope; only its entry point is looked up. Never unloaded.
Loaded Load() {
  Loaded out;
  void* handle = dlopen(kTlsModuleFile, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    out.error = std::string("cannot load the TLS module ") + kTlsModuleFile +
                " (installed in lib/redis_sentinel_exporter/ beside the binary, or in "
                "../lib/redis_sentinel_exporter/): " +
                (why ? why : "unknown error");
    return out;
  }
  using Entry = const TlsModule* (*)(unsigned);
  auto entry = reinterpret_cast<Entry>(dlsym(handle, kTlsModuleEntry));
  if (entry == nullptr) {
    const char* why = dlerror();
    out.error = std::string("cannot load the TLS module ") + kTlsModuleFile + ": " + (why ? why : "no entry point");
    return out;
  }
  out.module = entry(kTlsModuleVersion);
  if (out.module == nullptr) {
    out.error = std::string("the TLS module ") + kTlsModuleFile +
                " is from another build of the exporter (interface version mismatch); reinstall both";
  }
  return out;
}

const TlsModule* Module(std::string& error) {
  static const Loaded loaded = Load();  // once, thread-safe
  if (loaded.module == nullptr) error = loaded.error;
  return loaded.module;
}

}  // namespace

std::shared_ptr<const TlsContext> TlsContext::Create(const TlsOptions& options, std::string& error) {
  const TlsModule* module = Module(error);
  if (module == nullptr) return nullptr;
  return module->NewClientContext(options, error);
}

std::shared_ptr<const ServerTlsContext> ServerTlsContext::Create(const ServerTlsOptions& options, std::string& error) {
  const TlsModule* module = Module(error);
  if (module == nullptr) return nullptr;
  return module->NewServerContext(options, error);
}

std::string Sha256(std::string_view data, std::string& error) {
  const TlsModule* module = Module(error);
  if (module == nullptr) return {};
  std::string digest = module->Sha256(data);
  if (digest.empty()) error = "SHA-256 failed: " + module->LastError();
  return digest;
}

}  // namespace rse::redis
