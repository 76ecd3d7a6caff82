#pragma once

#include <string_view>

namespace rse::http {

// The alert runbook (docs/runbook.md, rendered by cmark when the binary is built) as a complete
// HTML document: an inline stylesheet, no scripts, no external assets, and one element per
// alert whose id is the alert's name, so `/runbook#RedisNoMaster` opens that section. The
// view stays valid for the life of the program.
std::string_view RunbookHtml();

namespace detail {
// The rendered body, defined in the generated runbook_body.cpp (http/runbook_embed.cmake).
extern const std::string_view kRunbookBody;
}  // namespace detail

}  // namespace rse::http
