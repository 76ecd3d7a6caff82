// The rule pack (rules/), the dashboard (dashboards/) and the runbook (docs/runbook.md) agree
// with each other and with what the exporter really emits on a real local topology.
//
// Test cases are named "rules: ..." so rules/tests.cmake labels them `rules` as well.
// The rule file is read with yaml-cpp, the dashboard with nlohmann-json (strict, and rejecting
// duplicate keys), and metric names are taken from PromQL with a tokenizer of its own (there is
// no PromQL library for C++) that skips strings, label matchers, ranges, functions, keywords
// and the label lists of by/without/on/ignoring/group_*.
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include "tests/support/exporter.h"
#include "tests/support/process.h"
#include "tests/support/topology.h"

using namespace rse::test;

namespace {

const std::string kRoot = RSE_SOURCE_DIR;
const std::string kRuleFile = kRoot + "/rules/redis_sentinel.rules.yml";
const std::string kRuleTestsDir = kRoot + "/rules/tests";
const std::string kDashboard = kRoot + "/dashboards/redis-sentinel.json";
const std::string kRunbook = kRoot + "/docs/runbook.md";
// The runbook served by the exporter that raised the alert (http/runbook.h); the fragment is
// the alert's name, the id /runbook gives the section headed by that name.
const std::string kRunbookUrl = "http://{{ or $labels.exporter $labels.instance }}/runbook#";
const std::string kDatasource = "${datasource}";

// ---- PromQL --------------------------------------------------------------------------------

const std::set<std::string> kFunctions = {
    "abs", "absent", "absent_over_time", "acos", "acosh", "asin", "asinh", "atan", "atanh", "avg_over_time", "ceil",
    "changes", "clamp", "clamp_max", "clamp_min", "cos", "cosh", "count_over_time", "day_of_month", "day_of_week",
    "day_of_year", "days_in_month", "deg", "delta", "deriv", "exp", "floor", "histogram_count", "histogram_fraction",
    "histogram_quantile", "histogram_sum", "holt_winters", "hour", "idelta", "increase", "irate", "label_join",
    "label_replace", "last_over_time", "ln", "log10", "log2", "max_over_time", "min_over_time", "minute", "month", "pi",
    "predict_linear", "present_over_time", "quantile_over_time", "rad", "rate", "resets", "round", "scalar", "sgn",
    "sin", "sinh", "sort", "sort_desc", "sqrt", "stddev_over_time", "stdvar_over_time", "sum_over_time", "tan", "tanh",
    "time", "timestamp", "vector", "year",
    // aggregations
    "avg", "bottomk", "count", "count_values", "group", "max", "min", "quantile", "stddev", "stdvar", "sum", "topk",
    // @ modifier
    "start", "end"};
const std::set<std::string> kLabelListKeywords = {"by", "without", "on", "ignoring", "group_left", "group_right"};
const std::set<std::string> kKeywords = {"and", "or", "unless", "offset", "bool", "atan2", "inf", "nan"};

struct PromqlNames {
  std::set<std::string> metrics;
  std::set<std::string> unknown_functions;
};

bool IdentStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':'; }
bool IdentChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':'; }

// Skips a quoted string starting at e[i] (its quote); returns the index after it.
size_t SkipString(const std::string& e, size_t i) {
  const char q = e[i++];
  while (i < e.size() && e[i] != q) {
    if (e[i] == '\\' && q != '`') ++i;
    ++i;
  }
  return i + 1;
}

// Skips from an opening bracket to after its matching `close`, over strings.
size_t SkipTo(const std::string& e, size_t i, char close) {
  ++i;
  while (i < e.size() && e[i] != close) {
    if (e[i] == '"' || e[i] == '\'' || e[i] == '`') {
      i = SkipString(e, i);
    } else {
      ++i;
    }
  }
  return i + 1;
}

