#pragma once

// The /status page: one topology as HTML with an inline SVG diagram per master group. Pure: it
// renders what a fetch found (the same snapshot the scrape uses) and does no I/O. The page runs
// no script and loads nothing from elsewhere; every value a peer sent is escaped.

#include <string>
#include <string_view>
#include <vector>

#include "model/events.h"
#include "model/health.h"
#include "model/snapshot.h"

namespace rse {

// Text for HTML element content and quoted attribute values.
std::string HtmlEscape(std::string_view s);

// How often the page reloads itself; a page view also reuses a collection younger than this,
// so any number of open pages cost at most one fetch per interval.
inline constexpr int kStatusRefreshSeconds = 5;

struct StatusPageInput {
  std::string title;                               // what this topology is ("configured topology", a probe target)
  const collectors::Snapshot* snapshot = nullptr;  // null: no topology configured
  std::vector<collectors::GroupHealth> groups;     // collectors::AnalyzeGroups(*snapshot)
  std::vector<collectors::RecordedEvent> events;   // newest last
  double now = 0;                                  // Unix seconds: when the snapshot was fetched
  int refresh_seconds = kStatusRefreshSeconds;
};

std::string RenderStatusPage(const StatusPageInput& in);

}  // namespace rse
