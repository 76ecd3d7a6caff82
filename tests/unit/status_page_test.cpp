// The /status page renderer (exporter/status_page.h) on snapshots built from recorded replies.
#include <algorithm>
#include <regex>
#include <string>

#include <doctest/doctest.h>

#include "exporter/status_page.h"
#include "model/health.h"
#include "tests/unit/fixtures.h"

using namespace rse::collectors;

namespace {

const std::string kGroup = "aragora-master";

// Three Sentinels naming the recorded master, the master and its two replicas, all up.
Snapshot Healthy(const std::string& group = kGroup) {
  Snapshot snap;
  const int p = rse::test::FixtureMasterPort();
  for (int i = 0; i < 3; ++i) {
    SentinelNode s;
    s.address = {"127.0.0.1", static_cast<std::uint16_t>(p + 3 + i)};
    s.info = rse::test::LoadInfoFixture("info-sentinel.resp");
    MasterView v;
    v.name = group;
    v.master = rse::test::LoadFieldArrayFixture("sentinel-master.resp");
    v.replicas = rse::test::LoadFieldArraysFixture("sentinel-replicas.resp");
    v.sentinels = rse::test::LoadFieldArraysFixture("sentinel-sentinels.resp");
    v.ckquorum = Ckquorum{true, 3};
    s.masters.push_back(v);
    snap.sentinels.push_back(s);
  }
  for (int i = 0; i < 3; ++i) {
    DataNode n;
    n.master_name = group;
    n.address = {"127.0.0.1", static_cast<std::uint16_t>(p + i)};
    n.info = rse::test::LoadInfoFixture(i == 0 ? "info-master.resp" : "info-replica.resp");
    snap.nodes.push_back(n);
  }
  return snap;
}

std::string Render(const Snapshot& snap, std::vector<RecordedEvent> events = {}) {
  rse::StatusPageInput in;
  in.title = "configured topology";
  in.snapshot = &snap;
  in.groups = AnalyzeGroups(snap);
  in.events = std::move(events);
  in.now = 1.7e9;
  return rse::RenderStatusPage(in);
}

// Every box of the diagram lies inside its canvas: none is cut off at either side.
bool BoxesInsideCanvas(const std::string& html, int* boxes) {
  std::smatch m;
  if (!std::regex_search(html, m, std::regex("<svg [^>]*viewBox=\"0 0 ([0-9.]+) ([0-9.]+)\""))) return false;
  const double width = std::stod(m[1]);
  *boxes = 0;
  const std::regex rect("<rect x=\"(-?[0-9.e+-]+)\" y=\"[^\"]*\" width=\"([0-9.]+)\"");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), rect); it != std::sregex_iterator(); ++it) {
    ++*boxes;
    const double x = std::stod((*it)[1]), w = std::stod((*it)[2]);
    if (x < 0 || x + w > width) return false;
  }
  return true;
}

std::size_t Count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("status page: escapes markup") {
  CHECK(rse::HtmlEscape("<script>\"'&") == "&lt;script&gt;&quot;&#39;&amp;");
  CHECK(rse::HtmlEscape("plain") == "plain");
}

TEST_CASE("status page: a healthy group") {
  auto snap = Healthy();
  const std::string master = "127.0.0.1:" + std::to_string(rse::test::FixtureMasterPort());
  auto html = Render(snap);
  CHECK(html.find("<meta http-equiv=\"refresh\" content=\"5\">") != std::string::npos);
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("Master group aragora-master") != std::string::npos);
  CHECK(html.find("Agreed master: <b>" + master + "</b> (named by 3 of 3 answering Sentinels; 3 known)") !=
        std::string::npos);
  CHECK(html.find("&#10003; Sentinels agree") != std::string::npos);
  CHECK(html.find("&#10003; enough Sentinels answer to fail over") != std::string::npos);
  CHECK(html.find("DISAGREE") == std::string::npos);
  CHECK(html.find("MASTER (agreed)") != std::string::npos);
  CHECK(Count(html, "&#10003; link up") == 2);  // the table, once per replica
  CHECK(Count(html, ", I/O 0 s ago") == 2);     // the diagram: master_last_io_seconds_ago
  CHECK(Count(html, "</td><td>0 s</td></tr>") == 2);
  CHECK(Count(html, "names " + master) == 3);  // the diagram, once per Sentinel
  CHECK(html.find("<svg") != std::string::npos);
}

