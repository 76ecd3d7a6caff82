#pragma once

#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace rse::log {

// Structured log lines: a message plus key=value fields, rendered as logfmt or JSON.
// Callers never pass a secret: fields hold addresses, causes and server error text.
using Field = std::pair<std::string_view, std::string_view>;
using Fields = std::initializer_list<Field>;

// Sets up the default spdlog logger on stderr. format: "logfmt" or "json".
void Setup(const std::string& level, const std::string& format);

// spdlog stays inside log.cpp: its header-only build (with fmt's) costs seconds of compile
// time in every file that includes it.
enum class Level { kDebug, kInfo, kWarn, kError };

void Write(Level level, std::string_view msg, std::span<const Field> fields = {});
inline void Write(Level level, std::string_view msg, Fields fields) {
  Write(level, msg, std::span<const Field>(fields.begin(), fields.size()));
}
inline void Debug(std::string_view msg, Fields f = {}) { Write(Level::kDebug, msg, f); }
inline void Info(std::string_view msg, Fields f = {}) { Write(Level::kInfo, msg, f); }
inline void Warn(std::string_view msg, Fields f = {}) { Write(Level::kWarn, msg, f); }
inline void Error(std::string_view msg, Fields f = {}) { Write(Level::kError, msg, f); }

// A JSON string literal, quotes included.
std::string JsonString(std::string_view s);

// Renders the part after timestamp and level (exposed for tests).
std::string Render(bool json, std::string_view msg, std::span<const Field> fields);
inline std::string Render(bool json, std::string_view msg, Fields fields) {
  return Render(json, msg, std::span<const Field>(fields.begin(), fields.size()));
}

}  // namespace rse::log
