#include "http/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <isa-l/igzip_lib.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

namespace rse::http {
namespace {

using Clock = std::chrono::steady_clock;

std::string Errno(const char* call) { return std::string(call) + ": " + std::strerror(errno); }

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return status < 300 ? "OK" : status < 500 ? "Client Error" : "Server Error";
  }
}

// The response as the pieces to write: the head first, then the body unless it is a HEAD request.
std::vector<std::string> Serialize(Response response, bool head_only, bool keep_alive, bool gzip_ok,
                                   int gzip_min_bytes) {
  std::size_t length = 0;
  for (const auto& p : response.body) length += p.size();
  bool gzipped = response.gzipped;
  if (!gzipped && gzip_ok && length >= static_cast<std::size_t>(gzip_min_bytes)) {
    std::string error;
    if (Gzip(response.body, error)) {
      length = response.body.front().size();
      gzipped = true;
    }  // else: sent as it is
  }
  std::string head = "HTTP/1.1 " + std::to_string(response.status) + " " + Reason(response.status) + "\r\n";
  head += "Content-Type: " + response.content_type + "\r\n";
  head += "Content-Length: " + std::to_string(length) + "\r\n";
  if (gzipped) head += "Content-Encoding: gzip\r\n";
  if (gzip_min_bytes >= 0) head += "Vary: Accept-Encoding\r\n";
  head += "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n";
  for (const auto& [k, v] : response.headers) head += k + ": " + v + "\r\n";
  head += keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
  std::vector<std::string> out;
  out.reserve(response.body.size() + 1);
  out.push_back(std::move(head));
  if (!head_only) {
    for (auto& p : response.body) {
      if (!p.empty()) out.push_back(std::move(p));
    }
  }
  return out;
}

// The listening socket for "[host]:port"; an empty host listens on every address.
int Listen(const std::string& listen_address, int& port, std::string& error) {
  const auto colon = listen_address.rfind(':');
  if (colon == std::string::npos) {
    error = "listen address " + listen_address + " is not [host]:port";
    return -1;
  }
  std::string host = listen_address.substr(0, colon);
  const std::string service = listen_address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* list = nullptr;
  // No host: "::" accepts IPv4 too (IPV6_V6ONLY off); 0.0.0.0 where IPv6 is disabled.
  const char* node = host.empty() ? nullptr : host.c_str();
  if (host.empty()) hints.ai_family = AF_INET6;
  int rc = getaddrinfo(node, service.c_str(), &hints, &list);
  if (rc != 0 && host.empty()) {
    hints.ai_family = AF_INET;
    rc = getaddrinfo(node, service.c_str(), &hints, &list);
  }
  if (rc != 0) {
    error = "cannot resolve listen address " + listen_address + ": " + gai_strerror(rc);
    return -1;
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owned(list, freeaddrinfo);
  for (addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      error = Errno("socket");
      continue;
    }
    int one = 1, zero = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ai->ai_family == AF_INET6 && host.empty()) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      error = "cannot listen on " + listen_address + ": " + Errno("bind");
      close(fd);
      continue;
    }
    if (listen(fd, 1024) != 0) {
      error = "cannot listen on " + listen_address + ": " + Errno("listen");
      close(fd);
      continue;
    }
    sockaddr_storage bound{};
    socklen_t len = sizeof(bound);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len) != 0) {
      error = Errno("getsockname");
      close(fd);
      continue;
    }
    port = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                             : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    return fd;
  }
  return -1;
}

// A peer's address bytes without its port; an IPv4 client that reaches a dual-stack socket as
// ::ffff:a.b.c.d is the same client as over IPv4.
std::string ClientKey(const sockaddr_storage& peer) {
  if (peer.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(peer).sin_addr;
    return std::string(reinterpret_cast<const char*>(&a), sizeof(a));
  }
  if (peer.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(peer).sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&a)) return std::string(reinterpret_cast<const char*>(a.s6_addr) + 12, 4);
    return std::string(reinterpret_cast<const char*>(a.s6_addr), sizeof(a.s6_addr));
  }
  return {};  // a Unix socket or the like: one client
}

}  // namespace

Response Response::Text(int status, std::string text) {
  Response r;
  r.status = status;
  r.body.push_back(std::move(text));
  return r;
}

const char* ServerStats::CloseName(int reason) {
  switch (reason) {
    case kClientClosed:
      return "client_closed";
    case kHeaderTimeout:
      return "header_timeout";
    case kIdleTimeout:
      return "idle_timeout";
    case kWriteTimeout:
      return "write_timeout";
    case kEvicted:
      return "evicted";
    case kBadRequest:
      return "bad_request";
    case kTlsError:
      return "tls_error";
    case kServerClosed:
      return "server_closed";
    default:
      return "unknown";
  }
}

bool AcceptsGzip(const std::string* accept_encoding) {
  if (accept_encoding == nullptr) return false;
  std::string_view rest = *accept_encoding;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    const auto semi = item.find(';');
    std::string_view coding = item.substr(0, semi);
    while (!coding.empty() && (coding.front() == ' ' || coding.front() == '\t')) coding.remove_prefix(1);
    while (!coding.empty() && (coding.back() == ' ' || coding.back() == '\t')) coding.remove_suffix(1);
    if (coding != "gzip" && coding != "*") continue;
    if (semi == std::string_view::npos) return true;
    // "q=0", "q=0.0", "q=0.000": refused; any other weight accepts.
    std::string_view params = item.substr(semi + 1);
    const auto q = params.find("q=");
    if (q == std::string_view::npos) return true;
    std::string_view weight = params.substr(q + 2);
    bool zero = !weight.empty() && weight.front() == '0';
    for (std::size_t i = 1; zero && i < weight.size() && weight[i] != ' ' && weight[i] != ';'; ++i) {
      zero = weight[i] == '0' || weight[i] == '.';
    }
    if (!zero) return true;
  }
  return false;
}

