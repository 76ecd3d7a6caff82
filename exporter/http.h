#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "exporter/exporter.h"
#include "http/server.h"
#include "http/web_config.h"

namespace rse {

// A scrape's deadline: `configured` (--redis.timeout), or Prometheus' scrape timeout (the
// X-Prometheus-Scrape-Timeout-Seconds value `header`, null when absent) less `offset` when that
// is shorter. When the offset would leave nothing, half of Prometheus' timeout: an answer after
// Prometheus has given up is no answer. A value that is not a number of seconds between 0 and a
// day is ignored.
std::chrono::milliseconds ScrapeTimeout(const std::string* header, std::chrono::milliseconds configured,
                                        std::chrono::milliseconds offset);

// The exporter's endpoints on the HTTP front (http/server.h): /, the telemetry path, /probe,
// /-/healthy and /-/ready, behind the web configuration's TLS and basic auth, which are re-read
// when their files change.
class HttpServer {
 public:
  explicit HttpServer(Exporter& exporter);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts serving; false with `error` set when it cannot (address in use...).
  bool Start(std::string& error);
  void Stop();
  // The port actually bound (useful with port 0).
  int port() const { return server_.port(); }
  const http::ServerStats& stats() const { return server_.stats(); }

 private:
  http::Response Handle(const http::Request& request);
  http::Response Route(const http::Request& request);
  http::Response Status(const http::Request& request);
  std::chrono::milliseconds Timeout(const http::Request& request) const;
  void WatchWebConfig();

  Exporter& exporter_;
  http::WebConfigWatcher web_;
  http::Server server_;
  std::mutex watch_mu_;  // guards stop_watching_
  std::condition_variable watch_cv_;
  bool stop_watching_ = false;
  std::thread watcher_;  // re-reads --web.config.file when it changes; only with a file
};

}  // namespace rse
