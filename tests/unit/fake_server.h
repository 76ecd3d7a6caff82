#pragma once

// An in-process TCP peer on 127.0.0.1 that misbehaves on purpose (garbage, silence,
// endless replies) or answers commands from a script, for connection-layer tests.

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "redis/reply.h"
#include "tests/support/ports.h"

namespace rse::test {

class FakeServer {
 public:
  // Called once per accepted connection on the server thread; returns when done with it.
  using Handler = std::function<void(int fd, const std::atomic<bool>& stop)>;

  // Listens on 127.0.0.1, or on ::1 with `ipv6` (ok() is false where the machine has no ::1).
  explicit FakeServer(Handler handler, bool ipv6 = false) : handler_(std::move(handler)) {
    listen_fd_ = socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    port_ = BindTestPort(listen_fd_, ipv6 ? AF_INET6 : AF_INET);
    ok_ = port_ != 0 && listen(listen_fd_, 16) == 0;
    thread_ = std::thread([this] { Loop(); });
  }
  bool ok() const { return ok_; }
  ~FakeServer() {
    stop_ = true;
    thread_.join();
    close(listen_fd_);
  }
  int port() const { return port_; }
  int accepted() const { return accepted_; }

  // Handler: answers each command (an array of bulk strings) with reply(argv).
  static Handler Scripted(std::function<std::string(const std::vector<std::string>&)> reply) {
    return [reply](int fd, const std::atomic<bool>& stop) {
      redis::RespParser parser;
      while (!stop) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, 20) <= 0) continue;
        char buf[4096];
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n <= 0 || !parser.Feed(buf, static_cast<size_t>(n))) return;
        redis::Reply cmd;
        while (parser.Next(cmd) == redis::RespParser::Result::kReply) {
          std::vector<std::string> argv;
          for (const auto& e : cmd.elements) argv.push_back(e.str);
          std::string out = reply(argv);
          if (out.empty()) return;  // hang up
          send(fd, out.data(), out.size(), MSG_NOSIGNAL);
        }
      }
    };
  }

  // Handler: reads whatever comes, then sends `bytes` and closes.
  static Handler SendAndClose(std::string bytes) {
    return [bytes](int fd, const std::atomic<bool>&) {
      pollfd p{fd, POLLIN, 0};
      poll(&p, 1, 1000);
      char buf[4096];
      (void)!recv(fd, buf, sizeof(buf), 0);
      send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    };
  }

  // Handler: accepts and never answers (a SIGSTOPped process looks the same).
  static Handler Silent() {
    return [](int, const std::atomic<bool>& stop) {
      while (!stop) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    };
  }

  // Handler: a bulk reply that never ends.
  static Handler Endless() {
    return [](int fd, const std::atomic<bool>& stop) {
      std::string header = "$999999999999\r\n";
      send(fd, header.data(), header.size(), MSG_NOSIGNAL);
      std::string chunk(65536, 'x');
      while (!stop) {
        if (send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL) < 0) return;
      }
    };
  }

 private:
  void Loop() {
    std::vector<std::thread> workers;
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      ++accepted_;
      workers.emplace_back([this, fd] {
        handler_(fd, stop_);
        close(fd);
      });
    }
    for (auto& w : workers) w.join();
  }

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  bool ok_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

}  // namespace rse::test
