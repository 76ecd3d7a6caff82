#include "exporter/discovery.h"

#include <algorithm>
#include <deque>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <tuple>
#include <utility>

#include "collectors/datanode.h"
#include "model/parse.h"

namespace rse {

using collectors::DataNode;
using collectors::MasterView;
using collectors::Needs;
using collectors::SentinelNode;
using collectors::Snapshot;
using redis::Address;
using redis::Cause;
using redis::Reply;
using redis::Request;
using redis::Status;

namespace {

Status ReplyStatus(const Reply& reply, std::string_view command) {
  Cause cause = reply.str.starts_with("NOPERM") ? Cause::kAuth : Cause::kProtocol;
  return {cause, std::string(command) + " failed: " + reply.str};
}

// Commands for one master group on a Sentinel, after SENTINEL MASTER(S) named it.
void AddGroupCommands(std::vector<std::vector<std::string>>& cmds, const std::string& name, bool ckquorum) {
  cmds.push_back({"SENTINEL", "REPLICAS", name});
  cmds.push_back({"SENTINEL", "SENTINELS", name});
  if (ckquorum) cmds.push_back({"SENTINEL", "CKQUORUM", name});
  cmds.push_back({"SENTINEL", "GET-MASTER-ADDR-BY-NAME", name});
}
size_t GroupCommandCount(bool ckquorum) { return ckquorum ? 4 : 3; }

// Reads the replies AddGroupCommands asked for, starting at replies[i]. Returns an error only
// for a reply that cannot come from a Sentinel; "no such master" races are left unanswered.
Status ReadGroupReplies(const std::vector<Reply>& replies, size_t& i, bool ckquorum, MasterView& view) {
  auto replicas = collectors::ParseFieldArrays(replies[i]);
  if (replicas.ok()) {
    view.replicas = std::move(replicas.value);
  } else if (!replies[i].IsError()) {
    return {Cause::kProtocol, "unexpected reply to SENTINEL REPLICAS: " + replicas.error};
  }
  ++i;
  auto sentinels = collectors::ParseFieldArrays(replies[i]);
  if (sentinels.ok()) {
    view.sentinels = std::move(sentinels.value);
  } else if (!replies[i].IsError()) {
    return {Cause::kProtocol, "unexpected reply to SENTINEL SENTINELS: " + sentinels.error};
  }
  ++i;
  if (ckquorum) {
    auto ck = collectors::ParseCkquorum(replies[i]);
    if (ck.ok()) {
      view.ckquorum = ck.value;
    } else if (!replies[i].IsError()) {
      return {Cause::kProtocol, "unexpected reply to SENTINEL CKQUORUM: " + ck.error};
    }
    ++i;
  }
  auto addr = collectors::ParseMasterAddr(replies[i]);
  if (addr.ok()) {
    view.client_master = std::move(*addr.value);
  } else if (!replies[i].IsError()) {
    return {Cause::kProtocol, "unexpected reply to SENTINEL GET-MASTER-ADDR-BY-NAME: " + addr.error};
  }
  ++i;
  return {};
}

// One fetch: requests in which each reply may start more requests.
class Discovery {
 public:
  Discovery(const Target& target, const FetchOptions& options, Transport& transport, const Found& previous)
      : target_(target),
        previous_(previous),
        options_(options),
        transport_(transport),
        named_(!target.master_names.empty()),
        ckquorum_(options.needs.ckquorum),
        data_commands_(collectors::DataNodeCommands(options.needs)),
        data_commands_before7_(collectors::DataNodeCommandsBefore7(options.needs)) {
    for (const auto& addr : target.sentinels) known_peers_.insert(addr);
    for (const auto& s : previous.sentinels) {
      known_peers_.insert(s.address);
      if (!s.run_id.empty()) known_ids_.insert(s.run_id);
    }
    if (named_) return;  // the configured names are asked in every round
    for (const auto& node : previous.nodes) {
      if (std::find(groups_.begin(), groups_.end(), node.first) == groups_.end()) groups_.push_back(node.first);
    }
  }

