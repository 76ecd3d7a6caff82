// --web.config.file: the exporter-toolkit YAML, and the Authorization header check.
//
// Input: up to the first '\0', the YAML text (written to a memory file, as LoadWebConfig
// reads a path, so no run leaves a file behind); after it, an Authorization header value for
// a BasicAuth built from the users the YAML declared. Properties: a config accepted has TLS files named when it has
// TLS, a known client auth type, and only bcrypt hashes; Check never crashes and accepts nothing when no user is
// declared.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/common.h"
#include "http/web_config.h"

namespace {

// The memory file lives as long as the process; -1 when memfd_create failed.
int ConfigFd() {
  static const int fd = memfd_create("rse-fuzz-web-config", MFD_CLOEXEC);
  return fd;
}

bool WriteConfig(const std::string& yaml) {
  const int fd = ConfigFd();
  if (fd < 0 || ftruncate(fd, 0) != 0) return false;
  size_t done = 0;
  while (done < yaml.size()) {
    const ssize_t n = pwrite(fd, yaml.data() + done, yaml.size() - done, static_cast<off_t>(done));
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  const std::string yaml = input.substr(0, nul);
  const std::string header = nul == std::string::npos ? "" : input.substr(nul + 1);
  if (!WriteConfig(yaml)) return 0;
  std::string error;
  auto cfg = rse::http::LoadWebConfig("/proc/self/fd/" + std::to_string(ConfigFd()), error);
  if (!cfg) {
    FUZZ_CHECK(!error.empty(), "rejected without a reason");
    return 0;
  }
  if (cfg->tls) {
    FUZZ_CHECK(!cfg->tls->cert_file.empty() && !cfg->tls->key_file.empty(), "TLS without its files");
  }
  for (const auto& [user, hash] : cfg->basic_auth_users) {
    FUZZ_CHECK(hash.rfind("$2", 0) == 0, "accepted a hash that is not bcrypt");
  }
  // bcrypt is slow by design: check headers only against small user sets.
  if (cfg->basic_auth_users.size() <= 2 && header.size() < 256) {
    rse::http::BasicAuth auth(cfg->basic_auth_users);
    bool ok = auth.Check(&header);
    FUZZ_CHECK(!ok || !cfg->basic_auth_users.empty(), "accepted credentials with no user declared");
  }
  return 0;
}