TEST_CASE("status page: a disagreeing group") {
  auto snap = Healthy();
  const int p = rse::test::FixtureMasterPort();
  snap.sentinels[2].masters[0].master["port"] = std::to_string(p + 1);
  auto html = Render(snap);
  CHECK(html.find("(named by 2 of 3 answering Sentinels; 3 known)") != std::string::npos);
  CHECK(html.find("&#10007; Sentinels DISAGREE") != std::string::npos);
  CHECK(Count(html, "&#10007; DISAGREES") == 1);
  CHECK(html.find("names 127.0.0.1:" + std::to_string(p + 1)) != std::string::npos);
}

TEST_CASE("status page: hostile names are text") {
  const std::string hostile = "<script>alert(1)</script>\"><img src=x onerror=alert(2)>";
  auto snap = Healthy(hostile);
  snap.sentinels[0].address.host = hostile;
  snap.sentinels.push_back({});
  snap.sentinels.back().address.host = hostile;
  snap.sentinels.back().error = {rse::redis::Cause::kRefused, hostile};
  RecordedEvent e;
  e.time = 1.7e9 - 10;
  e.sentinel = hostile;
  e.event = ParseEvent("+sdown", "master " + hostile + " 127.0.0.1 1");
  auto html = Render(snap, {e});
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("<img") == std::string::npos);
  CHECK(html.find("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img") != std::string::npos);
}

TEST_CASE("status page: a Sentinel that lost the group, and a named group no Sentinel monitors") {
  auto snap = Healthy();
  snap.sentinels[2].masters.clear();  // its peers still list it
  snap.master_names = {kGroup, "aragora-mastr"};
  auto html = Render(snap);
  const std::string lost = snap.sentinels[2].label();
  CHECK(html.find("(named by 2 of 2 answering Sentinels; 3 known)") != std::string::npos);
  CHECK(html.find("Sentinel " + lost) != std::string::npos);  // its own box in the diagram
  CHECK(html.find("does NOT monitor") != std::string::npos);
  CHECK(html.find("<tr><td>" + lost + "</td><td colspan=\"5\">") != std::string::npos);
  CHECK(html.find("Master group aragora-mastr</h2><p>") != std::string::npos);
  CHECK(html.find("No Sentinel that answered monitors this group") != std::string::npos);
}

TEST_CASE("status page: five Sentinels and five replicas fit the diagram, and Sentinels that do not answer are drawn") {
  auto snap = Healthy();
  const int p = rse::test::FixtureMasterPort();
  for (int i = 3; i < 5; ++i) {
    snap.sentinels.push_back(snap.sentinels[0]);
    snap.sentinels.back().address.port = static_cast<std::uint16_t>(p + 10 + i);
  }
  for (int i = 3; i < 6; ++i) {
    snap.nodes.push_back(snap.nodes[1]);
    snap.nodes.back().address.port = static_cast<std::uint16_t>(p + 20 + i);
  }
  int boxes = 0;
  auto html = Render(snap);
  CHECK(BoxesInsideCanvas(html, &boxes));
  CHECK(boxes == 5 + 1 + 5);

  // A Sentinel its peers list that does not answer: a box of its own, and a row saying why.
  snap.sentinels[1].error = {rse::redis::Cause::kTimeout, "timed out"};
  snap.sentinels[1].masters.clear();
  const std::string down = snap.sentinels[1].label();
  html = Render(snap);
  CHECK(BoxesInsideCanvas(html, &boxes));
  CHECK(boxes == 5 + 1 + 5);
  CHECK(html.find(">Sentinel " + down + "</text><text x=\"") != std::string::npos);
  CHECK(html.find("&#10007; DOWN (timeout)</text>") != std::string::npos);
  // Every Sentinel keeps its place, in address order, whether it answers or not.
  std::vector<std::string> labels;
  for (const auto& s : snap.sentinels) labels.push_back(s.label());
  std::sort(labels.begin(), labels.end());
  std::size_t at = 0;
  for (const auto& l : labels) {
    INFO(l);
    const auto next = html.find(">Sentinel " + l + "</text>", at);
    CHECK(next != std::string::npos);
    if (next != std::string::npos) at = next;
  }
  CHECK(html.find("<tr><td>" + down + "</td><td colspan=\"5\"><span class=\"bad\">&#10007; DOWN</span> (timeout)") !=
        std::string::npos);
}

TEST_CASE("status page: too few Sentinels answer for a failover's leader election") {
  auto snap = Healthy();                                                            // quorum 2
  for (auto& s : snap.sentinels) s.masters[0].master["num-other-sentinels"] = "4";  // five counted
  snap.sentinels[2].error = {rse::redis::Cause::kRefused, "connection refused"};
  snap.sentinels[2].masters.clear();
  auto html = Render(snap);
  CHECK(html.find("(named by 2 of 2 answering Sentinels; 5 known)") != std::string::npos);
  CHECK(html.find("&#10007; too few Sentinels answer to fail over (3 needed)") != std::string::npos);
}