namespace detail {

// ISA-L's igzip at level 1: ~2.5x faster than libdeflate's fastest level on scrape bodies and
// ~4 % larger (a 124 KB 1-group body: 82 against 220 us, 14,490 against 13,959 bytes). Its
// state and level buffer are kept for reuse: allocating them per response cost page faults on
// every scrape. Shared by the worker threads rather than one per thread: each is ~170 KiB, and
// there are as many as gzips ran at once, not as threads that ever compressed.
struct Compressor {
  isal_zstream stream;
  // The smallest buffer that keeps level 1's speed (with the minimum one it is 1.5x slower);
  // larger ones gain ~5 % for 60-200 KiB more per compressor.
  std::uint8_t level_buf[ISAL_DEF_LVL1_SMALL];
  // GzipStream's output goes here first and is copied out at its size: a piece made at the
  // chunk's size for igzip to write into would be zero-filled first, which cost more than the
  // copy (a 1-group body compresses to 14 KB, which took a zero-filled 64 KiB piece).
  std::uint8_t chunk[GzipStream::kChunk];

  // The settings of every gzip we send, after isal_deflate_init or isal_deflate_stateless_init.
  void Configure() {
    stream.level = 1;
    stream.level_buf = level_buf;
    stream.level_buf_size = sizeof(level_buf);
    stream.gzip_flag = IGZIP_GZIP;
    stream.flush = NO_FLUSH;
  }
};

}  // namespace detail

