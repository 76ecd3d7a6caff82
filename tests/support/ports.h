#pragma once

// Every port a test listens on, or hands to a server it starts, comes from here: a random port
// in [kFirstTestPort, kEndTestPort), below the kernel's ephemeral range (32768 and up), where
// outgoing connections take their local ports and a listener could collide with one of them.
// Header-only: the unit tests and the integration support library both use it.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <random>

namespace rse::test {

inline constexpr int kFirstTestPort = 20000;
inline constexpr int kEndTestPort = 32000;

inline int RandomTestPort() {
  thread_local std::mt19937 rng(std::random_device{}());
  return std::uniform_int_distribution<int>(kFirstTestPort, kEndTestPort - 1)(rng);
}

// Binds `fd` to the loopback address of `family` (AF_INET or AF_INET6) on a free test port and
// returns that port; 0 when no attempt succeeded (errno is the last bind's).
inline int BindTestPort(int fd, int family = AF_INET) {
  for (int attempt = 0; attempt < 200; ++attempt) {
    const int port = RandomTestPort();
    int r = -1;
    if (family == AF_INET6) {
      sockaddr_in6 a{};
      a.sin6_family = AF_INET6;
      a.sin6_addr = in6addr_loopback;
      a.sin6_port = htons(static_cast<uint16_t>(port));
      r = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    } else {
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.sin_port = htons(static_cast<uint16_t>(port));
      r = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    }
    if (r == 0) return port;
  }
  return 0;
}

// A test port nothing was bound to a moment ago. Whoever binds it next may still lose a race
// with another test process: a server started on it should be retried on another when that
// happens.
inline int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  const int port = BindTestPort(fd);
  close(fd);
  return port;
}

// A blocking TCP connection to 127.0.0.1:port, or -1. A `receive_buffer` above 0 is set as
// SO_RCVBUF first: a client that reads slowly, or not at all, with a small window.
inline int ConnectLoopback(int port, int receive_buffer = 0) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (receive_buffer > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof(receive_buffer));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace rse::test