  std::shared_ptr<Snapshot> Run() {
    for (const auto& addr : target_.sentinels) AskSentinel(addr, true);
    // The previous fetch's nodes, asked in the configured Sentinels' round trip rather than
    // after it. A node outside the pin waits to be named: its note is logged only then.
    for (const auto& s : previous_.sentinels) {
      if (MayReceiveCredentials(options_, s.address, options_.sentinel_credentials)) AskSentinel(s.address, false);
    }
    for (const auto& [group, addr] : previous_.nodes) {
      if (MayReceiveCredentials(options_, addr, DataCredentials(options_, group))) AskDataNode(group, addr, false);
    }
    transport_.Run();
    auto snap = std::make_shared<Snapshot>();
    // A Sentinel outside the topology is left out, whatever it answered.
    for (auto& s : sentinels_) {
      if (s.duplicate || !s.in) continue;
      snap->sentinels.push_back(std::move(s.node));
      notes_.insert(notes_.end(), std::make_move_iterator(s.notes.begin()), std::make_move_iterator(s.notes.end()));
    }
    // A node no Sentinel named this time is not in the topology any more, whatever it answered.
    for (auto& n : nodes_) {
      if (!n.named) continue;
      snap->nodes.push_back(std::move(n.node));
      notes_.insert(notes_.end(), std::make_move_iterator(n.notes.begin()), std::make_move_iterator(n.notes.end()));
    }
    // Replies arrive in any order; a stable order makes reports and diffs readable.
    std::sort(snap->sentinels.begin(), snap->sentinels.end(),
              [](const auto& a, const auto& b) { return a.address < b.address; });
    std::sort(snap->nodes.begin(), snap->nodes.end(), [](const auto& a, const auto& b) {
      return std::tie(a.master_name, a.address) < std::tie(b.master_name, b.address);
    });
    snap->notes = std::move(notes_);
    for (const auto& s : target_.sentinels) snap->target += s.ToString() + ",";
    for (const auto& m : target_.master_names) snap->target += "/" + m;
    snap->master_names = target_.master_names;
    return snap;
  }

 private:
  struct Asked {
    SentinelNode node;
    bool in = false;         // of the topology (Discover): its reply is read for peers and nodes
    bool done = false;       // has answered everything (or failed)
    size_t order = 0;        // the order-th asked
    bool duplicate = false;  // the same Sentinel as `original`, asked under another address
    Asked* original = nullptr;
    std::vector<size_t> unanswered;                          // node.masters whose group commands were not pipelined
    std::vector<std::pair<std::string, std::string>> notes;  // the snapshot's, if in
  };
  struct AskedNode {
    DataNode node;
    bool named = false;  // by a Sentinel in this fetch (not only expected from the previous one)
    std::vector<std::pair<std::string, std::string>> notes;  // the snapshot's, if named
  };

  // Whether a node may receive its credentials: the target's own Sentinels may, a node that a
  // reply named only inside the pin. One log line (a note) says when one is withheld.
  bool MayAuthenticate(const Address& addr, const redis::Credentials& creds, const std::string& subject) {
    if (MayReceiveCredentials(options_, addr, creds)) return true;
    notes_.push_back({subject,
                      "outside the allowed addresses (--redis.allowed-addresses or the binding's "
                      "allowed_addresses): asked without AUTH"});
    return false;
  }

  // `in`: configured, or named by a Sentinel of the topology; otherwise of the previous fetch.
  void AskSentinel(const Address& addr, bool in) {
    if (auto it = by_address_.find(addr); it != by_address_.end()) {
      if (in) MarkIn(*it->second);
      return;
    }
    if (sentinels_.size() >= options_.max_sentinels) return;
    const bool configured =
        std::find(target_.sentinels.begin(), target_.sentinels.end(), addr) != target_.sentinels.end();
    const bool authenticate =
        configured || MayAuthenticate(addr, options_.sentinel_credentials, "sentinel " + addr.ToString());
    Asked& asked = sentinels_.emplace_back();
    by_address_.emplace(addr, &asked);
    asked.order = sentinels_.size() - 1;
    asked.in = in;
    asked.node.address = addr;
    auto cmds =
        named_ ? SentinelCommands(target_.master_names, true, ckquorum_) : SentinelCommands(groups_, false, ckquorum_);
    transport_.Ask(Transport::Kind::kSentinel, addr, {}, authenticate, std::move(cmds),
                   [this, &asked, authenticate](Request& r) { OnSentinelReply(asked, authenticate, r); });
  }

