// `sentinels` collector: each Sentinel's view of its peers for each master (SENTINEL SENTINELS).
#include <string>
#include <string_view>

#include "collectors/fields.h"
#include "collectors/registry.h"

namespace rse::collectors {
namespace {

const Desc kOk{"redis_sentinel_peer_ok",
               "1 when a Sentinel's flags for a peer Sentinel are just 'sentinel' (not down or disconnected)."};
const Desc kSdown{"redis_sentinel_peer_sdown", "1 when a Sentinel sees a peer Sentinel subjectively down."};
const Desc kDisconnected{"redis_sentinel_peer_disconnected", "1 when a Sentinel has no connection to a peer Sentinel."};
const Desc kLastHello{"redis_sentinel_peer_last_hello_seconds",
                      "Seconds since a Sentinel last received a hello message from a peer."};
const Desc kLastOkPing{"redis_sentinel_peer_last_ok_ping_reply_seconds",
                       "Seconds since a peer Sentinel last answered PING validly."};

class SentinelsCollector final : public Collector {
 public:
  void Collect(const Snapshot& snapshot, MetricSink& sink, std::vector<std::string>& problems) override {
    ForEachListed(snapshot, &MasterView::sentinels, "peer", "peer", problems,
                  [&](const Labels& labels, const FieldMap& p, const std::string& where) {
                    const std::string_view flags = Field(p, "flags").value_or("");
                    sink.Add(kOk, labels, Bool(flags == "sentinel"));
                    sink.Add(kSdown, labels, Bool(HasFlag(flags, "s_down")));
                    sink.Add(kDisconnected, labels, Bool(HasFlag(flags, "disconnected")));
                    sink.AddIf(kLastHello, labels, NumberField(p, "last-hello-message", where, problems, 0.001));
                    sink.AddIf(kLastOkPing, labels, NumberField(p, "last-ok-ping-reply", where, problems, 0.001));
                  });
  }
};

}  // namespace

std::unique_ptr<Collector> NewSentinelsCollector() { return std::make_unique<SentinelsCollector>(); }

}  // namespace rse::collectors
