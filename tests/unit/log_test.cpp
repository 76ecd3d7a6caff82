#include <doctest/doctest.h>

#include "exporter/log.h"

TEST_CASE("logfmt: bare values stay bare, others are quoted and escaped") {
  auto s = rse::log::Render(false, "data node unreachable",
                            {{"addr", "127.0.0.1:6379"}, {"err", "said \"no\"\nthen left"}, {"empty", ""}});
  CHECK(s == R"(msg="data node unreachable" addr=127.0.0.1:6379 err="said \"no\"\nthen left" empty="")");
}

TEST_CASE("json: one object body with escaped strings") {
  auto s = rse::log::Render(true, "x", {{"k", "a\"b\\c\x01"}});
  CHECK(s == R"("msg":"x","k":"a\"b\\c\u0001")");
}

// A peer's text in a log line cannot drive the terminal of whoever reads the log: C0, DEL and
// C1 controls are escaped (valid JSON either way), and a value holding one is quoted in logfmt.
TEST_CASE("log: DEL and C1 control characters are escaped, and quote a logfmt value") {
  CHECK(rse::log::Render(true, "x",
                         {{"k",
                           "a\x7f"
                           "b\xc2\x9b"
                           "31mc\xc3\xa9"}}) == "\"msg\":\"x\",\"k\":\"a\\u007fb\\u009b31mc\xc3\xa9\"");
  CHECK(rse::log::Render(false, "x", {{"k", "a\x7f"}}) == "msg=x k=\"a\\u007f\"");
  CHECK(rse::log::Render(false, "x",
                         {{"k",
                           "\xc2\x9b"
                           "2J"}}) == "msg=x k=\"\\u009b2J\"");
  CHECK(rse::log::Render(false, "x", {{"k", "caf\xc3\xa9"}}) == "msg=x k=caf\xc3\xa9");  // text stays text
}
