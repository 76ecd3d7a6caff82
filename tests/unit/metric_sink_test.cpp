// MetricSink with a SizePlan: the body in one buffer laid out by the previous scrape's sizes.
// Whatever the plan, the text is the plan-less rendering's, up to the order of the families.
#include <doctest/doctest.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "collectors/collector.h"
#include "collectors/metrics.h"
#include "collectors/registry.h"
#include "fixtures.h"
#include "http/server.h"
#include "model/snapshot.h"
#include "tests/support/value_text.h"

namespace {

using rse::collectors::DataNode;
using rse::collectors::Desc;
using rse::collectors::Labels;
using rse::collectors::MetricSink;
using rse::collectors::SizePlan;
using rse::collectors::Snapshot;

// The body cut into its families ("# HELP" to the next "# HELP"), as a multiset.
std::multiset<std::string> Blocks(const std::string& body) {
  std::multiset<std::string> out;
  size_t at = 0;
  while (at < body.size()) {
    REQUIRE(body.compare(at, 7, "# HELP ") == 0);
    size_t next = body.find("\n# HELP ", at);
    next = next == std::string::npos ? body.size() : next + 1;
    out.insert(body.substr(at, next - at));
    at = next;
  }
  return out;
}

// `data_nodes` nodes answering INFO with a recorded reply, every collector over them.
struct Scrape {
  std::unique_ptr<Snapshot> snapshot = std::make_unique<Snapshot>();
  std::vector<std::unique_ptr<rse::collectors::Collector>> collectors;