namespace {

using detail::Compressor;

// Sends out[piece...], from `offset` in out[piece], with one sendmsg that does not block, and
// moves piece and offset past what the socket took, freeing each piece once it is sent.
// Returns the bytes sent, or -1 with errno set.
ssize_t SendPieces(int fd, std::vector<std::string>& out, std::size_t& piece, std::size_t& offset) {
  iovec iov[64];
  int count = 0;
  for (std::size_t i = piece; i < out.size() && count < 64; ++i, ++count) {
    const std::size_t skip = i == piece ? offset : 0;
    iov[count].iov_base = out[i].data() + skip;
    iov[count].iov_len = out[i].size() - skip;
  }
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = static_cast<std::size_t>(count);
  ssize_t r;
  do {
    r = sendmsg(fd, &msg, MSG_NOSIGNAL);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return r;
  for (std::size_t n = static_cast<std::size_t>(r); piece < out.size(); ++piece, offset = 0) {
    const std::size_t take = std::min(n, out[piece].size() - offset);
    offset += take;
    n -= take;
    if (offset < out[piece].size()) break;
    std::string().swap(out[piece]);  // sent: freed at once
  }
  return r;
}

// Never destroyed (a worker may still compress while the process exits).
class CompressorPool {
 public:
  Compressor* Get() {
    {
      std::lock_guard lock(mu_);
      if (!free_.empty()) {
        auto* c = free_.back();
        free_.pop_back();
        return c;
      }
    }
    // Default-initialised: isal_deflate(_stateless)_init sets what a compression reads, and
    // pages it never touches are never faulted in.
    return new (std::nothrow) Compressor;
  }
  void Put(Compressor* c) {
    std::lock_guard lock(mu_);
    free_.push_back(c);
  }

 private:
  std::mutex mu_;  // Guards free_.
  std::vector<Compressor*> free_;
};

CompressorPool& Pool() {
  static CompressorPool& pool = *new CompressorPool;
  return pool;
}

}  // namespace

bool Gzip(std::vector<std::string>& pieces, std::string& error) {
  struct Lease {
    Compressor* c = Pool().Get();
    ~Lease() {
      if (c != nullptr) Pool().Put(c);
    }
  } compressor;
  if (compressor.c == nullptr) {
    error = "out of memory for a gzip compressor";
    return false;
  }
  // igzip compresses one buffer here: a body in pieces is joined, each freed once copied. A
  // scrape body comes in one piece (collectors::MetricSink), so this copy is the exception.
  if (pieces.size() != 1) {
    std::size_t total = 0;
    for (const auto& p : pieces) total += p.size();
    std::string joined;
    joined.reserve(total);
    for (auto& p : pieces) {
      joined += p;
      std::string().swap(p);
    }
    pieces.clear();
    pieces.push_back(std::move(joined));
  }
  const std::string& in = pieces.front();
  if (in.size() > UINT32_MAX / 2) {
    error = "body too large to gzip";
    return false;
  }
  // A scrape body compresses ~9x: a buffer of a quarter of it is tried first, and the worst
  // case (stored blocks: 5 bytes per 64 KiB, the gzip header and trailer) only when that is too
  // small. Heap pages a scrape once touched stay resident (exporter/main.cpp), so a smaller
  // buffer is a lower high-water mark.
  std::size_t n = 0;
  std::unique_ptr<char[]> buffer;
  for (std::size_t size : {in.size() / 4 + 1024, in.size() + in.size() / 8192 + 1024}) {
    buffer = std::make_unique_for_overwrite<char[]>(size);
    isal_zstream& s = compressor.c->stream;
    isal_deflate_stateless_init(&s);
    compressor.c->Configure();
    s.end_of_stream = 1;
    s.next_in = reinterpret_cast<std::uint8_t*>(const_cast<char*>(in.data()));
    s.avail_in = static_cast<std::uint32_t>(in.size());
    s.next_out = reinterpret_cast<std::uint8_t*>(buffer.get());
    s.avail_out = static_cast<std::uint32_t>(size);
    const int rc = isal_deflate_stateless(&s);
    if (rc == COMP_OK) {
      n = s.total_out;
      break;
    }
    if (rc != STATELESS_OVERFLOW) {
      error = "isal_deflate_stateless failed: " + std::to_string(rc);
      return false;
    }
  }
  if (n == 0) {
    error = "isal_deflate_stateless: output space";
    return false;
  }
  // The body is freed before the compressed copy is made, and the copy is exactly its size:
  // nothing of the body's size stays alive while the response is written.
  pieces.front() = std::string();
  pieces.front().assign(buffer.get(), n);
  return true;
}

GzipStream::GzipStream() : c_(Pool().Get()) {
  if (c_ == nullptr) {
    error_ = "out of memory for a gzip compressor";
    return;
  }
  isal_deflate_init(&c_->stream);
  c_->Configure();
  c_->stream.next_out = c_->chunk;
  c_->stream.avail_out = static_cast<std::uint32_t>(kChunk);
}

GzipStream::~GzipStream() {
  if (c_ != nullptr) Pool().Put(c_);
}

void GzipStream::Write(std::string_view text) {
  if (ok() && !done_) Deflate(text, false);
}

bool GzipStream::Deflate(std::string_view in, bool end) {
  isal_zstream& s = c_->stream;
  static std::uint8_t none = 0;  // next_in for no input: never null
  bool stalled = false;
  do {
    // avail_in is 32 bits: a larger text goes in slices.
    const std::size_t slice = std::min<std::size_t>(in.size(), std::size_t{1} << 30);
    s.next_in = slice == 0 ? &none : reinterpret_cast<std::uint8_t*>(const_cast<char*>(in.data()));
    s.avail_in = static_cast<std::uint32_t>(slice);
    in.remove_prefix(slice);
    s.end_of_stream = end && in.empty() ? 1 : 0;
    while (s.avail_in > 0 || (s.end_of_stream && s.internal_state.state != ZSTATE_END)) {
      // A full chunk, or one whose last bytes igzip would not use (it writes some parts only
      // with a few bytes of room), becomes a piece, and the chunk is written again.
      if (s.avail_out == 0 || stalled) {
        if (stalled && s.avail_out == kChunk) {
          error_ = "isal_deflate made no progress";
          return false;
        }
        TakeChunk();
      }
      const std::uint32_t avail_in = s.avail_in, avail_out = s.avail_out;
      const int rc = isal_deflate(&s);
      if (rc != COMP_OK) {
        error_ = "isal_deflate failed: " + std::to_string(rc);
        return false;
      }
      stalled = s.avail_in == avail_in && s.avail_out == avail_out && s.internal_state.state != ZSTATE_END;
    }
  } while (!in.empty());
  return true;
}

void GzipStream::TakeChunk() {
  isal_zstream& s = c_->stream;
  const std::size_t n = kChunk - s.avail_out;
  if (n > 0) out_.emplace_back(reinterpret_cast<const char*>(c_->chunk), n);
  s.next_out = c_->chunk;
  s.avail_out = static_cast<std::uint32_t>(kChunk);
}

bool GzipStream::Finish(std::vector<std::string>& pieces, std::string& error) {
  const bool done = done_;
  done_ = true;
  if (ok() && !done && Deflate({}, true)) {
    TakeChunk();
    pieces = std::move(out_);
    out_.clear();
    return true;
  }
  error = !error_.empty() ? error_ : "gzip stream already finished";
  out_.clear();
  return false;
}

// ---------------------------------------------------------------------------------------

// Runs complete requests on up to `max` threads. Threads are made when requests wait and none
// is free, and end after two idle seconds: glibc keeps each thread's freed small allocations in
// a cache of its own, and a thread that ends gives its cache back (bench/README.md).
// Waiting requests take turns by client address: a client that sends many requests (a flood
// of /metrics while a node hangs holds each worker for the whole deadline) delays another
// client's request by at most one of its waiting requests, not by its whole backlog.
class Workers {
 public:
  explicit Workers(int max) : max_(max) {}
  ~Workers() { Stop(); }

  // `client` is the peer's address without its port (Server::Loop::Conn::client).
  void Submit(const std::string& client, std::function<void()> job) {
    std::unique_lock lock(mu_);
    auto& mine = waiting_[client];
    if (mine.empty()) turns_.push_back(client);
    mine.push_back(std::move(job));
    ++queued_;
    // An idle worker counts as idle until it wakes and takes its job: only as many jobs as
    // there are idle workers are left to them, or a job could wait behind a long one.
    if (static_cast<std::size_t>(idle_) >= queued_) {
      // Notified after unlocking: a worker woken under the lock would only block on it again.
      lock.unlock();
      cv_.notify_one();
      return;
    }
    if (running_ >= max_) return;  // waits for a thread to come free
    ReapLocked();
    ++running_;
    threads_.emplace_back();
    auto it = std::prev(threads_.end());
    *it = std::thread([this, it] { Work(it); });
  }

