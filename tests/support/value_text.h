#pragma once

// The exposition's value text the slow way, against which collectors::WriteValue is checked
// (unit tests, the info fuzz target): integers as integers, NaN and infinities by name, every
// other value as std::to_chars's shortest round-trip text. Header-only.

#include <charconv>
#include <cmath>
#include <string>

namespace rse::test {

inline std::string ReferenceValueText(double v) {
  char buf[64];
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::fabs(v) <= 9007199254740992.0 && v == std::trunc(v) && !(v == 0 && std::signbit(v))) {
    return std::string(buf, std::to_chars(buf, buf + sizeof buf, static_cast<long long>(v)).ptr);
  }
  return std::string(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

}  // namespace rse::test
