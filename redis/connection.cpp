#include "redis/connection.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

namespace rse::redis {

const char* CauseName(Cause cause) {
  switch (cause) {
    case Cause::kOk:
      return "ok";
    case Cause::kRefused:
      return "refused";
    case Cause::kTimeout:
      return "timeout";
    case Cause::kAuth:
      return "auth";
    case Cause::kProtocol:
      return "protocol";
    case Cause::kClosed:
      return "closed";
    case Cause::kResolve:
      return "resolve";
    case Cause::kIo:
      return "io";
    case Cause::kTls:
      return "tls";
  }
  return "unknown";
}

bool Budget::Take(std::size_t n) {
  std::size_t held = held_.load(std::memory_order_relaxed);
  do {
    if (n > max_ || held > max_ - n) return false;
  } while (!held_.compare_exchange_weak(held, held + n, std::memory_order_relaxed));
  return true;
}

void Budget::Give(std::size_t n) { held_.fetch_sub(n, std::memory_order_relaxed); }

Connection::Connection(Address address, Credentials credentials, std::shared_ptr<const TlsContext> tls,
                       std::shared_ptr<Budget> budget)
    : address_(std::move(address)),
      credentials_(std::move(credentials)),
      tls_(std::move(tls)),
      budget_(std::move(budget)) {}

Connection::~Connection() { Close(); }

void Connection::Close() {
  tls_session_.reset();  // no close_notify: the socket may be dead or stuck
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  authenticated_ = false;
  if (budgeted_) budget_->Give();
  budgeted_ = false;
}

namespace {
Status ErrnoStatus(const char* what, int err);
}  // namespace

Status Connection::ReadAvailable(char* buf, std::size_t len, std::size_t& n, short& want) {
  n = 0;
  want = POLLIN;
  if (fd_ < 0) return {Cause::kClosed, "not connected"};
  Status st;
  if (!tls_session_) {
    for (;;) {
      ssize_t r = ::recv(fd_, buf, len, 0);
      if (r > 0) {
        n = static_cast<std::size_t>(r);
        return {};
      }
      if (r == 0) {
        st = {Cause::kClosed, "connection closed by the server"};
        break;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) return {};
      if (errno != EINTR) {
        st = ErrnoStatus("recv", errno);
        break;
      }
    }
  } else {
    std::string error;
    switch (tls_session_->Read(buf, len, n, error)) {
      case TlsSession::Result::kOk:
        return {};
      case TlsSession::Result::kWantRead:
        return {};
      case TlsSession::Result::kWantWrite:
        want = POLLOUT;
        return {};
      case TlsSession::Result::kClosed:
        st = {Cause::kClosed, "connection closed by the server"};
        break;
      case TlsSession::Result::kError:
        st = {Cause::kTls, "TLS read failed: " + error};
        break;
    }
  }
  Close();
  return st;
}

Status Connection::WriteAvailable(const char* buf, std::size_t len, std::size_t& n, short& want) {
  n = 0;
  want = POLLOUT;
  if (fd_ < 0) return {Cause::kClosed, "not connected"};
  Status st;
  if (!tls_session_) {
    for (;;) {
      ssize_t r = ::send(fd_, buf, len, MSG_NOSIGNAL);
      if (r >= 0) {
        n = static_cast<std::size_t>(r);
        return {};
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) return {};
      if (errno != EINTR) {
        st = ErrnoStatus("send", errno);
        break;
      }
    }
  } else {
    std::string error;
    switch (tls_session_->Write(buf, len, n, error)) {
      case TlsSession::Result::kOk:
        return {};
      case TlsSession::Result::kWantRead:
        want = POLLIN;
        return {};
      case TlsSession::Result::kWantWrite:
        return {};
      case TlsSession::Result::kClosed:
        st = {Cause::kClosed, "connection closed by the server"};
        break;
      case TlsSession::Result::kError:
        st = {Cause::kTls, "TLS write failed: " + error};
        break;
    }
  }
  Close();
  return st;
}

namespace {

struct Resolved {
  sockaddr_storage addr{};
  socklen_t len = 0;
};

std::vector<Resolved> Addresses(addrinfo* list) {
  std::vector<Resolved> out;
  for (addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_family == AF_INET || ai->ai_family == AF_INET6) {
      Resolved r;
      std::memcpy(&r.addr, ai->ai_addr, ai->ai_addrlen);
      r.len = ai->ai_addrlen;
      out.push_back(r);
    }
  }
  return out;
}

// A host name lookup on its own thread (getaddrinfo blocks and has no timeout). It signals
// an eventfd that the poll loop watches, so a slow resolver delays only this node; if the
// request gives up first, the thread finishes alone and the last owner closes the eventfd.
struct Lookup {
  int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  std::mutex mu;
  int rc = 0;
  std::vector<Resolved> results;
  ~Lookup() {
    if (efd >= 0) ::close(efd);
  }
};

std::shared_ptr<Lookup> StartLookup(const Address& address) {
  auto lookup = std::make_shared<Lookup>();
  std::thread([lookup, host = address.host, port = std::to_string(address.port)] {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* res = nullptr;
    int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res);
    std::vector<Resolved> found;
    if (rc == 0) {
      found = Addresses(res);
      freeaddrinfo(res);
    }
    {
      std::lock_guard lock(lookup->mu);
      lookup->rc = rc;
      lookup->results = std::move(found);
    }
    std::uint64_t one = 1;
    (void)!::write(lookup->efd, &one, sizeof(one));
  }).detach();
  return lookup;
}

