#pragma once

// Debian's `prometheus` binary for end-to-end tests, and the small JSON reading its HTTP API needs.

#include <cstddef>
#include <memory>
#include <string>

#include "tests/support/process.h"

namespace rse::test {

std::string UrlEncode(const std::string& s);
// The JSON string starting at text[pos] (its opening quote), unescaped; ASCII \u escapes only
// (Prometheus escapes <, > and & that way).
std::string JsonStringAt(const std::string& text, std::size_t pos);

// Debian's prometheus on a free port of 127.0.0.1 with its own storage in a temp directory,
// removed (with the process stopped) by the destructor.
class PrometheusProcess {
 public:
  explicit PrometheusProcess(const std::string& config);
  ~PrometheusProcess();
  PrometheusProcess(const PrometheusProcess&) = delete;
  PrometheusProcess& operator=(const PrometheusProcess&) = delete;

  std::string Log() const;
  // The body of a GET on the HTTP API; "" unless HTTP 200.
  std::string Api(const std::string& path) const;
  std::string Query(const std::string& expr) const;
  // The value of the first series an instant query returns; NaN when it returns none.
  double Value(const std::string& expr) const;

 private:
  std::string dir_;
  std::unique_ptr<Process> process_;
  int port_ = 0;
};

}  // namespace rse::test
