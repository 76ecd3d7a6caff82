// ParseEventsJson (exporter/check.h): the exporter's /events body as `check` reads it.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "exporter/check.h"
#include "exporter/config.h"
#include "tests/unit/fixtures.h"

namespace {

rse::ParsedArgs ParseCheck(std::vector<std::string> args) {
  args.insert(args.begin(), {"redis_sentinel_exporter", "check", "--sentinel.addr=127.0.0.1:26379"});
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  return rse::ParseArgs(static_cast<int>(argv.size()), argv.data(),
                        [](const char*) -> std::optional<std::string> { return std::nullopt; });
}

}  // namespace

TEST_CASE("check events: the flags, and their usage errors (exit 3, never a verdict)") {
  auto r = ParseCheck({});
  REQUIRE(r.action == rse::ParsedArgs::Action::kRun);
  CHECK(r.config.check_events_url.empty());

  char path[] = "/tmp/rse-check-events-pw-XXXXXX";
  const int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  std::ofstream(path) << "events-pw-81c2\n";
  r = ParseCheck({"--check.events-url=http://127.0.0.1:9355/events?target=127.0.0.1%3A26379", "--check.events-user=ops",
                  std::string("--check.events-password-file=") + path});
  REQUIRE_MESSAGE(r.action == rse::ParsedArgs::Action::kRun, r.output);
  CHECK(r.config.check_events_url == "http://127.0.0.1:9355/events?target=127.0.0.1%3A26379");
  CHECK(r.config.check_events_user == "ops");
  CHECK(r.config.check_events_password == "events-pw-81c2");
  CHECK(r.config.check_events_tls == nullptr);
  std::remove(path);

  const std::pair<std::vector<std::string>, std::string> errors[] = {
      {{"--check.events-url=ftp://h/events"}, "--check.events-url: not an http:// or https:// URL"},
      {{"--check.events-url=http://ops:url-pw-55@h/events"}, "--check.events-url: user:password@"},
      {{"--check.events-url=http://h/events", "--check.events-user=ops"},
       "--check.events-user needs --check.events-password-file"},
      {{"--check.events-url=http://h/events", "--check.events-ca-file=/etc/ssl/ca.pem"},
       "--check.events-ca-file needs an https --check.events-url"},
      {{"--check.events-user=ops"}, "need --check.events-url"},
      {{"--check.events-url=https://h/events", "--check.events-ca-file=/nonexistent/ca.pem"}, "--check.events-url: "},
  };
  for (const auto& error_case : errors) {
    const auto& [args, message] = error_case;
    const auto& first_arg = args[0];  // clang 14 cannot capture a structured binding in CAPTURE
    CAPTURE(first_arg);
    r = ParseCheck(args);
    CHECK(r.action == rse::ParsedArgs::Action::kExit);
    CHECK(r.exit_code == 3);
    CHECK(r.output.find(message) != std::string::npos);
    CHECK(r.output.find("url-pw-55") == std::string::npos);
  }
}

TEST_CASE("check events: the recorded /events body is read, each event re-parsed from its payload") {
  const std::string recorded = rse::test::FixtureBytes("http-events-response.txt");
  const std::string body = recorded.substr(recorded.find("\r\n\r\n") + 4);
  std::string error;
  auto events = rse::ParseEventsJson(body, error);
  REQUIRE_MESSAGE(events, error);
  REQUIRE(!events->empty());
  bool sdown = false;
  for (const auto& e : *events) {
    CHECK(e.time > 1.6e9);
    CHECK(e.sentinel.rfind("127.0.0.1:", 0) == 0);
    if (e.event.type == "+sdown" && e.event.instance_type == "slave") {
      sdown = true;
      CHECK(e.event.master_name == "aragora-master");
      CHECK(e.event.address);
    }
  }
  CHECK(sdown);
}

TEST_CASE("check events: +switch-master gives the new master, an empty ring is no events") {
  std::string error;
  auto events = rse::ParseEventsJson(
      R"({"events":[{"time":1700000000.5,"sentinel":"127.0.0.1:26379","event":"+switch-master",)"
      R"("master_name":"m","payload":"m 10.0.0.1 6379 10.0.0.2 6379","new_master":"10.0.0.2:6379"}]})",
      error);
  REQUIRE_MESSAGE(events, error);
  REQUIRE(events->size() == 1);
  CHECK((*events)[0].time == 1700000000.5);
  CHECK((*events)[0].event.master_name == "m");
  REQUIRE((*events)[0].event.new_master);
  CHECK((*events)[0].event.new_master->ToString() == "10.0.0.2:6379");

  events = rse::ParseEventsJson("{\"events\":[]}\n", error);
  REQUIRE(events);
  CHECK(events->empty());
}

TEST_CASE("check events: anything else is refused with the reason") {
  const std::pair<const char*, const char*> cases[] = {
      {"<html>Unauthorized</html>", "not valid JSON"},
      {"[]", "no \"events\" array"},
      {R"({"events":{}})", "no \"events\" array"},
      {R"({"events":[1]})", "event 0 is not an object"},
      {R"({"events":[{"time":1,"sentinel":"s","event":"+sdown","payload":"x"},{"time":"1","sentinel":"s",)"
       R"("event":"+sdown","payload":"x"}]})",
       "event 1: \"time\" is not a number"},
      {R"({"events":[{"time":1,"sentinel":"s","event":"+sdown"}]})", "event 0: \"payload\" is not a string"},
  };
  for (const auto& body_case : cases) {
    const auto& [body, why] = body_case;
    const auto& text = body;  // clang 14 cannot capture a structured binding in CAPTURE
    CAPTURE(text);
    std::string error;
    CHECK_FALSE(rse::ParseEventsJson(body, error));
    CHECK(error == why);
  }
}
