#!/usr/bin/env bash
# Prints a rule file with every alert's runbook_url set to URL#AlertName, for operators who keep
# the runbook somewhere else than the exporter's own /runbook page (a wiki, say).
#
#   rules/render-runbook-urls.sh --runbook-url-base URL [FILE]
#
# FILE: rules/redis_sentinel.rules.yml (the default) or the PrometheusRule made from it,
# deploy/kubernetes/prometheus-operator/prometheusrule.yaml; the result goes to stdout and
# differs from FILE in the runbook_url lines only. The anchor is the alert's name exactly
# (https://wiki.example.com/redis-runbook#RedisNoMaster): give the runbook's sections those ids,
# or copy docs/runbook.md, whose headings are the alert names. URL may use the alert's labels
# as Prometheus templates: 'https://{{ $labels.instance }}/runbook' for exporters served over
# HTTPS. Exit status: 0 done, 1 FILE is not a rule file with one runbook_url per alert,
# 2 usage. Tested by rules/test-render-runbook-urls.sh (ctest label `rules`).
set -euo pipefail
usage() {
  echo "usage: render-runbook-urls.sh --runbook-url-base URL [FILE]" >&2
  exit 2
}
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
base=""
file="$root/rules/redis_sentinel.rules.yml"
while [ $# -gt 0 ]; do
  case "$1" in
    --runbook-url-base)
      [ $# -ge 2 ] || usage
      base="$2"
      shift 2
      ;;
    --runbook-url-base=*)
      base="${1#*=}"
      shift
      ;;
    -h | --help) usage ;;
    -*)
      echo "render-runbook-urls: unknown option $1" >&2
      usage
      ;;
    *)
      file="$1"
      shift
      [ $# -eq 0 ] || usage
      ;;
  esac
done
[ -n "$base" ] || usage
case "$base" in
  http://?* | https://?*) ;;
  *)
    echo "render-runbook-urls: --runbook-url-base must be an http:// or https:// URL" >&2
    exit 2
    ;;
esac
if [ "$base" != "$(printf '%s' "$base" | tr -d '[:cntrl:]')" ]; then
  echo "render-runbook-urls: --runbook-url-base must not contain control characters" >&2
  exit 2
fi
case "$base" in
  *'#'*)
    echo "render-runbook-urls: --runbook-url-base must not have a #fragment: the alert's name is appended as one" >&2
    exit 2
    ;;
esac
[ -f "$file" ] || {
  echo "render-runbook-urls: $file does not exist" >&2
  exit 1
}

# Line by line, so the file keeps its comments and layout: a runbook_url belongs to the alert
# named last. The value is written as a single-quoted YAML scalar (a quote doubled), which
# takes any URL, template braces and `#` included.
RSE_RUNBOOK_BASE="$base" awk '
  function fail(msg) { printf "render-runbook-urls: %s: %s\n", FILENAME, msg > "/dev/stderr"; failed = 1; exit 1 }
  BEGIN { base = ENVIRON["RSE_RUNBOOK_BASE"]; gsub(/\047/, "\047\047", base) }
  /^[[:space:]]*-[[:space:]]+(alert|record):/ {
    if (alert != "" && !linked) fail("alert " alert " has no runbook_url")
    alert = ""; linked = 0
    if ($2 == "alert:") { alert = $3; alerts++ }
  }
  /^[[:space:]]*runbook_url:/ {
    if (alert == "") fail("line " FNR ": a runbook_url outside an alert")
    if (linked) fail("alert " alert " has two runbook_url lines")
    match($0, /^[[:space:]]*/)
    print substr($0, 1, RLENGTH) "runbook_url: \047" base "#" alert "\047"
    linked = 1
    next
  }
  { print }
  END {
    if (failed) exit 1
    if (alert != "" && !linked) fail("alert " alert " has no runbook_url")
    if (alerts == 0) fail("no alerts found")
  }
' "$file"