  void Stop() {
    std::list<std::thread> threads;
    {
      std::lock_guard lock(mu_);
      stop_ = true;
      cv_.notify_all();
    }
    // Threads remove nothing from the list after stop_: join them all.
    for (;;) {
      std::unique_lock lock(mu_);
      if (threads_.empty()) break;
      std::thread t = std::move(threads_.front());
      threads_.pop_front();
      lock.unlock();
      if (t.joinable()) t.join();
    }
  }

 private:
  void Work(std::list<std::thread>::iterator self) {
    std::unique_lock lock(mu_);
    for (;;) {
      ++idle_;
      const bool got = cv_.wait_for(lock, std::chrono::seconds(2), [&] { return stop_ || queued_ > 0; });
      --idle_;
      if (!got || (stop_ && queued_ == 0)) break;
      auto job = TakeLocked();
      lock.unlock();
      job();
      job = nullptr;  // what it holds is freed on this thread
      lock.lock();
    }
    --running_;
    if (!stop_) finished_.push_back(self);
  }

  // The first job of the client whose turn it is; that client goes to the back of the turns
  // if it has more.
  std::function<void()> TakeLocked() {
    const std::string client = std::move(turns_.front());
    turns_.pop_front();
    auto it = waiting_.find(client);
    auto job = std::move(it->second.front());
    it->second.pop_front();
    --queued_;
    if (it->second.empty()) {
      waiting_.erase(it);
    } else {
      turns_.push_back(client);
    }
    return job;
  }

  void ReapLocked() {
    for (auto it : finished_) {
      it->join();  // has returned from Work: joins at once
      threads_.erase(it);
    }
    finished_.clear();
  }

  const int max_;
  std::mutex mu_;  // guards everything below
  std::condition_variable cv_;
  std::unordered_map<std::string, std::deque<std::function<void()>>> waiting_;  // client -> its jobs, oldest first
  std::deque<std::string> turns_;  // each client with waiting jobs once, next to be served first
  std::size_t queued_ = 0;         // jobs in waiting_
  std::list<std::thread> threads_;
  std::vector<std::list<std::thread>::iterator> finished_;  // ended, not joined yet
  int running_ = 0;
  int idle_ = 0;
  bool stop_ = false;
};

// ---------------------------------------------------------------------------------------

class Server::Loop {
 public:
  Loop(Server& server, int listen_fd, int epoll_fd, int wake_fd)
      : server_(server), options_(server.options_), listen_fd_(listen_fd), epoll_fd_(epoll_fd), wake_fd_(wake_fd) {
    for (auto& lane : lanes_) lane = std::make_unique<Workers>(server.options_.max_handlers);
  }

  ~Loop() {
    for (auto& [id, c] : conns_) CloseFd(*c);
    close(listen_fd_);
    close(wake_fd_);
    close(epoll_fd_);
  }

  void Run();
  void RequestStop() {
    stop_.store(true);
    Wake();
  }
  void StopWorkers() {
    for (auto& lane : lanes_) lane->Stop();
  }

 private:
  enum class Phase { kHandshake, kReading, kHandling, kWriting, kDraining };
  static constexpr std::uint64_t kListenId = 0, kWakeId = 1;

  struct Conn {
    std::uint64_t id = 0;
    int fd = -1;
    std::string client;  // the peer's address bytes, without the port: whose turn (Workers)
    Phase phase = Phase::kReading;
    std::shared_ptr<const ServerTlsContext> tls_context;  // HTTPS: the handshake is still to come
    std::unique_ptr<redis::TlsSession> tls;
    std::unique_ptr<RequestParser> parser;  // made on the first byte: idle connections cost less
    std::string in;                         // received, not yet parsed
    std::vector<std::string> out;           // the response being written
    std::size_t out_piece = 0, out_offset = 0;
    std::size_t unsent = 0;      // bytes of `out` the kernel has not taken yet
    Clock::time_point progress;  // when the kernel last took some of them
    bool close_after_write = false;
    int close_reason = ServerStats::kClientClosed;  // counted when a close-after-write ends
    bool head_started = false;
    Clock::time_point deadline;
    std::uint32_t events = 0;                     // epoll interest now registered
    std::list<std::uint64_t>::iterator idle_pos;  // in idle_ while kReading or kHandshake
    bool in_idle_list = false;
  };

  // A handler's response, handed from its worker to the loop. On a plain connection the worker
  // has already written what the socket took: `out` is what is left.
  struct Completion {
    std::uint64_t id;
    std::vector<std::string> out;
    bool keep_alive;
    bool failed = false;  // the worker's write found the connection broken
  };

  void Wake() {
    std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof(one));
  }
  void Accept();
  void OnEvent(Conn& c);
  void Handshake(Conn& c);
  void Read(Conn& c);
  void Parse(Conn& c);
  void Dispatch(Conn& c);
  void Respond(Conn& c, int status, const std::string& text);
  void StartWrite(Conn& c, std::vector<std::string> out, bool keep_alive);
  void Write(Conn& c);
  void Drain(Conn& c);
  void FinishCompletions();
  static bool WriteDirect(int fd, Completion& done);
  void Sweep(Clock::time_point now);
  void Interest(Conn& c, std::uint32_t events);
  void Touch(Conn& c);  // most recently active reading connection
  void Untouch(Conn& c);
  void Close(Conn& c, int reason);
  void CloseFd(Conn& c) {
    if (c.fd >= 0) close(c.fd);
    c.fd = -1;
  }
  bool EvictOne();
  void MakeRoomForUnsent(std::uint64_t writer);
  void Sent(Conn& c, std::size_t n);

