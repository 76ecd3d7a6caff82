#include "tests/support/prometheus.h"

#include <unistd.h>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include "tests/support/http.h"
#include "tests/support/topology.h"

namespace rse::test {

using namespace std::chrono_literals;

std::string UrlEncode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string JsonStringAt(const std::string& text, size_t pos) {
  std::string out;
  for (size_t i = pos + 1; i < text.size() && text[i] != '"'; ++i) {
    if (text[i] != '\\' || i + 1 >= text.size()) {
      out += text[i];
      continue;
    }
    const char e = text[++i];
    if (e == 'n')
      out += '\n';
    else if (e == 't')
      out += '\t';
    else if (e == 'u' && i + 4 < text.size()) {
      out += static_cast<char>(std::stoi(text.substr(i + 1, 4), nullptr, 16));
      i += 4;
    } else
      out += e;
  }
  return out;
}

PrometheusProcess::PrometheusProcess(const std::string& config) {
  char tmpl[] = "/tmp/rse-prometheus-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  std::ofstream(dir_ + "/prometheus.yml") << config;
  auto which = Run({"sh", "-c", "command -v prometheus"}, EnvWith({}), 10s);
  std::string binary = which.out.substr(0, which.out.find('\n'));
  if (which.exit_code != 0 || binary.empty()) throw std::runtime_error("prometheus is not installed");
  // The port is free when chosen; should another process take it first, try another.
  for (int attempt = 0; attempt < 3 && port_ == 0; ++attempt) {
    const int port = FreePort();
    process_ =
        std::make_unique<Process>(std::vector<std::string>{binary, "--config.file=" + dir_ + "/prometheus.yml",
                                                           "--storage.tsdb.path=" + dir_ + "/data",
                                                           "--web.listen-address=127.0.0.1:" + std::to_string(port)},
                                  EnvWith({}), dir_ + "/prometheus.log");
    if (WaitFor([&] { return HttpGet(port, "/-/ready", {}, 1s).status == 200 || !process_->Running(); }, 30s) &&
        process_->Running()) {
      port_ = port;
    } else {
      process_->Stop();
    }
  }
  if (port_ == 0) throw std::runtime_error("prometheus did not become ready; log:\n" + Log());
}

PrometheusProcess::~PrometheusProcess() {
  if (process_) process_->Stop();
  Run({"rm", "-rf", dir_});
}

std::string PrometheusProcess::Log() const { return ReadFile(dir_ + "/prometheus.log"); }

std::string PrometheusProcess::Api(const std::string& path) const {
  auto r = HttpGet(port_, path, {}, 5s);
  return r.status == 200 ? r.body : std::string();
}

std::string PrometheusProcess::Query(const std::string& expr) const {
  return Api("/api/v1/query?query=" + UrlEncode(expr));
}

double PrometheusProcess::Value(const std::string& expr) const {
  const std::string body = Query(expr);
  const size_t v = body.find("\"value\":[");
  if (v == std::string::npos) return std::nan("");
  const size_t q = body.find('"', body.find(',', v));
  return std::strtod(JsonStringAt(body, q).c_str(), nullptr);
}

}  // namespace rse::test
