// bench_loadgen: the benchmark's HTTP client. One "view" = every URL given, fetched
// concurrently (as Prometheus scrapes its targets); views run one after another and each is
// timed from its first send (or connect, when a connection has to be opened) to its last
// response's end. Prints one summary line of KEY=VALUE pairs on stdout (bench/run parses it)
// and, with --views-file, each view's time.
//
// As Prometheus does, by default: HTTP/1.1 with one kept-alive connection per URL, reused
// across views, and "Accept-Encoding: gzip". --close sends "Connection: close" and opens a
// connection per request; --identity leaves out Accept-Encoding. A response ends at its
// Content-Length, at the end of its chunked body, or (without either) at EOF.
//
// --hold-idle N --hold-slow M URL: instead of views, holds N connections that send nothing and
// M that send a request head one byte per second and never finish it (slowloris), reopening
// any the server closes, until SIGTERM or --hold-seconds; --ready-file is written once all
// are open. Only loopback addresses are accepted (the benchmark's rule).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Url {
  sockaddr_in addr{};
  std::string host_port;
  std::string path;  // path and query
};

struct Options {
  long reps = 10;
  double max_seconds = 600;
  long view_timeout_ms = 60000;
  double scrape_timeout_header = 10;  // X-Prometheus-Scrape-Timeout-Seconds, as Prometheus sends
  bool keep_alive = true;
  bool gzip = true;
  std::string views_file;
  std::vector<Url> urls;
  long hold_idle = -1;  // >= 0: hold mode
  long hold_slow = 0;
  double hold_seconds = 3600;
  std::string ready_file;
};

[[noreturn]] void Usage(const std::string& error) {
  std::cerr << "bench_loadgen: " << error << "\n"
            << "usage: bench_loadgen [--reps N] [--max-seconds S] [--view-timeout-ms MS]\n"
            << "                     [--scrape-timeout-header S] [--views-file F] [--close] [--identity]\n"
            << "                     (--urls-file F | URL...)\n"
            << "       bench_loadgen --hold-idle N --hold-slow M [--hold-seconds S] [--ready-file F] URL\n"
            << "  URL: http://127.0.0.1:PORT/path?query (loopback only)\n";
  std::exit(2);
}

bool ParseUrl(const std::string& s, Url& out) {
  const std::string scheme = "http://";
  if (s.compare(0, scheme.size(), scheme) != 0) return false;
  std::string rest = s.substr(scheme.size());
  size_t slash = rest.find('/');
  std::string hp = rest.substr(0, slash);
  out.path = slash == std::string::npos ? "/" : rest.substr(slash);
  size_t colon = hp.rfind(':');
  if (colon == std::string::npos) return false;
  std::string host = hp.substr(0, colon);
  if (host == "localhost") host = "127.0.0.1";
  char* end = nullptr;
  long port = std::strtol(hp.c_str() + colon + 1, &end, 10);
  if (*end != '\0' || port <= 0 || port > 65535) return false;
  out.addr.sin_family = AF_INET;
  out.addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &out.addr.sin_addr) != 1) return false;
  if ((ntohl(out.addr.sin_addr.s_addr) >> 24) != 127) return false;  // loopback only
  out.host_port = hp;
  return true;
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  std::vector<std::string> raw;
  auto value = [&](int& i) -> std::string {
    if (i + 1 >= argc) Usage(std::string(argv[i]) + " needs a value");
    return argv[++i];
  };
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--reps") {
      o.reps = std::atol(value(i).c_str());
    } else if (a == "--max-seconds") {
      o.max_seconds = std::atof(value(i).c_str());
    } else if (a == "--view-timeout-ms") {
      o.view_timeout_ms = std::atol(value(i).c_str());
    } else if (a == "--scrape-timeout-header") {
      o.scrape_timeout_header = std::atof(value(i).c_str());
    } else if (a == "--views-file") {
      o.views_file = value(i);
    } else if (a == "--close") {
      o.keep_alive = false;
    } else if (a == "--identity") {
      o.gzip = false;
    } else if (a == "--hold-idle") {
      o.hold_idle = std::atol(value(i).c_str());
    } else if (a == "--hold-slow") {
      o.hold_slow = std::atol(value(i).c_str());
    } else if (a == "--hold-seconds") {
      o.hold_seconds = std::atof(value(i).c_str());
    } else if (a == "--ready-file") {
      o.ready_file = value(i);
    } else if (a == "--urls-file") {
      std::ifstream in(value(i));
      if (!in) Usage("cannot read the URLs file");
      std::string line;
      while (std::getline(in, line)) {
        if (!line.empty()) raw.push_back(line);
      }
    } else if (a == "-h" || a == "--help") {
      Usage("help");
    } else if (!a.empty() && a[0] == '-') {
      Usage("unknown option " + a);
    } else {
      raw.push_back(a);
    }
  }
  if (o.reps < 1 || o.reps > 1000000) Usage("--reps must be in [1, 1000000]");
  if (o.max_seconds <= 0 || o.view_timeout_ms <= 0) Usage("--max-seconds and --view-timeout-ms must be > 0");
  if (o.hold_idle > 100000 || o.hold_slow < 0 || o.hold_slow > 100000 || o.hold_seconds <= 0) {
    Usage("--hold-idle and --hold-slow must be in [0, 100000], --hold-seconds > 0");
  }
  if (raw.empty()) Usage("no URL given");
  if (o.hold_idle >= 0 && raw.size() != 1) Usage("hold mode takes one URL");
  for (const auto& s : raw) {
    Url u;
    if (!ParseUrl(s, u)) Usage("not a loopback http://127.0.0.1:PORT/... URL: " + s);
    o.urls.push_back(u);
  }
  return o;
}

