#pragma once

#include <cstddef>
#include <memory>
#include <string>

namespace rse::redis {

// TLS towards Redis or Sentinel. hiredis 0.14 has no TLS, so the connection layer owns the
// socket and runs OpenSSL itself; hiredis only parses the bytes.
//
// The OpenSSL code lives in a module, librse_tls.so (redis/tls_openssl.cpp), loaded the first
// time a TLS context is made. Linking OpenSSL directly mapped libcrypto.so.3 and libssl.so.3
// into every exporter, 1.7 MB of its 6.8 MB file-backed RSS when idle, although most run
// without TLS.
struct TlsOptions {
  bool enabled = false;
  std::string ca_file;    // trust these CAs (default: the system's)
  std::string cert_file;  // client certificate, for servers with tls-auth-clients
  std::string key_file;
  std::string server_name;  // name to verify (and send as SNI); default: each node's host
  bool insecure_skip_verify = false;
};

// One TLS session over a connected non-blocking socket. It does not own the socket. Freeing it
// sends no close_notify: the socket may be dead or stuck.
class TlsSession {
 public:
  enum class Result {
    kOk,         // handshake complete, or `n` > 0 bytes moved
    kWantRead,   // call again once the socket is readable (even to write: renegotiation, tickets)
    kWantWrite,  // call again once the socket is writable (even to read)
    kClosed,     // the peer closed the connection (close_notify or EOF)
    kError,      // `error` says why
  };
  virtual ~TlsSession() = default;
  // kError's `error`: "certificate verification failed: ...", the OpenSSL error, or a plain
  // reason when OpenSSL gives none.
  virtual Result Handshake(std::string& error) = 0;
  virtual Result Read(char* buf, std::size_t len, std::size_t& n, std::string& error) = 0;
  virtual Result Write(const char* data, std::size_t len, std::size_t& n, std::string& error) = 0;
  // Sends close_notify if the socket takes it now, without waiting for the peer's.
  virtual void Shutdown() = 0;
};

// A client context built once from the options, shared by every connection.
class TlsContext {
 public:
  // Null with `error` set when the TLS module cannot be loaded, a file cannot be loaded or the
  // key does not match.
  static std::shared_ptr<const TlsContext> Create(const TlsOptions& options, std::string& error);
  virtual ~TlsContext() = default;
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  const TlsOptions& options() const { return options_; }
  // A session on the connected socket `fd` that verifies the certificate names `name` (an IP
  // address or a host name, also sent as SNI), unless the options skip verification.
  // Null with `error` set.
  virtual std::unique_ptr<TlsSession> NewSession(int fd, const std::string& name, std::string& error) const = 0;

 protected:
  explicit TlsContext(TlsOptions options) : options_(std::move(options)) {}

 private:
  TlsOptions options_;
};

}  // namespace rse::redis
