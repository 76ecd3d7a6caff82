#include "exporter/pool.h"

#include <utility>

namespace rse {

redis::Connection* ConnectionPool::Get(Kind kind, const redis::Address& addr, const redis::Credentials& creds,
                                       const std::shared_ptr<const redis::TlsContext>& tls, const std::string& group,
                                       const std::shared_ptr<redis::Budget>& budget) {
  auto& e = entries_[Key{kind, addr, group}];
  if (!e.conn) e.conn = std::make_unique<redis::Connection>(addr, creds, tls, budget);
  e.used = true;
  return e.conn.get();
}

bool ConnectionPool::InfoOneSection(const redis::Address& addr, const std::string& group) const {
  auto it = entries_.find(Key{kData, addr, group});
  if (it == entries_.end()) return false;
  const Entry& e = it->second;
  return e.info_one_section_at != 0 && e.conn->IsOpen() && e.conn->connects() == e.info_one_section_at;
}

void ConnectionPool::SetInfoOneSection(const redis::Address& addr, const std::string& group) {
  auto it = entries_.find(Key{kData, addr, group});
  if (it != entries_.end()) it->second.info_one_section_at = it->second.conn->connects();
}

void ConnectionPool::DropUnused() {
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (!it->second.used) {
      closed_connects_ += it->second.conn->connects();
      it = entries_.erase(it);
    } else {
      it->second.used = false;
      ++it;
    }
  }
}

std::uint64_t ConnectionPool::Connects() const {
  std::uint64_t n = closed_connects_;
  for (const auto& [key, e] : entries_) n += e.conn->connects();
  return n;
}

// A node's pool entry is keyed by its address and group, and whether it authenticates is a
// function of those for a given Topology, so an entry never changes credentials.
void PoolTransport::Ask(Kind kind, const redis::Address& addr, const std::string& group, bool authenticate,
                        std::vector<std::vector<std::string>> commands, Callback done) {
  static const redis::Credentials kNone;
  redis::Connection* conn;
  if (kind == Kind::kSentinel) {
    conn = pool_.Get(ConnectionPool::kSentinel, addr, authenticate ? options_.sentinel_credentials : kNone,
                     options_.sentinel_tls, {}, options_.socket_budget);
  } else {
    conn = pool_.Get(ConnectionPool::kData, addr, authenticate ? DataCredentials(options_, group) : kNone,
                     options_.redis_tls, group, options_.socket_budget);
  }
  if (!options_.reply_budget) return batch_.Add(conn, std::move(commands), std::move(done));
  batch_.Add(conn, std::move(commands), [this, done = std::move(done)](redis::Request& r) {
    done(r);
    // Discovery keeps the replies' text (parsed INFO adopts it): counted until the snapshot goes.
    kept_ += r.budgeted;
    r.budgeted = 0;
  });
}

PoolTransport::~PoolTransport() {
  if (kept_ != 0) options_.reply_budget->Give(kept_);
}

std::shared_ptr<const void> PoolTransport::TakeReplyHold() {
  if (!options_.reply_budget) return nullptr;
  const std::size_t n = std::exchange(kept_, 0);
  std::shared_ptr<redis::Budget> budget = options_.reply_budget;
  return std::shared_ptr<const void>(nullptr, [budget, n](const void*) { budget->Give(n); });
}

}  // namespace rse