  Server& server_;
  const ServerOptions& options_;
  const int listen_fd_, epoll_fd_, wake_fd_;
  std::array<std::unique_ptr<Workers>, 2> lanes_;  // ServerOptions::lane
  std::atomic<bool> stop_{false};
  bool listening_ = true;  // false while accept() is paused for want of descriptors
  std::uint64_t next_id_ = 2;
  std::unordered_map<std::uint64_t, std::unique_ptr<Conn>> conns_;
  std::list<std::uint64_t> idle_;  // reading connections, least recently active first
  std::size_t unsent_ = 0;         // the sum of every connection's Conn::unsent
  std::mutex done_mu_;             // guards done_, wake_ids_: handlers finish on worker threads
  std::vector<Completion> done_;
  // Connections the loop heard from while their handler ran: their worker wakes the loop even
  // for a response it wrote whole.
  std::unordered_set<std::uint64_t> wake_ids_;
};

void Server::Loop::Run() {
  epoll_event events[128];
  auto last_sweep = Clock::now();
  while (!stop_.load()) {
    // Deadlines are checked every 100 ms while connections are open; with none, sleep.
    const int timeout = conns_.empty() && listening_ ? -1 : 100;
    int n = epoll_wait(epoll_fd_, events, 128, timeout);
    if (n < 0 && errno != EINTR) break;
    // Responses written whole by their workers, which did not wake the loop for them.
    FinishCompletions();
    for (int i = 0; i < n; ++i) {
      const std::uint64_t id = events[i].data.u64;
      if (id == kListenId) {
        Accept();
      } else if (id == kWakeId) {
        std::uint64_t count;
        [[maybe_unused]] ssize_t r = read(wake_fd_, &count, sizeof(count));
        FinishCompletions();
      } else if (auto it = conns_.find(id); it != conns_.end()) {
        OnEvent(*it->second);
      }
    }
    const auto now = Clock::now();
    if (now - last_sweep >= std::chrono::milliseconds(100)) {
      Sweep(now);
      last_sweep = now;
    }
  }
  // A connection whose handler still runs stays open until ~Loop, after the workers have
  // stopped: its worker may write to the descriptor, whose number must not be reused before.
  for (auto it = conns_.begin(); it != conns_.end();) {
    server_.stats_.closed[ServerStats::kServerClosed].fetch_add(1, std::memory_order_relaxed);
    server_.stats_.open.fetch_sub(1, std::memory_order_relaxed);
    if (it->second->phase == Phase::kHandling) {
      ++it;
      continue;
    }
    CloseFd(*it->second);
    it = conns_.erase(it);
  }
}

bool Server::Loop::EvictOne() {
  if (idle_.empty()) return false;
  auto it = conns_.find(idle_.front());
  if (it == conns_.end()) {
    idle_.pop_front();
    return true;
  }
  Close(*it->second, ServerStats::kEvicted);
  return true;
}

// Closes the writers that have waited longest for their client to read, until the unsent
// bytes fit the budget again: a crowd that asks and never reads cannot fill the memory.
void Server::Loop::MakeRoomForUnsent(std::uint64_t writer) {
  while (unsent_ > options_.max_unsent_bytes) {
    Conn* stalled = nullptr;
    for (auto& [id, conn] : conns_) {
      if (id == writer || conn->phase != Phase::kWriting || conn->unsent == 0) continue;
      if (stalled == nullptr || conn->progress < stalled->progress) stalled = conn.get();
    }
    if (stalled == nullptr) return;
    Close(*stalled, ServerStats::kEvicted);
  }
}

void Server::Loop::Sent(Conn& c, std::size_t n) {
  c.unsent -= n;
  unsent_ -= n;
  c.progress = Clock::now();
}

void Server::Loop::Accept() {
  for (int accepted = 0; accepted < 64; ++accepted) {
    sockaddr_storage peer{};
    socklen_t peer_len = sizeof(peer);
    int fd = accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &peer_len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if ((errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) && EvictOne()) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Nothing to evict: stop accepting until the sweep, or the loop would spin.
        epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
        listening_ = false;
      }
      return;
    }
    if (conns_.size() >= options_.max_connections && !EvictOne()) {
      close(fd);  // every connection is busy with a request: refuse the newcomer
      server_.stats_.closed[ServerStats::kEvicted].fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    auto conn = std::make_unique<Conn>();
    Conn& c = *conn;
    c.id = next_id_++;
    c.fd = fd;
    c.client = ClientKey(peer);
    {
      std::lock_guard lock(server_.tls_mu_);
      c.tls_context = server_.tls_;
    }
    c.phase = c.tls_context ? Phase::kHandshake : Phase::kReading;
    c.deadline = Clock::now() + options_.idle_timeout;
    conns_.emplace(c.id, std::move(conn));
    server_.stats_.accepted.fetch_add(1, std::memory_order_relaxed);
    server_.stats_.open.fetch_add(1, std::memory_order_relaxed);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = c.id;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      Close(c, ServerStats::kServerClosed);
      continue;
    }
    c.events = EPOLLIN;
    Touch(c);
  }
}

void Server::Loop::Interest(Conn& c, std::uint32_t events) {
  if (c.events == events) return;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = c.id;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
  c.events = events;
}

void Server::Loop::Touch(Conn& c) {
  if (c.in_idle_list) idle_.erase(c.idle_pos);
  c.idle_pos = idle_.insert(idle_.end(), c.id);
  c.in_idle_list = true;
}

