#include "http/runbook.h"

#include <string>

namespace rse::http {
namespace {

// Inline style only: the page must render where the exporter runs, with no network access,
// and under a Content-Security-Policy that forbids scripts.
constexpr std::string_view kHead =
    "<!DOCTYPE html>\n"
    "<html lang=\"en\">\n"
    "<head>\n"
    "<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>Runbook: Redis Sentinel alerts</title>\n"
    "<style>\n"
    "body{font-family:system-ui,sans-serif;line-height:1.5;max-width:52rem;margin:0 auto;"
    "padding:1rem 1.5rem;color:#1b1f23;background:#fff}\n"
    "h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2.5rem;border-bottom:1px solid #d0d7de;"
    "scroll-margin-top:1rem}\n"
    "h2:target{background:#fff3c4}\n"
    "code,pre{font-family:ui-monospace,monospace;font-size:.9em;background:#f3f4f6;border-radius:3px}\n"
    "code{padding:.1em .3em}pre{padding:.6rem .8rem;overflow-x:auto}pre code{padding:0;background:none}\n"
    "a[href]{color:#0550ae}\n"
    "</style>\n"
    "</head>\n"
    "<body>\n"
    "<main>\n";
constexpr std::string_view kTail = "</main>\n</body>\n</html>\n";

}  // namespace

std::string_view RunbookHtml() {
  static const std::string page = [] {
    std::string s;
    s.reserve(kHead.size() + detail::kRunbookBody.size() + kTail.size());
    s.append(kHead).append(detail::kRunbookBody).append(kTail);
    return s;
  }();
  return page;
}

}  // namespace rse::http
