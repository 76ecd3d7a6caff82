# Renders docs/runbook.md to HTML with cmark and writes it into a C++ source file as a raw
# string, so the binary carries the page (http/runbook.h). Run by the build:
#   cmake -DCMARK=cmark -DMARKDOWN=docs/runbook.md -DOUTPUT=runbook_body.cpp -P http/runbook_embed.cmake
#
# cmark's default (safe) mode drops raw HTML and javascript: URLs from the markdown. Two edits
# of its output: every level-2 heading that is one word (an alert's name) gets that word as its
# id, the anchor the rule file's runbook_url names; links relative to the repository
# (../rules/...) lose their href, since the page is served alone and they would lead nowhere.
foreach(var CMARK MARKDOWN OUTPUT)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "runbook_embed.cmake: -D${var}= is required")
  endif()
endforeach()

execute_process(COMMAND ${CMARK} --validate-utf8 ${MARKDOWN}
  OUTPUT_VARIABLE html RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "runbook_embed.cmake: ${CMARK} ${MARKDOWN} failed (${rc}): ${err}")
endif()

string(REGEX REPLACE "<h2>([A-Za-z][A-Za-z0-9]*)</h2>" "<h2 id=\"\\1\">\\1</h2>" html "${html}")
string(REGEX REPLACE "<a href=\"[^\":#][^\":]*\"( title=\"[^\"]*\")?>" "<a>" html "${html}")

set(delimiter "rse_runbook")
string(FIND "${html}" ")${delimiter}\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "runbook_embed.cmake: ${MARKDOWN} contains the raw string's end marker )${delimiter}\"")
endif()

file(WRITE ${OUTPUT} "// Generated from docs/runbook.md by http/runbook_embed.cmake; do not edit.
#include \"http/runbook.h\"

namespace rse::http::detail {
const std::string_view kRunbookBody = R\"${delimiter}(${html})${delimiter}\";
}  // namespace rse::http::detail
")
