#pragma once

// The release and the git revision this binary was built from: defined in the version.cpp that
// CMake writes from exporter/version.cpp.in, the one file rebuilt when the revision changes.

namespace rse {
extern const char* const kVersion;
extern const char* const kRevision;
}  // namespace rse
