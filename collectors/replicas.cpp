// `replicas` collector: each Sentinel's view of each replica of each master (SENTINEL REPLICAS).
#include <string>
#include <string_view>

#include "collectors/fields.h"
#include "collectors/registry.h"

namespace rse::collectors {
namespace {

const Desc kInfo{"redis_sentinel_replica_info",
                 "A replica as a Sentinel knows it, with the master address the replica reports following "
                 "(value 1)."};
const Desc kOk{"redis_sentinel_replica_ok",
               "1 when the Sentinel's flags for the replica are just 'slave' (not down or disconnected)."};
const Desc kSdown{"redis_sentinel_replica_sdown", "1 when the Sentinel sees the replica subjectively down."};
const Desc kDisconnected{"redis_sentinel_replica_disconnected",
                         "1 when the Sentinel has no connection to the replica."};
const Desc kLinkUp{"redis_sentinel_replica_master_link_up",
                   "1 when the replica reports its link to the master up (master-link-status ok)."};
const Desc kLinkDown{"redis_sentinel_replica_master_link_down_seconds",
                     "Seconds the replica's link to its master has been down (0 when up)."};
const Desc kOffset{"redis_sentinel_replica_repl_offset_bytes",
                   "The replication offset the replica last reported to the Sentinel."};
const Desc kPriority{"redis_sentinel_replica_priority", "The replica's priority for promotion (0: never promoted)."};
const Desc kLastOkPing{"redis_sentinel_replica_last_ok_ping_reply_seconds",
                       "Seconds since the replica last answered the Sentinel's PING validly."};

class ReplicasCollector final : public Collector {
 public:
  void Collect(const Snapshot& snapshot, MetricSink& sink, std::vector<std::string>& problems) override {
    ForEachListed(snapshot, &MasterView::replicas, "replica", "addr", problems,
                  [&](const Labels& labels, const FieldMap& r, const std::string& where) {
                    if (auto followed = AddressOf(r, "master-host", "master-port")) {
                      sink.Add(kInfo, With(labels, "master_address", followed->ToString()), 1);
                    }
                    const std::string_view flags = Field(r, "flags").value_or("");
                    sink.Add(kOk, labels, Bool(IsReplicaRole(flags)));
                    sink.Add(kSdown, labels, Bool(HasFlag(flags, "s_down")));
                    sink.Add(kDisconnected, labels, Bool(HasFlag(flags, "disconnected")));
                    if (auto status = Field(r, "master-link-status")) sink.Add(kLinkUp, labels, Bool(*status == "ok"));
                    sink.AddIf(kLinkDown, labels, NumberField(r, "master-link-down-time", where, problems, 0.001));
                    sink.AddIf(kOffset, labels, NumberField(r, "slave-repl-offset", where, problems));
                    sink.AddIf(kPriority, labels, NumberField(r, "slave-priority", where, problems));
                    sink.AddIf(kLastOkPing, labels, NumberField(r, "last-ok-ping-reply", where, problems, 0.001));
                  });
  }
};

}  // namespace

std::unique_ptr<Collector> NewReplicasCollector() { return std::make_unique<ReplicasCollector>(); }

}  // namespace rse::collectors