// A numeric address, converted on the spot; empty for a host name.
std::vector<Resolved> NumericAddress(const Address& address) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* list = nullptr;
  if (getaddrinfo(address.host.c_str(), std::to_string(address.port).c_str(), &hints, &list) != 0) return {};
  auto out = Addresses(list);
  freeaddrinfo(list);
  return out;
}

Status ErrnoStatus(const char* what, int err) {
  Cause cause = Cause::kIo;
  if (err == ECONNREFUSED) cause = Cause::kRefused;
  if (err == ECONNRESET || err == EPIPE) cause = Cause::kClosed;
  return {cause, std::string(what) + ": " + std::strerror(err)};
}

}  // namespace

// Drives one request through connect, AUTH, write and read as its socket becomes ready.
class Executor {
 public:
  Executor(Request& request, const ExecuteOptions& options, std::vector<char>& read_buffer)
      : req_(request), options_(options), read_buffer_(read_buffer) {}
  ~Executor() { GiveBack(); }
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Gives the request's reply bytes back to the budget (its replies are gone or not kept).
  void GiveBack() {
    if (req_.budgeted != 0 && options_.reply_budget) options_.reply_budget->Give(req_.budgeted);
    req_.budgeted = 0;
  }

  bool done() const { return phase_ == Phase::kDone; }
  int fd() const { return phase_ == Phase::kResolving ? lookup_->efd : req_.connection->fd_; }
  short events() const {
    if (phase_ == Phase::kResolving) return POLLIN;
    if (want_ != 0) return want_;  // TLS may need to read to write, or write to read
    if (phase_ == Phase::kConnecting || phase_ == Phase::kWriting) return POLLOUT;
    return POLLIN;
  }

  void Start() {
    req_.status = {};
    req_.replies.clear();
    GiveBack();
    Connection& c = *req_.connection;
    reused_ = c.IsOpen();
    if (!c.IsOpen()) {
      Connect();
      if (done()) return;
    } else {
      BeginWrite();
    }
  }

