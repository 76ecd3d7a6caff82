#pragma once

// The exporter's HTTP front: one event-loop thread (epoll) owns every connection, reads and
// parses request heads under a deadline, runs TLS, writes responses and keeps connections alive.
// No thread is given to a connection that has not sent a complete request: a complete request
// is handed to a small pool of worker threads (a scrape may block for its whole deadline), one
// pool per lane (ServerOptions::lane), where waiting requests take turns by client address. On a
// plain kept-alive connection the worker writes what the socket takes at once (the loop leaves
// that connection alone meanwhile); the loop writes the rest without blocking. So idle, slow or
// hostile clients cost a few hundred bytes each, never a thread (bench/README.md, "HTTP front").

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "http/request.h"
#include "http/tls.h"

namespace rse::http {

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  std::vector<std::string> body;                             // pieces, sent in order without being joined
  // The body is already one gzip member (GzipStream): sent as it is, with Content-Encoding:
  // gzip. The handler sets it only for a client that accepts gzip.
  bool gzipped = false;

  static Response Text(int status, std::string text);
};

// Runs on a worker thread for each complete request and may block. Must not throw; an
// exception that escapes is answered with 500 and logged.
using Handler = std::function<Response(const Request&)>;

struct ServerOptions {
  std::string listen_address = ":9355";  // ":port" listens on every address, IPv6 and IPv4
  std::size_t max_connections = 1024;    // at the cap, the longest-idle reading connection is closed
  Limits limits;
  std::chrono::milliseconds read_header_timeout{10000};  // from a head's first byte to its last
  std::chrono::milliseconds idle_timeout{120000};        // between requests on a kept-alive connection
  std::chrono::milliseconds write_timeout{60000};        // to write one response
  // Response bytes that all connections together may hold unsent (clients that do not read).
  // Over it, the connection whose writing has stalled longest is closed; a single response
  // larger than the budget is still sent.
  std::size_t max_unsent_bytes = 16 << 20;
  int max_handlers = 16;      // requests handled at once, in each lane; more wait, taking turns by client address
  int gzip_min_bytes = 1024;  // smaller bodies are sent as they are
  // The lane of a complete request, 0 or 1 (null: 0). Each lane has workers of its own, so
  // requests of one never wait behind those of the other: the exporter puts requests for
  // targets a caller names (/probe) in lane 1, where a target that never answers holds a
  // worker for the whole deadline. Runs on the loop thread: must be cheap and must not throw.
  std::function<int(const Request&)> lane;
};

// Counters for the exporter's own metrics; read with relaxed loads.
struct ServerStats {
  enum Close {
    kClientClosed,
    kHeaderTimeout,
    kIdleTimeout,
    kWriteTimeout,
    kEvicted,
    kBadRequest,
    kTlsError,
    kServerClosed,
    kCloseReasons
  };
  static const char* CloseName(int reason);
  std::atomic<std::int64_t> open{0};
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> closed[kCloseReasons] = {};
};

class Server {
 public:
  Server(ServerOptions options, Handler handler);
  ~Server();  // Stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Switches HTTPS on (a context), off (null) or to a new certificate, for connections accepted
  // from now on. Thread-safe.
  void SetTls(std::shared_ptr<const ServerTlsContext> tls);
  // Binds and starts the loop thread; false with `error` naming the failing call.
  bool Start(std::string& error);
  // Closes every connection and waits for running handlers to return.
  void Stop();
  int port() const { return port_; }
  const ServerStats& stats() const { return stats_; }
  // Bodies smaller than this are sent as they are (ServerOptions::gzip_min_bytes).
  int gzip_min_bytes() const { return options_.gzip_min_bytes; }

 private:
  class Loop;
  ServerOptions options_;
  Handler handler_;
  ServerStats stats_;
  std::mutex tls_mu_;
  std::shared_ptr<const ServerTlsContext> tls_;  // guarded by tls_mu_
  std::unique_ptr<Loop> loop_;
  std::thread thread_;
  int port_ = 0;
};

// Whether an Accept-Encoding value allows gzip (a "gzip" or "*" coding whose q is not 0).
bool AcceptsGzip(const std::string* accept_encoding);
// Replaces `pieces` with one gzip member of their bytes (igzip, level 1: a scrape
// body compresses ~9x at it). One piece is compressed as it is, several are joined first; the
// uncompressed bytes are freed before returning. False with `error` set, `pieces` then
// holding the same bytes, perhaps joined into one.
bool Gzip(std::vector<std::string>& pieces, std::string& error);

namespace detail {
struct Compressor;
}

// One gzip member written part by part, with Gzip's settings (igzip's stateful deflate): a
// body rendered piece by piece is compressed as it comes and is never whole in memory. The
// output is in pieces of at most kChunk bytes. Not thread-safe.
class GzipStream {
 public:
  // igzip writes into a buffer of this size, kept with the compressor; each full one is a piece.
  static constexpr std::size_t kChunk = 16 << 10;

  GzipStream();  // takes a compressor from Gzip's pool; ok() is false when none could be made
  ~GzipStream();
  GzipStream(const GzipStream&) = delete;
  GzipStream& operator=(const GzipStream&) = delete;

  bool ok() const { return c_ != nullptr && error_.empty(); }
  // Compresses `text` (igzip keeps what it has not compressed yet: `text` may go afterwards).
  // Does nothing after an error or Finish.
  void Write(std::string_view text);
  // Ends the member and moves it into `pieces` (replacing them). False with `error` set when
  // a Write or the end failed; the stream is done either way.
  bool Finish(std::vector<std::string>& pieces, std::string& error);

 private:
  bool Deflate(std::string_view in, bool end);
  void TakeChunk();  // the compressor's buffer, as written so far, becomes the next piece

  detail::Compressor* c_;
  std::vector<std::string> out_;
  std::string error_;
  bool done_ = false;  // Finish was called
};

}  // namespace rse::http
