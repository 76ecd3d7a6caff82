// Micro-benchmark behind bench/README.md recommendation 1: INFO text into
// std::map<std::string, std::string> (as collectors::ParseInfo does) against a sorted vector of
// string_view pairs into the reply text. Not built by CMake; run by hand:
//   c++ -std=c++20 -O2 bench/micro/info_parse.cpp -o /tmp/info_parse
//   /tmp/info_parse tests/fixtures/info-replica.resp
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

using FieldMap = std::map<std::string, std::string, std::less<>>;
static std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  return s;
}
template <class F> static void Lines(std::string_view text, F f) {
  while (!text.empty()) {
    auto eol = text.find('\n');
    std::string_view line = Trim(text.substr(0, eol));
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    if (line.empty() || line.front() == '#') continue;
    auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) continue;
    f(line.substr(0, colon), line.substr(colon + 1));
  }
}
static FieldMap AsMap(std::string_view t) {
  FieldMap out;
  Lines(t, [&](std::string_view k, std::string_view v) { out.insert_or_assign(std::string(k), std::string(v)); });
  return out;
}
using Flat = std::vector<std::pair<std::string_view, std::string_view>>;
static Flat AsFlat(std::string_view t) {
  Flat out;
  out.reserve(160);
  Lines(t, [&](std::string_view k, std::string_view v) { out.emplace_back(k, v); });
  std::stable_sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.first < b.first; });
  return out;
}
int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: info_parse FIXTURE.resp\n");
    return 2;
  }
  std::ifstream in(argv[1]);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string raw = ss.str();
  // The fixture is RESP: skip the $LEN line.
  std::string text = raw.substr(raw.find('\n') + 1);
  const int nodes = 60;
  auto run = [&](auto fn, const char* name) {
    std::vector<double> t;
    size_t fields = 0;
    for (int r = 0; r < 50; ++r) {
      auto a = std::chrono::steady_clock::now();
      for (int n = 0; n < nodes; ++n) fields = fn(text).size();
      auto b = std::chrono::steady_clock::now();
      t.push_back(std::chrono::duration<double, std::milli>(b - a).count());
    }
    std::sort(t.begin(), t.end());
    std::printf("%-48s median %.3f ms for %d nodes (%zu fields each, %zu bytes)\n", name, t[t.size() / 2], nodes, fields, text.size());
  };
  run(AsMap, "std::map<string,string> (collectors::ParseInfo)");
  run(AsFlat, "sorted vector<string_view pair> over the reply");
}
