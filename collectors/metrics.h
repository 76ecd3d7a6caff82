#pragma once

#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <prometheus/metric_type.h>

namespace rse::collectors {

// Label pairs, rendered once in the text format: `name="escaped value",...`. A node's labels
// are shared by dozens of its samples; a vector of label strings per sample cost a fifth of a
// scrape's instructions and most of its peak heap (bench/README.md).
class Labels {
 public:
  Labels() = default;
  Labels(std::initializer_list<std::pair<std::string_view, std::string_view>> pairs);

  // Appends one pair. Values come from peers (master names, hosts): invalid UTF-8 becomes
  // U+FFFD, since one bad byte would make Prometheus reject the whole scrape.
  Labels& Add(std::string_view name, std::string_view value);
  const std::string& text() const { return text_; }
  bool empty() const { return text_.empty(); }
  // Drops the pairs added after size() returned `mark`: one Labels reused for a sample's own
  // label (quantile, db) costs no allocation per sample.
  size_t size() const { return text_.size(); }
  void Truncate(size_t mark) { text_.resize(mark); }

 private:
  std::string text_;
};

// A copy of `labels` with one more pair (the sample's own label, such as role="master").
inline Labels With(Labels labels, std::string_view name, std::string_view value) {
  labels.Add(name, value);
  return labels;
}

// A metric's name, help and type, declared once per collector (node_exporter's typedDesc).
struct Desc {
  const char* name;
  const char* help;
  prometheus::MetricType type = prometheus::MetricType::Gauge;
};

// Renders samples into the Prometheus text format (version 0.0.4) as they are added: one
// block per family name, whichever collector adds to it, in the order families were first
// used. Built fresh for every scrape.
class MetricSink {
 public:
  void Add(const Desc& desc, const Labels& labels, double value) { Add(desc, {}, labels, value); }
  // A sample named desc.name + suffix in desc's family: a summary's "_sum" and "_count".
  void Add(const Desc& desc, std::string_view suffix, const Labels& labels, double value);
  // Adds the sample only when the value is known: a missing field stays missing, never 0.
  void AddIf(const Desc& desc, const Labels& labels, std::optional<double> value) {
    if (value) Add(desc, labels, *value);
  }

  // A histogram's samples: `bounds` and `counts` (per bucket, not cumulative) give the
  // cumulative _bucket series with their `le` label, then +Inf, _sum and _count.
  void AddHistogram(const Desc& desc, const Labels& labels, std::span<const double> bounds,
                    std::span<const double> counts, double sum, double count);

  // The exposition as blocks ("# HELP", "# TYPE", samples), one per family; sent one after
  // another, so the body is never copied into one string.
  std::vector<std::string> Take();

 private:
  std::vector<std::string> blocks_;
  std::unordered_map<std::string_view, size_t> index_;  // Desc names are static strings
  struct Slot {
    size_t block;
    size_t name_size;
  };
  std::unordered_map<const Desc*, Slot> by_desc_;  // the same blocks by Desc address, with name lengths
};

// The blocks joined (tests, and callers that want one string).
std::string Join(const std::vector<std::string>& blocks);

}  // namespace rse::collectors