void Server::Loop::Untouch(Conn& c) {
  if (c.in_idle_list) idle_.erase(c.idle_pos);
  c.in_idle_list = false;
}

void Server::Loop::Close(Conn& c, int reason) {
  Untouch(c);
  unsent_ -= c.unsent;
  if (c.fd >= 0) epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.fd, nullptr);
  CloseFd(c);
  server_.stats_.closed[reason].fetch_add(1, std::memory_order_relaxed);
  server_.stats_.open.fetch_sub(1, std::memory_order_relaxed);
  conns_.erase(c.id);  // destroys c
}

void Server::Loop::OnEvent(Conn& c) {
  switch (c.phase) {
    case Phase::kHandshake:
      Handshake(c);
      return;
    case Phase::kReading:
      Read(c);
      return;
    case Phase::kWriting:
      Write(c);
      return;
    case Phase::kDraining:
      Drain(c);
      return;
    case Phase::kHandling: {
      // The worker may have written the whole response without waking the loop: then the
      // connection goes on at once; otherwise the worker is asked to wake the loop when done.
      // The first event often is the next request of a client that read the response before
      // its worker announced it: the interest is left as it is, so the event comes again at
      // once, usually after the announcement.
      const std::uint64_t id = c.id;
      bool finished = false, first = false;
      {
        std::lock_guard lock(done_mu_);
        finished = std::any_of(done_.begin(), done_.end(), [&](const Completion& d) { return d.id == id; });
        if (!finished) first = wake_ids_.insert(id).second;
      }
      if (finished) {
        FinishCompletions();  // may close c
        if (auto it = conns_.find(id); it != conns_.end() && it->second->phase != Phase::kHandling) {
          OnEvent(*it->second);
        }
        return;
      }
      if (first) return;
      // Not reading while a handler runs; a hang-up is noticed when the response is written.
      // The interest stays as it was until something arrives (a client waiting for its answer
      // sends nothing, and two epoll_ctl per request are saved); then only hang-ups are
      // reported, edge-triggered: this one only once.
      Interest(c, EPOLLET);
      return;
    }
  }
}

// Whether the client's first TLS record (its ClientHello) has fully arrived, judged by peeking
// at the socket: no TLS state is made before, so a client that drips its handshake (or sends
// nothing) costs kernel buffers only. Garbage that is no TLS handshake record is refused here.
enum class Hello { kWait, kReady, kBad, kClosed };
Hello PeekHello(int fd) {
  unsigned char header[5];
  ssize_t n = recv(fd, header, sizeof(header), MSG_PEEK);
  if (n == 0) return Hello::kClosed;
  if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? Hello::kWait : Hello::kClosed;
  if (header[0] != 0x16 || (n >= 2 && header[1] != 0x03)) return Hello::kBad;  // handshake, TLS 1.x
  if (n < 5) return Hello::kWait;
  const std::size_t length = static_cast<std::size_t>(header[3]) << 8 | header[4];
  if (length == 0 || length > 16384 + 2048) return Hello::kBad;
  int available = 0;
  if (ioctl(fd, FIONREAD, &available) != 0) return Hello::kClosed;
  return static_cast<std::size_t>(available) >= 5 + length ? Hello::kReady : Hello::kWait;
}

void Server::Loop::Handshake(Conn& c) {
  std::string error;
  if (!c.tls) {
    if (!c.head_started) {
      c.head_started = true;  // the handshake counts against the header deadline, as in Go
      c.deadline = Clock::now() + options_.read_header_timeout;
    }
    switch (PeekHello(c.fd)) {
      case Hello::kWait:
        // Edge-triggered until the record is whole: the bytes seen stay in the socket (peeked,
        // not read), and level-triggered they would wake the loop again at once, forever.
        Interest(c, EPOLLIN | EPOLLET);
        return Touch(c);
      case Hello::kBad:
        return Close(c, ServerStats::kTlsError);
      case Hello::kClosed:
        return Close(c, ServerStats::kClientClosed);
      case Hello::kReady:
        break;
    }
    c.tls = c.tls_context->NewSession(c.fd, error);
    if (!c.tls) return Close(c, ServerStats::kTlsError);
  }
  switch (c.tls->Handshake(error)) {
    case redis::TlsSession::Result::kOk:
      c.tls_context.reset();
      c.phase = Phase::kReading;
      Interest(c, EPOLLIN);
      return Read(c);  // OpenSSL may already hold the request's first bytes
    case redis::TlsSession::Result::kWantRead:
      return Interest(c, EPOLLIN);
    case redis::TlsSession::Result::kWantWrite:
      return Interest(c, EPOLLOUT);
    default:
      return Close(c, ServerStats::kTlsError);
  }
}

