#pragma once

// What one scrape fetched from a topology: every Sentinel and data node it reached or
// tried to reach, with parsed replies. Collectors read it and do no I/O of their own.

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "model/events.h"
#include "model/parse.h"
#include "redis/address.h"
#include "redis/connection.h"

namespace rse::collectors {

struct GroupHealth;  // model/health.h

// One Sentinel's view of one master group.
struct MasterView {
  std::string name;
  FieldMap master;                                 // SENTINEL MASTER fields
  std::optional<std::vector<FieldMap>> replicas;   // SENTINEL REPLICAS; nullopt if unanswered
  std::optional<std::vector<FieldMap>> sentinels;  // SENTINEL SENTINELS (peers, not itself)
  std::optional<Ckquorum> ckquorum;                // SENTINEL CKQUORUM; nullopt if not asked
  // SENTINEL GET-MASTER-ADDR-BY-NAME: the address clients are given. It differs from
  // `master`'s ip/port while the Sentinel leads a failover past the promotion (Sentinel names
  // the promoted replica to clients but keeps the old master in SENTINEL MASTER until the
  // replicas are reconfigured). nullopt if unanswered.
  std::optional<redis::Address> client_master;
};

// A node is up when its `error` is ok: discovery records an outcome for every node it lists
// (the request's status, or why the node is not what it should be).
struct SentinelNode {
  redis::Address address;
  redis::Status error;  // why it is down; ok when it answered
  FieldMap info;        // INFO sentinel
  std::string run_id;   // SENTINEL MYID; "" when unanswered. Peers list it as `runid`.
  std::vector<MasterView> masters;

  bool up() const { return error.ok(); }
  std::string label() const { return address.ToString(); }  // the `sentinel` label value
};

struct DataNode {
  std::string master_name;
  redis::Address address;
  redis::Status error;             // why it is down; ok when it answered
  FieldMap info;                   // INFO fields (the sections the enabled collectors need)
  FieldMap config;                 // CONFIG GET name/value pairs; empty when not asked or refused
  std::optional<Slowlog> slowlog;  // nullopt when not asked or refused

  bool up() const { return error.ok(); }
  std::string label() const { return address.ToString(); }  // the `addr` label value
};

struct Snapshot {
  std::string target;  // which topology this is (configured or a /probe target)
  // The master groups the target names (--sentinel.master-name, /probe's master=); empty when
  // it watches every group the Sentinels report. A named group no Sentinel reports is still
  // analysed (model/health.h): that it is unmonitored is the finding.
  std::vector<std::string> master_names;
  std::vector<SentinelNode> sentinels;
  std::vector<DataNode> nodes;
  // Things worth a log line that are not a node failure: (subject, message), e.g. a
  // Sentinel that does not monitor a configured master name.
  std::vector<std::pair<std::string, std::string>> notes;
  // The target's event-stream state at the time of the scrape; null without subscriptions.
  std::shared_ptr<const EventCounts> events;
  // AnalyzeGroups(*this) (model/health.h), computed once by the fetch for its failover
  // count and read by the topology collector; null on snapshots built elsewhere (tests, the
  // fuzzer), for which readers analyse the groups themselves.
  std::shared_ptr<const std::vector<GroupHealth>> groups;
  double fetched_at = 0;  // Unix seconds when the fetch ended; 0 on snapshots built elsewhere
  // Keeps the reply bytes the snapshot holds counted against their budget (a /probe target's,
  // FetchOptions::reply_budget) while it lives; null without one.
  std::shared_ptr<const void> reply_hold;
};

}  // namespace rse::collectors
