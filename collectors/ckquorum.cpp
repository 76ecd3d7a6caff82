// `ckquorum` collector: SENTINEL CKQUORUM per (Sentinel, master).
#include <string>

#include "collectors/fields.h"
#include "collectors/registry.h"

namespace rse::collectors {
namespace {

const Desc kOk{"redis_sentinel_master_ckquorum_ok",
               "1 when SENTINEL CKQUORUM says the Sentinels can reach the quorum and authorize a failover."};
const Desc kUsable{"redis_sentinel_master_ckquorum_usable_sentinels",
                   "Usable Sentinels as SENTINEL CKQUORUM counts them."};

class CkquorumCollector final : public Collector {
 public:
  void Collect(const Snapshot& snapshot, MetricSink& sink, std::vector<std::string>&) override {
    for (const auto& s : snapshot.sentinels) {
      if (!s.up()) continue;
      for (const auto& m : s.masters) {
        if (!m.ckquorum) continue;
        Labels labels{{"sentinel", s.label()}, {"master_name", m.name}};
        sink.Add(kOk, labels, Bool(m.ckquorum->ok));
        sink.AddIf(kUsable, labels, m.ckquorum->usable_sentinels);
      }
    }
  }
};

}  // namespace

std::unique_ptr<Collector> NewCkquorumCollector() { return std::make_unique<CkquorumCollector>(); }

}  // namespace rse::collectors