void Server::Loop::Read(Conn& c) {
  char buf[16 * 1024];
  for (;;) {
    std::size_t n = 0;
    if (c.tls) {
      std::string error;
      auto r = c.tls->Read(buf, sizeof(buf), n, error);
      if (r == redis::TlsSession::Result::kWantRead) break;
      if (r == redis::TlsSession::Result::kWantWrite) {
        Interest(c, EPOLLOUT);
        return;
      }
      if (r == redis::TlsSession::Result::kClosed) return Close(c, ServerStats::kClientClosed);
      if (r != redis::TlsSession::Result::kOk) return Close(c, ServerStats::kTlsError);
    } else {
      ssize_t r = recv(c.fd, buf, sizeof(buf), 0);
      if (r == 0) return Close(c, ServerStats::kClientClosed);
      if (r < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        return Close(c, ServerStats::kClientClosed);
      }
      n = static_cast<std::size_t>(r);
    }
    c.in.append(buf, n);
    // One head at most is buffered: the parser refuses longer ones, so stop reading here.
    if (c.in.size() > options_.limits.max_head_bytes) break;
    // A short plain read drained the socket (for now): level-triggered, epoll reports what
    // comes next, so the recv that would only say EAGAIN is saved. (TLS may hold decrypted
    // bytes back, so it reads on.)
    if (!c.tls && n < sizeof(buf)) break;
  }
  if (c.phase == Phase::kReading) Interest(c, EPOLLIN);
  Parse(c);
}

void Server::Loop::Parse(Conn& c) {
  if (c.in.empty()) return;
  if (!c.parser) c.parser = std::make_unique<RequestParser>(options_.limits);
  if (!c.head_started) {
    c.head_started = true;
    c.deadline = Clock::now() + options_.read_header_timeout;
  }
  Touch(c);
  const std::size_t used = c.parser->Feed(c.in.data(), c.in.size());
  c.in.erase(0, used);
  switch (c.parser->state()) {
    case RequestParser::State::kIncomplete:
      return;
    case RequestParser::State::kError:
      return Respond(c, c.parser->error_status(), c.parser->error() + "\n");
    case RequestParser::State::kComplete:
      return Dispatch(c);
  }
}

void Server::Loop::Respond(Conn& c, int status, const std::string& text) {
  c.close_reason = status == 408 ? ServerStats::kHeaderTimeout : ServerStats::kBadRequest;
  Untouch(c);
  StartWrite(c, Serialize(Response::Text(status, text), false, false, false, -1), false);
}

void Server::Loop::Dispatch(Conn& c) {
  Untouch(c);
  c.phase = Phase::kHandling;
  server_.stats_.requests.fetch_add(1, std::memory_order_relaxed);
  auto request = std::make_shared<Request>(std::move(c.parser->request()));
  request->client = c.client;
  c.parser->Reset();
  const std::uint64_t id = c.id;
  const int gzip_min = options_.gzip_min_bytes;
  // On a plain kept-alive connection the worker writes the response itself: handing it to the
  // loop costs a wake-up of the loop's thread per request. The loop neither reads nor closes a
  // connection while its handler runs, so the descriptor stays this connection's. The loop
  // writes the rest: TLS (its sessions are the loop's alone), a connection to close (the loop
  // closes it as soon as it is written), and a response followed by a pipelined request.
  const int direct_fd = c.tls || !request->keep_alive || !c.in.empty() ? -1 : c.fd;
  const int lane = options_.lane && options_.lane(*request) == 1 ? 1 : 0;
  lanes_[lane]->Submit(c.client, [this, id, request, gzip_min, direct_fd] {
    Response response;
    try {
      response = server_.handler_(*request);
    } catch (...) {
      response = Response::Text(500, "internal error\n");
    }
    const bool head_only = request->method == "HEAD";
    const bool gzip_ok = AcceptsGzip(request->Header("accept-encoding"));
    Completion done{id, Serialize(std::move(response), head_only, request->keep_alive, gzip_ok, gzip_min),
                    request->keep_alive};
    bool wake = true;
    if (direct_fd >= 0) wake = !WriteDirect(direct_fd, done);
    {
      std::lock_guard lock(done_mu_);
      done_.push_back(std::move(done));
      if (wake_ids_.erase(id) > 0) wake = true;
    }
    if (wake) Wake();
  });
}

// Writes as much of done.out as the socket takes without blocking and drops what is written.
// Returns whether all of it is; a broken connection sets done.failed.
bool Server::Loop::WriteDirect(int fd, Completion& done) {
  auto& out = done.out;
  std::size_t piece = 0, offset = 0;
  while (piece < out.size()) {
    if (SendPieces(fd, out, piece, offset) >= 0) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) done.failed = true;
    break;
  }
  // The rest waits for the loop, which starts at a piece's beginning.
  if (piece < out.size()) out[piece].erase(0, offset);
  out.erase(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(piece));
  return out.empty() && !done.failed;
}

void Server::Loop::FinishCompletions() {
  std::vector<Completion> done;
  {
    std::lock_guard lock(done_mu_);
    done.swap(done_);
  }
  for (auto& d : done) {
    auto it = conns_.find(d.id);
    if (it == conns_.end()) continue;  // closed meanwhile (server stopping)
    if (d.failed) {
      Close(*it->second, ServerStats::kClientClosed);
      continue;
    }
    StartWrite(*it->second, std::move(d.out), d.keep_alive);
  }
}

void Server::Loop::StartWrite(Conn& c, std::vector<std::string> out, bool keep_alive) {
  if (c.tls && out.size() > 1) {
    // One TLS record per write: gather small pieces (the head, small families) into records of
    // up to 16 KiB rather than sending a record, and a TCP segment, per piece.
    std::vector<std::string> records;
    for (auto& piece : out) {
      if (!records.empty() && records.back().size() + piece.size() <= 16 * 1024) {
        records.back() += piece;
      } else {
        records.push_back(std::move(piece));
      }
    }
    out = std::move(records);
  }
  c.out = std::move(out);
  c.out_piece = 0;
  c.out_offset = 0;
  c.unsent = 0;
  for (const auto& piece : c.out) c.unsent += piece.size();
  unsent_ += c.unsent;
  c.close_after_write = !keep_alive;
  c.phase = Phase::kWriting;
  c.progress = Clock::now();
  c.deadline = c.progress + options_.write_timeout;
  MakeRoomForUnsent(c.id);
  Write(c);
}