// Metric names a PromQL expression selects. Grafana variables ($x, ${x}) are skipped.
PromqlNames MetricNames(const std::string& e) {
  PromqlNames out;
  size_t i = 0;
  auto next_non_space = [&](size_t j) {
    while (j < e.size() && std::isspace(static_cast<unsigned char>(e[j]))) ++j;
    return j;
  };
  while (i < e.size()) {
    const char c = e[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '#') {
      while (i < e.size() && e[i] != '\n') ++i;
    } else if (c == '"' || c == '\'' || c == '`') {
      i = SkipString(e, i);
    } else if (c == '{') {
      i = SkipTo(e, i, '}');
    } else if (c == '[') {
      i = SkipTo(e, i, ']');
    } else if (std::isdigit(static_cast<unsigned char>(c)) ||
               (c == '.' && i + 1 < e.size() && std::isdigit(static_cast<unsigned char>(e[i + 1])))) {
      while (i < e.size() && (std::isalnum(static_cast<unsigned char>(e[i])) || e[i] == '.' || e[i] == '_')) ++i;
    } else if (c == '$') {
      ++i;
      if (i < e.size() && e[i] == '{') {
        i = SkipTo(e, i, '}');
      } else {
        while (i < e.size() && IdentChar(e[i])) ++i;
      }
    } else if (IdentStart(c)) {
      const size_t start = i;
      while (i < e.size() && IdentChar(e[i])) ++i;
      const std::string word = e.substr(start, i - start);
      const size_t next = next_non_space(i);
      const bool call = next < e.size() && e[next] == '(';
      if (kLabelListKeywords.count(word)) {
        if (call) i = SkipTo(e, next, ')');
      } else if (kKeywords.count(word)) {
        // operator or modifier
      } else if (call) {
        if (!kFunctions.count(word)) out.unknown_functions.insert(word);
      } else if (kFunctions.count(word)) {
        // an aggregation followed by by/without: `sum by (x) (...)`
      } else {
        out.metrics.insert(word);
      }
    } else {
      ++i;
    }
  }
  return out;
}

// ---- Prometheus rule file ------------------------------------------------------------------

struct Rule {
  std::string kind;  // "alert" or "record"
  std::string name;
  std::string expr;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
};

// Scalars as Prometheus reads them: block scalars keep their final newline (a runbook_url
// written `|` would be a broken link, and must fail here).
std::vector<Rule> ParseRules(const std::string& path) {
  const YAML::Node root = YAML::LoadFile(path);
  std::vector<Rule> rules;
  for (const auto& group : root["groups"]) {
    for (const auto& node : group["rules"]) {
      Rule r;
      r.kind = node["alert"] ? "alert" : "record";
      r.name = node[r.kind].as<std::string>();
      r.expr = node["expr"].as<std::string>("");
      for (const auto& kv : node["labels"]) r.labels[kv.first.as<std::string>()] = kv.second.as<std::string>();
      for (const auto& kv : node["annotations"])
        r.annotations[kv.first.as<std::string>()] = kv.second.as<std::string>();
      rules.push_back(std::move(r));
    }
  }
  return rules;
}

// ---- Grafana dashboard ---------------------------------------------------------------------

using Json = nlohmann::json;

// Strict RFC 8259 (no comments, no trailing commas), and no duplicate keys either: Grafana
// would silently take the last one.
Json ParseJson(const std::string& text) {
  std::vector<std::set<std::string>> keys;  // of each open object
  return Json::parse(text, [&keys](int, Json::parse_event_t event, Json& parsed) {
    if (event == Json::parse_event_t::object_start) {
      keys.emplace_back();
    } else if (event == Json::parse_event_t::object_end) {
      keys.pop_back();
    } else if (event == Json::parse_event_t::key && !keys.back().insert(parsed.get<std::string>()).second) {
      throw std::runtime_error("JSON: duplicate key \"" + parsed.get<std::string>() + "\"");
    }
    return true;
  });
}

Json LoadDashboard() { return ParseJson(ReadFile(kDashboard)); }

