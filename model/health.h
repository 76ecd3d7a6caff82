#pragma once

// The derived view of each master group in one snapshot: who the Sentinels name as master,
// whether they agree, how many nodes say they are master, which replicas are linked and how
// far behind. Pure; shared by the `topology` collector and the `check` command, and through
// `check --output json` (docs/check-json.md) by the ops/ scripts: the one definition of the
// agreed master, of lag and of healthy.

#include <optional>
#include <string>
#include <vector>

#include "model/snapshot.h"

namespace rse::collectors {

// The master address a Sentinel names for a group: the one it gives clients (SENTINEL
// GET-MASTER-ADDR-BY-NAME), else SENTINEL MASTER's ip/port when that went unanswered. During
// the replica-reconfiguration phase of a failover the leader's SENTINEL MASTER still shows
// the old master while every Sentinel gives clients the new one: comparing the latter does
// not turn a healthy failover into a disagreement.
std::optional<redis::Address> AdvertisedMaster(const MasterView& view);

struct GroupHealth {
  struct SentinelView {
    std::string sentinel;        // label
    std::string master_address;  // the master it names (AdvertisedMaster), as it names it
    std::string failover_state;  // FailoverState: "none", "reconf_slaves", ...; "" unknown
    bool master_ok = false;      // its flags for the master are just "master"
    bool tilt = false;
    std::optional<bool> ckquorum_ok;
  };
  struct Node {
    std::string addr;
    bool up = false;
    std::string cause;            // why not up
    std::string role;             // "master", "replica" or "" when unknown
    std::string follows;          // replicas: the master they follow
    std::optional<bool> link_up;  // replicas
    // Replicas: seconds since their master last sent anything (master_last_io_seconds_ago).
    std::optional<double> last_io_seconds;
    // Replicas of the agreed master: the master's master_repl_offset minus the offset this
    // replica last acknowledged, both from the master's INFO replication ("slaveN:...,offset=").
    // The master's view keeps growing while a replica is paused or cut off, which the
    // replica's own slave_repl_offset cannot show. Acks come once a second, so an idle
    // group shows a few hundred bytes at times (Sentinel hellos are replicated).
    std::optional<double> lag_bytes;
  };

  std::string name;
  // Distinct, sorted. A Sentinel still naming the master a leader's failover is leaving (in
  // its reconfiguration phase, before the leader's hello reaches it) counts for the new one.
  std::vector<std::string> master_addresses;
  // The agreed master: the address most answering Sentinels name; a tie goes to the newer
  // configuration (higher config-epoch), then the lower address. "" when none names one.
  std::string agreed_master;
  int agreed_votes = 0;
  bool master_up = false;        // the agreed master answers and reports role:master
  int sentinels_up = 0;          // Sentinels that answered for this group
  std::optional<double> quorum;  // highest quorum reported
  // Sentinels the group's Sentinels count as voters: the highest num-other-sentinels + 1
  // reported. A peer that left stays counted until SENTINEL RESET, and so it does here.
  std::optional<double> sentinels_known;
  std::optional<double> config_epoch;    // highest config-epoch reported
  std::optional<double> replicas_known;  // highest num-slaves reported
  int masters = 0;                       // reachable nodes reporting role:master
  int replicas_linked = 0;               // replicas of the agreed master with link up
  // Of those, the ones Sentinel could promote now: replica-priority above 0 and announced
  // (replica-announced). 0 with replicas known: a master failure would not be failed over.
  int replicas_promotable = 0;
  std::vector<SentinelView> sentinels;
  // Answering Sentinels that the group's Sentinels list as a peer (by run id or address) but
  // that do not monitor the group: one restarted without its configuration, or after SENTINEL
  // REMOVE. Its peers still count it as a voter, so for failover it is as good as down. Sorted.
  std::vector<std::string> sentinels_not_monitoring;
  // Sentinels the group's answering Sentinels list as a peer (by address) that do not answer
  // the exporter. Sorted.
  std::vector<std::string> sentinels_down;
  std::vector<Node> nodes;  // every data node of the group

  // Some answering Sentinel monitors the group. Only a group the target names (AnalyzeGroups)
  // or one an earlier fetch saw (AddGroupsSeenBefore) can be unmonitored: then nothing else is
  // known of it.
  bool Monitored() const { return sentinels_up > 0; }
  // Sentinels that must answer for a failover: the quorum to agree the master is down, and a
  // majority of the voters to elect the leader that fails it over (sentinel.c's
  // sentinelGetLeader). nullopt when neither number is known.
  std::optional<double> SentinelsNeeded() const;
  // As many Sentinels answer for the group as a failover needs (true when that is unknown).
  bool EnoughSentinels() const {
    const auto needed = SentinelsNeeded();
    return !needed || sentinels_up >= *needed;
  }
  // Every answering Sentinel names the same master (a failover has converged).
  bool SentinelsAgree() const { return master_addresses.size() == 1 && agreed_votes == sentinels_up; }
};

// One entry per master group any answering Sentinel reports, and per group the snapshot names
// (Snapshot::master_names) even when none does (then sentinels_up is 0), sorted by name.
std::vector<GroupHealth> AnalyzeGroups(const Snapshot& snapshot);

// Adds the groups an earlier fetch of the target saw (EventCounts::agreed) that no Sentinel
// reports now, unmonitored (sentinels_up 0), keeping `groups` sorted by name: a group every
// Sentinel lost is told, not left to vanish.
void AddGroupsSeenBefore(const EventCounts& counts, std::vector<GroupHealth>& groups);

// Each group's agreed master and epoch, for the target's failover count (EventState).
std::vector<AgreedMaster> AgreedMasters(const std::vector<GroupHealth>& groups);

// Overall verdict for people and scripts: 0 healthy, 1 degraded, 2 critical.
struct Verdict {
  int status = 0;
  std::vector<std::string> critical;
  std::vector<std::string> degraded;
};
Verdict Judge(const Snapshot& snapshot, const std::vector<GroupHealth>& groups, double max_lag_bytes);

}  // namespace rse::collectors