int OpenSocket(const Url& url, bool& connected) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  connected = false;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&url.addr), sizeof(url.addr)) == 0) {
    connected = true;
  } else if (errno != EINPROGRESS) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool HeaderHas(const std::string& value, const char* token) {
  std::string v = value;
  for (auto& ch : v) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return v.find(token) != std::string::npos;
}

// Finds where one HTTP/1.1 response ends, fed the bytes as they arrive.
class ResponseReader {
 public:
  enum State { kHead, kLength, kChunkSize, kChunkData, kChunkEnd, kTrailer, kToEof, kDone, kError };

  void Reset() { *this = ResponseReader(); }
  State state() const { return state_; }
  int status() const { return status_; }
  bool close() const { return close_; }
  bool gzipped() const { return gzipped_; }
  size_t body_bytes() const { return body_bytes_; }

  // Consumes bytes; any beyond the response's end are an error (requests are not pipelined).
  void Feed(const char* p, size_t n) {
    size_t i = 0;
    while (i < n && state_ != kError) {
      switch (state_) {
        case kHead: {
          size_t take = std::min(n - i, kMaxHead - head_.size());
          const size_t before = head_.size();
          head_.append(p + i, take);
          size_t end = head_.find("\r\n\r\n", before >= 3 ? before - 3 : 0);
          if (end == std::string::npos) {
            if (head_.size() >= kMaxHead) state_ = kError;
            i += take;
            break;
          }
          i += end + 4 - before;
          head_.resize(end + 4);
          ParseHead();
          break;
        }
        case kLength: {
          size_t take = std::min(n - i, remaining_);
          i += take;
          body_bytes_ += take;
          remaining_ -= take;
          if (remaining_ == 0) state_ = kDone;
          break;
        }
        case kChunkSize:
        case kTrailer: {
          char c = p[i++];
          if (c != '\n') {
            if (line_.size() < 1024) line_.push_back(c);
            break;
          }
          if (!line_.empty() && line_.back() == '\r') line_.pop_back();
          if (state_ == kTrailer) {
            if (line_.empty()) state_ = kDone;
          } else {
            char* end = nullptr;
            unsigned long size = std::strtoul(line_.c_str(), &end, 16);
            if (end == line_.c_str()) {
              state_ = kError;
            } else if (size == 0) {
              state_ = kTrailer;
            } else {
              remaining_ = size;
              state_ = kChunkData;
            }
          }
          line_.clear();
          break;
        }
        case kChunkData: {
          size_t take = std::min(n - i, remaining_);
          i += take;
          body_bytes_ += take;
          remaining_ -= take;
          if (remaining_ == 0) state_ = kChunkEnd;
          break;
        }
        case kChunkEnd:  // the CRLF after a chunk's data
          if (p[i++] == '\n') state_ = kChunkSize;
          break;
        case kToEof:
          body_bytes_ += n - i;
          i = n;
          break;
        case kDone:
        case kError:
          state_ = kError;
          break;
      }
    }
  }
  void Eof() { state_ = state_ == kToEof ? kDone : kError; }