// The string member `key`, or "" when absent, not a string, or `j` is not an object.
std::string Str(const Json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// A query variable's query: a string, or an object holding it (newer Grafana).
std::string VariableQuery(const Json& v) {
  const auto q = v.find("query");
  if (q == v.end()) return "";
  return q->is_string() ? q->get<std::string>() : Str(*q, "query");
}

// Every panel, rows' nested panels included.
void Panels(const Json& list, std::vector<const Json*>& out) {
  if (!list.is_array()) return;
  for (const auto& p : list) {
    out.push_back(&p);
    if (p.contains("panels")) Panels(p.at("panels"), out);
  }
}

// ---- helpers -------------------------------------------------------------------------------

std::string Trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

// GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces to '-'.
std::set<std::string> MarkdownAnchors(const std::string& md) {
  std::set<std::string> out;
  std::stringstream ss(md);
  std::string line;
  while (std::getline(ss, line)) {
    if (line.empty() || line[0] != '#') continue;
    const std::string title = Trim(line.substr(line.find_first_not_of('#')));
    std::string slug;
    for (char c : title) {
      const unsigned char u = static_cast<unsigned char>(c);
      if (std::isalnum(u) || c == '-' || c == '_' || u >= 0x80)
        slug += static_cast<char>(std::tolower(u));
      else if (c == ' ')
        slug += '-';
    }
    out.insert(slug);
  }
  return out;
}

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::vector<std::string> RuleTestFiles() {
  auto r = Run({"sh", "-c", "ls \"$0\"/*.test.yml", kRuleTestsDir});
  std::vector<std::string> out;
  std::stringstream ss(r.out);
  std::string line;
  while (std::getline(ss, line)) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

// The metric selector of a Grafana `label_values(selector, label)` query; "" for other queries.
std::string LabelValuesSelector(const std::string& q) {
  const std::string prefix = "label_values(";
  const std::string t = Trim(q);
  if (t.rfind(prefix, 0) != 0 || t.back() != ')') return "";
  const std::string inner = t.substr(prefix.size(), t.size() - prefix.size() - 1);
  size_t comma = std::string::npos;
  for (size_t i = 0; i < inner.size(); ++i) {
    if (inner[i] == '{')
      i = SkipTo(inner, i, '}') - 1;
    else if (inner[i] == ',')
      comma = i;
  }
  return comma == std::string::npos ? "" : inner.substr(0, comma);
}

struct DashboardQueries {
  std::vector<std::string> exprs;      // panel targets and annotations
  std::vector<std::string> selectors;  // label_values() selectors of query variables
};

DashboardQueries CollectDashboardQueries(const Json& d) {
  DashboardQueries q;
  std::vector<const Json*> panels;
  if (d.contains("panels")) Panels(d.at("panels"), panels);
  for (const Json* p : panels) {
    if (p->contains("targets") && p->at("targets").is_array()) {
      for (const auto& t : p->at("targets")) q.exprs.push_back(Str(t, "expr"));
    }
  }
  const Json::json_pointer annotations("/annotations/list"), variables("/templating/list");
  if (d.contains(annotations) && d.at(annotations).is_array()) {
    for (const auto& a : d.at(annotations)) {
      if (!Str(a, "expr").empty()) q.exprs.push_back(Str(a, "expr"));
    }
  }
  if (d.contains(variables) && d.at(variables).is_array()) {
    for (const auto& v : d.at(variables)) {
      if (Str(v, "type") == "query") q.selectors.push_back(LabelValuesSelector(VariableQuery(v)));
    }
  }
  return q;
}

// A Grafana expression made plain PromQL: interval variables become durations, any other
// variable (only ever inside a label matcher's regex) matches anything.
std::string WithoutGrafanaVariables(std::string e) {
  const std::pair<const char*, const char*> durations[] = {
      {"$__rate_interval", "1m"}, {"$__interval", "1m"}, {"$__range", "1h"}};
  for (const auto& [var, value] : durations) {
    for (size_t p; (p = e.find(var)) != std::string::npos;) e.replace(p, std::string(var).size(), value);
  }
  std::string out;
  for (size_t i = 0; i < e.size(); ++i) {
    // `$1` (a label_replace reference) is PromQL's own; Grafana variables start otherwise.
    if (e[i] != '$' || i + 1 >= e.size() || std::isdigit(static_cast<unsigned char>(e[i + 1]))) {
      out += e[i];
      continue;
    }
    size_t j = i + 1;
    if (j < e.size() && e[j] == '{') {
      j = e.find('}', j);
    } else {
      while (j + 1 < e.size() && IdentChar(e[j + 1])) ++j;
    }
    out += ".*";
    i = j;
  }
  return out;
}

std::string TempFile(const std::string& content) {
  char path[] = "/tmp/rse-rules-check-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) throw std::runtime_error("mkstemp failed");
  close(fd);
  std::ofstream(path) << content;
  return path;
}

// Names of the sample lines of an exposition text.
std::set<std::string> ExposedNames(const std::string& text) {
  std::set<std::string> out;
  std::stringstream ss(text);
  std::string line;
  while (std::getline(ss, line)) {
    if (line.empty() || line[0] == '#') continue;
    out.insert(line.substr(0, line.find_first_of("{ ")));
  }
  return out;
}

}  // namespace

TEST_CASE("rules: the PromQL name extractor finds metrics and skips everything else") {
  auto n = MetricNames(
      "sum by (job, addr) (rate(a_total{x=~\"b|c\", y='d{'}[5m] offset 1h)) / on (job) group_left (addr) "
      "(b:rec:ratio > 0.9 * 1e3) or label_replace(c, \"dst\", \"$1\", \"src\", \"(.+)\") "
      "unless max without (q) (d) and bool_metric == bool 1 # comment e\n"
      "+ count_values(\"v\", f) + topk(3, g) + avg(h) by (i) + $var + k{l=\"${var}\"}[$__rate_interval]");
  CHECK(n.metrics == std::set<std::string>{"a_total", "b:rec:ratio", "c", "d", "bool_metric", "f", "g", "h", "k"});
  CHECK(n.unknown_functions.empty());
  CHECK(MetricNames("raet(x[1m])").unknown_functions == std::set<std::string>{"raet"});
  CHECK(LabelValuesSelector("label_values(redis_up{master_name=~\"$m\", a=\",\"}, addr)") ==
        "redis_up{master_name=~\"$m\", a=\",\"}");
  CHECK(LabelValuesSelector("label_values(master_name)").empty());
  CHECK(WithoutGrafanaVariables("rate(x{a=~\"$a\",b=~\"${b}\"}[$__rate_interval])") ==
        "rate(x{a=~\".*\",b=~\".*\"}[1m])");
  CHECK_THROWS(ParseJson("{\"a\": 1, \"a\": 2}"));
  CHECK_THROWS(ParseJson("{\"a\": [{\"b\": 1}, {\"b\": 2, \"c\": {}, \"b\": 3}]}"));
  CHECK_THROWS(ParseJson("{\"a\": [1, 2,]}"));
  CHECK(ParseJson("{\"a\": {\"b\": 1}, \"b\": [{\"b\": 2}, {\"b\": 3}]}").at("b").size() == 2);
}

TEST_CASE("rules: every alert has a severity, names its group and node, and links to its runbook section") {
  const auto rules = ParseRules(kRuleFile);
  REQUIRE(!rules.empty());
  // The reader saw every rule promtool sees.
  auto check = Run({"promtool", "check", "rules", kRuleFile}, EnvWith({}), std::chrono::seconds(30));
  INFO(check.out, check.err);
  REQUIRE(check.exit_code == 0);
  CHECK(check.out.find("SUCCESS: " + std::to_string(rules.size()) + " rules found") != std::string::npos);

  const std::string runbook = ReadFile(kRunbook);
  REQUIRE(!runbook.empty());
  const auto anchors = MarkdownAnchors(runbook);
  std::string tests;
  for (const auto& f : RuleTestFiles()) tests += ReadFile(f) + "\n";
  REQUIRE(!tests.empty());

  std::set<std::string> alerts;
  for (const auto& r : rules) {
    CAPTURE(r.name);
    CHECK(!r.expr.empty());
    if (r.kind != "alert") continue;
    CHECK(alerts.insert(r.name).second);  // unique
    const auto severity = r.labels.find("severity");
    REQUIRE(severity != r.labels.end());
    CHECK((severity->second == "critical" || severity->second == "warning" || severity->second == "info"));
    const std::string summary = r.annotations.count("summary") ? r.annotations.at("summary") : "";
    const std::string description = r.annotations.count("description") ? r.annotations.at("description") : "";
    CHECK(!summary.empty());
    // The group, and the node at fault (data node, Sentinel, master address or the exporter).
    CHECK((summary.find("$labels.master_name") != std::string::npos ||
           summary.find("$labels.instance") != std::string::npos));
    CHECK(description.find("master_name") != std::string::npos);
    bool names_node = false;
    for (const char* node : {"$labels.addr", "$labels.sentinel", ".Labels.sentinel", ".Labels.addr", "master_address",
                             "$labels.instance"}) {
      names_node = names_node || description.find(node) != std::string::npos;
    }
    CHECK(names_node);
    const std::string url = r.annotations.count("runbook_url") ? r.annotations.at("runbook_url") : "";
    REQUIRE(url.rfind(kRunbookUrl, 0) == 0);
    const std::string anchor = url.substr(kRunbookUrl.size());
    CHECK(anchor == r.name);
    CHECK_MESSAGE(anchors.count(Lower(anchor)), "docs/runbook.md has no section " << anchor);

    // promtool tests: a case where it fires (exp_labels) and one where it must not (exp_alerts: []).
    bool fires = false, quiet = false;
    const std::string key = "alertname: " + r.name + "\n";
    for (size_t p = tests.find(key); p != std::string::npos; p = tests.find(key, p + 1)) {
      const size_t end = tests.find("alertname:", p + key.size());
      const std::string block = tests.substr(p, end == std::string::npos ? std::string::npos : end - p);
      fires = fires || block.find("exp_labels") != std::string::npos;
      quiet = quiet || block.find("exp_alerts: []") != std::string::npos;
    }
    CHECK_MESSAGE(fires, r.name << " has no promtool test where it fires");
    CHECK_MESSAGE(quiet, r.name << " has no promtool test where it stays quiet");
  }
  // The runbook's five alerts keep their names.
  for (const char* name :
       {"RedisSentinelDown", "RedisReplicaLag", "RedisMasterChanged", "RedisMemoryHigh", "RedisSentinelQuorumLost"}) {
    CHECK_MESSAGE(alerts.count(name), name);
  }
  // No runbook section for an alert that does not exist.
  std::stringstream ss(runbook);
  std::string line;
  while (std::getline(ss, line)) {
    if (line.rfind("## Redis", 0) == 0) CHECK_MESSAGE(alerts.count(Trim(line.substr(3))), "stale section: " << line);
  }
}

// Long: one pass over the dashboard file, a block of checks per part of it.
TEST_CASE("rules: the dashboard is valid Grafana JSON with units, a datasource variable and valid queries") {
  const Json d = LoadDashboard();
  REQUIRE(d.is_object());
  REQUIRE(d.contains("schemaVersion"));
  CHECK(d.at("schemaVersion").get<double>() >= 39);
  CHECK(!Str(d, "title").empty());
  CHECK(!Str(d, "uid").empty());

  // Variables: the datasource, and master group and node from the exporter's own metrics.
  const Json::json_pointer variables("/templating/list");
  REQUIRE(d.contains(variables));
  REQUIRE(d.at(variables).is_array());
  std::map<std::string, const Json*> vars;
  for (const auto& v : d.at(variables)) vars[Str(v, "name")] = &v;
  REQUIRE(vars.count("datasource"));
  CHECK(Str(*vars["datasource"], "type") == "datasource");
  CHECK(Str(*vars["datasource"], "query") == "prometheus");
  for (const char* name : {"master_name", "node"}) {
    CAPTURE(name);
    REQUIRE(vars.count(name));
    const Json& v = *vars[name];
    CHECK(Str(v, "type") == "query");
    REQUIRE(v.contains("datasource"));
    CHECK(Str(v.at("datasource"), "uid") == kDatasource);
    REQUIRE(v.contains("query"));
    CHECK(!LabelValuesSelector(VariableQuery(v)).empty());
  }

  std::vector<const Json*> panels;
  REQUIRE(d.contains("panels"));
  REQUIRE(d.at("panels").is_array());
  Panels(d.at("panels"), panels);
  std::set<double> ids;
  std::set<std::string> titles;
  std::string all_exprs;
  int graphs = 0;
  for (const Json* p : panels) {
    const std::string title = Str(*p, "title");
    CAPTURE(title);
    REQUIRE(p->contains("id"));
    CHECK(ids.insert(p->at("id").get<double>()).second);
    CHECK(titles.insert(title).second);
    REQUIRE(p->contains("gridPos"));
    const Json& grid = p->at("gridPos");
    CHECK(grid.at("x").get<double>() + grid.at("w").get<double>() <= 24);
    if (Str(*p, "type") == "row") continue;
    ++graphs;
    REQUIRE(p->contains("datasource"));
    CHECK(Str(p->at("datasource"), "uid") == kDatasource);
    CHECK(Str(p->at("datasource"), "type") == "prometheus");
    const Json::json_pointer defaults("/fieldConfig/defaults");
    REQUIRE(p->contains(defaults));
    CHECK_MESSAGE(!Str(p->at(defaults), "unit").empty(), "panel without a unit");
    REQUIRE(p->contains("targets"));
    const Json& targets = p->at("targets");
    REQUIRE(targets.is_array());
    CHECK(!targets.empty());
    for (const auto& t : targets) {
      CHECK(!Str(t, "expr").empty());
      REQUIRE(t.contains("datasource"));
      CHECK(Str(t.at("datasource"), "uid") == kDatasource);
      all_exprs += Str(t, "expr") + "\n";
    }
  }
  CHECK(graphs >= 10);

  // Failovers as annotations, from the exporter's counter.
  bool failover_annotation = false;
  const Json::json_pointer annotations("/annotations/list");
  REQUIRE(d.contains(annotations));
  REQUIRE(d.at(annotations).is_array());
  for (const auto& a : d.at(annotations)) {
    if (Str(a, "expr").find("redis_sentinel_failovers_total") == std::string::npos) continue;
    failover_annotation = a.contains("datasource") && Str(a.at("datasource"), "uid") == kDatasource;
  }
  CHECK(failover_annotation);

  // What the issue asks the dashboard to show.
  for (const char* metric :
       {"redis_up", "redis_instance_role", "redis_sentinel_master_info", "redis_sentinel_topology_quorum",
        "redis_sentinel_topology_sentinels_up", "redis_sentinel_master_ckquorum_ok", "redis_sentinel_topology_masters",
        "redis_sentinel_topology_master_addresses", "redis_replication_lag_bytes", "redis_connected_clients",
        "redis_memory_used_bytes", "redis_commands_processed_total", "redis_evicted_keys_total"}) {
    CHECK_MESSAGE(MetricNames(all_exprs).metrics.count(metric), metric);
  }

  // Every query is valid PromQL: promtool checks them as recording rules.
  const auto queries = CollectDashboardQueries(d);
  std::string yaml = "groups:\n  - name: dashboard\n    rules:\n";
  int n = 0;
  for (const auto& e : queries.exprs) {
    std::string quoted;
    for (char c : WithoutGrafanaVariables(e))
      quoted += c == '\'' ? std::string("''") : c == '\n' ? std::string(" ") : std::string(1, c);
    yaml += "      - record: dashboard_query_" + std::to_string(n++) + "\n        expr: '" + quoted + "'\n";
  }
  const std::string path = TempFile(yaml);
  auto r = Run({"promtool", "check", "rules", path}, EnvWith({}), std::chrono::seconds(30));
  std::remove(path.c_str());
  INFO(r.out, r.err, yaml);
  CHECK(r.exit_code == 0);
}

TEST_CASE("rules: every metric the rules and the dashboard use is one the exporter emits") {
  // Used: every selector of the rules and the dashboard. Allowed beyond the exporter's own
  // metrics: the rules' recorded series, and `up`, which Prometheus adds to every scrape.
  std::set<std::string> used, allowed = {"up"};
  std::map<std::string, std::string> where;
  auto use = [&](const std::string& expr, const std::string& origin) {
    const auto names = MetricNames(expr);
    CHECK_MESSAGE(names.unknown_functions.empty(), origin << ": unknown function in " << expr);
    for (const auto& m : names.metrics) {
      used.insert(m);
      where.emplace(m, origin);
    }
  };
  for (const auto& r : ParseRules(kRuleFile)) {
    use(r.expr, r.name);
    if (r.kind == "record") allowed.insert(r.name);
  }
  const auto queries = CollectDashboardQueries(LoadDashboard());
  for (const auto& e : queries.exprs) use(e, "dashboard");
  for (const auto& s : queries.selectors) use(s, "dashboard variable");
  REQUIRE(used.size() > 20);

  LocalTopology topo;
  ExporterProcess exporter({"--sentinel.addr=" + topo.sentinel(0), "--redis.password-file=" + topo.password_file()});
  // Some series appear only once the Sentinels have refreshed their view (replica offsets):
  // wait, bounded, until nothing is missing, then report what still is.
  std::set<std::string> emitted;
  auto missing = [&] {
    for (const auto& n : ExposedNames(exporter.Metrics())) emitted.insert(n);
    std::vector<std::string> out;
    for (const auto& m : used) {
      if (!emitted.count(m) && !allowed.count(m)) out.push_back(m);
    }
    return out;
  };
  WaitFor([&] { return missing().empty(); }, std::chrono::seconds(15));
  for (const auto& m : missing())
    CHECK_MESSAGE(false, m << " (used by " << where[m] << ") is not emitted by the exporter");
  // The recording rules do not shadow an exporter metric.
  for (const auto& a : allowed) CHECK_MESSAGE(!emitted.count(a), a);
}
