#pragma once

#include <string>

#include "exporter/scrape.h"
#include "exporter/web_config.h"

struct mg_context;
struct mg_connection;

namespace rse {

// The HTTP front end (civetweb): /, the telemetry path, /-/healthy and /probe.
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
  int port() const;

 private:
  static int Handle(mg_connection* conn, void* self);
  int Dispatch(mg_connection* conn);
  std::chrono::milliseconds Timeout(mg_connection* conn) const;

  Exporter& exporter_;
  BasicAuth auth_;
  mg_context* ctx_ = nullptr;
};

// ":9355" -> civetweb's "9355"; "127.0.0.1:9355" and "[::1]:9355" pass through.
std::string CivetListeningPort(const std::string& listen_address);

}  // namespace rse