 private:
  static constexpr size_t kMaxHead = 65536;

  void ParseHead() {
    if (head_.size() < 12 || head_.compare(0, 5, "HTTP/") != 0) {
      state_ = kError;
      return;
    }
    status_ = std::atoi(head_.c_str() + 9);
    close_ = head_.compare(0, 8, "HTTP/1.0") == 0;
    long length = -1;
    bool chunked = false;
    size_t pos = head_.find("\r\n") + 2;
    while (pos < head_.size()) {
      size_t eol = head_.find("\r\n", pos);
      if (eol == std::string::npos || eol == pos) break;
      std::string line = head_.substr(pos, eol - pos);
      pos = eol + 2;
      size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      std::string value = line.substr(colon + 1);
      if (name == "content-length") {
        length = std::atol(value.c_str());
      } else if (name == "transfer-encoding") {
        chunked = HeaderHas(value, "chunked");
      } else if (name == "connection") {
        if (HeaderHas(value, "close")) close_ = true;
        if (HeaderHas(value, "keep-alive")) close_ = false;
      } else if (name == "content-encoding") {
        gzipped_ = HeaderHas(value, "gzip");
      }
    }
    if (status_ == 204 || status_ == 304) {
      state_ = kDone;
    } else if (chunked) {
      state_ = kChunkSize;
    } else if (length >= 0) {
      remaining_ = static_cast<size_t>(length);
      state_ = remaining_ == 0 ? kDone : kLength;
    } else {
      close_ = true;
      state_ = kToEof;
    }
  }

  State state_ = kHead;
  std::string head_;
  std::string line_;
  size_t remaining_ = 0;
  size_t body_bytes_ = 0;
  int status_ = 0;
  bool close_ = false;
  bool gzipped_ = false;
};

// One URL's connection, kept across views when the server keeps it alive.
struct Conn {
  const Url* url = nullptr;
  std::string request;
  int fd = -1;
  bool connected = false;
  bool reused = false;  // the request went out on a connection an earlier view used
  bool retried = false;
  size_t sent = 0;
  size_t wire_bytes = 0;
  bool done = false;
  bool ok = false;
  ResponseReader reader;
  Clock::time_point end;
};

struct Totals {
  long connects = 0;  // connections opened
  long retries = 0;   // requests resent after a kept-alive connection turned out closed
  long gzip_responses = 0;
  size_t body_bytes = 0;  // as received (compressed when gzipped)
};

void CloseConn(Conn& c) {
  if (c.fd >= 0) ::close(c.fd);
  c.fd = -1;
  c.connected = false;
}

bool Open(Conn& c, Totals& t) {
  c.fd = OpenSocket(*c.url, c.connected);
  if (c.fd < 0) return false;
  ++t.connects;
  return true;
}

void Finish(Conn& c, bool ok, const Options& o, Totals& t) {
  c.done = true;
  c.end = Clock::now();
  c.ok = ok && c.reader.state() == ResponseReader::kDone && c.reader.status() == 200;
  if (c.ok && c.reader.gzipped()) ++t.gzip_responses;
  t.body_bytes += c.reader.body_bytes();
  if (!c.ok || !o.keep_alive || c.reader.close()) CloseConn(c);
}

