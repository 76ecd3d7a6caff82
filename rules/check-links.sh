#!/usr/bin/env bash
# ctest "rules: no link leads to a made-up host": every http(s) URL in the repository's files
# (alert runbook_url values, docs, README, dashboards, deploy examples, scripts) names a host
# that exists, and every relative link of a markdown file names a file that exists.
#
#   rules/check-links.sh [FILE...]     default: every file git tracks (or, without git, every
#                                      file under the checkout but build trees)
#
# A host passes when it is
#   - not a public name: an IP address, localhost, a name without a dot (a compose or
#     Kubernetes service such as `exporter:9355`), a reserved or cluster-internal domain
#     (example.com, *.example, *.test, *.invalid, *.local, *.internal, *.svc), or a template
#     or placeholder (`{{ $labels.instance }}`, `$port`, `EXPORTER`);
#   - or one of the public hosts below; on github.com only the organisations listed.
# Anything else fails, with file and line: add a host here only once it is known to exist.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export LC_ALL=C

public_hosts=(prometheus.io redis.io grafana.com kubernetes.io www.debian.org debian.org
  packages.debian.org docs.docker.com www.w3.org)
github_orgs=(prometheus prometheus-operator prometheus-community redis oliver006 grafana jupp0r
  civetweb gabime jarro2783 doctest nlohmann jbeder sewenew google kubernetes)

if [ $# -gt 0 ]; then
  files=()
  for f in "$@"; do files+=("$(realpath -m -- "$f")"); done
  cd "$root"
elif cd "$root" && git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files)
else
  mapfile -t files < <(find . -type f -not -path './.git/*' -not -path './build*' \
    -not -path '*/node_modules/*' -printf '%P\n' | sort)
fi

in_list() {
  local x="$1" e
  shift
  for e in "$@"; do [ "$x" = "$e" ] && return 0; done
  return 1
}

# Whether URL (scheme://host[:port][/path]) leads to a host that exists, or to no public host.
url_ok() {
  local url="$1" rest host path
  rest="${url#*://}"
  host="${rest%%[/?#]*}"
  path="${rest:${#host}}"
  host="${host##*@}"
  host="${host%:*}"
  # Templates and placeholders ({{ ... }}, $port, %s, EXPORTER) stand for a host given later.
  [[ "$host" =~ ^[a-z0-9.-]+$ ]] || return 0
  [[ "$host" == *.* ]] || return 0
  [[ "$host" =~ ^[0-9.]+$ ]] && return 0
  case "$host" in
    example.com | example.net | example.org | *.example.com | *.example.net | *.example.org) return 0 ;;
    *.example | *.test | *.invalid | *.localhost | *.local | *.internal | *.svc) return 0 ;;
    github.com)
      local org="${path#/}"
      org="${org%%[/?#]*}"
      [ -z "$org" ] || in_list "$org" "${github_orgs[@]}"
      return
      ;;
  esac
  in_list "$host" "${public_hosts[@]}"
}

scan=()
for f in "${files[@]}"; do
  case "$f" in
    package-lock.json | */package-lock.json) ;; # the npm registry's own records
    *) [ -f "$f" ] && scan+=("$f") ;;
  esac
done

failures=0
checked=0
# file:line:url for every URL of every text file (-I skips binary files).
while IFS= read -r hit; do
  f="${hit%%:*}"
  rest="${hit#*:}"
  line="${rest%%:*}"
  url="${rest#*:}"
  checked=$((checked + 1))
  if ! url_ok "$url"; then
    echo "check-links: $f:$line: $url: not a host known to exist" >&2
    failures=$((failures + 1))
  fi
done < <([ ${#scan[@]} -eq 0 ] || printf '%s\0' "${scan[@]}" | xargs -0 grep -HInoE "https?://[^][:space:]<>\"'\`()]+" -- || true)

# Relative links of markdown files: the file they name exists.
md=()
for f in "${scan[@]}"; do [[ "$f" == *.md ]] && md+=("$f"); done
while IFS= read -r hit; do
  f="${hit%%:*}"
  rest="${hit#*:}"
  line="${rest%%:*}"
  target="${rest#*:](}"
  target="${target%)}"
  target="${target%%#*}"
  case "$target" in '' | *://* | mailto:*) continue ;; esac
  checked=$((checked + 1))
  if [ ! -e "$(dirname "$f")/$target" ]; then
    echo "check-links: $f:$line: $target: no such file" >&2
    failures=$((failures + 1))
  fi
done < <([ ${#md[@]} -eq 0 ] || printf '%s\0' "${md[@]}" | xargs -0 grep -HnoE '\]\([^)[:space:]]+\)' -- || true)

if [ "$failures" -gt 0 ]; then
  echo "check-links: FAIL: $failures of $checked links lead nowhere" >&2
  exit 1
fi
echo "check-links: ok ($checked links in ${#files[@]} files)"
