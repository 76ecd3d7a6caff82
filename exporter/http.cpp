#include "exporter/http.h"

#include <civetweb.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <sstream>
#include <thread>

#include "exporter/log.h"
#include "http/runbook.h"
#include "version.h"

namespace rse {
namespace {

// The status line and headers; returns whether the body follows (not for HEAD).
bool SendHead(mg_connection* conn, int status, const char* content_type, size_t length) {
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nCache-Control: no-store\r\n"
            "Connection: close\r\n\r\n",
            status, mg_get_response_code_text(conn, status), content_type, length);
  const char* method = mg_get_request_info(conn)->request_method;
  return method == nullptr || std::strcmp(method, "HEAD") != 0;
}

void Send(mg_connection* conn, int status, const char* content_type, const std::string& body) {
  if (SendHead(conn, status, content_type, body.size())) mg_write(conn, body.data(), body.size());
}

// The exposition blocks (one per family) without joining them into one string: the body of
// a large topology is megabytes. Small blocks are gathered into writes of up to 64 KiB, since
// civetweb does not buffer and a send per family would be a system call per family.
void SendMetrics(mg_connection* conn, const std::vector<std::string>& blocks) {
  constexpr size_t kChunk = 64 * 1024;
  size_t size = 0;
  for (const auto& b : blocks) size += b.size();
  if (!SendHead(conn, 200, "text/plain; version=0.0.4; charset=utf-8", size)) return;
  std::string pending;
  pending.reserve(std::min(size, kChunk));
  auto flush = [&] {
    if (!pending.empty()) mg_write(conn, pending.data(), pending.size());
    pending.clear();
  };
  for (const auto& b : blocks) {
    if (pending.size() + b.size() > kChunk) flush();
    if (b.size() >= kChunk) {
      mg_write(conn, b.data(), b.size());
    } else {
      pending += b;
    }
  }
  flush();
}

// Runs a scrape on a thread of its own and waits for it. A scrape makes thousands of small
// allocations, and glibc keeps up to ~200 KiB of freed ones cached per thread: spread over 16
// HTTP workers, those caches held more than the scrape's whole live heap (VmHWM 10.3 MB against
// 8.2 MB at 20 groups, bench/README.md). A thread that ends gives its cache back.
// The response is written from that thread too, so what the scrape allocated is freed there.
template <typename Fn>
void OnOwnThread(Fn fn) {
  std::exception_ptr error;
  std::thread([&] {
    try {
      fn();
    } catch (...) {
      error = std::current_exception();
    }
  }).join();
  if (error) std::rethrow_exception(error);
}

std::string QueryVar(const mg_request_info* info, const char* name, bool& present) {
  present = false;
  if (info->query_string == nullptr) return {};
  char buf[1024];
  int n = mg_get_var(info->query_string, std::strlen(info->query_string), name, buf, sizeof(buf));
  if (n < 0) return {};
  present = true;
  return std::string(buf, static_cast<size_t>(n));
}

std::string HtmlEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace

std::string CivetListeningPort(const std::string& listen_address) {
  if (!listen_address.empty() && listen_address.front() == ':') return listen_address.substr(1);
  return listen_address;
}

HttpServer::HttpServer(Exporter& exporter)
    : exporter_(exporter), auth_(exporter.config().web.basic_auth_users) {}

HttpServer::~HttpServer() { Stop(); }

bool HttpServer::Start(std::string& error) {
  const auto& tls = exporter_.config().web.tls;
  // civetweb marks a TLS port with a trailing "s".
  const std::string ports = CivetListeningPort(exporter_.config().listen_address) + (tls ? "s" : "");
  const std::string threads = std::to_string(exporter_.config().web_max_requests);
  const char* options[] = {"listening_ports", ports.c_str(),
                           "num_threads", threads.c_str(),
                           "request_timeout_ms", "60000",
                           "enable_keep_alive", "no",
                           nullptr};
  mg_callbacks callbacks{};
  // civetweb reports bind errors through log_message; keep them out of stderr noise and
  // return them through mg_start2's error buffer instead.
  callbacks.log_message = [](const mg_connection*, const char*) { return 1; };
  if (tls) {
    // We configure civetweb's OpenSSL context ourselves (certificate, client CA and verify mode,
    // protocol versions), so the exporter-toolkit settings map one to one. civetweb 1.15 loads
    // OpenSSL at run time as "libssl.so"; see compat/civetweb_openssl3.c for how that resolves.
    callbacks.init_ssl = [](void* ssl_ctx, void* user_data) {
      auto* self = static_cast<HttpServer*>(user_data);
      std::string err;
      if (!ConfigureServerTls(ssl_ctx, *self->exporter_.config().web.tls, err)) {
        log::Error("cannot configure TLS", {{"err", err}});
        return -1;
      }
      return 1;  // configured: civetweb loads no certificate of its own
    };
  }
  mg_init_data init{};
  init.callbacks = &callbacks;
  init.user_data = this;
  init.configuration_options = options;
  char text[256] = {0};
  unsigned code = 0;
  mg_error_data err{&code, text, sizeof(text)};
  ctx_ = mg_start2(&init, &err);
  if (ctx_ == nullptr) {
    error = "cannot listen on " + exporter_.config().listen_address + ": " + (text[0] ? text : "civetweb failed");
    return false;
  }
  mg_set_request_handler(ctx_, "/", &HttpServer::Handle, this);
  return true;
}

void HttpServer::Stop() {
  if (ctx_ != nullptr) mg_stop(ctx_);
  ctx_ = nullptr;
}

int HttpServer::port() const {
  if (ctx_ == nullptr) return 0;
  mg_server_port ports[4];
  int n = mg_get_server_ports(ctx_, 4, ports);
  return n > 0 ? ports[0].port : 0;
}

int HttpServer::Handle(mg_connection* conn, void* self) {
  // An exception must not unwind into civetweb's C frames (that would end the process): a
  // request that fails this way (no thread for the scrape, out of memory) is a 500 and a log line.
  try {
    return static_cast<HttpServer*>(self)->Dispatch(conn);
  } catch (const std::exception& e) {
    log::Error("request failed", {{"err", e.what()}});
  }
  const char* body = "internal error\n";
  mg_printf(conn, "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain; charset=utf-8\r\n"
                  "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", std::strlen(body), body);
  return 500;
}

// The scrape's deadline: --redis.timeout, or Prometheus' own scrape timeout minus the
// offset when that is shorter, so an answer arrives before Prometheus gives up.
std::chrono::milliseconds HttpServer::Timeout(mg_connection* conn) const {
  auto timeout = exporter_.config().timeout;
  if (const char* header = mg_get_header(conn, "X-Prometheus-Scrape-Timeout-Seconds")) {
    char* end = nullptr;
    double seconds = std::strtod(header, &end);
    if (end != header && seconds > 0 && seconds < 86400) {  // a day at most: no overflow below
      auto from_header = std::chrono::milliseconds(static_cast<long long>(seconds * 1000)) -
                         exporter_.config().timeout_offset;
      if (from_header.count() > 0 && from_header < timeout) timeout = from_header;
    }
  }
  return timeout;
}

int HttpServer::Dispatch(mg_connection* conn) {
  const mg_request_info* info = mg_get_request_info(conn);
  if (auth_.enabled() && !auth_.Check(mg_get_header(conn, "Authorization"))) {
    const char* body = "Unauthorized\n";
    mg_printf(conn,
              "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"redis_sentinel_exporter\"\r\n"
              "Content-Type: text/plain; charset=utf-8\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
              std::strlen(body), body);
    return 401;
  }
  const std::string path = info->local_uri ? info->local_uri : "";
  const std::string method = info->request_method ? info->request_method : "";
  if (method != "GET" && method != "HEAD") {
    Send(conn, 405, "text/plain; charset=utf-8", "method not allowed\n");
    return 405;
  }
  const Config& cfg = exporter_.config();
  if (path == cfg.telemetry_path) {
    const auto timeout = Timeout(conn);
    OnOwnThread([&] { SendMetrics(conn, exporter_.Metrics(timeout)); });
    return 200;
  }
  if (path == "/-/healthy") {
    Send(conn, 200, "text/plain; charset=utf-8", "OK\n");
    return 200;
  }
  if (path == "/events") {
    Send(conn, 200, "application/json", exporter_.EventsJson());
    return 200;
  }
  if (path == "/probe") {
    bool has_target = false, has_master = false;
    std::string target = QueryVar(info, "target", has_target);
    std::string master = QueryVar(info, "master", has_master);
    if (!has_target || target.empty()) {
      Send(conn, 400, "text/plain; charset=utf-8", "missing parameter: target=<sentinel host:port>\n");
      return 400;
    }
    auto addr = redis::ParseAddress(target);
    if (!addr) {
      Send(conn, 400, "text/plain; charset=utf-8", "target is not host:port\n");
      return 400;
    }
    if (const std::string why = exporter_.ProbeRefused(*addr); !why.empty()) {
      log::Warn("probe target refused", {{"target", addr->ToString()}, {"reason", why}});
      Send(conn, 403, "text/plain; charset=utf-8", why + "\n");
      return 403;
    }
    const auto timeout = Timeout(conn);
    OnOwnThread([&] { SendMetrics(conn, exporter_.Probe(*addr, master, timeout)); });
    return 200;
  }
  if (path == "/runbook") {
    Send(conn, 200, "text/html; charset=utf-8", std::string(http::RunbookHtml()));
    return 200;
  }
  if (path == "/") {
    std::ostringstream html;
    html << "<!DOCTYPE html><html><head><title>Redis Sentinel Exporter</title></head><body>"
         << "<h1>Redis Sentinel Exporter</h1><p>Version " << kVersion << " (revision " << kRevision << ")</p><ul>"
         << "<li><a href=\"" << HtmlEscape(cfg.telemetry_path) << "\">" << HtmlEscape(cfg.telemetry_path)
         << "</a>: the configured topology";
    if (cfg.sentinels.empty()) html << " (no --sentinel.addr configured: exporter metrics only)";
    html << "</li><li><a href=\"/-/healthy\">/-/healthy</a></li>"
         << "<li><a href=\"/runbook\">/runbook</a>: what each alert means and what to do</li>"
         << "<li>/probe?target=&lt;sentinel host:port&gt;[&amp;master=&lt;name&gt;]: the topology behind one "
            "Sentinel</li></ul></body></html>\n";
    Send(conn, 200, "text/html; charset=utf-8", html.str());
    return 200;
  }
  Send(conn, 404, "text/plain; charset=utf-8", "not found\n");
  return 404;
}

}  // namespace rse