  void OnSentinelReply(Asked& asked, bool authenticate, Request& req) {
    SentinelNode& node = asked.node;
    node.error = req.status;
    if (node.error.ok()) ReadSentinelReplies(asked, req.replies);
    if (asked.duplicate) {
      if (asked.in) MarkIn(*asked.original);
      return;
    }
    if (node.error.ok() && !asked.unanswered.empty()) {
      // Second round trip: the groups SENTINEL MASTERS named that were not asked with it.
      std::vector<std::vector<std::string>> cmds;
      for (size_t m : asked.unanswered) AddGroupCommands(cmds, node.masters[m].name, ckquorum_);
      transport_.Ask(Transport::Kind::kSentinel, node.address, {}, authenticate, std::move(cmds),
                     [this, &asked](Request& r) {
                       SentinelNode& node = asked.node;
                       node.error = r.status;
                       size_t i = 0;
                       for (size_t m : asked.unanswered) {
                         if (!node.error.ok()) break;
                         node.error = ReadGroupReplies(r.replies, i, ckquorum_, node.masters[m]);
                       }
                       SentinelDone(asked);
                     });
      return;
    }
    SentinelDone(asked);
  }

  void ReadSentinelReplies(Asked& asked, const std::vector<Reply>& rs) {
    SentinelNode& node = asked.node;
    if (!rs[0].IsText()) {
      node.error =
          rs[0].IsError() ? ReplyStatus(rs[0], "INFO sentinel") : Status{Cause::kProtocol, "unexpected reply to INFO"};
      return;
    }
    node.info = collectors::ParseInfo(rs[0].str);
    if (!collectors::Field(node.info, "sentinel_masters")) {
      node.error = {Cause::kProtocol, "not a Sentinel: INFO has no sentinel section (a data node?)"};
      return;
    }
    if (rs[1].type == Reply::Type::kString) {
      auto [it, added] = ids_.emplace(rs[1].str, &asked);
      if (!added) {
        // The same Sentinel under two addresses: the one asked first names it, whichever
        // answers first, so a configured address (a Service name) keeps its label.
        Asked* first = it->second;
        if (first->order < asked.order) {
          asked.duplicate = true;
          asked.original = first;
          return;
        }
        first->duplicate = true;
        first->original = &asked;
        it->second = &asked;
        if (first->in) MarkIn(asked);
      }
      node.run_id = rs[1].str;
    }
    if (!named_) {
      auto masters = collectors::ParseFieldArrays(rs[2]);
      if (!masters.ok()) {
        node.error = rs[2].IsError()
                         ? ReplyStatus(rs[2], "SENTINEL MASTERS")
                         : Status{Cause::kProtocol, "unexpected reply to SENTINEL MASTERS: " + masters.error};
        return;
      }
      for (auto& m : *masters.value) {
        MasterView view;
        view.name = std::string(collectors::Field(m, "name").value_or(""));
        view.master = std::move(m);
        if (!view.name.empty()) node.masters.push_back(std::move(view));
      }
      // Replies to the group commands asked along: used for the groups MASTERS named; those of
      // a group gone since the previous fetch are dropped.
      for (size_t m = 0; m < node.masters.size(); ++m) {
        auto it = std::find(groups_.begin(), groups_.end(), node.masters[m].name);
        if (it == groups_.end()) {
          asked.unanswered.push_back(m);
          continue;
        }
        // After INFO, MYID and MASTERS, each group's commands in groups_' order (AskSentinel).
        size_t i = 3 + static_cast<size_t>(it - groups_.begin()) * GroupCommandCount(ckquorum_);
        node.error = ReadGroupReplies(rs, i, ckquorum_, node.masters[m]);
        if (!node.error.ok()) return;
      }
      return;
    }
    size_t i = 2;
    for (const auto& name : target_.master_names) {
      auto master = collectors::ParseFieldArray(rs[i++]);
      if (!master.ok()) {
        if (!rs[i - 1].IsError()) {
          node.error = {Cause::kProtocol, "unexpected reply to SENTINEL MASTER: " + master.error};
          return;
        }
        asked.notes.push_back(
            {"sentinel " + node.label() + " master " + name, "Sentinel does not know the master: " + master.error});
        i += GroupCommandCount(ckquorum_);
        continue;
      }
      MasterView view;
      view.name = name;
      view.master = std::move(*master.value);
      node.error = ReadGroupReplies(rs, i, ckquorum_, view);
      if (!node.error.ok()) return;
      node.masters.push_back(std::move(view));
    }
  }