  void OnEvents(short revents) {
    if (phase_ == Phase::kResolving) {
      std::lock_guard lock(lookup_->mu);
      if (lookup_->rc != 0 || lookup_->results.empty()) {
        return Fail({Cause::kResolve, std::string("cannot resolve host name: ") +
                                          (lookup_->rc != 0 ? gai_strerror(lookup_->rc) : "no IPv4/IPv6 address")});
      }
      addresses_ = lookup_->results;
      lookup_.reset();
      return ConnectNext();
    }
    if (phase_ == Phase::kConnecting) {
      int err = 0;
      socklen_t len = sizeof(err);
      if (getsockopt(fd(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      if (err != 0) {
        last_error_ = ErrnoStatus("connect", err);
        return ConnectNext();  // the next address of the name, if any
      }
      Connected();
      return;
    }
    if (revents & POLLNVAL) return Fail({Cause::kIo, "socket closed under the request"});
    // Whatever the event (readable, writable, error, hang-up), retrying the operation the
    // phase is waiting for tells what happened.
    want_ = 0;
    if (phase_ == Phase::kHandshake) return Handshake();
    if (phase_ == Phase::kWriting) return Write();
    if (phase_ == Phase::kReading) return Read();
  }

  void TimeOut() {
    const char* what = phase_ == Phase::kResolving    ? "timed out resolving the host name"
                       : phase_ == Phase::kConnecting ? "timed out connecting"
                       : phase_ == Phase::kHandshake  ? "timed out in the TLS handshake"
                                                      : "timed out waiting for the reply";
    Fail({Cause::kTimeout, what});
  }

  void Abort(Status st) { Fail(std::move(st)); }

 private:
  enum class Phase { kResolving, kConnecting, kHandshake, kWriting, kReading, kDone };

  // TCP is up: start TLS when configured, else go straight to writing.
  void Connected() {
    Connection& c = *req_.connection;
    if (!c.tls_) return BeginWrite();
    const TlsOptions& o = c.tls_->options();
    const std::string& name = o.server_name.empty() ? c.address_.host : o.server_name;
    std::string error;
    c.tls_session_ = c.tls_->NewSession(c.fd_, name, error);
    if (!c.tls_session_) return Fail({Cause::kTls, error});
    phase_ = Phase::kHandshake;
    Handshake();
  }

  void Handshake() {
    std::string why;
    switch (req_.connection->tls_session_->Handshake(why)) {
      case TlsSession::Result::kOk:
        return BeginWrite();
      case TlsSession::Result::kWantRead:
        want_ = POLLIN;
        return;
      case TlsSession::Result::kWantWrite:
        want_ = POLLOUT;
        return;
      case TlsSession::Result::kClosed:  // not reported by a handshake; as an error if it were
      case TlsSession::Result::kError:
        break;
    }
    Fail({Cause::kTls, "TLS: " + why});
  }

  // Plain or TLS send/recv. Returns bytes moved, 0 to wait (want_ set), -1 after Fail/retry.
  ssize_t Send(const char* data, size_t len) {
    Connection& c = *req_.connection;
    if (!c.tls_session_) {
      for (;;) {
        ssize_t n = ::send(fd(), data, len, MSG_NOSIGNAL);
        if (n >= 0) return n;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
        if (errno != EINTR) {
          FailOrRetry(ErrnoStatus("send", errno));
          return -1;
        }
      }
    }
    size_t n = 0;
    std::string error;
    const TlsSession::Result r = c.tls_session_->Write(data, len, n, error);
    return TlsOutcome(r, n, error, "write");
  }

  ssize_t Recv(char* buf, size_t len) {
    Connection& c = *req_.connection;
    if (!c.tls_session_) {
      for (;;) {
        ssize_t n = ::recv(fd(), buf, len, 0);
        if (n > 0) return n;
        if (n == 0) {
          FailOrRetry({Cause::kClosed, "connection closed by the server"});
          return -1;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
        if (errno != EINTR) {
          FailOrRetry(ErrnoStatus("recv", errno));
          return -1;
        }
      }
    }
    size_t n = 0;
    std::string error;
    const TlsSession::Result r = c.tls_session_->Read(buf, len, n, error);
    return TlsOutcome(r, n, error, "read");
  }

  ssize_t TlsOutcome(TlsSession::Result r, size_t n, const std::string& error, const char* what) {
    switch (r) {
      case TlsSession::Result::kOk:
        return static_cast<ssize_t>(n);
      case TlsSession::Result::kWantRead:
        want_ = POLLIN;
        return 0;
      case TlsSession::Result::kWantWrite:
        want_ = POLLOUT;
        return 0;
      case TlsSession::Result::kClosed:
        FailOrRetry({Cause::kClosed, "connection closed by the server"});
        return -1;
      case TlsSession::Result::kError:
        break;
    }
    Fail({Cause::kTls, std::string("TLS ") + what + " failed: " + error});
    return -1;
  }

  void Connect() {
    Connection& c = *req_.connection;
    c.Close();
    addresses_ = NumericAddress(c.address_);
    next_address_ = 0;
    last_error_ = {};
    if (!addresses_.empty()) return ConnectNext();
    lookup_ = StartLookup(c.address_);
    if (lookup_->efd < 0) return Fail(ErrnoStatus("eventfd", errno));
    phase_ = Phase::kResolving;
  }

  // Tries the resolved addresses in order (a name may resolve to ::1 and 127.0.0.1, and the
  // node listen on only one of them); fails with the last error when none connects.
  void ConnectNext() {
    Connection& c = *req_.connection;
    for (; next_address_ < addresses_.size(); ++next_address_) {
      c.Close();
      if (c.budget_) {
        if (!c.budget_->Take()) return Fail({Cause::kIo, "not connected: " + c.budget_->what() + " are in use"});
        c.budgeted_ = true;
      }
      const Resolved& target = addresses_[next_address_];
      int fd = ::socket(target.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0) {
        last_error_ = ErrnoStatus("socket", errno);
        continue;
      }
      c.fd_ = fd;
      ++c.connects_;
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      if (::connect(fd, reinterpret_cast<const sockaddr*>(&target.addr), target.len) == 0) {
        ++next_address_;
        return Connected();
      }
      if (errno == EINPROGRESS) {
        ++next_address_;
        phase_ = Phase::kConnecting;
        return;
      }
      last_error_ = ErrnoStatus("connect", errno);
    }
    Fail(last_error_.ok() ? Status{Cause::kResolve, "no address to connect to"} : last_error_);
  }

  void BeginWrite() {
    Connection& c = *req_.connection;
    out_.clear();
    out_off_ = 0;
    auth_sent_ = false;
    auth_seen_ = false;
    auth_error_.clear();
    if (!c.authenticated_ && !c.credentials_.password.empty()) {
      std::vector<std::string> auth{"AUTH"};
      if (!c.credentials_.user.empty()) auth.push_back(c.credentials_.user);
      auth.push_back(c.credentials_.password);
      AppendCommand(out_, auth);
      auth_sent_ = true;
    }
    for (const auto& cmd : req_.commands) AppendCommand(out_, cmd);
    expected_ = req_.commands.size() + (auth_sent_ ? 1 : 0);
    received_bytes_ = 0;
    if (expected_ == 0) {  // nothing to send: an Exchange opening a socket for another protocol
      phase_ = Phase::kDone;
      return;
    }
    parser_ = std::make_unique<RespParser>();
    phase_ = Phase::kWriting;
    // A socket that is up can almost always take the commands now: writing at once saves
    // the poll round that would only report it writable.
    Write();
  }

  void Write() {
    while (out_off_ < out_.size()) {
      ssize_t n = Send(out_.data() + out_off_, out_.size() - out_off_);
      if (n <= 0) return;
      out_off_ += static_cast<size_t>(n);
    }
    // The AUTH command held the password: do not keep it in memory longer than needed.
    std::fill(out_.begin(), out_.end(), '\0');
    out_.clear();
    phase_ = Phase::kReading;
  }

  void Read() {
    // One read buffer per batch, off the stack: the batch runs on HTTP worker threads, and
    // every page of stack a worker ever touches stays resident.
    char* buf = read_buffer_.data();
    for (;;) {
      ssize_t n = Recv(buf, read_buffer_.size());
      if (n <= 0) return;
      received_bytes_ += static_cast<size_t>(n);
      if (received_bytes_ > options_.max_reply_bytes) {
        return Fail({Cause::kProtocol, "reply larger than " + std::to_string(options_.max_reply_bytes) + " bytes"});
      }
      if (options_.reply_budget) {
        if (!options_.reply_budget->Take(static_cast<size_t>(n))) {
          return Fail({Cause::kIo, "reply dropped: " + options_.reply_budget->what() + " are in use"});
        }
        req_.budgeted += static_cast<size_t>(n);
      }
      if (!parser_->Feed(buf, static_cast<size_t>(n))) {
        return Fail({Cause::kProtocol, "not a Redis reply: " + parser_->Error()});
      }
      for (;;) {
        Reply reply;
        auto r = parser_->Next(reply);
        if (r == RespParser::Result::kError) {
          return Fail({Cause::kProtocol, "not a Redis reply: " + parser_->Error()});
        }
        if (r == RespParser::Result::kNeedMore) break;
        if (!TakeReply(std::move(reply))) return;
        if (done()) return;
      }
    }
  }

  // Returns false when the request has failed.
  bool TakeReply(Reply reply) {
    Connection& c = *req_.connection;
    if (auth_sent_ && !auth_seen_) {
      auth_seen_ = true;
      if (reply.IsError()) {
        auth_error_ = "authentication failed: " + reply.str;
      } else {
        c.authenticated_ = true;
      }
    } else {
      if (reply.IsError() && auth_error_.empty() &&
          (reply.str.rfind("NOAUTH", 0) == 0 || reply.str.rfind("WRONGPASS", 0) == 0)) {
        auth_error_ = "authentication required: " + reply.str;
      }
      req_.replies.push_back(std::move(reply));
    }
    if (--expected_ == 0) {
      if (!auth_error_.empty()) {
        Fail({Cause::kAuth, auth_error_});
        return false;
      }
      phase_ = Phase::kDone;
      if (parser_->HasUnreadBytes()) req_.rest = std::move(parser_);
      parser_.reset();  // its buffer (up to 16 KiB kept by hiredis) is not needed until the next request
    }
    return true;
  }

  // A kept-open connection may have been closed by the server while idle (timeout,
  // restart); that is not the node's failure, so reconnect once before reporting it.
  void FailOrRetry(Status st) {
    if (reused_ && received_bytes_ == 0 && (st.cause == Cause::kClosed || st.cause == Cause::kIo)) {
      reused_ = false;
      req_.replies.clear();
      Connect();
      return;
    }
    Fail(std::move(st));
  }

  void Fail(Status st) {
    req_.connection->Close();
    parser_.reset();
    req_.replies.clear();
    GiveBack();
    req_.status = std::move(st);
    phase_ = Phase::kDone;
  }

  Request& req_;
  const ExecuteOptions& options_;
  std::vector<char>& read_buffer_;
  Phase phase_ = Phase::kDone;
  std::shared_ptr<Lookup> lookup_;  // while resolving a host name
  std::vector<Resolved> addresses_;
  size_t next_address_ = 0;
  Status last_error_;
  short want_ = 0;  // poll events TLS asked for, overriding the phase's own
  std::string out_;
  size_t out_off_ = 0;
  size_t expected_ = 0;
  size_t received_bytes_ = 0;
  bool auth_sent_ = false;
  bool auth_seen_ = false;
  bool reused_ = false;
  std::string auth_error_;
  std::unique_ptr<RespParser> parser_;
};

struct Exchange::State {
  State(Request r, ExecuteOptions o)
      : request(std::move(r)), options(o), buffer(16384), executor(request, options, buffer) {}
  Request request;
  ExecuteOptions options;
  std::vector<char> buffer;
  Executor executor;
};

Exchange::Exchange(Connection* connection, std::vector<std::vector<std::string>> commands, Deadline deadline,
                   ExecuteOptions options)
    : deadline_(deadline) {
  Request r;
  r.connection = connection;
  r.commands = std::move(commands);
  state_ = std::make_unique<State>(std::move(r), options);
  if (Clock::now() >= deadline_) {
    state_->executor.Abort({Cause::kTimeout, "deadline reached before starting"});
  } else {
    state_->executor.Start();
  }
}

Exchange::~Exchange() = default;

bool Exchange::done() const { return state_->executor.done(); }
int Exchange::fd() const { return state_->executor.fd(); }
short Exchange::events() const { return state_->executor.events(); }
Request& Exchange::request() { return state_->request; }

void Exchange::Step(short revents) {
  Executor& e = state_->executor;
  if (e.done()) return;
  if (revents != 0) e.OnEvents(revents);
  if (!e.done() && Clock::now() >= deadline_) e.TimeOut();
}

struct Batch::Entry {
  Entry(Request r, Callback cb, const ExecuteOptions& options, std::vector<char>& buffer)
      : request(std::move(r)), done(std::move(cb)), executor(request, options, buffer) {}
  Request request;
  Callback done;
  Executor executor;
  bool notified = false;
};

void SharedDeadline::BringForward(Deadline deadline) {
  const Clock::rep want = deadline.time_since_epoch().count();
  Clock::rep now = rep_.load(std::memory_order_relaxed);
  while (want < now && !rep_.compare_exchange_weak(now, want, std::memory_order_relaxed)) {
  }
}

Batch::Batch(Deadline deadline, ExecuteOptions options) : deadline_(deadline), options_(options), read_buffer_(16384) {}

Batch::Batch(const SharedDeadline* deadline, ExecuteOptions options)
    : deadline_(deadline->get()), shared_(deadline), options_(options), read_buffer_(16384) {}

Batch::~Batch() = default;

void Batch::Add(Connection* connection, std::vector<std::vector<std::string>> commands, Callback done) {
  Request r;
  r.connection = connection;
  r.commands = std::move(commands);
  auto& e = entries_.emplace_back(std::move(r), std::move(done), options_, read_buffer_);
  if (shared_) deadline_ = shared_->get();
  if (Clock::now() >= deadline_) {
    e.executor.Abort({Cause::kTimeout, "scrape deadline reached before this node was asked"});
    return;
  }
  e.executor.Start();
}

// Runs the callbacks of requests that have finished; returns whether any ran. Callbacks may
// add entries (a deque keeps references stable), so the scan re-reads the size.
bool Batch::NotifyFinished() {
  bool any = false;
  for (size_t i = first_unfinished_; i < entries_.size(); ++i) {
    Entry& e = entries_[i];
    if (e.notified || !e.executor.done()) continue;
    e.notified = true;
    any = true;
    if (e.done) e.done(e.request);
    // The callback has taken what it needs: free the replies now, not when the batch ends
    // (a whole scrape's replies at once were most of its peak heap), and their budget with them.
    std::vector<Reply>().swap(e.request.replies);
    e.executor.GiveBack();
  }
  while (first_unfinished_ < entries_.size() && entries_[first_unfinished_].notified) ++first_unfinished_;
  return any;
}

void Batch::Run() {
  std::vector<pollfd> fds;
  std::vector<Executor*> owners;
  for (;;) {
    while (NotifyFinished()) {
    }
    fds.clear();
    owners.clear();
    for (size_t i = first_unfinished_; i < entries_.size(); ++i) {
      Executor& e = entries_[i].executor;
      if (e.done()) continue;
      fds.push_back({e.fd(), e.events(), 0});
      owners.push_back(&e);
    }
    if (fds.empty()) return;
    if (shared_) deadline_ = shared_->get();
    auto now = Clock::now();
    if (now >= deadline_) {
      for (auto* e : owners) e->TimeOut();
      continue;  // their callbacks run; anything they add fails at once
    }
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - now).count() + 1;
    // Under a shared deadline, wake up now and then to see whether it was brought forward.
    const long long cap = shared_ ? kSharedDeadlineCheck.count() : 60000;
    int n = ::poll(fds.data(), fds.size(), static_cast<int>(std::min<long long>(wait, cap)));
    if (n < 0 && errno != EINTR) {
      Status st = ErrnoStatus("poll", errno);
      for (auto* e : owners) e->Abort(st);
      continue;
    }
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents != 0) owners[i]->OnEvents(fds[i].revents);
    }
  }
}

}  // namespace rse::redis
