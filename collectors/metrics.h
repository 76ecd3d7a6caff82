#pragma once

#include <cstdint>
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
  std::string_view text() const { return {data(), size_}; }
  bool empty() const { return size_ == 0; }
  // Drops the pairs added after size() returned `mark`: one Labels reused for a sample's own
  // label (quantile, db) costs no allocation per sample.
  size_t size() const { return size_; }
  void Truncate(size_t mark);

 private:
  // A node's labels are built in every collector: in place up to kInline bytes, they cost no
  // allocation (they were a fifth of a scrape's).
  static constexpr size_t kInline = 176;

  const char* data() const { return on_heap_ ? heap_.data() : inline_; }
  // Makes the text `more` bytes longer; returns where they start.
  char* Extend(size_t more);

  size_t size_ = 0;
  bool on_heap_ = false;
  char inline_[kInline] = {};
  std::string heap_;  // the text, once longer than kInline
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
//
// It also numbers the families it has seen, for good: a scrape's sink then indexes its
// families by these small ids, and finds a Desc's by its address, instead of building maps
// of names afresh (their nodes were a third of a scrape's allocations). Descs are static, so
// the numbers are bounded by the families the collectors declare.
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
  struct Known {
    std::string_view name;  // ids_'s key
    size_t bytes = 0;       // in the previous scrape; 0 for a family not in it
  };
  struct Found {
    uint32_t id;
    bool plain_help;  // the Desc's help needs no escapes
    size_t planned;   // bytes, as Known::bytes
  };
  struct ByDesc {
    uint32_t id = 0;
    const char* help = nullptr;  // what plain_help was found for
    bool plain_help = false;
  };
  // What a sink sizes its bookkeeping by.
  struct Counts {
    size_t ids = 0;       // families ever seen
    size_t descs = 0;     // Descs ever seen
    size_t families = 0;  // in the previous scrape
    size_t reserve = 0;   // every planned region
    size_t largest = 0;   // the regions of the largest output (MetricSink::Flush)
  };

  // A family's region: its planned bytes and headroom for values that grew a digit.
  static size_t Region(size_t bytes) { return bytes == 0 ? 0 : bytes + bytes / 16 + 64; }
  // The id of desc's family (named `name`, desc.name's text), numbered now if new.
  Found Find(const Desc& desc, std::string_view name);
  Counts Count() const;
  // Replaces the plan by one scrape's sizes, by family id: families gone from it are planned
  // no bytes. `largest`: the regions of the scrape's largest output.
  void Update(const std::vector<std::pair<uint32_t, size_t>>& sizes, size_t largest);

  mutable std::mutex mu_;                                                 // Guards the members below.
  std::vector<Known> known_;                                              // by id
  std::unordered_map<std::string, uint32_t, Hash, std::equal_to<>> ids_;  // name -> id
  // Desc address -> id, with whether its help needs escapes: scanning every help text in every scrape cost more
  // than the rest of opening its family. Name and help are checked: a Desc that is not static
  // (a test's) may leave its address to another.
  std::unordered_map<const Desc*, ByDesc> by_desc_;
  size_t families_ = 0;  // in the previous scrape
  size_t reserve_ = 0;   // the sum of their regions
  size_t bytes_ = 0;     // the sum of their sizes
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
  // stateful deflate copies up to ~96 KiB of every input it is given, small or large; 128 KiB
  // kept a 20-group scrape's peak RSS 0.2-0.4 MB below 256 KiB at no measurable CPU
  // (bench/README.md, "What changed" 15).
  static constexpr size_t kOutputBatch = 128 << 10;

  MetricSink() : MetricSink(nullptr) {}
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
    uint32_t id = 0;          // the plan's
    bool flushed = false;
    bool late = false;  // in late_
  };
  // A Desc seen in this scrape: an open-addressing table by address, sized from the plan's
  // count of Descs, so that finding one costs no allocation and no name hashing.
  struct Slot {
    const Desc* desc = nullptr;
    uint32_t family = 0;
    uint32_t name_size = 0;
  };

  const Slot& Open(const Desc& desc);
  Slot& Probe(const Desc* desc);
  // Space for `n` bytes at the end of the family; Commit gives where the writing ended.
  char* Reserve(Family& f, size_t n);
  void Commit(Family& f, const char* end);
  size_t Bytes(const Family& f) const;
  // Closes the gaps between the regions of families_[from...] (the only ones in body_ from its
  // start) and appends their spills.
  void Join(size_t from);
  // Hands the families flushed since the last call to the output, if any.
  void Send();

  SizePlan* plan_ = nullptr;  // borrowed; null: families are numbered by own_ and not planned
  SizePlan own_;
  SizePlan* ids_ = &own_;  // plan_ or own_
  bool measure_ = false;
  Output output_;
  std::string body_;                 // the regions, in order of first use
  std::vector<std::string> spills_;  // families out of their regions
  size_t spilled_ = 0;
  size_t unflushed_ = 0;                            // families_[unflushed_...] are not flushed yet
  size_t unsent_ = 0;                               // families_[unsent_...] are not handed to the output yet
  size_t batch_bytes_ = 0, batch_regions_ = 0;      // of the flushed families not handed on yet
  std::vector<std::pair<uint32_t, size_t>> sizes_;  // of the flushed families, by id
  size_t largest_ = 0;                              // regions of the largest output
  std::vector<size_t> late_;                        // families, for TakeLate
  std::string scratch_;                             // kMeasure: each sample is rendered here, then dropped
  std::vector<Family> families_;
  std::vector<uint32_t> family_of_id_;  // plan id -> index in families_ + 1 (0: none yet)
  std::vector<Slot> slots_;             // a power of two long, at most half full
  size_t used_slots_ = 0;
};

}  // namespace rse::collectors