  // A Sentinel has answered everything: if it is of the topology, or names a peer of it, ask
  // the peers and data nodes it names.
  void SentinelDone(Asked& asked) {
    SentinelNode& node = asked.node;
    if (node.error.cause == Cause::kAuth && options_.sentinel_credentials.password.empty()) {
      // Sentinels usually have no password; one that wants it is often a data node.
      node.error.message +=
          " (a data node given as a Sentinel? if this Sentinel has its own password, "
          "set --sentinel.password-file)";
    }
    if (!node.up()) node.masters.clear();
    asked.done = true;
    if (asked.in) {
      Expand(asked);
    } else if (NamesKnownPeer(node)) {
      MarkIn(asked);
    }
  }

  // Whether a Sentinel names, as a peer, a configured Sentinel or one of the previous fetch
  // other than itself.
  bool NamesKnownPeer(const SentinelNode& node) const {
    for (const auto& view : node.masters) {
      if (!view.sentinels) continue;
      for (const auto& peer : *view.sentinels) {
        auto id = collectors::Field(peer, "runid");
        auto addr = collectors::AddressOf(peer);
        if ((id && *id == node.run_id) || addr == node.address) continue;
        if ((id && known_ids_.count(std::string(*id))) || (addr && known_peers_.count(*addr))) return true;
      }
    }
    return false;
  }

  // A Sentinel is of the topology: once it has answered, what it names is asked.
  void MarkIn(Asked& asked) {
    if (asked.duplicate) return MarkIn(*asked.original);  // each original was asked earlier: no cycle
    if (asked.in) return;
    asked.in = true;
    if (asked.done) Expand(asked);
  }

  void Expand(Asked& asked) {
    const SentinelNode& node = asked.node;
    if (!node.up()) return;
    for (const auto& view : node.masters) {
      AskDataNode(view.name, collectors::AddressOf(view.master));
      if (view.replicas) {
        for (const auto& r : *view.replicas) AskDataNode(view.name, collectors::AddressOf(r));
      }
    }
    for (const auto& view : node.masters) {
      if (!view.sentinels) continue;
      for (const auto& peer : *view.sentinels) {
        auto addr = collectors::AddressOf(peer);
        if (!addr) continue;
        if (auto id = collectors::Field(peer, "runid")) {
          // Answered already, under another address.
          if (auto it = ids_.find(std::string(*id)); it != ids_.end()) {
            MarkIn(*it->second);
            continue;
          }
        }
        AskSentinel(*addr, true);
      }
    }
  }

  // `named`: a Sentinel named the node in this fetch; otherwise the previous fetch found it.
  void AskDataNode(const std::string& group, const std::optional<Address>& addr, bool named = true) {
    if (!addr) return;
    const NodeKey key{group, *addr};
    if (auto known = known_nodes_.find(key); known != known_nodes_.end()) {
      known->second->named |= named;
      return;
    }
    if (nodes_.size() >= options_.max_data_nodes) {
      if (!nodes_capped_) {
        nodes_capped_ = true;
        notes_.push_back({"topology", "the Sentinels name more than " + std::to_string(options_.max_data_nodes) +
                                          " data nodes: the rest are left out"});
      }
      return;
    }
    AskedNode& asked = nodes_.emplace_back();
    known_nodes_.emplace(key, &asked);
    asked.named = named;
    DataNode& node = asked.node;
    node.master_name = group;
    node.address = *addr;
    const bool authenticate =
        MayAuthenticate(*addr, DataCredentials(options_, group), "node " + group + " " + node.label());
    if (!data_commands_before7_.empty() && transport_.InfoOneSection(*addr, group)) {
      // Refused several sections on this connection before: the same note, no refusal.
      NoteInfoAll(asked);
      transport_.Ask(Transport::Kind::kData, *addr, group, authenticate, data_commands_before7_,
                     [this, &asked, authenticate](Request& r) { OnDataReply(asked, authenticate, r, true); });
      return;
    }
    transport_.Ask(Transport::Kind::kData, *addr, group, authenticate, data_commands_,
                   [this, &asked, authenticate](Request& r) { OnDataReply(asked, authenticate, r); });
  }

  // One message whether the refusal came in this fetch or an earlier one, so the log says it once.
  void NoteInfoAll(AskedNode& asked) {
    asked.notes.push_back({"node " + asked.node.master_name + " " + asked.node.label() + " INFO",
                           "INFO with several sections refused (Redis before 7?): asking INFO all instead "
                           "while the connection lasts"});
  }

