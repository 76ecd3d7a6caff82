#pragma once

#include <ostream>

#include "exporter/config.h"

namespace rse {

// `redis_sentinel_exporter check`: one scrape of the configured topology, a report a person
// reads at a glance (or JSON), and the exit status scripts rely on: 0 healthy, 1 degraded,
// 2 critical. The same discovery and analysis as the exporter's; no second implementation.
int RunCheck(const Config& config, std::ostream& out);

}  // namespace rse
