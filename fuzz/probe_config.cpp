// --probe.config.file and the address patterns that bind credentials to targets.
//
// Input: up to the first '\0', YAML for ParseProbeConfig (secret paths point nowhere, so a
// binding with a password file is rejected; the rest is parsed and validated); after it,
// lines taken in pairs: a pattern, then an address. Properties: a rejected input has a
// reason; an accepted config has named bindings with targets, names unique; an address
// matches the pattern made of its own text; IP literals match /0 of exactly one family and
// no host glob, and names match no CIDR.
#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "exporter/probe_config.h"
#include "fuzz/common.h"

namespace {

bool IsIpLiteral(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

void CheckPair(const std::string& pattern_text, const std::string& address_text) {
  std::string error;
  auto pattern = rse::AddressPattern::Parse(pattern_text, error);
  FUZZ_CHECK(pattern || !error.empty(), "pattern rejected without a reason");
  auto address = rse::redis::ParseAddress(address_text);
  if (!address) return;
  const bool ip = IsIpLiteral(address->host);
  FUZZ_CHECK(!pattern || !pattern->Matches(*address) || pattern->network() == ip,
             "a glob matched an IP literal or a CIDR matched a name");
  auto own = rse::AddressPattern::Parse(address->ToString(), error);
  if (own) FUZZ_CHECK(own->Matches(*address), "%s does not match itself", rse::fuzz::Printable(address_text).c_str());
  auto v4 = rse::AddressPattern::Parse("0.0.0.0/0", error);
  auto v6 = rse::AddressPattern::Parse("::/0", error);
  FUZZ_CHECK(!ip || v4->Matches(*address) != v6->Matches(*address), "an IP literal in both or no family");
  FUZZ_CHECK(ip || (!v4->Matches(*address) && !v6->Matches(*address)), "a name matched a CIDR");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  std::string error;
  auto cfg = rse::ParseProbeConfig(input.substr(0, nul), "/nonexistent-rse-fuzz", error);
  if (!cfg) {
    FUZZ_CHECK(!error.empty(), "config rejected without a reason");
  } else {
    std::set<std::string> names;
    for (const auto& b : cfg->bindings) {
      FUZZ_CHECK(!b.name.empty() && names.insert(b.name).second, "a binding without a unique name");
      FUZZ_CHECK(!b.targets.empty(), "a binding without targets");
      FUZZ_CHECK(b.redis_credentials.password.empty(), "a password from a file that does not exist");
    }
  }
  if (nul == std::string::npos) return 0;
  std::string rest = input.substr(nul + 1);
  std::vector<std::string> lines;
  for (size_t start = 0; start <= rest.size() && lines.size() < 64;) {
    size_t eol = rest.find('\n', start);
    lines.push_back(rest.substr(start, eol == std::string::npos ? std::string::npos : eol - start));
    if (eol == std::string::npos) break;
    start = eol + 1;
  }
  for (size_t i = 0; i + 1 < lines.size(); i += 2) CheckPair(lines[i], lines[i + 1]);
  return 0;
}
