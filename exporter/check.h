#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/config.h"
#include "model/events.h"

namespace rse {

// `redis_sentinel_exporter check`: one scrape of the configured topology, a report a person
// reads at a glance (or JSON), and the exit status scripts rely on: 0 healthy, 1 degraded,
// 2 critical. The same discovery and analysis as the exporter's; no second implementation.
// With --check.events-url it also shows a running exporter's recent events (Sentinel keeps no
// history; the exporter's event stream does). Reading them can fail without changing the verdict.
int RunCheck(const Config& config, std::ostream& out);

// The body of an exporter's GET /events ({"events":[{"time","sentinel","event","payload",...}]}),
// oldest first; each event re-parsed from its channel and payload (model/events.h), so the
// derived fields have one definition. Nullopt with `error` set when it is not that JSON. Pure;
// fuzzed (fuzz/http_response.cpp).
std::optional<std::vector<collectors::RecordedEvent>> ParseEventsJson(std::string_view body, std::string& error);

}  // namespace rse
