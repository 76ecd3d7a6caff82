// GET /runbook on the real exporter: the page every alert's runbook_url opens. One anchor per
// alert of the rule file (read with yaml-cpp), a self-contained HTML document, and the same
// HTTP rules as the other endpoints (basic auth when configured).
//
// Test cases are named "rules: ..." so rules/tests.cmake labels them `rules` as well.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <yaml-cpp/yaml.h>

#include "tests/support/exporter.h"

using namespace rse::test;

namespace {

std::vector<std::string> AlertNames() {
  const YAML::Node rules = YAML::LoadFile(std::string(RSE_SOURCE_DIR) + "/rules/redis_sentinel.rules.yml");
  std::vector<std::string> out;
  for (const auto& group : rules["groups"]) {
    for (const auto& rule : group["rules"]) {
      if (rule["alert"]) out.push_back(rule["alert"].as<std::string>());
    }
  }
  return out;
}

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("rules: /runbook serves one anchor for every alert of the rule file") {
  const auto alerts = AlertNames();
  REQUIRE(alerts.size() >= 18);

  ExporterProcess exporter({});
  const auto r = exporter.Get("/runbook");
  REQUIRE(r.status == 200);
  CHECK(r.headers.find("Content-Type: text/html; charset=utf-8") != std::string::npos);
  CHECK(r.body.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(r.body.find("</html>") != std::string::npos);
  for (const auto& alert : alerts) {
    CAPTURE(alert);
    // The id the rule file's runbook_url names (#Alert), once, on the section's heading.
    CHECK(Count(r.body, "id=\"" + alert + "\"") == 1);
    CHECK(r.body.find("<h2 id=\"" + alert + "\">" + alert + "</h2>") != std::string::npos);
  }
  // Self-contained: no scripts, nothing fetched from elsewhere, no link into the repository's
  // tree (which the page is served without).
  CHECK(r.body.find("<script") == std::string::npos);
  CHECK(r.body.find("<link") == std::string::npos);
  CHECK(r.body.find(" src=") == std::string::npos);
  CHECK(r.body.find("href=\"../") == std::string::npos);
  CHECK(r.body.find("<style>") != std::string::npos);

  // HEAD: the same headers, no body.
  const auto head = HttpRequest(exporter.port(), "HEAD", "/runbook");
  CHECK(head.status == 200);
  CHECK(head.body.empty());
  // The landing page links it.
  CHECK(exporter.Get("/").body.find("<a href=\"/runbook\">") != std::string::npos);
}

TEST_CASE("rules: /runbook asks for basic auth like every endpoint when it is configured") {
  char tmpl[] = "/tmp/rse-runbook-web-XXXXXX";
  const int fd = mkstemp(tmpl);
  REQUIRE(fd >= 0);
  close(fd);
  const std::string config = tmpl;
  // bcrypt (cost 5) of "runbook-reader".
  std::ofstream(config) << "basic_auth_users:\n"
                           "  reader: '$2b$05$Z5jtzZdw5S2NhbGwbUvSs.v1Gbqs216UqvEIPaPOVZKGZBfEEW9ta'\n";
  {
    ExporterProcess exporter({"--web.config.file=" + config});
    const auto anonymous = exporter.Get("/runbook");
    CHECK(anonymous.status == 401);
    CHECK(anonymous.body.find("Redis") == std::string::npos);
    const std::string reader = "Authorization: Basic cmVhZGVyOnJ1bmJvb2stcmVhZGVy";  // reader:runbook-reader
    const auto r = exporter.Get("/runbook", {reader});
    CHECK(r.status == 200);
    CHECK(r.body.find("id=\"RedisNoMaster\"") != std::string::npos);
    CHECK(exporter.Get("/runbook", {"Authorization: Basic cmVhZGVyOndyb25n"}).status == 401);  // reader:wrong
  }
  std::remove(config.c_str());
}
