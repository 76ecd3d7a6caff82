// ParseEventsJson (exporter/check.h): the exporter's /events body as `check` reads it.
#include <doctest/doctest.h>

#include <string>

#include "exporter/check.h"
#include "tests/unit/fixtures.h"

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

TEST_CASE("check events: +switch-master gives the new master; an empty ring is no events") {
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
  for (const auto& [body, why] : cases) {
    CAPTURE(body);
    std::string error;
    CHECK_FALSE(rse::ParseEventsJson(body, error));
    CHECK(error == why);
  }
}
