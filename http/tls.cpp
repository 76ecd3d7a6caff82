#include "http/tls.h"

#include "http/tls_module.h"

namespace rse::http {

std::shared_ptr<const ServerTlsContext> ServerTlsContext::Create(const ServerTlsOptions& options, std::string& error) {
  const ServerTlsModule* module = LoadServerTlsModule(error);
  if (module == nullptr) return nullptr;
  return module->NewServerContext(options, error);
}

}  // namespace rse::http