  explicit Scrape(int data_nodes) {
    const auto info = rse::test::LoadInfoFixture("info-full-master.resp");
    for (int i = 0; i < data_nodes; ++i) {
      DataNode n;
      n.master_name = "group-" + std::to_string(i / 3);
      n.address = {"127.0.0.1", static_cast<std::uint16_t>(20000 + i)};
      n.info = info;
      snapshot->nodes.push_back(std::move(n));
    }
    for (const auto& spec : rse::collectors::AllCollectors()) collectors.push_back(spec.factory());
  }
  // What a scrape does (exporter/exporter.cpp): each collector's families flushed once it ran.
  void Into(MetricSink& sink) const {
    std::vector<std::string> problems;
    rse::collectors::CollectReachability(*snapshot, sink);
    rse::collectors::FlushCollector(sink, problems);
    for (const auto& c : collectors) {
      c->Collect(*snapshot, sink, problems);
      rse::collectors::FlushCollector(sink, problems);
    }
    CHECK(problems.empty());
  }
  // What the sink renders without a plan: each family in a string of its own, joined.
  std::string Reference() const {
    MetricSink sink;
    Into(sink);
    return sink.Take();
  }
  // Through `plan`; `spilled` is how many families left their region.
  std::string With(SizePlan& plan, size_t* spilled = nullptr) const {
    MetricSink sink(&plan);
    Into(sink);
    if (spilled) *spilled = sink.spilled();
    return sink.Take();
  }
};

const Desc kA{"test_a", "A, with a backslash \\ and a\nnewline."};
const Desc kB{"test_b_total", "B.", prometheus::MetricType::Counter};
const Desc kC{"test_c", "C."};
const Desc kH{"test_h", "H.", prometheus::MetricType::Histogram};

// Synthetic families: `n` samples of A, B and C, with values of every shape (the longest
// double text included, to fill a region to its last byte), and C only with `with_c`.
void AddSynthetic(MetricSink& sink, int n, bool with_c = true) {
  for (int i = 0; i < n; ++i) {
    const std::string id = std::to_string(i);
    sink.Add(kA, {{"node", id}, {"quote", "a\"b"}}, i % 2 ? -2.2250738585072014e-308 : 0.1 * i);
    sink.Add(kB, {{"node", id}}, static_cast<double>(i) * 1e15);
    if (with_c) sink.Add(kC, {}, i % 3 ? std::numeric_limits<double>::quiet_NaN() : -INFINITY);
  }
  const double bounds[] = {0.5, 1, 2.5};
  const double counts[] = {1, 2, 3};
  sink.AddHistogram(kH, {{"node", "x"}}, bounds, counts, 7.5, 6);
}

std::string Synthetic(SizePlan* plan, int n, bool with_c = true, size_t* spilled = nullptr) {
  MetricSink sink(plan);
  AddSynthetic(sink, n, with_c);
  if (spilled) *spilled = sink.spilled();
  return sink.Take();
}

TEST_CASE("metric sink: a plan changes where families are rendered, never what") {
  const Scrape scrape(9);
  const std::string reference = scrape.Reference();
  REQUIRE(reference.size() > 10000);
  SizePlan plan;
  CHECK(plan.empty());
  size_t spilled = 0;
  // The first scrape knows no sizes: every family spills, and they are joined in order.
  CHECK(scrape.With(plan, &spilled) == reference);
  CHECK(spilled > 10);
  CHECK_FALSE(plan.empty());
  // Then every family fits its region and the regions close up in place.
  for (int i = 0; i < 3; ++i) {
    const std::string body = scrape.With(plan, &spilled);
    CHECK(spilled == 0);
    CHECK(Blocks(body) == Blocks(reference));
    CHECK(body.size() == reference.size());
  }
}

TEST_CASE("metric sink: a family that outgrows its region spills, and the plan grows and shrinks") {
  SizePlan plan;
  size_t spilled = 0;
  Synthetic(&plan, 10);
  CHECK(Synthetic(&plan, 10, true, &spilled) == Synthetic(nullptr, 10));  // the same order here: none spilled
  CHECK(spilled == 0);

  // Five times the samples: A, B and C outgrow their regions (H does not).
  const std::string grown = Synthetic(&plan, 50, true, &spilled);
  CHECK(spilled == 3);
  CHECK(Blocks(grown) == Blocks(Synthetic(nullptr, 50)));
  // The plan has grown with them.
  const std::string again = Synthetic(&plan, 50, true, &spilled);
  CHECK(spilled == 0);
  CHECK(Blocks(again) == Blocks(Synthetic(nullptr, 50)));

  // Back to ten: they fit, and the next body reserves only what ten need.
  CHECK(Blocks(Synthetic(&plan, 10, true, &spilled)) == Blocks(Synthetic(nullptr, 10)));
  CHECK(spilled == 0);
  const std::string shrunk = Synthetic(&plan, 10, true, &spilled);
  CHECK(spilled == 0);
  CHECK(shrunk.capacity() < shrunk.size() + shrunk.size() / 8 + 4 * 64 + 16);
  CHECK(shrunk.capacity() < again.size() / 2);
}

TEST_CASE("metric sink: a family that disappears is forgotten, and spills when it is back") {
  SizePlan plan;
  size_t spilled = 0;
  Synthetic(&plan, 20);
  const std::string without = Synthetic(&plan, 20, false, &spilled);
  CHECK(spilled == 0);
  CHECK(Blocks(without) == Blocks(Synthetic(nullptr, 20, false)));
  CHECK(without.find("test_c") == std::string::npos);
  const std::string back = Synthetic(&plan, 20, true, &spilled);
  CHECK(spilled == 1);  // C, unknown to the plan again
  CHECK(Blocks(back) == Blocks(Synthetic(nullptr, 20)));
}

TEST_CASE("metric sink: measuring renders nothing but sizes even the first body") {
  SizePlan plan;
  {
    MetricSink measure(&plan, MetricSink::Mode::kMeasure);
    AddSynthetic(measure, 30);
    CHECK(measure.Take().empty());
  }
  CHECK_FALSE(plan.empty());
  size_t spilled = 0;
  const std::string body = Synthetic(&plan, 30, true, &spilled);
  CHECK(spilled == 0);
  CHECK(body == Synthetic(nullptr, 30));
  // Measured exactly: the regions' headroom is all the slack there is.
  CHECK(body.capacity() <= body.size() + body.size() / 16 + 4 * 64);
}

TEST_CASE("metric sink: two Descs of one name share a family, with or without a plan") {
  const Desc other_a{"test_a", "A, with a backslash \\ and a\nnewline."};
  SizePlan plan;
  for (int scrape = 0; scrape < 2; ++scrape) {
    MetricSink sink(&plan);
    sink.Add(kA, {{"x", "1"}}, 1);
    sink.Add(kB, {}, 5);
    sink.Add(other_a, {{"x", "2"}}, 2);
    CHECK(sink.spilled() == (scrape == 0 ? 2 : 0));
    CHECK(Blocks(sink.Take()) ==
          std::multiset<std::string>{"# HELP test_a A, with a backslash \\\\ and a\\nnewline.\n# TYPE test_a gauge\n"
                                     "test_a{x=\"1\"} 1\ntest_a{x=\"2\"} 2\n",
                                     "# HELP test_b_total B.\n# TYPE test_b_total counter\ntest_b_total 5\n"});
  }
}

// The plan knows Descs by address for good: one whose address later holds another Desc (only
// a test's Descs are not static) must not be taken for it.
TEST_CASE("metric sink: a Desc at an address another had is a family of its own") {
  SizePlan plan;
  Desc desc{"test_first", "First."};
  auto render = [&](double value) {
    MetricSink sink(&plan);
    sink.Add(desc, {}, value);
    sink.Add(kB, {}, 5);
    return Blocks(sink.Take());  // a family new to the plan comes last
  };
  const std::string b = "# HELP test_b_total B.\n# TYPE test_b_total counter\ntest_b_total 5\n";
  CHECK(render(1) ==
        std::multiset<std::string>{"# HELP test_first First.\n# TYPE test_first gauge\ntest_first 1\n", b});
  desc = Desc{"test_second", "Second, with a \\ backslash."};
  CHECK(render(2) ==
        std::multiset<std::string>{
            "# HELP test_second Second, with a \\\\ backslash.\n# TYPE test_second gauge\ntest_second 2\n", b});
  desc = Desc{"test_second", "Second,\nnow plain? No: a newline."};
  CHECK(render(3) ==
        std::multiset<std::string>{
            "# HELP test_second Second,\\nnow plain? No: a newline.\n# TYPE test_second gauge\ntest_second 3\n", b});
  desc = Desc{"test_first", "First."};
  CHECK(render(4) ==
        std::multiset<std::string>{"# HELP test_first First.\n# TYPE test_first gauge\ntest_first 4\n", b});
}

// Scrapes of one target share its plan, and may run at once.
TEST_CASE("metric sink: concurrent scrapes sharing a plan render what a sink without one does") {
  SizePlan plan;
  const std::string reference = Synthetic(nullptr, 40);
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        if (Blocks(Synthetic(&plan, 40)) != Blocks(reference)) ++wrong;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(wrong == 0);
  size_t spilled = 0;
  CHECK(Synthetic(&plan, 40, true, &spilled) == reference);
  CHECK(spilled == 0);
}

TEST_CASE("metric sink: an empty sink renders nothing and plans nothing") {
  SizePlan plan;
  CHECK(MetricSink().Take().empty());
  CHECK(MetricSink(&plan).Take().empty());
  CHECK(MetricSink(&plan, MetricSink::Mode::kMeasure).Take().empty());
  CHECK(plan.empty());
  // A planned scrape that renders nothing forgets the plan.
  Synthetic(&plan, 5);
  CHECK_FALSE(plan.empty());
  CHECK(MetricSink(&plan).Take().empty());
  CHECK(plan.empty());
  // Taken: the same sink starts over empty.
  MetricSink sink(&plan);
  AddSynthetic(sink, 3);
  CHECK_FALSE(sink.Take().empty());
  CHECK(sink.Take().empty());
}

TEST_CASE("metric sink: values are std::to_chars's shortest text, short decimals included") {
  std::mt19937_64 rng(20261201);
  size_t checked = 0, mismatches = 0;
  auto check = [&](double v) {
    for (double x : {v, -v, std::nextafter(v, INFINITY), std::nextafter(v, -INFINITY)}) {
      char buf[rse::collectors::kMaxValue];
      const std::string ours(buf, rse::collectors::WriteValue(buf, x));
      if (ours != rse::test::ReferenceValueText(x) && ++mismatches <= 10) {
        FAIL_CHECK(ours << " != " << rse::test::ReferenceValueText(x) << " for " << std::bit_cast<std::uint64_t>(x));
      }
      ++checked;
    }
  };
  const double pow10[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10};
  for (int i = 0; i < 250000; ++i) {
    // k-decimal values of up to 16 digits (latencies in usec, seconds per call, ratios).
    const int digits = 1 + static_cast<int>(rng() % 16);
    const int k = static_cast<int>(rng() % 11);
    const auto m = static_cast<double>(rng() % static_cast<std::uint64_t>(std::pow(10.0, digits)));
    check(m / pow10[k]);
    check(m * 1e-4 / pow10[k]);  // down to the scientific range
    // Sums that are not short decimals (0.1 + 0.2).
    check(static_cast<double>(rng() % 1000) / pow10[rng() % 7] + static_cast<double>(rng() % 1000) / pow10[rng() % 7]);
    // Anything, by its bits: huge, tiny, subnormal, NaN and infinities.
    check(std::bit_cast<double>(rng()));
    // Uniform in magnitude from 1e-6 to 1e10, where the short path begins and ends.
    check(std::pow(10.0, -6.0 + 16.0 * static_cast<double>(rng() >> 11) * 0x1p-53));
  }
  // The edges: powers of ten and the short path's bounds, and their neighbours (check adds
  // those), whole numbers, halves and the smallest values.
  for (int e = -12; e <= 20; ++e) {
    for (double d : {1.0, 1.5, 2.0, 9.0, 9.5, 9.99, 9.999999}) check(d * std::pow(10.0, e));
  }
  for (double v : {0.0,
                   0.1,
                   0.2,
                   0.3,
                   0.1 + 0.2,
                   0.001,
                   0.0001,
                   0.00012,
                   0.000315,
                   0.00001,
                   12.345,
                   999999999.5,
                   999999999.999999,
                   1e9,
                   9007199254740992.0,
                   9007199254740993.0,
                   1e15,
                   1e16,
                   1e22,
                   1e23,
                   std::numeric_limits<double>::min(),
                   std::numeric_limits<double>::denorm_min(),
                   std::numeric_limits<double>::max(),
                   std::numeric_limits<double>::epsilon()}) {
    check(v);
  }
  CHECK(mismatches == 0);
  CHECK(checked > 5000000);
}

// Labels keep short texts in place and long ones on the heap: the text is the same either way,
// across copies, truncation and growth past the boundary.
TEST_CASE("metric sink: labels of any length, copied and truncated") {
  Labels labels{{"master_name", "m"}};
  std::string expected = "master_name=\"m\"";
  std::vector<std::pair<Labels, std::string>> copies;
  for (int i = 0; i < 40; ++i) {
    const std::string value = std::string(static_cast<size_t>(i), 'v') + (i % 7 == 0 ? "\"q\"" : "");
    const size_t mark = labels.size();
    labels.Add("k" + std::to_string(i), value);
    CHECK(With(labels, "role", "master").text() == expected + ",k" + std::to_string(i) + "=\"" +
                                                       std::string(static_cast<size_t>(i), 'v') +
                                                       (i % 7 == 0 ? "\\\"q\\\"" : "") + "\",role=\"master\"");
    expected += ",k" + std::to_string(i) + "=\"" + std::string(static_cast<size_t>(i), 'v') +
                (i % 7 == 0 ? "\\\"q\\\"" : "") + "\"";
    CHECK(labels.text() == expected);
    CHECK(labels.size() == expected.size());
    copies.emplace_back(labels, expected);
    Labels truncated = labels;
    truncated.Truncate(mark);
    CHECK(truncated.text() == std::string_view(expected).substr(0, mark));
    truncated.AddPlain("le", "+Inf");
    CHECK(truncated.text() == expected.substr(0, mark) + ",le=\"+Inf\"");
  }
  CHECK(labels.size() > 1000);  // well past the in-place text
  for (const auto& [copy, text] : copies) CHECK(copy.text() == text);
  Labels moved = std::move(copies.back().first);
  CHECK(moved.text() == expected);
  labels.Truncate(0);
  CHECK(labels.empty());
  CHECK(labels.AddPlain("a", "b").text() == "a=\"b\"");
}

TEST_CASE("metric sink: label values, plain and escaped") {
  // AddPlain copies what Add would have written for a value that needs no escaping.
  for (std::string_view v : {"", "0.99", "db7", "+Inf", "master", "a b-c_d.e:f/g"}) {
    CHECK(Labels().AddPlain("le", v).text() == Labels().Add("le", v).text());
    CHECK(Labels{{"x", "1"}}.AddPlain("le", v).text() == Labels{{"x", "1"}}.Add("le", v).text());
  }
  // Clean runs around every kind of byte that needs attention, at the start, middle and end.
  CHECK(Labels{{"n", "\\ab\"cd\nef\xC3\xA9gh\xFF"}}.text() == "n=\"\\\\ab\\\"cd\\nef\xC3\xA9gh\xEF\xBF\xBD\"");
  CHECK(Labels{{"n", "plain"}, {"m", "\"x\""}}.text() == "n=\"plain\",m=\"\\\"x\\\"\"");
  // Help text escapes backslash and newline, not quotes, and keeps bytes as they are.
  const Desc help{"test_help", "\"q\" \\ \n \xFF."};
  MetricSink sink;
  sink.Add(help, {}, 1);
  CHECK(sink.Take() == "# HELP test_help \"q\" \\\\ \\n \xFF.\n# TYPE test_help gauge\ntest_help 1\n");
}

TEST_CASE("metric sink: a histogram is its buckets, sum and count as separate samples") {
  const double bounds[] = {0.001, 0.5, 1, 2.5, 1e6};
  const double counts[] = {1, 0, 2, 3, 4};
  MetricSink histogram;
  histogram.AddHistogram(kH, {{"node", "x"}}, bounds, counts, 7.5, 11);
  MetricSink samples;
  double cumulative = 0;
  for (size_t i = 0; i < 5; ++i) {
    char le[rse::collectors::kMaxValue];
    cumulative += counts[i];
    samples.Add(kH, "_bucket",
                {{"node", "x"}, {"le", std::string_view(le, rse::collectors::WriteValue(le, bounds[i]))}}, cumulative);
  }
  samples.Add(kH, "_bucket", {{"node", "x"}, {"le", "+Inf"}}, 11);
  samples.Add(kH, "_sum", {{"node", "x"}}, 7.5);
  samples.Add(kH, "_count", {{"node", "x"}}, 11);
  const std::string body = histogram.Take();
  CHECK(body == samples.Take());
  CHECK(body.find("test_h_bucket{node=\"x\",le=\"0.001\"} 1\ntest_h_bucket{node=\"x\",le=\"0.5\"} 1\n") !=
        std::string::npos);
}

}  // namespace

