// Micro-benchmark: RESP bytes into redis::Reply, and commands into RESP.
//   old: hiredis' reader builds its own redisReply tree (a malloc per element and per string),
//        copied into a Reply tree, then freed (redis/reply.cpp before it built Reply directly);
//        commands through redisFormatCommandArgv and a copy into a std::string.
//   new: RespParser (hiredis' reader building Reply through our reply functions);
//        AppendCommand into the caller's buffer.
// Each recorded reply in tests/fixtures/ is fed to one reader and taken out, N times; printed
// per reply: median time over rounds, and allocation calls (malloc, calloc, realloc).
// Not built by `make all`; either
//   make -C build bench_resp_parse && build/bench/bench_resp_parse tests/fixtures
// or by hand:
//   c++ -std=c++20 -O2 -I. bench/micro/resp_parse.cpp redis/reply.cpp -lhiredis -o /tmp/resp_parse
//   /tmp/resp_parse tests/fixtures
#include <hiredis/hiredis.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "redis/reply.h"

using rse::redis::Reply;
using rse::redis::RespParser;

// Allocation calls, counted by wrapping glibc's allocator: the executable's malloc is the one
// hiredis and libstdc++ call too.
static unsigned long g_allocs = 0;
extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void __libc_free(void*);
void* malloc(size_t n) {
  ++g_allocs;
  return __libc_malloc(n);
}
void* calloc(size_t n, size_t m) {
  ++g_allocs;
  return __libc_calloc(n, m);
}
void* realloc(void* p, size_t n) {
  ++g_allocs;
  return __libc_realloc(p, n);
}
void free(void* p) { __libc_free(p); }
}

namespace {

// The old path: redis/reply.cpp's Convert, over hiredis' default reply functions.
Reply Convert(const redisReply* r) {
  Reply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Reply::Type::kError;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::kArray;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) {
        if (r->element[i] == nullptr) {
          out.elements.emplace_back();
        } else {
          out.elements.push_back(Convert(r->element[i]));
        }
      }
      break;
    default:
      out.type = Reply::Type::kNil;
  }
  return out;
}

struct OldParser {
  redisReader* reader = redisReaderCreate();
  ~OldParser() { redisReaderFree(reader); }
  bool Parse(const std::string& bytes, Reply& out) {
    redisReaderFeed(reader, bytes.data(), bytes.size());
    void* raw = nullptr;
    if (redisReaderGetReply(reader, &raw) != REDIS_OK || raw == nullptr) return false;
    out = Convert(static_cast<redisReply*>(raw));
    freeReplyObject(raw);
    return true;
  }
};

struct NewParser {
  RespParser parser;
  bool Parse(const std::string& bytes, Reply& out) {
    parser.Feed(bytes.data(), bytes.size());
    return parser.Next(out) == RespParser::Result::kReply;
  }
};

size_t Nodes(const Reply& r) {
  size_t n = 1;
  for (const auto& e : r.elements) n += Nodes(e);
  return n;
}

struct Result {
  double ns_per_op;
  double allocs_per_op;
};

// Median time per call of fn over `rounds` rounds of `n` calls, and allocation calls per call.
template <class F>
Result Measure(int rounds, int n, F&& fn) {
  std::vector<double> t;
  unsigned long allocs = 0;
  for (int r = 0; r < rounds; ++r) {
    const unsigned long a0 = g_allocs;
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) fn();
    const auto t1 = std::chrono::steady_clock::now();
    allocs += g_allocs - a0;
    t.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() / n);
  }
  std::sort(t.begin(), t.end());
  return {t[t.size() / 2], static_cast<double>(allocs) / (static_cast<double>(rounds) * n)};
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: bench_resp_parse FIXTURES_DIR (tests/fixtures)\n");
    return 2;
  }
  const std::string dir = argv[1];
  const int rounds = 21;
  const int n = 2000;
  std::printf("%-34s %6s %6s | %10s %10s %6s | %8s %8s\n", "reply (N=2000, median of 21)", "bytes", "nodes", "old ns",
              "new ns", "ratio", "old allc", "new allc");
  for (const char* name :
       {"sentinel-replicas.resp", "sentinel-masters.resp", "sentinel-master.resp", "sentinel-sentinels.resp",
        "info-master.resp", "info-replication-master.resp", "sentinel-ckquorum-ok.resp"}) {
    const std::string bytes = Slurp(dir + "/" + name);
    if (bytes.empty()) {
      std::fprintf(stderr, "bench_resp_parse: cannot read %s/%s\n", dir.c_str(), name);
      return 1;
    }
    OldParser old_parser;
    NewParser new_parser;
    Reply a, b;
    if (!old_parser.Parse(bytes, a) || !new_parser.Parse(bytes, b) || Nodes(a) != Nodes(b)) {
      std::fprintf(stderr, "bench_resp_parse: %s does not parse the same both ways\n", name);
      return 1;
    }
    // The replies are destroyed inside the timed loop too (each Parse overwrites the last).
    const Result o = Measure(rounds, n, [&] { old_parser.Parse(bytes, a); });
    const Result w = Measure(rounds, n, [&] { new_parser.Parse(bytes, b); });
    std::printf("%-34s %6zu %6zu | %10.0f %10.0f %5.2fx | %8.1f %8.1f\n", name, bytes.size(), Nodes(b), o.ns_per_op,
                w.ns_per_op, o.ns_per_op / w.ns_per_op, o.allocs_per_op, w.allocs_per_op);
  }

  // A scrape's commands to one Sentinel, written into one reused buffer.
  const std::vector<std::vector<std::string>> commands = {
      {"AUTH", "exporter", "a-password-of-some-length"}, {"SENTINEL", "MASTERS"},
      {"SENTINEL", "REPLICAS", "aragora-master"},        {"SENTINEL", "SENTINELS", "aragora-master"},
      {"SENTINEL", "CKQUORUM", "aragora-master"},        {"INFO", "sentinel"},
  };
  std::string out;
  out.reserve(4096);
  const Result o = Measure(rounds, n, [&] {
    out.clear();
    for (const auto& argv : commands) {
      std::vector<const char*> args;
      std::vector<size_t> lens;
      args.reserve(argv.size());
      lens.reserve(argv.size());
      for (const auto& s : argv) {
        args.push_back(s.data());
        lens.push_back(s.size());
      }
      char* target = nullptr;
      const int len = redisFormatCommandArgv(&target, static_cast<int>(args.size()), args.data(), lens.data());
      out += std::string(target, static_cast<size_t>(len));
      redisFreeCommand(target);
    }
  });
  const std::string old_out = out;
  const Result w = Measure(rounds, n, [&] {
    out.clear();
    for (const auto& argv : commands) rse::redis::AppendCommand(out, argv);
  });
  if (out != old_out) {
    std::fprintf(stderr, "bench_resp_parse: AppendCommand differs from redisFormatCommandArgv\n");
    return 1;
  }
  std::printf("%-34s %6zu %6zu | %10.0f %10.0f %5.2fx | %8.1f %8.1f\n", "6 commands into one buffer", out.size(),
              commands.size(), o.ns_per_op, w.ns_per_op, o.ns_per_op / w.ns_per_op, o.allocs_per_op, w.allocs_per_op);
  return 0;
}