// A kept-alive connection the server closed before answering: resend once on a new one, as
// HTTP clients do. False when that is not the case (then the request failed).
bool Retry(Conn& c, Totals& t) {
  if (!c.reused || c.retried || c.wire_bytes > 0) return false;
  CloseConn(c);
  c.retried = true;
  c.reused = false;
  c.sent = 0;
  c.reader.Reset();
  ++t.retries;
  return Open(c, t);
}

struct ViewResult {
  double ms = 0;
  long failed = 0;
  size_t wire_bytes = 0;
};

// One view: every URL's request at once, then one poll loop until each response has ended.
// Long (~90 lines) because the loop is one state machine per connection (connect, write,
// read, retry on a reused connection the server closed), kept in one place to be read as one.
ViewResult RunView(const Options& o, std::vector<Conn>& conns, Totals& t) {
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::milliseconds(o.view_timeout_ms);
  for (auto& c : conns) {
    c.sent = 0;
    c.wire_bytes = 0;
    c.done = false;
    c.ok = false;
    c.retried = false;
    c.reader.Reset();
    c.reused = c.fd >= 0;
    if (c.fd < 0 && !Open(c, t)) Finish(c, false, o, t);
  }
  std::vector<pollfd> fds;
  std::vector<Conn*> owners;
  static char buf[65536];
  for (;;) {
    fds.clear();
    owners.clear();
    for (auto& c : conns) {
      if (c.done) continue;
      short ev = (!c.connected || c.sent < c.request.size()) ? POLLOUT : POLLIN;
      fds.push_back({c.fd, ev, 0});
      owners.push_back(&c);
    }
    if (fds.empty()) break;
    auto now = Clock::now();
    if (now >= deadline) {
      for (auto* c : owners) Finish(*c, false, o, t);
      break;
    }
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1;
    int n = ::poll(fds.data(), fds.size(), static_cast<int>(wait));
    if (n < 0 && errno != EINTR) {
      for (auto* c : owners) Finish(*c, false, o, t);
      break;
    }
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      Conn& c = *owners[i];
      if (!c.connected) {
        int err = 0;
        socklen_t len = sizeof(err);
        if (getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
          Finish(c, false, o, t);
          continue;
        }
        c.connected = true;
      }
      if (c.sent < c.request.size()) {
        ssize_t w = ::send(c.fd, c.request.data() + c.sent, c.request.size() - c.sent, MSG_NOSIGNAL);
        if (w < 0) {
          if (errno != EAGAIN && errno != EINTR && !Retry(c, t)) Finish(c, false, o, t);
          continue;
        }
        c.sent += static_cast<size_t>(w);
        continue;
      }
      for (;;) {
        ssize_t r = ::recv(c.fd, buf, sizeof(buf), 0);
        if (r == 0) {
          if (Retry(c, t)) break;
          c.reader.Eof();
          Finish(c, true, o, t);
          break;
        }
        if (r < 0) {
          if (errno == EINTR) continue;
          if (errno != EAGAIN && !Retry(c, t)) Finish(c, false, o, t);
          break;
        }
        c.wire_bytes += static_cast<size_t>(r);
        c.reader.Feed(buf, static_cast<size_t>(r));
        if (c.reader.state() == ResponseReader::kDone || c.reader.state() == ResponseReader::kError) {
          Finish(c, true, o, t);
          break;
        }
      }
    }
  }
  ViewResult v;
  Clock::time_point last = start;
  for (const auto& c : conns) {
    if (!c.ok) ++v.failed;
    v.wire_bytes += c.wire_bytes;
    last = std::max(last, c.end);
  }
  v.ms = std::chrono::duration<double, std::milli>(last - start).count();
  return v;
}

