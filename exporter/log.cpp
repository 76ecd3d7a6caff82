#include "exporter/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdio>

#include "http/ascii.h"

namespace rse::log {
namespace {

std::atomic<bool> g_json{false};

void AppendJsonString(std::string& out, std::string_view s) {
  out += '"';
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (http::ControlLength(s, i) == 2) {  // C1: escaped like C0, for whoever reads the log in a terminal
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned char>(s[++i]));
      out += buf;
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

// logfmt: bare when the value has no space, quote, '=' or control character.
void AppendLogfmtValue(std::string& out, std::string_view s) {
  bool quote = s.empty();
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || http::ControlLength(s, i)) quote = true;
  }
  if (!quote) {
    out += s;
    return;
  }
  AppendJsonString(out, s);  // logfmt quoting uses the same escapes
}

}  // namespace

std::string JsonString(std::string_view s) {
  std::string out;
  AppendJsonString(out, s);
  return out;
}

std::string Render(bool json, std::string_view msg, std::span<const Field> fields) {
  std::string out;
  if (json) {
    out += "\"msg\":";
    AppendJsonString(out, msg);
    for (const auto& [k, v] : fields) {
      out += ',';
      AppendJsonString(out, k);
      out += ':';
      AppendJsonString(out, v);
    }
    return out;
  }
  out += "msg=";
  AppendLogfmtValue(out, msg);
  for (const auto& [k, v] : fields) {
    out += ' ';
    out += k;
    out += '=';
    AppendLogfmtValue(out, v);
  }
  return out;
}

void Setup(const std::string& level, const std::string& format) {
  auto logger = spdlog::stderr_logger_mt("redis_sentinel_exporter");
  const bool json = format == "json";
  g_json = json;
  if (json) {
    logger->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%v})", spdlog::pattern_time_type::utc);
  } else {
    logger->set_pattern("ts=%Y-%m-%dT%H:%M:%S.%eZ level=%l %v", spdlog::pattern_time_type::utc);
  }
  logger->set_level(spdlog::level::from_str(level == "warn" ? "warning" : level));
  logger->flush_on(spdlog::level::debug);
  spdlog::set_default_logger(logger);
}

void Write(Level level, std::string_view msg, std::span<const Field> fields) {
  // In the order of log::Level.
  static constexpr spdlog::level::level_enum kLevels[] = {spdlog::level::debug, spdlog::level::info,
                                                          spdlog::level::warn, spdlog::level::err};
  const auto l = kLevels[static_cast<int>(level)];
  auto logger = spdlog::default_logger_raw();
  if (!logger->should_log(l)) return;
  logger->log(l, "{}", Render(g_json, msg, fields));
}

}  // namespace rse::log
