#include "exporter/http.h"

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <sstream>

#include "exporter/log.h"
#include "exporter/status_page.h"
#include "exporter/version.h"
#include "http/runbook.h"

namespace rse {
namespace {

http::Response Metrics(Exporter::Body body) {
  http::Response r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = std::move(body.pieces);
  r.gzipped = body.gzipped;
  return r;
}

http::Response Html(std::string page) {
  http::Response r;
  r.content_type = "text/html; charset=utf-8";
  // The pages are self-contained: nothing loads from elsewhere and no script runs.
  r.headers.emplace_back("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:");
  r.body.push_back(std::move(page));
  return r;
}

http::ServerOptions ServerOptionsFrom(const Config& cfg) {
  http::ServerOptions o;
  o.listen_address = cfg.listen_address;
  o.max_connections = cfg.web_max_connections;
  o.limits.max_head_bytes = cfg.web_max_header_bytes;
  o.max_unsent_bytes = cfg.web_max_unsent_bytes;
  o.read_header_timeout = cfg.web_read_header_timeout;
  o.idle_timeout = cfg.web_idle_timeout;
  o.write_timeout = cfg.web_write_timeout;
  o.max_handlers = cfg.web_max_requests;
  // Requests for a target the caller names (/probe, and /status or /events with target=) have
  // workers of their own: however many of them wait on targets that never answer, the
  // configured topology's scrapes do not queue behind them.
  o.lane = [](const http::Request& r) { return r.path == "/probe" || r.Query("target") ? 1 : 0; };
  return o;
}

constexpr auto kWebConfigPoll = std::chrono::seconds(1);

}  // namespace

HttpServer::HttpServer(Exporter& exporter)
    : exporter_(exporter),
      web_(exporter.config().web_config_file, exporter.config().web),
      server_(ServerOptionsFrom(exporter.config()), [this](const http::Request& r) { return Handle(r); }) {
  server_.SetTls(web_.current().tls);
}

HttpServer::~HttpServer() { Stop(); }

bool HttpServer::Start(std::string& error) {
  if (!server_.Start(error)) return false;
  if (!exporter_.config().web_config_file.empty()) watcher_ = std::thread([this] { WatchWebConfig(); });
  return true;
}

void HttpServer::Stop() {
  {
    std::lock_guard lock(watch_mu_);
    stop_watching_ = true;
  }
  watch_cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
  server_.Stop();
}

void HttpServer::WatchWebConfig() {
  std::unique_lock lock(watch_mu_);
  while (!watch_cv_.wait_for(lock, kWebConfigPoll, [&] { return stop_watching_; })) {
    std::string error;
    switch (web_.Poll(error)) {
      case http::WebConfigWatcher::Change::kReloaded: {
        auto current = web_.current();
        server_.SetTls(current.tls);
        log::Info("web configuration reloaded", {{"file", exporter_.config().web_config_file},
                                                 {"tls", current.tls ? "yes" : "no"},
                                                 {"basic_auth", current.auth ? "yes" : "no"}});
        break;
      }
      case http::WebConfigWatcher::Change::kFailed:
        log::Error("web configuration not reloaded: the previous one stays in force", {{"err", error}});
        break;
      case http::WebConfigWatcher::Change::kNone:
        break;
    }
  }
}

std::chrono::milliseconds ScrapeTimeout(const std::string* header, std::chrono::milliseconds configured,
                                        std::chrono::milliseconds offset) {
  if (header == nullptr) return configured;
  char* end = nullptr;
  const double seconds = std::strtod(header->c_str(), &end);
  // A day at most: no overflow below. NaN fails both comparisons.
  if (end == header->c_str() || !(seconds > 0 && seconds < 86400)) return configured;
  const std::chrono::milliseconds prometheus(static_cast<long long>(seconds * 1000));
  auto from_header = prometheus - offset;
  if (from_header.count() <= 0) from_header = std::max(prometheus / 2, std::chrono::milliseconds(1));
  return std::min(configured, from_header);
}

std::chrono::milliseconds HttpServer::Timeout(const http::Request& request) const {
  return ScrapeTimeout(request.Header("x-prometheus-scrape-timeout-seconds"), exporter_.config().timeout,
                       exporter_.config().timeout_offset);
}

http::Response HttpServer::Handle(const http::Request& request) {
  try {
    if (auto auth = web_.current().auth; auth && !auth->Check(request.Header("authorization"), request.client)) {
      auto r = http::Response::Text(401, "Unauthorized\n");
      r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"redis_sentinel_exporter\"");
      return r;
    }
    return Route(request);
  } catch (const std::exception& e) {
    log::Error("request failed", {{"path", request.path}, {"err", e.what()}});
  }
  return http::Response::Text(500, "internal error\n");
}