// ------------------------------------------------------------- streaming -----

namespace {

std::string Inflate(const std::string& in) {
  z_stream z{};
  REQUIRE(inflateInit2(&z, 15 + 16) == Z_OK);  // gzip
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  std::string out;
  int rc = Z_OK;
  while (rc == Z_OK) {
    char buf[65536];
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof(buf);
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof(buf) - z.avail_out);
  }
  CHECK(rc == Z_STREAM_END);
  CHECK(z.avail_in == 0);  // one member, nothing after it
  inflateEnd(&z);
  return out;
}

}  // namespace

TEST_CASE("metric sink: flushed to an output, the body is the same text, each family whole") {
  const Scrape scrape(30);
  SizePlan plan;
  const std::string first = scrape.With(plan);  // the plan from a scrape
  size_t spilled = 1;
  const std::string whole = scrape.With(plan, &spilled);
  REQUIRE(spilled == 0);
  CHECK(Blocks(whole) == Blocks(scrape.Reference()));

  // Plain output: the text of each output appended, in order.
  std::string streamed;
  std::vector<size_t> outputs;
  {
    MetricSink sink(&plan, MetricSink::Mode::kRender, [&](std::string_view text) {
      CHECK(text.rfind("# HELP ", 0) == 0);  // whole families
      CHECK(text.back() == '\n');
      streamed += text;
      outputs.push_back(text.size());
    });
    scrape.Into(sink);
    CHECK(sink.spilled() == 0);
    CHECK(sink.Take().empty());
  }
  // Several outputs, each but the last at least a batch.
  REQUIRE(outputs.size() >= 2);
  for (size_t i = 0; i + 1 < outputs.size(); ++i) CHECK(outputs[i] >= MetricSink::kOutputBatch);
  CHECK(streamed == whole);
  const auto blocks = Blocks(streamed);
  std::set<std::string> names;
  for (const auto& b : blocks) CHECK_MESSAGE(names.insert(b.substr(7, b.find(' ', 7) - 7)).second, b);

  // Through a gzip stream: one member that inflates to the same text.
  rse::http::GzipStream gzip;
  REQUIRE(gzip.ok());
  {
    MetricSink sink(&plan, MetricSink::Mode::kRender, [&](std::string_view text) { gzip.Write(text); });
    scrape.Into(sink);
    CHECK(sink.Take().empty());
  }
  std::vector<std::string> pieces;
  std::string error;
  REQUIRE_MESSAGE(gzip.Finish(pieces, error), error);
  REQUIRE(!pieces.empty());
  std::string compressed;
  for (size_t i = 0; i < pieces.size(); ++i) {
    if (i + 1 < pieces.size()) CHECK(pieces[i].size() == rse::http::GzipStream::kChunk);
    compressed += pieces[i];
  }
  CHECK(compressed.size() < whole.size() / 4);
  CHECK(Inflate(compressed) == whole);

  // Without a plan the same text too, up to the order of the families within a flush.
  std::string unplanned;
  {
    MetricSink sink(nullptr, MetricSink::Mode::kRender, [&](std::string_view text) { unplanned += text; });
    scrape.Into(sink);
    sink.Take();
  }
  CHECK(Blocks(unplanned) == Blocks(whole));
}

