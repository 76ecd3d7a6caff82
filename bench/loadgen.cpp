// bench_loadgen: the benchmark's HTTP client. One "view" = every URL given, fetched
// concurrently (as Prometheus scrapes its targets); views run one after another and each is
// timed from its first connect() to its last response's end. Prints one summary line of
// KEY=VALUE pairs on stdout (bench/run parses it) and, with --views-file, each view's time.
//
// Deliberately tiny: HTTP/1.1 GET with "Connection: close", body read until EOF, only the
// status line looked at. Only loopback addresses are accepted (the benchmark's rule).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/socket.h>
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
  std::string views_file;
  std::vector<Url> urls;
};

[[noreturn]] void Usage(const std::string& error) {
  std::cerr << "bench_loadgen: " << error << "\n"
            << "usage: bench_loadgen [--reps N] [--max-seconds S] [--view-timeout-ms MS]\n"
            << "                     [--scrape-timeout-header S] [--views-file F]\n"
            << "                     (--urls-file F | URL...)\n"
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
  if (raw.empty()) Usage("no URL given");
  for (const auto& s : raw) {
    Url u;
    if (!ParseUrl(s, u)) Usage("not a loopback http://127.0.0.1:PORT/... URL: " + s);
    o.urls.push_back(u);
  }
  return o;
}

struct Fetch {
  const Url* url = nullptr;
  int fd = -1;
  std::string request;
  size_t sent = 0;
  bool connected = false;
  bool done = false;
  bool ok = false;
  std::string head;  // first bytes of the response, for the status line
  size_t bytes = 0;
  Clock::time_point end;
};

void Finish(Fetch& f, bool ok) {
  if (f.fd >= 0) ::close(f.fd);
  f.fd = -1;
  f.done = true;
  f.end = Clock::now();
  // "HTTP/1.1 200 ..." and a complete header block
  f.ok = ok && f.head.size() >= 12 && f.head.compare(0, 5, "HTTP/") == 0 && f.head.compare(9, 3, "200") == 0;
}

struct ViewResult {
  double ms = 0;
  long failed = 0;
  size_t bytes = 0;
};

ViewResult RunView(const Options& o) {
  std::vector<Fetch> fetches(o.urls.size());
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::milliseconds(o.view_timeout_ms);
  char hdr[64];
  std::snprintf(hdr, sizeof(hdr), "%g", o.scrape_timeout_header);
  for (size_t i = 0; i < fetches.size(); ++i) {
    Fetch& f = fetches[i];
    f.url = &o.urls[i];
    f.request = "GET " + f.url->path + " HTTP/1.1\r\nHost: " + f.url->host_port +
                "\r\nUser-Agent: bench_loadgen\r\nAccept: text/plain\r\nConnection: close\r\n"
                "X-Prometheus-Scrape-Timeout-Seconds: " + hdr + "\r\n\r\n";
    f.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (f.fd < 0) {
      Finish(f, false);
      continue;
    }
    int one = 1;
    setsockopt(f.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (::connect(f.fd, reinterpret_cast<const sockaddr*>(&f.url->addr), sizeof(f.url->addr)) == 0) {
      f.connected = true;
    } else if (errno != EINPROGRESS) {
      Finish(f, false);
    }
  }
  std::vector<pollfd> fds;
  std::vector<Fetch*> owners;
  static char buf[65536];
  for (;;) {
    fds.clear();
    owners.clear();
    for (auto& f : fetches) {
      if (f.done) continue;
      short ev = (!f.connected || f.sent < f.request.size()) ? POLLOUT : POLLIN;
      fds.push_back({f.fd, ev, 0});
      owners.push_back(&f);
    }
    if (fds.empty()) break;
    auto now = Clock::now();
    if (now >= deadline) {
      for (auto* f : owners) Finish(*f, false);
      break;
    }
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1;
    int n = ::poll(fds.data(), fds.size(), static_cast<int>(wait));
    if (n < 0 && errno != EINTR) {
      for (auto* f : owners) Finish(*f, false);
      break;
    }
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      Fetch& f = *owners[i];
      if (!f.connected) {
        int err = 0;
        socklen_t len = sizeof(err);
        if (getsockopt(f.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
          Finish(f, false);
          continue;
        }
        f.connected = true;
      }
      if (f.sent < f.request.size()) {
        ssize_t w = ::send(f.fd, f.request.data() + f.sent, f.request.size() - f.sent, MSG_NOSIGNAL);
        if (w < 0) {
          if (errno != EAGAIN && errno != EINTR) Finish(f, false);
          continue;
        }
        f.sent += static_cast<size_t>(w);
        continue;
      }
      for (;;) {
        ssize_t r = ::recv(f.fd, buf, sizeof(buf), 0);
        if (r == 0) {
          Finish(f, true);
          break;
        }
        if (r < 0) {
          if (errno == EINTR) continue;
          if (errno != EAGAIN) Finish(f, false);
          break;
        }
        if (f.head.size() < 64) f.head.append(buf, std::min<size_t>(static_cast<size_t>(r), 64 - f.head.size()));
        f.bytes += static_cast<size_t>(r);
      }
    }
  }
  ViewResult v;
  Clock::time_point last = start;
  for (const auto& f : fetches) {
    if (!f.ok) ++v.failed;
    v.bytes += f.bytes;
    last = std::max(last, f.end);
  }
  v.ms = std::chrono::duration<double, std::milli>(last - start).count();
  return v;
}

double Percentile(std::vector<double> sorted, double p) {  // nearest rank
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

}  // namespace

int main(int argc, char** argv) {
  Options o = ParseArgs(argc, argv);
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  std::vector<double> times;
  long failed_views = 0, failed_requests = 0;
  size_t bytes = 0;
  const auto t0 = Clock::now();
  std::ofstream views;
  if (!o.views_file.empty()) views.open(o.views_file);
  for (long i = 0; i < o.reps; ++i) {
    if (std::chrono::duration<double>(Clock::now() - t0).count() >= o.max_seconds) break;
    ViewResult v = RunView(o);
    times.push_back(v.ms);
    bytes += v.bytes;
    failed_requests += v.failed;
    if (v.failed > 0) ++failed_views;
    if (views) views << v.ms << " " << v.failed << " " << v.bytes << "\n";
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const double client_cpu_ms = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
                               (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
  std::vector<double> sorted = times;
  std::sort(sorted.begin(), sorted.end());
  double sum = 0;
  for (double t : times) sum += t;
  const double n = static_cast<double>(times.size());
  std::printf(
      "views=%zu urls=%zu failed_views=%ld failed_requests=%ld min_ms=%.3f p50_ms=%.3f p90_ms=%.3f "
      "p99_ms=%.3f max_ms=%.3f mean_ms=%.3f bytes_per_view=%.0f elapsed_s=%.3f client_cpu_ms=%.1f\n",
      times.size(), o.urls.size(), failed_views, failed_requests, sorted.empty() ? 0 : sorted.front(),
      Percentile(sorted, 0.50), Percentile(sorted, 0.90), Percentile(sorted, 0.99),
      sorted.empty() ? 0 : sorted.back(), n > 0 ? sum / n : 0, n > 0 ? static_cast<double>(bytes) / n : 0,
      elapsed, client_cpu_ms);
  return times.empty() ? 1 : 0;
}
