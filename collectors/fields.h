#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/metrics.h"
#include "model/parse.h"

namespace rse::collectors {

// A field's value as a number, scaled (milliseconds -> seconds: 0.001). Missing (`raw` nullopt):
// nullopt, silently. Present but not a number: nullopt and a problem naming the field `name` and
// where it was found. For values already looked up (FieldNames::Lookup).
inline std::optional<double> NumberValue(std::optional<std::string_view> raw, std::string_view name,
                                         std::string_view where, std::vector<std::string>& problems,
                                         double scale = 1.0) {
  if (!raw) return std::nullopt;
  auto value = ParseNumber(*raw);
  if (!value) {
    problems.push_back(std::string(where) + ": field " + std::string(name) + " is not a number: '" + std::string(*raw) +
                       "'");
    return std::nullopt;
  }
  return *value * scale;
}

// The same for the field `name` of `fields`.
inline std::optional<double> NumberField(const FieldMap& fields, std::string_view name, std::string_view where,
                                         std::vector<std::string>& problems, double scale = 1.0) {
  return NumberValue(Field(fields, name), name, where, problems, scale);
}

inline double Bool(bool b) { return b ? 1.0 : 0.0; }

}  // namespace rse::collectors