double Percentile(std::vector<double> sorted, double p) {  // nearest rank
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

double CpuMs() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

volatile sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

// Hold mode: idle and slowloris connections, reopened when closed, until told to stop. Long
// (~110 lines) for the same reason as RunView: one poll loop over every held connection's
// state (connecting, idle, dripping a header byte a second, closed and reopened).
int Hold(const Options& o) {
  struct sigaction sa {};
  sa.sa_handler = OnSignal;  // no SA_RESTART: poll returns EINTR
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  struct Held {
    int fd = -1;
    bool slow = false;
    bool connected = false;
    size_t pos = 0;
    Clock::time_point next;  // slow: next byte; closed: next attempt
  };
  const Url& url = o.urls.front();
  const std::string prefix = "GET " + url.path + " HTTP/1.1\r\nHost: " + url.host_port + "\r\nX-Slow: ";
  const long total = o.hold_idle + o.hold_slow;
  std::vector<Held> held(static_cast<size_t>(total));
  const auto t0 = Clock::now();
  for (long i = 0; i < total; ++i) {
    held[static_cast<size_t>(i)].slow = i >= o.hold_idle;
    // Slow connections' bytes spread over the second.
    held[static_cast<size_t>(i)].next = t0 + std::chrono::milliseconds(1000 * i / std::max<long>(1, total));
  }
  long opened = 0, closed_idle = 0, closed_slow = 0, connect_failures = 0, slow_bytes = 0;
  long min_open_after_ready = total;
  bool ready = false;
  double ready_s = -1;
  std::vector<pollfd> fds;
  std::vector<Held*> owners;
  static char buf[4096];
  const auto end = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.hold_seconds));
  while (!g_stop && Clock::now() < end) {
    auto now = Clock::now();
    long open_now = 0;
    for (auto& h : held) {
      if (h.fd < 0 && now >= h.next) {
        h.fd = OpenSocket(url, h.connected);
        h.pos = 0;
        if (h.fd < 0) {
          ++connect_failures;
          h.next = now + std::chrono::milliseconds(100);
        } else {
          ++opened;
          if (h.slow) h.next = now;
        }
      }
      if (h.fd >= 0 && h.connected && h.slow && now >= h.next) {
        const char byte = h.pos < prefix.size() ? prefix[h.pos] : 'a';
        if (::send(h.fd, &byte, 1, MSG_NOSIGNAL) == 1) {
          ++h.pos;
          ++slow_bytes;
        }
        h.next += std::chrono::seconds(1);
        if (h.next < now) h.next = now + std::chrono::seconds(1);
      }
      if (h.fd >= 0 && h.connected) ++open_now;
    }
    if (!ready && open_now == total) {
      ready = true;
      ready_s = std::chrono::duration<double>(now - t0).count();
      if (!o.ready_file.empty()) std::ofstream(o.ready_file) << "open=" << open_now << "\n";
    }
    if (ready) min_open_after_ready = std::min(min_open_after_ready, open_now);
    fds.clear();
    owners.clear();
    for (auto& h : held) {
      if (h.fd < 0) continue;
      fds.push_back({h.fd, static_cast<short>(h.connected ? POLLIN : POLLOUT), 0});
      owners.push_back(&h);
    }
    // 100 ms ticks: a slow connection's byte may be up to that late, and holding 1,200
    // connections costs ~1 % of a core instead of competing with what is measured.
    ::poll(fds.data(), fds.size(), 100);
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      Held& h = *owners[i];
      if (!h.connected) {
        int err = 0;
        socklen_t len = sizeof(err);
        if (getsockopt(h.fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) {
          h.connected = true;
          continue;
        }
        ++connect_failures;
        ::close(h.fd);
        h.fd = -1;
        h.next = Clock::now() + std::chrono::milliseconds(100);
        continue;
      }
      ssize_t r = ::recv(h.fd, buf, sizeof(buf), 0);
      if (r > 0 || (r < 0 && (errno == EAGAIN || errno == EINTR))) continue;  // e.g. a 408 before the close
      ++(h.slow ? closed_slow : closed_idle);
      ::close(h.fd);
      h.fd = -1;
      h.connected = false;
      h.next = Clock::now();
    }
  }
  long open_end = 0;
  for (auto& h : held) {
    if (h.fd >= 0 && h.connected) ++open_end;
    if (h.fd >= 0) ::close(h.fd);
  }
  std::printf(
      "hold_idle=%ld hold_slow=%ld ready_s=%.3f open_at_end=%ld min_open_after_ready=%ld opened=%ld "
      "closed_by_server_idle=%ld closed_by_server_slow=%ld connect_failures=%ld slow_bytes=%ld seconds=%.3f "
      "client_cpu_ms=%.1f\n",
      o.hold_idle, o.hold_slow, ready_s, open_end, ready ? min_open_after_ready : 0, opened, closed_idle, closed_slow,
      connect_failures, slow_bytes, std::chrono::duration<double>(Clock::now() - t0).count(), CpuMs());
  return ready ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = ParseArgs(argc, argv);
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  if (o.hold_idle >= 0) return Hold(o);
  char hdr[64];
  std::snprintf(hdr, sizeof(hdr), "%g", o.scrape_timeout_header);
  std::vector<Conn> conns(o.urls.size());
  for (size_t i = 0; i < conns.size(); ++i) {
    Conn& c = conns[i];
    c.url = &o.urls[i];
    c.request = "GET " + c.url->path + " HTTP/1.1\r\nHost: " + c.url->host_port +
                "\r\nUser-Agent: bench_loadgen\r\nAccept: text/plain\r\n" +
                (o.gzip ? "Accept-Encoding: gzip\r\n" : "") + (o.keep_alive ? "" : "Connection: close\r\n") +
                "X-Prometheus-Scrape-Timeout-Seconds: " + hdr + "\r\n\r\n";
  }
  std::vector<double> times;
  long failed_views = 0, failed_requests = 0;
  size_t wire_bytes = 0;
  Totals totals;
  const auto t0 = Clock::now();
  std::ofstream views;
  if (!o.views_file.empty()) views.open(o.views_file);
  for (long i = 0; i < o.reps; ++i) {
    if (std::chrono::duration<double>(Clock::now() - t0).count() >= o.max_seconds) break;
    ViewResult v = RunView(o, conns, totals);
    times.push_back(v.ms);
    wire_bytes += v.wire_bytes;
    failed_requests += v.failed;
    if (v.failed > 0) ++failed_views;
    if (views) views << v.ms << " " << v.failed << " " << v.wire_bytes << "\n";
  }
  for (auto& c : conns) CloseConn(c);
  const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  std::vector<double> sorted = times;
  std::sort(sorted.begin(), sorted.end());
  double sum = 0;
  for (double t : times) sum += t;
  const double n = static_cast<double>(times.size());
  const double requests = n * static_cast<double>(o.urls.size());
  std::printf(
      "views=%zu urls=%zu failed_views=%ld failed_requests=%ld min_ms=%.3f p50_ms=%.3f p90_ms=%.3f "
      "p99_ms=%.3f max_ms=%.3f mean_ms=%.3f bytes_per_view=%.0f body_bytes_per_view=%.0f "
      "connects_per_view=%.3f retries=%ld gzip_share=%.3f keep_alive=%d gzip=%d elapsed_s=%.3f "
      "client_cpu_ms=%.1f\n",
      times.size(), o.urls.size(), failed_views, failed_requests, sorted.empty() ? 0 : sorted.front(),
      Percentile(sorted, 0.50), Percentile(sorted, 0.90), Percentile(sorted, 0.99), sorted.empty() ? 0 : sorted.back(),
      n > 0 ? sum / n : 0, n > 0 ? static_cast<double>(wire_bytes) / n : 0,
      n > 0 ? static_cast<double>(totals.body_bytes) / n : 0, n > 0 ? static_cast<double>(totals.connects) / n : 0,
      totals.retries, requests > 0 ? static_cast<double>(totals.gzip_responses) / requests : 0, o.keep_alive ? 1 : 0,
      o.gzip ? 1 : 0, elapsed, CpuMs());
  return times.empty() ? 1 : 0;
}