void Server::Loop::Write(Conn& c) {
  while (c.out_piece < c.out.size()) {
    if (c.tls) {
      const std::string& piece = c.out[c.out_piece];
      std::size_t n = 0;
      std::string error;
      auto r = c.tls->Write(piece.data() + c.out_offset, piece.size() - c.out_offset, n, error);
      if (r == redis::TlsSession::Result::kWantWrite) return Interest(c, EPOLLOUT);
      if (r == redis::TlsSession::Result::kWantRead) return Interest(c, EPOLLIN);
      if (r != redis::TlsSession::Result::kOk) return Close(c, ServerStats::kClientClosed);
      c.out_offset += n;
      Sent(c, n);
    } else {
      ssize_t r = SendPieces(c.fd, c.out, c.out_piece, c.out_offset);
      if (r < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return Interest(c, EPOLLOUT);
        return Close(c, ServerStats::kClientClosed);
      }
      Sent(c, static_cast<std::size_t>(r));
      continue;
    }
    if (c.out_offset == c.out[c.out_piece].size()) {
      std::string().swap(c.out[c.out_piece]);
      ++c.out_piece;
      c.out_offset = 0;
    }
  }
  std::vector<std::string>().swap(c.out);
  if (c.close_after_write) {
    // Half-close and read what the client still sends until it closes: closing with unread
    // bytes would reset the connection and could destroy the response before it is read.
    if (c.tls) c.tls->Shutdown();
    shutdown(c.fd, SHUT_WR);
    c.phase = Phase::kDraining;
    c.deadline = Clock::now() + std::chrono::seconds(2);
    Interest(c, EPOLLIN);
    return Drain(c);
  }
  // Kept alive: the next request, perhaps already received.
  c.phase = Phase::kReading;
  c.head_started = false;
  c.deadline = Clock::now() + options_.idle_timeout;
  if (c.in.empty()) c.parser.reset();
  if (c.in.capacity() > 4096) c.in.shrink_to_fit();
  Interest(c, EPOLLIN);
  Touch(c);
  if (!c.in.empty()) return Parse(c);
  if (c.tls) Read(c);  // OpenSSL may hold bytes the socket no longer signals
}

void Server::Loop::Drain(Conn& c) {
  char buf[4096];
  for (;;) {
    ssize_t r = recv(c.fd, buf, sizeof(buf), 0);
    if (r > 0) continue;
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    return Close(c, c.close_reason);
  }
}

void Server::Loop::Sweep(Clock::time_point now) {
  if (!listening_) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kListenId;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev) == 0) listening_ = true;
  }
  std::vector<std::pair<Conn*, int>> expired;
  for (auto& [id, conn] : conns_) {
    Conn& c = *conn;
    if (c.phase == Phase::kHandling || now < c.deadline) continue;
    int reason = ServerStats::kIdleTimeout;
    if (c.phase == Phase::kWriting) reason = ServerStats::kWriteTimeout;
    if (c.phase == Phase::kDraining) reason = c.close_reason;
    if ((c.phase == Phase::kReading || c.phase == Phase::kHandshake) && c.head_started) {
      reason = ServerStats::kHeaderTimeout;
    }
    expired.emplace_back(&c, reason);
  }
  for (auto& [c, reason] : expired) {
    if (reason == ServerStats::kHeaderTimeout && !c->tls && c->phase == Phase::kReading) {
      // A client still sending its head: say why before closing (a TLS one gets no answer).
      Respond(*c, 408, "request head not received in time\n");
      continue;
    }
    Close(*c, reason);
  }
}

// ---------------------------------------------------------------------------------------

Server::Server(ServerOptions options, Handler handler) : options_(std::move(options)), handler_(std::move(handler)) {}

Server::~Server() { Stop(); }

void Server::SetTls(std::shared_ptr<const ServerTlsContext> tls) {
  std::lock_guard lock(tls_mu_);
  tls_ = std::move(tls);
}

bool Server::Start(std::string& error) {
  int listen_fd = Listen(options_.listen_address, port_, error);
  if (listen_fd < 0) return false;
  int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  int wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd < 0 || wake_fd < 0) {
    error = Errno(epoll_fd < 0 ? "epoll_create1" : "eventfd");
    close(listen_fd);
    if (epoll_fd >= 0) close(epoll_fd);
    if (wake_fd >= 0) close(wake_fd);
    return false;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = 0;
  epoll_event wake{};
  wake.events = EPOLLIN;
  wake.data.u64 = 1;
  if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listen_fd, &ev) != 0 ||
      epoll_ctl(epoll_fd, EPOLL_CTL_ADD, wake_fd, &wake) != 0) {
    error = Errno("epoll_ctl");
    close(listen_fd);
    close(epoll_fd);
    close(wake_fd);
    return false;
  }
  loop_ = std::make_unique<Loop>(*this, listen_fd, epoll_fd, wake_fd);
  thread_ = std::thread([this] { loop_->Run(); });
  return true;
}

void Server::Stop() {
  if (!loop_) return;
  loop_->RequestStop();
  if (thread_.joinable()) thread_.join();
  loop_->StopWorkers();  // handlers still running finish; their responses are dropped
  loop_.reset();
}

}  // namespace rse::http
