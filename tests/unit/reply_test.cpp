// redis/reply.h: the RESP reader (byte-exact recordings in, owned Reply values out) and the
// command formatter.
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <hiredis/hiredis.h>

#include "fixtures.h"
#include "redis/reply.h"

namespace {

using rse::redis::AppendCommand;
using rse::redis::FormatCommand;
using rse::redis::ParseOneReply;
using rse::redis::Reply;
using rse::redis::RespParser;
using rse::test::FixtureBytes;
using rse::test::LoadFixture;

// Every file scripts/record-fixtures.sh writes.
const std::vector<std::string> kFixtures = {
    "info-replication-master.resp",
    "info-replication-replica.resp",
    "info-master.resp",
    "info-replica.resp",
    "info-sentinel.resp",
    "sentinel-masters.resp",
    "sentinel-master.resp",
    "sentinel-replicas.resp",
    "sentinel-sentinels.resp",
    "sentinel-myid.resp",
    "sentinel-ckquorum-ok.resp",
    "sentinel-ckquorum-unknown.resp",
    "sentinel-master-unknown.resp",
    "sentinel-ckquorum-noquorum.resp",
    "sentinel-sentinels-2-stopped.resp",
    "sentinel-on-data-node.resp",
    "info-replication-on-sentinel.resp",
};

void CheckSame(const Reply& a, const Reply& b) {
  REQUIRE(a.type == b.type);
  CHECK(a.str == b.str);
  CHECK(a.integer == b.integer);
  REQUIRE(a.elements.size() == b.elements.size());
  for (size_t i = 0; i < a.elements.size(); ++i) CheckSame(a.elements[i], b.elements[i]);
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

}  // namespace

TEST_CASE("reply: every recorded fixture is exactly one valid reply") {
  std::set<std::string> on_disk;
  for (const auto& entry : std::filesystem::directory_iterator(RSE_FIXTURES_DIR)) {
    if (entry.path().extension() == ".resp") on_disk.insert(entry.path().filename().string());
  }
  for (const auto& name : kFixtures) {
    CAPTURE(name);
    CHECK(on_disk.count(name) == 1);
  }
  for (const auto& name : on_disk) {
    CAPTURE(name);
    Reply reply;
    std::string error;
    CHECK_MESSAGE(ParseOneReply(FixtureBytes(name), reply, &error), error);
  }
}

TEST_CASE("reply: fixtures convert to the types the parsers rely on") {
  const auto master = LoadFixture("sentinel-master.resp");
  REQUIRE(master.IsArray());
  CHECK(master.elements.size() % 2 == 0);
  CHECK(master.elements.size() >= 2);
  for (const auto& e : master.elements) CHECK(e.type == Reply::Type::kString);

  const auto masters = LoadFixture("sentinel-masters.resp");
  REQUIRE(masters.IsArray());
  REQUIRE(masters.elements.size() == 1);
  CHECK(masters.elements[0].IsArray());

  const auto ok = LoadFixture("sentinel-ckquorum-ok.resp");
  CHECK(ok.type == Reply::Type::kStatus);
  CHECK(ok.str.rfind("OK 3 usable Sentinels", 0) == 0);
  CHECK(ok.str.find('\r') == std::string::npos);  // the CRLF is not part of the text

  const auto noquorum = LoadFixture("sentinel-ckquorum-noquorum.resp");
  CHECK(noquorum.IsError());
  CHECK(noquorum.str.rfind("NOQUORUM 1 usable", 0) == 0);

  const auto unknown = LoadFixture("sentinel-ckquorum-unknown.resp");
  CHECK(unknown.IsError());
  CHECK(unknown.str == "ERR No such master with that name");

  const auto myid = LoadFixture("sentinel-myid.resp");
  CHECK(myid.type == Reply::Type::kString);
  CHECK(myid.str.size() == 40);

  const auto info = LoadFixture("info-replication-master.resp");
  CHECK(info.type == Reply::Type::kString);
  CHECK(info.str.rfind("# Replication\r\n", 0) == 0);

  // A Sentinel answers INFO replication with an empty bulk string, not an error.
  const auto on_sentinel = LoadFixture("info-replication-on-sentinel.resp");
  CHECK(on_sentinel.type == Reply::Type::kString);
  CHECK(on_sentinel.str.empty());

  const auto on_data_node = LoadFixture("sentinel-on-data-node.resp");
  CHECK(on_data_node.IsError());
  CHECK(on_data_node.str.rfind("ERR unknown command", 0) == 0);
}

TEST_CASE("reply: ParseOneReply rejects incomplete bytes") {
  for (const auto& name : kFixtures) {
    CAPTURE(name);
    const std::string bytes = FixtureBytes(name);
    REQUIRE(bytes.size() > 3);
    for (size_t len : {size_t{0}, size_t{1}, bytes.size() / 2, bytes.size() - 2, bytes.size() - 1}) {
      CAPTURE(len);
      Reply reply;
      std::string error;
      CHECK_FALSE(ParseOneReply(std::string_view(bytes).substr(0, len), reply, &error));
      CHECK(error == "incomplete reply");
    }
  }
  // Every prefix of a nested array, where a cut can fall inside any element.
  const std::string bytes = FixtureBytes("sentinel-replicas.resp");
  for (size_t len = 0; len < bytes.size(); ++len) {
    Reply reply;
    if (ParseOneReply(std::string_view(bytes).substr(0, len), reply)) FAIL("prefix of " << len << " bytes parsed");
  }
}

TEST_CASE("reply: ParseOneReply rejects garbage with a protocol error") {
  Reply reply;
  std::string error;
  CHECK_FALSE(ParseOneReply("HTTP/1.1 200 OK\r\n", reply, &error));
  CHECK(Lower(error).find("protocol") != std::string::npos);

  error.clear();
  CHECK_FALSE(ParseOneReply("$abc\r\nxyz\r\n", reply, &error));  // a bad bulk length
  CHECK_FALSE(error.empty());
}

TEST_CASE("reply: ParseOneReply rejects two replies where one is expected") {
  Reply reply;
  std::string error;
  CHECK_FALSE(ParseOneReply("+OK\r\n+OK\r\n", reply, &error));
  CHECK(error == "more than one reply");
}

TEST_CASE("reply: nil, integer and nested replies convert") {
  Reply reply;
  REQUIRE(ParseOneReply("*-1\r\n", reply));
  CHECK(reply.type == Reply::Type::kNil);

  REQUIRE(ParseOneReply("$-1\r\n", reply));
  CHECK(reply.type == Reply::Type::kNil);

  REQUIRE(ParseOneReply("*3\r\n$-1\r\n:-42\r\n*1\r\n+x\r\n", reply));
  REQUIRE(reply.IsArray());
  REQUIRE(reply.elements.size() == 3);
  CHECK(reply.elements[0].type == Reply::Type::kNil);
  CHECK(reply.elements[1].type == Reply::Type::kInteger);
  CHECK(reply.elements[1].integer == -42);
  REQUIRE(reply.elements[2].IsArray());
  CHECK(reply.elements[2].elements.at(0).type == Reply::Type::kStatus);
  CHECK(reply.elements[2].elements.at(0).str == "x");

  // Bulk strings are binary-safe: CR, LF and NUL inside are kept.
  REQUIRE(ParseOneReply(std::string("$5\r\na\r\n\0b\r\n", 11), reply));
  CHECK(reply.type == Reply::Type::kString);
  CHECK(reply.str == std::string("a\r\n\0b", 5));
}

TEST_CASE("reply: nil elements in nested arrays, and errors inside arrays, keep their place and type") {
  Reply reply;
  // [[nil, nil-array, []], nil, [[nil, 1], -ERR, +OK, $"", -""]]
  REQUIRE(
      ParseOneReply("*3\r\n"
                    "*3\r\n$-1\r\n*-1\r\n*0\r\n"
                    "$-1\r\n"
                    "*5\r\n*2\r\n$-1\r\n:1\r\n-ERR inside\r\n+OK\r\n$0\r\n\r\n-\r\n",
                    reply));
  REQUIRE(reply.IsArray());
  REQUIRE(reply.elements.size() == 3);
  const Reply& first = reply.elements[0];
  REQUIRE(first.IsArray());
  REQUIRE(first.elements.size() == 3);
  CHECK(first.elements[0].type == Reply::Type::kNil);
  CHECK(first.elements[1].type == Reply::Type::kNil);
  CHECK(first.elements[2].IsArray());
  CHECK(first.elements[2].elements.empty());
  CHECK(reply.elements[1].type == Reply::Type::kNil);
  const Reply& last = reply.elements[2];
  REQUIRE(last.IsArray());
  REQUIRE(last.elements.size() == 5);
  REQUIRE(last.elements[0].IsArray());
  REQUIRE(last.elements[0].elements.size() == 2);
  CHECK(last.elements[0].elements[0].type == Reply::Type::kNil);
  CHECK(last.elements[0].elements[1].type == Reply::Type::kInteger);
  CHECK(last.elements[0].elements[1].integer == 1);
  // An error inside an array is an element like any other, not a failed reply.
  CHECK(last.elements[1].IsError());
  CHECK(last.elements[1].str == "ERR inside");
  CHECK(last.elements[2].type == Reply::Type::kStatus);
  CHECK(last.elements[2].str == "OK");
  CHECK(last.elements[3].type == Reply::Type::kString);
  CHECK(last.elements[3].str.empty());
  CHECK(last.elements[4].IsError());
  CHECK(last.elements[4].str.empty());

  // Integers at their limits.
  REQUIRE(ParseOneReply("*2\r\n:9223372036854775807\r\n:-9223372036854775808\r\n", reply));
  REQUIRE(reply.elements.size() == 2);
  CHECK(reply.elements[0].integer == 9223372036854775807LL);
  CHECK(reply.elements[1].integer == -9223372036854775807LL - 1);
}

TEST_CASE("reply: replies fed byte by byte come out whole, in order, whatever is left in the target") {
  const std::string stream =
      "*3\r\n*2\r\n$-1\r\n-ERR x\r\n*-1\r\n*1\r\n*1\r\n:7\r\n"  // nested, with nils and an error
      "$3\r\na\nb\r\n"                                          // a bulk string holding LF
      "-WRONGTYPE no\r\n"
      "*0\r\n"
      ":-3\r\n";
  std::vector<Reply> expected(5);
  REQUIRE(ParseOneReply("*3\r\n*2\r\n$-1\r\n-ERR x\r\n*-1\r\n*1\r\n*1\r\n:7\r\n", expected[0]));
  REQUIRE(ParseOneReply("$3\r\na\nb\r\n", expected[1]));
  REQUIRE(ParseOneReply("-WRONGTYPE no\r\n", expected[2]));
  REQUIRE(ParseOneReply("*0\r\n", expected[3]));
  REQUIRE(ParseOneReply(":-3\r\n", expected[4]));
  CHECK(expected[1].str == "a\nb");

  RespParser parser;
  std::vector<Reply> got;
  // Next() overwrites its target completely: a stale array in it leaves nothing behind.
  Reply out = Reply::Error("stale");
  out.elements.resize(3);
  for (char c : stream) {
    REQUIRE(parser.Feed(&c, 1));
    for (;;) {
      const auto result = parser.Next(out);
      REQUIRE(result != RespParser::Result::kError);
      if (result == RespParser::Result::kNeedMore) break;
      got.push_back(out);
    }
  }
  CHECK_FALSE(parser.HasUnreadBytes());
  REQUIRE(got.size() == expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    CAPTURE(i);
    CheckSame(got[i], expected[i]);
  }
}

TEST_CASE("reply: HasUnreadBytes counts bytes buffered and a reply in progress, until the reply is taken") {
  RespParser parser;
  Reply out;
  CHECK_FALSE(parser.HasUnreadBytes());
  CHECK(parser.Next(out) == RespParser::Result::kNeedMore);  // an empty read
  CHECK_FALSE(parser.HasUnreadBytes());

  // Two replies at once: the first taken leaves the second; the second leaves nothing.
  const std::string two = "+OK\r\n:12\r\n";
  REQUIRE(parser.Feed(two.data(), two.size()));
  REQUIRE(parser.Next(out) == RespParser::Result::kReply);
  CHECK(parser.HasUnreadBytes());
  REQUIRE(parser.Next(out) == RespParser::Result::kReply);
  CHECK(out.integer == 12);
  CHECK_FALSE(parser.HasUnreadBytes());

  // A type byte alone, then the rest.
  REQUIRE(parser.Feed("$", 1));
  CHECK(parser.Next(out) == RespParser::Result::kNeedMore);
  CHECK(parser.HasUnreadBytes());
  REQUIRE(parser.Feed("1\r\nx\r\n", 6));
  REQUIRE(parser.Next(out) == RespParser::Result::kReply);
  CHECK(out.str == "x");
  CHECK_FALSE(parser.HasUnreadBytes());

  // An array cut after whole elements, small and past the 1 KiB after which the reader drops
  // what it has parsed from its buffer: nothing of it is buffered any more, yet it is unread.
  for (size_t size : {size_t{3}, size_t{5000}}) {
    CAPTURE(size);
    const std::string element = "$" + std::to_string(size) + "\r\n" + std::string(size, 'e') + "\r\n";
    const std::string first = "*3\r\n" + element + element;
    REQUIRE(parser.Feed(first.data(), first.size()));
    CHECK(parser.Next(out) == RespParser::Result::kNeedMore);
    CHECK(parser.HasUnreadBytes());
    CHECK(parser.Next(out) == RespParser::Result::kNeedMore);  // asking again changes nothing
    CHECK(parser.HasUnreadBytes());
    REQUIRE(parser.Feed(element.data(), element.size()));
    REQUIRE(parser.Next(out) == RespParser::Result::kReply);
    CHECK(out.elements.size() == 3);
    CHECK_FALSE(parser.HasUnreadBytes());
  }
}

TEST_CASE("reply: arrays are bounded to kMaxArrayElements when their count is read") {
  const int max = RespParser::kMaxArrayElements;
  for (const std::string& bytes : {"*" + std::to_string(max + 1) + "\r\n", std::string("*2147483647\r\n"),
                                   "*2\r\n+a\r\n*" + std::to_string(max + 1) + "\r\n"}) {
    CAPTURE(bytes);
    RespParser parser;
    REQUIRE(parser.Feed(bytes.data(), bytes.size()));
    Reply out;
    CHECK(parser.Next(out) == RespParser::Result::kError);
    CHECK(Lower(parser.Error()).find("memory") != std::string::npos);
    // Sticky, like any reader error.
    CHECK(parser.Next(out) == RespParser::Result::kError);
  }
  // At the bound, the array is read: it waits for its elements.
  RespParser parser;
  const std::string at_bound = "*" + std::to_string(max) + "\r\n:1\r\n";
  REQUIRE(parser.Feed(at_bound.data(), at_bound.size()));
  Reply out;
  CHECK(parser.Next(out) == RespParser::Result::kNeedMore);
  CHECK(parser.Error().empty());
}

TEST_CASE("reply: a reader error or a dropped parser in the middle of a nested reply") {
  // Each is cut or broken after some elements of nested arrays were built: the parser reports
  // the error (or waits) and frees what it built (the sanitizer build checks for leaks).
  for (const char* bytes : {
           "*3\r\n+a\r\n*2\r\n$1\r\nb\r\n%bad\r\n",                         // bad type byte
           "*2\r\n*2\r\n:1\r\n:x\r\n",                                      // bad integer
           "*2\r\n*1\r\n$-7\r\n",                                           // bad bulk length
           "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n+x\r\n",  // nested too deep
       }) {
    CAPTURE(std::string(bytes));
    RespParser parser;
    REQUIRE(parser.Feed(bytes, std::char_traits<char>::length(bytes)));
    Reply out;
    CHECK(parser.Next(out) == RespParser::Result::kError);
    CHECK_FALSE(parser.Error().empty());
  }
  for (const char* bytes : {"*2\r\n*2\r\n+a\r\n", "*2\r\n$5\r\nab", "*3\r\n$-1\r\n*1\r\n*0\r\n"}) {
    CAPTURE(std::string(bytes));
    RespParser parser;
    REQUIRE(parser.Feed(bytes, std::char_traits<char>::length(bytes)));
    Reply out;
    CHECK(parser.Next(out) == RespParser::Result::kNeedMore);
  }
}

TEST_CASE("reply: RespParser fed byte by byte yields the same reply as ParseOneReply") {
  for (const char* name : {"sentinel-replicas.resp", "info-replication-master.resp", "sentinel-ckquorum-ok.resp",
                           "sentinel-ckquorum-noquorum.resp", "info-replication-on-sentinel.resp"}) {
    CAPTURE(name);
    const std::string bytes = FixtureBytes(name);
    const Reply whole = LoadFixture(name);
    RespParser parser;
    Reply out;
    for (size_t i = 0; i < bytes.size(); ++i) {
      REQUIRE(parser.Feed(&bytes[i], 1));
      const auto result = parser.Next(out);
      if (i + 1 < bytes.size()) {
        if (result != RespParser::Result::kNeedMore)
          FAIL("a reply after " << i + 1 << " of " << bytes.size() << " bytes");
      } else {
        REQUIRE(result == RespParser::Result::kReply);
      }
    }
    CheckSame(out, whole);
    CHECK(parser.Next(out) == RespParser::Result::kNeedMore);
  }
}

TEST_CASE("reply: RespParser splits replies that arrive in one read") {
  const std::string bytes = FixtureBytes("sentinel-ckquorum-ok.resp") + FixtureBytes("sentinel-master.resp") +
                            FixtureBytes("sentinel-ckquorum-unknown.resp");
  RespParser parser;
  REQUIRE(parser.Feed(bytes.data(), bytes.size()));
  Reply a, b, c, d;
  REQUIRE(parser.Next(a) == RespParser::Result::kReply);
  REQUIRE(parser.Next(b) == RespParser::Result::kReply);
  REQUIRE(parser.Next(c) == RespParser::Result::kReply);
  CHECK(parser.Next(d) == RespParser::Result::kNeedMore);
  CheckSame(a, LoadFixture("sentinel-ckquorum-ok.resp"));
  CheckSame(b, LoadFixture("sentinel-master.resp"));
  CheckSame(c, LoadFixture("sentinel-ckquorum-unknown.resp"));
}

TEST_CASE("reply: a protocol error is sticky") {
  RespParser parser;
  const std::string garbage = "HTTP/1.1 200 OK\r\n";
  parser.Feed(garbage.data(), garbage.size());
  Reply out;
  REQUIRE(parser.Next(out) == RespParser::Result::kError);
  CHECK_FALSE(parser.Error().empty());
  // Valid bytes afterwards do not resynchronise the stream: the caller must drop it.
  const std::string ok = "+OK\r\n";
  parser.Feed(ok.data(), ok.size());
  CHECK(parser.Next(out) != RespParser::Result::kReply);
}

TEST_CASE("reply: FormatCommand encodes a RESP array of bulk strings") {
  CHECK(FormatCommand({"INFO", "replication"}) == "*2\r\n$4\r\nINFO\r\n$11\r\nreplication\r\n");
  CHECK(FormatCommand({"SENTINEL", "CKQUORUM", "aragora-master"}) ==
        "*3\r\n$8\r\nSENTINEL\r\n$8\r\nCKQUORUM\r\n$14\r\naragora-master\r\n");
  // Empty and binary arguments are length-prefixed, never interpreted.
  CHECK(FormatCommand({"SET", "k", ""}) == "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
  const std::vector<std::string> argv{"AUTH", std::string("p w\r\n\0\"x", 8)};
  const std::string wire = FormatCommand(argv);
  CHECK(wire == std::string("*2\r\n$4\r\nAUTH\r\n$8\r\np w\r\n\0\"x\r\n", 28));

  // What FormatCommand writes, the reader reads back as the same arguments.
  Reply back;
  REQUIRE(ParseOneReply(wire, back));
  REQUIRE(back.IsArray());
  REQUIRE(back.elements.size() == argv.size());
  for (size_t i = 0; i < argv.size(); ++i) CHECK(back.elements[i].str == argv[i]);
}

TEST_CASE("reply: AppendCommand writes what hiredis' redisFormatCommandArgv writes, after what is there") {
  const std::vector<std::vector<std::string>> commands = {
      {},
      {"PING"},
      {"SENTINEL", "REPLICAS", "aragora-master"},
      {"SET", "", std::string(9, 'x'), std::string(10, 'y'), std::string(99, 'z'), std::string(100, 'w')},
      {"AUTH", "user", std::string("p\0\r\n$*", 7)},
      std::vector<std::string>(10, "a"),
      std::vector<std::string>(123, "arg"),
  };
  std::string pipeline = "prefix";
  std::string expected = "prefix";
  for (const auto& argv : commands) {
    CAPTURE(argv.size());
    std::vector<const char*> args;
    std::vector<size_t> lens;
    for (const auto& a : argv) {
      args.push_back(a.data());
      lens.push_back(a.size());
    }
    char* target = nullptr;
    const int len = redisFormatCommandArgv(&target, static_cast<int>(args.size()), args.data(), lens.data());
    REQUIRE(len >= 0);
    const std::string hiredis(target, static_cast<size_t>(len));
    redisFreeCommand(target);

    CHECK(FormatCommand(argv) == hiredis);
    AppendCommand(pipeline, argv);
    expected += hiredis;
    CHECK(pipeline == expected);
  }
}

TEST_CASE("reply: TypeName names what arrived") {
  CHECK(std::string(rse::redis::TypeName(Reply::Type::kArray)) == "array");
  CHECK(std::string(rse::redis::TypeName(Reply::Type::kInteger)) == "integer");
  CHECK(std::string(rse::redis::TypeName(Reply::Type::kStatus)) == "status");
  CHECK(std::string(rse::redis::TypeName(Reply::Type::kError)) == "error");
  CHECK(std::string(rse::redis::TypeName(Reply::Type::kNil)) == "nil");
}
