#pragma once

#include <functional>
#include <initializer_list>
#include <mutex>
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
  // Appends one pair whose value our own code produced (a number, a quantile, a state name):
  // plain ASCII without '\\', '"' or newlines, so it is copied without escaping. Anything a
  // peer sent goes through Add.
  Labels& AddPlain(std::string_view name, std::string_view value);
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

// The longest text WriteValue writes: a double's shortest form ("-2.2250738585072014e-308")
// is 24 bytes.
inline constexpr size_t kMaxValue = 32;
// Writes v at p as the text format's value, at most kMaxValue bytes, and returns the end:
// whole numbers below 2^53 as integers, NaN, +Inf, -Inf, and the rest as std::to_chars's
// shortest round-trip text.
char* WriteValue(char* p, double v);

// A metric's name, help and type, declared once per collector (node_exporter's typedDesc).
struct Desc {
  const char* name;
  const char* help;
  prometheus::MetricType type = prometheus::MetricType::Gauge;
};

// Each family's size in bytes in one target's previous scrape: how MetricSink lays out the
// next body in one buffer. Belongs to the target's state between scrapes (exporter Topology),
// not to the collectors, which keep no state. Thread-safe: concurrent scrapes of one target
// read and update it.
class SizePlan {
 public:
  bool empty() const;
  // The body's size in the previous scrape, in bytes.
  size_t bytes() const;

 private:
  friend class MetricSink;
  // Heterogeneous lookup: the sink asks by the Desc's name without making a string.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Sizes = std::unordered_map<std::string, size_t, Hash, std::equal_to<>>;

  // A family's region: its planned bytes and headroom for values that grew a digit.
  static size_t Region(size_t bytes) { return bytes == 0 ? 0 : bytes + bytes / 16 + 64; }
  size_t Planned(std::string_view family) const;  // 0 for a family not seen last time
  size_t Reserve() const;                         // every planned region
  size_t LargestFlush() const;                    // the regions of the largest output (MetricSink::Flush)
  // Replaces the plan by one scrape's sizes: families gone from it are forgotten. `largest`:
  // the regions of the scrape's largest output.
  void Update(const std::vector<std::pair<std::string_view, size_t>>& sizes, size_t largest);

  mutable std::mutex mu_;  // Guards the members below.
  Sizes sizes_;            // family name -> bytes
  size_t reserve_ = 0;     // the sum of their regions
  size_t bytes_ = 0;       // the sum of their sizes
  size_t largest_ = 0;
};

// Renders samples into the Prometheus text format (version 0.0.4) as they are added: one
// block per family name. Built fresh for every scrape.
//
// Flush ends the families rendered so far (those of one collector): with an Output, their
// text goes to it once kOutputBatch bytes are ended, and the buffer is reused for the next
// ones, so the body is never whole in memory (a gzip stream, exporter/exporter.cpp). A sample
// for a family already flushed is dropped and its family named by TakeLate: its lines would
// come after other families', which the text format forbids.
//
// With a SizePlan, the body (with an Output, each flush's text) is rendered in one buffer:
// each family gets a region sized by the plan when first used, and Take (Flush) closes the
// gaps between regions in place. A family that outgrows its region, or that the plan does not
// know, moves to a string of its own and is appended after the others (family order is free in
// the text format). So in steady state a scrape's text never has a second buffer, and igzip
// compresses it as it is (http::Gzip, http::GzipStream). Without a plan, every family has a
// string of its own and Take (Flush) joins them.
class MetricSink {
 public:
  enum class Mode {
    kRender,
    // Renders nothing: Take only records each family's size in the plan. For a target's first
    // scrape, so that even its body is built in one buffer (the body is megabytes: a copy of it
    // is the memory high-water mark).
    kMeasure,
  };

  // Receives the text of the families Flush ended, in order (kRender mode only).
  using Output = std::function<void(std::string_view)>;
  // The text Flush hands on at once, at least: small collectors' texts go together. igzip's
  // stateful deflate copies up to ~96 KiB of every input it is given, small or large.
  static constexpr size_t kOutputBatch = 256 << 10;

  MetricSink() = default;
  // `plan` may be null; otherwise it must outlive the sink. With `output`, the text goes there
  // at each Flush and Take returns nothing.
  explicit MetricSink(SizePlan* plan, Mode mode = Mode::kRender, Output output = {});
  MetricSink(const MetricSink&) = delete;
  MetricSink& operator=(const MetricSink&) = delete;

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

  // Families that left their region so far in this scrape (tests and benchmarks).
  size_t spilled() const { return spilled_; }

  // Ends every family added to so far: later samples for them are dropped. With an Output and
  // kOutputBatch bytes ended, hands it their text and empties the buffer, keeping its capacity.
  void Flush();
  // The families that were sent samples after their Flush since the last call, each once.
  std::vector<std::string_view> TakeLate();

  // The exposition, each family's "# HELP", "# TYPE" and samples together (what no Flush
  // sent to the Output); updates the plan with this scrape's sizes. Empty in kMeasure mode.
  // The sink is empty afterwards.
  std::string Take();

 private:
  static constexpr size_t kInPlace = static_cast<size_t>(-1);
  struct Family {
    std::string_view name;  // the Desc's, a static string
    size_t begin = 0;       // the region in body_: [begin, end) written, up to limit
    size_t end = 0;
    size_t limit = 0;
    size_t spill = kInPlace;  // index in spills_ once out of its region
    size_t measured = 0;      // bytes, in kMeasure mode
    bool flushed = false;
    bool late = false;  // in late_
  };
  struct Slot {
    size_t family;
    size_t name_size;
  };

  Family& Open(const Desc& desc, Slot& slot);
  // Space for `n` bytes at the end of the family; Commit gives where the writing ended.
  char* Reserve(Family& f, size_t n);
  void Commit(Family& f, const char* end);
  size_t Bytes(const Family& f) const;
  // Closes the gaps between the regions of families_[from...] (the only ones in body_ from its
  // start) and appends their spills.
  void Join(size_t from);
  // Hands the families flushed since the last call to the output, if any.
  void Send();

  SizePlan* plan_ = nullptr;  // borrowed
  bool measure_ = false;
  Output output_;
  std::string body_;                 // the regions, in order of first use
  std::vector<std::string> spills_;  // families out of their regions
  size_t spilled_ = 0;
  size_t unflushed_ = 0;                                    // families_[unflushed_...] are not flushed yet
  size_t unsent_ = 0;                                       // families_[unsent_...] are not handed to the output yet
  size_t batch_bytes_ = 0, batch_regions_ = 0;              // of the flushed families not handed on yet
  std::vector<std::pair<std::string_view, size_t>> sizes_;  // of the flushed families
  size_t largest_ = 0;                                      // regions of the largest output
  std::vector<size_t> late_;                                // families, for TakeLate
  std::string scratch_;                                     // kMeasure: each sample is rendered here, then dropped
  std::vector<Family> families_;
  std::unordered_map<std::string_view, size_t> index_;  // Desc names are static strings
  std::unordered_map<const Desc*, Slot> by_desc_;       // the same families by Desc address, with name lengths
};

}  // namespace rse::collectors
