#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace rse::test {

struct HttpResponse {
  int status = 0;  // 0: no HTTP answer (connection failed or timed out)
  std::string headers;
  std::string body;
  std::chrono::milliseconds elapsed{0};
};

// A plain HTTP/1.0 request to 127.0.0.1:port, bounded by timeout.
HttpResponse HttpRequest(int port, const std::string& method, const std::string& path,
                         const std::vector<std::string>& headers = {},
                         std::chrono::milliseconds timeout = std::chrono::seconds(20));
inline HttpResponse HttpGet(int port, const std::string& path, const std::vector<std::string>& headers = {},
                            std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  return HttpRequest(port, "GET", path, headers, timeout);
}

// The value of the first sample of `name` whose labels include every given "k=\"v\"" pair;
// NaN when there is none. Reads Prometheus text exposition.
double Sample(const std::string& text, const std::string& name, const std::vector<std::string>& labels = {});
// Every sample line of `name` (with labels), for counting series.
std::vector<std::string> Series(const std::string& text, const std::string& name);
// One label pair as Sample takes it: L("addr", "127.0.0.1:6379") is addr="127.0.0.1:6379".
inline std::string L(const std::string& name, const std::string& value) { return name + "=\"" + value + "\""; }
// The port of a "host:port" address.
inline int PortOf(const std::string& addr) { return std::stoi(addr.substr(addr.rfind(':') + 1)); }

}  // namespace rse::test
