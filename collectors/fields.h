#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/metrics.h"
#include "model/parse.h"
#include "model/snapshot.h"

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

// Calls fn(labels, entry, where) for each entry of a list every answering Sentinel gave per
// master (`list`: &MasterView::replicas or &MasterView::sentinels). `labels` holds sentinel,
// master_name and `key` set to the entry's address; `where` names the entry for problems. An
// entry without a valid ip/port is a problem, named `what`, and skipped.
template <typename Fn>
void ForEachListed(const Snapshot& snapshot, std::optional<std::vector<FieldMap>> MasterView::*list,
                   std::string_view what, std::string_view key, std::vector<std::string>& problems, Fn&& fn) {
  for (const auto& s : snapshot.sentinels) {
    if (!s.up()) continue;
    const std::string sentinel = s.label();
    for (const auto& m : s.masters) {
      if (!(m.*list)) continue;
      const std::string prefix = "sentinel " + sentinel + " master " + m.name;
      // The Sentinel's and the master's pairs once; each entry's after them.
      Labels labels{{"sentinel", sentinel}, {"master_name", m.name}};
      const size_t master_mark = labels.size();
      for (const FieldMap& entry : *(m.*list)) {
        auto addr = AddressOf(entry);
        if (!addr) {
          problems.push_back(prefix + ": " + std::string(what) + " without a valid ip/port");
          continue;
        }
        const std::string label = addr->ToString();
        labels.Truncate(master_mark);
        labels.Add(key, label);
        fn(labels, entry, prefix + " " + std::string(what) + " " + label);
      }
    }
  }
}

}  // namespace rse::collectors
