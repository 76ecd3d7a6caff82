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
