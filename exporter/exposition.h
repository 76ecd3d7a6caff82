#pragma once

#include <string>
#include <vector>

#include <prometheus/metric_family.h>

namespace rse {

// Appends families to `out` in the Prometheus text format (version 0.0.4). Families without
// samples are left out. Equivalent to prometheus::TextSerializer for gauges and counters, but
// it writes into one preallocated string with std::to_chars: a 20-group scrape is thousands
// of samples, and the iostream path was a large share of the exporter's CPU per scrape.
void AppendText(std::string& out, const std::vector<prometheus::MetricFamily>& families);

}  // namespace rse
