// `sentinel` collector: each Sentinel's SENTINEL MASTER fields and its INFO sentinel.
#include <string>
#include <string_view>

#include "collectors/fields.h"
#include "collectors/registry.h"
#include "model/health.h"

namespace rse::collectors {
namespace {

const Desc kMasterInfo{
    "redis_sentinel_master_info",
    "The master address a Sentinel gives clients for a master group (GET-MASTER-ADDR-BY-NAME; value 1)."};
const Desc kFailoverState{
    "redis_sentinel_master_failover_state",
    "1 for the failover state the Sentinel reports for the master, 0 for the others (state set)."};
const Desc kStatus{"redis_sentinel_master_status",
                   "1 when the Sentinel's flags for the master are just 'master' (healthy)."};
const Desc kSdown{"redis_sentinel_master_sdown", "1 when the Sentinel sees the master subjectively down."};
const Desc kOdown{"redis_sentinel_master_odown", "1 when the Sentinel sees the master objectively down."};
const Desc kFailoverInProgress{"redis_sentinel_master_failover_in_progress",
                               "1 while the Sentinel has a failover of this master in progress."};
const Desc kConfigEpoch{"redis_sentinel_master_config_epoch",
                        "The master group's configuration epoch; it increases with every failover."};
const Desc kSlaves{"redis_sentinel_master_slaves", "Replicas the Sentinel knows for the master."};
const Desc kOkSlaves{"redis_sentinel_master_ok_slaves",
                     "Replicas the Sentinel knows whose flags are just 'slave' (not down or disconnected)."};
const Desc kSentinels{"redis_sentinel_master_sentinels",
                      "Sentinels monitoring the master, as this Sentinel knows them (peers plus itself)."};
const Desc kOkSentinels{"redis_sentinel_master_ok_sentinels",
                        "Sentinels monitoring the master that this Sentinel sees healthy (itself included)."};
const Desc kQuorum{"redis_sentinel_master_quorum", "The quorum configured for the master."};
const Desc kDownAfter{"redis_sentinel_master_down_after_seconds",
                      "Seconds without a valid reply after which the Sentinel considers a node down."};
const Desc kFailoverTimeout{"redis_sentinel_master_failover_timeout_seconds",
                            "The failover timeout configured for the master, in seconds."};
const Desc kParallelSyncs{"redis_sentinel_master_parallel_syncs",
                          "Replicas reconfigured at the same time during a failover."};

const Desc kTilt{"redis_sentinel_tilt", "1 when the Sentinel is in TILT mode (it acts on nothing)."};
const Desc kMasters{"redis_sentinel_masters", "Master groups the Sentinel monitors."};
const Desc kRunningScripts{"redis_sentinel_running_scripts", "Notification or reconfiguration scripts running."};
const Desc kScriptsQueue{"redis_sentinel_scripts_queue_length", "Scripts waiting to run."};

class SentinelCollector final : public Collector {
 public:
  void Collect(const Snapshot& snapshot, MetricSink& sink, std::vector<std::string>& problems) override {
    for (const auto& s : snapshot.sentinels) {
      if (!s.up()) continue;
      const std::string sentinel = s.label();
      const std::string where = "sentinel " + sentinel;
      Labels node{{"sentinel", sentinel}};
      if (auto tilt = NumberField(s.info, "sentinel_tilt", where, problems)) {
        sink.Add(kTilt, node, *tilt != 0 ? 1 : 0);
      }
      sink.AddIf(kMasters, node, NumberField(s.info, "sentinel_masters", where, problems));
      sink.AddIf(kRunningScripts, node, NumberField(s.info, "sentinel_running_scripts", where, problems));
      sink.AddIf(kScriptsQueue, node, NumberField(s.info, "sentinel_scripts_queue_length", where, problems));

      for (const auto& m : s.masters) {
        const std::string mwhere = where + " master " + m.name;
        Labels labels{{"sentinel", sentinel}, {"master_name", m.name}};
        if (auto addr = AdvertisedMaster(m)) sink.Add(kMasterInfo, With(labels, "master_address", addr->ToString()), 1);
        const std::string_view flags = Field(m.master, "flags").value_or("");
        sink.Add(kStatus, labels, Bool(IsPrimaryRole(flags)));
        sink.Add(kSdown, labels, Bool(HasFlag(flags, "s_down")));
        sink.Add(kOdown, labels, Bool(HasFlag(flags, "o_down")));
        sink.Add(kFailoverInProgress, labels, Bool(HasFlag(flags, "failover_in_progress")));
        // Every state is emitted (a state set), so a state is 0 rather than absent when left;
        // an unknown state leaves them all 0.
        const std::string_view state = FailoverState(m.master);
        Labels l = labels;
        const size_t mark = l.size();
        for (auto known : kFailoverStates) {
          l.Truncate(mark);
          l.AddPlain("state", known);
          sink.Add(kFailoverState, l, Bool(state == known));
        }
        sink.AddIf(kConfigEpoch, labels, NumberField(m.master, "config-epoch", mwhere, problems));
        sink.AddIf(kSlaves, labels, NumberField(m.master, "num-slaves", mwhere, problems));
        if (m.replicas) {
          double ok = 0;
          for (const auto& r : *m.replicas) ok += Bool(IsReplicaRole(Field(r, "flags").value_or("")));
          sink.Add(kOkSlaves, labels, ok);
        }
        if (auto others = NumberField(m.master, "num-other-sentinels", mwhere, problems)) {
          sink.Add(kSentinels, labels, *others + 1);
        }
        if (m.sentinels) {
          double ok = 1;  // itself: it answered
          for (const auto& p : *m.sentinels) ok += Bool(Field(p, "flags").value_or("") == "sentinel");
          sink.Add(kOkSentinels, labels, ok);
        }
        sink.AddIf(kQuorum, labels, NumberField(m.master, "quorum", mwhere, problems));
        sink.AddIf(kDownAfter, labels, NumberField(m.master, "down-after-milliseconds", mwhere, problems, 0.001));
        sink.AddIf(kFailoverTimeout, labels, NumberField(m.master, "failover-timeout", mwhere, problems, 0.001));
        sink.AddIf(kParallelSyncs, labels, NumberField(m.master, "parallel-syncs", mwhere, problems));
      }
    }
  }
};

}  // namespace

std::unique_ptr<Collector> NewSentinelCollector() { return std::make_unique<SentinelCollector>(); }

}  // namespace rse::collectors
