#include "tests/support/http.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <sstream>

namespace rse::test {

HttpResponse HttpRequest(int port, const std::string& method, const std::string& path,
                         const std::vector<std::string>& headers, std::chrono::milliseconds timeout) {
  HttpResponse resp;
  auto start = std::chrono::steady_clock::now();
  auto deadline = start + timeout;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return resp;
  }
  std::string req = method + " " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n";
  for (const auto& h : headers) req += h + "\r\n";
  req += "\r\n";
  send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string raw;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    char buf[65536];
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    raw.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  resp.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  auto split = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/", 0) != 0 || split == std::string::npos) return resp;
  resp.headers = raw.substr(0, split);
  resp.body = raw.substr(split + 4);
  resp.status = std::atoi(raw.c_str() + raw.find(' ') + 1);
  return resp;
}

std::vector<std::string> Series(const std::string& text, const std::string& name) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string line;
  while (std::getline(ss, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line.compare(0, name.size(), name) != 0) continue;
    if (line.size() > name.size() && line[name.size()] != '{' && line[name.size()] != ' ') continue;
    out.push_back(line);
  }
  return out;
}

double Sample(const std::string& text, const std::string& name, const std::vector<std::string>& labels) {
  for (const auto& line : Series(text, name)) {
    bool all = true;
    for (const auto& l : labels) {
      auto pos = line.find(l);
      // The pair must be a whole label: preceded by '{' or ',' and followed by ',' or '}'.
      all = all && pos != std::string::npos && (line[pos - 1] == '{' || line[pos - 1] == ',') &&
            (line[pos + l.size()] == ',' || line[pos + l.size()] == '}');
    }
    if (all) return std::strtod(line.c_str() + line.rfind(' ') + 1, nullptr);
  }
  return std::nan("");
}

}  // namespace rse::test
