#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/metrics.h"
#include "model/parse.h"

namespace rse::collectors {

// A numeric field, scaled (milliseconds -> seconds: 0.001). Missing: nullopt, silently.
// Present but not a number: nullopt and a problem naming where it was found.
inline std::optional<double> NumberField(const FieldMap& fields, std::string_view name, std::string_view where,
                                         std::vector<std::string>& problems, double scale = 1.0) {
  auto raw = Field(fields, name);
  if (!raw) return std::nullopt;
  auto value = ParseNumber(*raw);
  if (!value) {
    problems.push_back(std::string(where) + ": field " + std::string(name) + " is not a number: '" + std::string(*raw) +
                       "'");
    return std::nullopt;
  }
  return *value * scale;
}

inline double Bool(bool b) { return b ? 1.0 : 0.0; }

}  // namespace rse::collectors