http::Response HttpServer::Route(const http::Request& request) {
  if (request.method != "GET" && request.method != "HEAD") {
    auto r = http::Response::Text(405, "method not allowed\n");
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  const Config& cfg = exporter_.config();
  const std::string& path = request.path;
  // A scrape body the client takes gzipped is gzipped as it is rendered (Exporter::Metrics).
  const int gzip_min = http::AcceptsGzip(request.Header("accept-encoding")) ? server_.gzip_min_bytes() : -1;
  if (path == cfg.telemetry_path) {
    // A target= here is a multi-target scrape config pointed at the wrong path: answering with the
    // configured topology would label its series as the target's.
    if (request.Query("target")) {
      return http::Response::Text(400, cfg.telemetry_path +
                                           " shows the configured topology and takes no target=; "
                                           "scrape one Sentinel's topology with /probe?target=<sentinel host:port>\n");
    }
    return Metrics(exporter_.Metrics(Timeout(request), gzip_min));
  }
  if (path == "/-/healthy") return http::Response::Text(200, "OK\n");
  if (path == "/-/ready") {
    return exporter_.Ready() ? http::Response::Text(200, "OK\n")
                             : http::Response::Text(503, "not ready: the first collection has not completed\n");
  }
  if (path == "/events") {
    std::string json;
    if (auto target = request.Query("target")) {
      auto addr = redis::ParseAddress(*target);
      if (!addr) return http::Response::Text(400, "target is not host:port\n");
      if (const std::string why = exporter_.ProbeRefused(*addr); !why.empty()) {
        return http::Response::Text(403, why + "\n");
      }
      json = exporter_.EventsJson(&*addr, request.Query("master").value_or(""));
    } else {
      json = exporter_.EventsJson();
    }
    http::Response r;
    r.content_type = "application/json";
    r.body.push_back(std::move(json));
    return r;
  }
  if (path == "/status") return Status(request);
  if (path == "/probe") {
    auto target = request.Query("target");
    auto master = request.Query("master");
    if (!target || target->empty()) {
      return http::Response::Text(400, "missing parameter: target=<sentinel host:port>\n");
    }
    auto addr = redis::ParseAddress(*target);
    if (!addr) return http::Response::Text(400, "target is not host:port\n");
    if (const std::string why = exporter_.ProbeRefused(*addr); !why.empty()) {
      log::Warn("probe target refused", {{"target", addr->ToString()}, {"reason", why}});
      return http::Response::Text(403, why + "\n");
    }
    return Metrics(exporter_.Probe(*addr, master.value_or(""), Timeout(request), gzip_min));
  }
  if (path == "/runbook") return Html(std::string(http::RunbookHtml()));
  if (path == "/") {
    std::ostringstream html;
    html << "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Redis Sentinel Exporter</title></head><body>"
         << "<h1>Redis Sentinel Exporter</h1><p>Version " << kVersion << " (revision " << kRevision << ")</p><ul>"
         << "<li><a href=\"" << HtmlEscape(cfg.telemetry_path) << "\">" << HtmlEscape(cfg.telemetry_path)
         << "</a>: the configured topology";
    if (cfg.sentinels.empty()) html << " (no --sentinel.addr configured: exporter metrics only)";
    html << "</li><li><a href=\"/status\">/status</a>: the topology at a glance; "
            "/status?target=&lt;sentinel host:port&gt; for a /probe target"
         << "</li><li><a href=\"/-/healthy\">/-/healthy</a></li><li><a href=\"/-/ready\">/-/ready</a></li>"
         << "<li><a href=\"/runbook\">/runbook</a>: what each alert means and what to do</li>"
         << "<li><a href=\"/events\">/events</a>: the Sentinels' recent events (JSON)</li>"
         << "<li>/probe?target=&lt;sentinel host:port&gt;[&amp;master=&lt;name&gt;]: the topology behind one "
            "Sentinel</li></ul></body></html>\n";
    return Html(html.str());
  }
  return http::Response::Text(404, "not found\n");
}

// The status page of the configured topology, or of one /probe target under /probe's rules.
http::Response HttpServer::Status(const http::Request& request) {
  StatusPageInput in;
  Exporter::StatusData data;
  auto target = request.Query("target");
  if (target) {
    auto addr = redis::ParseAddress(*target);
    if (!addr) return http::Response::Text(400, "target is not host:port\n");
    if (const std::string why = exporter_.ProbeRefused(*addr); !why.empty()) {
      log::Warn("status target refused", {{"target", addr->ToString()}, {"reason", why}});
      return http::Response::Text(403, why + "\n");
    }
    data = exporter_.ProbeStatus(*addr, request.Query("master").value_or(""), Timeout(request));
    in.title = "probe of " + addr->ToString();
  } else {
    data = exporter_.Status(Timeout(request));
    in.title = "configured topology";
  }
  in.snapshot = data.snapshot.get();
  if (data.snapshot) {
    in.groups = data.snapshot->groups ? *data.snapshot->groups : collectors::AnalyzeGroups(*data.snapshot);
  }
  in.events = std::move(data.events);
  in.now = data.snapshot && data.snapshot->fetched_at > 0
               ? data.snapshot->fetched_at
               : std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  return Html(RenderStatusPage(in));
}

}  // namespace rse