  void OnDataReply(AskedNode& asked, bool authenticate, Request& req, bool before7 = false) {
    DataNode& node = asked.node;
    node.error = req.status;
    if (node.error.ok()) {
      Reply& reply = req.replies[0];
      const std::string& command = data_commands_[0][0];
      if (reply.IsError() && !before7 && !data_commands_before7_.empty() && reply.str.rfind("ERR", 0) == 0) {
        // Redis before 7 refuses INFO with several sections: ask once more, with INFO all, and
        // from the next fetch on ask INFO all first.
        NoteInfoAll(asked);
        transport_.SetInfoOneSection(node.address, node.master_name);
        transport_.Ask(Transport::Kind::kData, node.address, node.master_name, authenticate, data_commands_before7_,
                       [this, &asked, authenticate](Request& r) { OnDataReply(asked, authenticate, r, true); });
        return;
      }
      if (reply.IsError()) {
        node.error = ReplyStatus(reply, command);
      } else if (!reply.IsText()) {
        node.error = {Cause::kProtocol,
                      std::string("unexpected ") + redis::TypeName(reply.type) + " reply to " + command};
      } else if (command == "INFO") {
        node.info = collectors::ParseInfo(std::move(reply.str));  // the map keeps the text: no copy
        if (collectors::ServerMode(node.info) == std::optional<std::string_view>("sentinel") ||
            !collectors::Field(node.info, "role")) {
          node.error = {Cause::kProtocol, "not a Redis data node: INFO has no role (a Sentinel?)"};
          node.info.clear();
        }
      }
      if (node.error.ok()) collectors::ReadOptionalReplies(options_.needs, req.replies, node, asked.notes);
    }
  }

  const Target& target_;
  const Found& previous_;
  std::vector<std::string> groups_;  // of the previous fetch's nodes, without configured names: asked with MASTERS
  const FetchOptions& options_;
  Transport& transport_;
  const bool named_;
  const bool ckquorum_;
  const std::vector<std::vector<std::string>> data_commands_;
  const std::vector<std::vector<std::string>> data_commands_before7_;  // empty: no fallback
  std::deque<Asked> sentinels_;  // deques: callbacks hold references while more are added
  std::deque<AskedNode> nodes_;
  std::map<Address, Asked*> by_address_;  // every Sentinel asked
  std::map<NodeKey, AskedNode*> known_nodes_;
  bool nodes_capped_ = false;          // FetchOptions::max_data_nodes reached, and noted
  std::map<std::string, Asked*> ids_;  // SENTINEL MYID of every Sentinel that answered, the first asked
  std::set<Address> known_peers_;      // configured Sentinels and the previous fetch's
  std::set<std::string> known_ids_;    // the previous fetch's Sentinels' run ids
  std::vector<std::pair<std::string, std::string>> notes_;
};

}  // namespace

std::vector<std::vector<std::string>> SentinelCommands(const std::vector<std::string>& names, bool named,
                                                       bool ckquorum) {
  std::vector<std::vector<std::string>> cmds = {{"INFO", "sentinel"}, {"SENTINEL", "MYID"}};
  if (!named) cmds.push_back({"SENTINEL", "MASTERS"});
  for (const auto& name : names) {
    if (named) cmds.push_back({"SENTINEL", "MASTER", name});
    AddGroupCommands(cmds, name, ckquorum);
  }
  return cmds;
}

const redis::Credentials& DataCredentials(const FetchOptions& options, const std::string& group) {
  auto it = options.group_credentials.find(group);
  return it != options.group_credentials.end() ? it->second : options.redis_credentials;
}

bool MayReceiveCredentials(const FetchOptions& options, const Address& addr, const redis::Credentials& creds) {
  return options.allowed_addresses.empty() || creds.password.empty() || MatchesAny(options.allowed_addresses, addr);
}

std::shared_ptr<Snapshot> Discover(const Target& target, const FetchOptions& options, Transport& transport,
                                   const Found& previous) {
  return Discovery(target, options, transport, previous).Run();
}

Found FoundIn(const Snapshot& snapshot) {
  Found found;
  for (const auto& s : snapshot.sentinels) found.sentinels.push_back({s.address, s.run_id});
  for (const auto& n : snapshot.nodes) found.nodes.emplace_back(n.master_name, n.address);
  return found;
}

}  // namespace rse
