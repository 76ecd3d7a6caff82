#pragma once

#include <memory>
#include <string>

struct ssl_ctx_st;

namespace rse::redis {

// TLS towards Redis or Sentinel. hiredis 0.14 has no TLS, so the connection layer owns the
// socket and runs OpenSSL itself; hiredis only parses the bytes.
struct TlsOptions {
  bool enabled = false;
  std::string ca_file;      // trust these CAs (default: the system's)
  std::string cert_file;    // client certificate, for servers with tls-auth-clients
  std::string key_file;
  std::string server_name;  // name to verify (and send as SNI); default: each node's host
  bool insecure_skip_verify = false;
};

// An OpenSSL client context built once from the options, shared by every connection.
class TlsContext {
 public:
  // Null with `error` set when a file cannot be loaded or the key does not match.
  static std::shared_ptr<const TlsContext> Create(const TlsOptions& options, std::string& error);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  ssl_ctx_st* ctx() const { return ctx_; }
  const TlsOptions& options() const { return options_; }

 private:
  TlsContext(ssl_ctx_st* ctx, TlsOptions options) : ctx_(ctx), options_(std::move(options)) {}
  ssl_ctx_st* ctx_;
  TlsOptions options_;
};

// The most recent OpenSSL error as text ("" when none), clearing the queue.
std::string OpenSslError();

}  // namespace rse::redis