TEST_CASE("metric sink: a family flushed takes no more samples, in every mode") {
  for (const auto mode : {MetricSink::Mode::kRender, MetricSink::Mode::kMeasure}) {
    for (const bool with_output : {false, true}) {
      CAPTURE(with_output);
      SizePlan plan;
      std::string streamed;
      MetricSink::Output output;
      if (with_output) output = [&](std::string_view text) { streamed += text; };
      MetricSink sink(&plan, mode, output);
      sink.Add(kA, {{"x", "1"}}, 1);
      sink.Flush();
      CHECK(sink.TakeLate().empty());
      sink.Add(kB, {}, 5);
      sink.Add(kA, {{"x", "2"}}, 2);  // dropped
      sink.Add(kA, {{"x", "3"}}, 3);  // dropped, named once
      sink.Flush();
      const auto late = sink.TakeLate();
      REQUIRE(late.size() == 1);
      CHECK(late[0] == "test_a");
      CHECK(sink.TakeLate().empty());
      std::string body = sink.Take();
      if (mode == MetricSink::Mode::kMeasure) {
        CHECK(body.empty());
        continue;
      }
      if (with_output) {
        CHECK(body.empty());
        body = streamed;
      }
      CHECK(body ==
            "# HELP test_a A, with a backslash \\\\ and a\\nnewline.\n# TYPE test_a gauge\ntest_a{x=\"1\"} 1\n"
            "# HELP test_b_total B.\n# TYPE test_b_total counter\ntest_b_total 5\n");
    }
  }
}

TEST_CASE("metric sink: a measuring pass plans the outputs the rendering makes") {
  // The plan sized by a measure with flushes lays the rendering out without a spill, and the
  // output gets the text in parts.
  const Scrape scrape(30);
  SizePlan plan;
  {
    MetricSink measure(&plan, MetricSink::Mode::kMeasure);
    scrape.Into(measure);
    CHECK(measure.Take().empty());
  }
  CHECK(plan.bytes() == scrape.Reference().size());
  size_t largest = 0, total = 0;
  MetricSink sink(&plan, MetricSink::Mode::kRender, [&](std::string_view text) {
    largest = std::max(largest, text.size());
    total += text.size();
  });
  scrape.Into(sink);
  CHECK(sink.spilled() == 0);
  sink.Take();
  CHECK(total == plan.bytes());
  CHECK(largest < total);  // never the whole body at once
}
