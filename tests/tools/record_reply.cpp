// record_reply HOST PORT ARG...: sends one command and writes its reply to stdout byte for
// byte, as the server sent it. With REDISCLI_AUTH set, AUTH is sent first (the password
// never goes through argv) and its reply is not recorded. Bounded: 5 s for everything.
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "redis/reply.h"

namespace {

using Clock = std::chrono::steady_clock;

int Die(const std::string& why) {
  std::fprintf(stderr, "record_reply: %s\n", why.c_str());
  return 1;
}

// Reads until one complete reply has arrived; returns its raw bytes.
bool ReadOneReply(int fd, Clock::time_point deadline, std::string& raw, std::string& carry) {
  rse::redis::RespParser parser;
  raw = carry;
  carry.clear();
  if (!raw.empty() && !parser.Feed(raw.data(), raw.size())) return false;
  for (;;) {
    rse::redis::Reply reply;
    auto r = parser.Next(reply);
    if (r == rse::redis::RespParser::Result::kError) return false;
    if (r == rse::redis::RespParser::Result::kReply) return true;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0) return false;
    char buf[65536];
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return false;
    raw.append(buf, static_cast<size_t>(n));
    if (!parser.Feed(buf, static_cast<size_t>(n))) return false;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) return Die("usage: record_reply HOST PORT ARG...");
  auto deadline = Clock::now() + std::chrono::seconds(5);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(argv[1], argv[2], &hints, &res) != 0) return Die("cannot resolve host");
  int fd = socket(res->ai_family, SOCK_STREAM, 0);
  if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) != 0) return Die("cannot connect");
  freeaddrinfo(res);

  std::string out;
  const char* auth = std::getenv("REDISCLI_AUTH");
  if (auth && *auth) out += rse::redis::FormatCommand({"AUTH", auth});
  out += rse::redis::FormatCommand(std::vector<std::string>(argv + 3, argv + argc));
  if (send(fd, out.data(), out.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(out.size())) return Die("send failed");

  // The parser reports one reply, but a read may carry the start of the next one too:
  // re-split the AUTH reply exactly by parsing the bytes prefix by prefix.
  std::string raw, carry;
  if (auth && *auth) {
    if (!ReadOneReply(fd, deadline, raw, carry)) return Die("no reply to AUTH");
    size_t cut = 1;
    for (; cut <= raw.size(); ++cut) {
      rse::redis::Reply r;
      if (rse::redis::ParseOneReply(std::string_view(raw).substr(0, cut), r)) break;
    }
    carry = raw.substr(cut);
    if (raw[0] == '-') return Die("AUTH refused: " + raw.substr(1, raw.find('\r') - 1));
  }
  if (!ReadOneReply(fd, deadline, raw, carry)) return Die("no complete reply before the deadline");
  fwrite(raw.data(), 1, raw.size(), stdout);
  close(fd);
  return 0;
}
