#include "redis/tls.h"

#include <dlfcn.h>

#include "redis/tls_module.h"

namespace rse::redis {
namespace {

struct Loaded {
  void* handle = nullptr;
  const TlsModule* module = nullptr;
  std::string error;
};

std::string LoadError(const char* why) {
  return std::string("cannot load the TLS module ") + kTlsModuleFile + ": " + why;
}

// dlopen() by file name: glibc searches the DT_RPATH of the program (the exporter, or a test
// binary), which names lib/redis_sentinel_exporter/ beside it. RTLD_LOCAL: nothing of the
// module joins the global symbol scope; only its entry points are looked up. Never unloaded.
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
    out.error = LoadError(why ? why : "no entry point");
    return out;
  }
  out.module = entry(kTlsModuleVersion);
  if (out.module == nullptr) {
    out.error = TlsModuleMismatchError();
    return out;
  }
  out.handle = handle;
  return out;
}

const Loaded& Module() {
  static const Loaded loaded = Load();  // once, thread-safe
  return loaded;
}

}  // namespace

void* TlsModuleSymbol(const char* symbol, std::string& error) {
  const Loaded& loaded = Module();
  if (loaded.module == nullptr) {
    error = loaded.error;
    return nullptr;
  }
  void* address = dlsym(loaded.handle, symbol);
  if (address == nullptr) {
    const char* why = dlerror();
    error = LoadError(why ? why : "no entry point");
  }
  return address;
}

std::string TlsModuleMismatchError() {
  return std::string("the TLS module ") + kTlsModuleFile +
         " is from another build of the exporter (interface version mismatch); reinstall both";
}

std::shared_ptr<const TlsContext> TlsContext::Create(const TlsOptions& options, std::string& error) {
  const Loaded& loaded = Module();
  if (loaded.module == nullptr) {
    error = loaded.error;
    return nullptr;
  }
  return loaded.module->NewClientContext(options, error);
}

}  // namespace rse::redis
