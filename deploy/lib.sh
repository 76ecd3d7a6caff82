# shellcheck shell=bash
# Helpers shared by the deployment checks (deploy/*.sh, run by ctest: deploy/tests.cmake).
# Source it; it sets `root` (the checkout) and `lint_bin` (the npm tools of deploy/lint).
# Exit codes of the checks: 0 pass, 1 fail, 77 skipped (ctest SKIP_RETURN_CODE).

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
lint_dir="$root/deploy/lint"
lint_bin="$lint_dir/node_modules/.bin"
export LC_ALL=C
# shellcheck source=scripts/lib/ports.sh
. "$root/scripts/lib/ports.sh"

# Files other people own (rules/redis_sentinel.rules.yml, dashboards/redis-sentinel.json): while
# one is absent, every check that reads it says so (present) and skips that file only.

check_name=${check_name:-$(basename "$0" .sh)}
log() { printf '%s: %s\n' "$check_name" "$*" >&2; }
fail() {
  printf '%s: FAIL: %s\n' "$check_name" "$*" >&2
  exit 1
}
skip() {
  printf '%s: SKIPPED: %s\n' "$check_name" "$*" >&2
  exit 77
}

# present FILE (relative to root): true if it exists; otherwise prints why it is skipped.
present() {
  if [ -e "$root/$1" ]; then return 0; fi
  printf '%s: SKIP %s: not in the checkout yet (its owner adds it); checked once it exists\n' \
    "$check_name" "$1" >&2
  return 1
}

need_tool() { # TOOL [package]
  command -v "$1" >/dev/null 2>&1 || fail "$1 not found (Debian package ${2:-$1}; run scripts/install-deps.sh)"
}

need_lint_tools() {
  if [ ! -x "$lint_bin/dockerfile-utils" ] || [ ! -f "$lint_dir/node_modules/yaml/package.json" ]; then
    fail "npm tools missing in deploy/lint/node_modules (run deploy/lint/install.sh)"
  fi
}

# A private temporary directory, removed on exit (with whatever cleanup the caller adds).
make_tmp() {
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/rse-deploy-XXXXXX")
  cleanup_hooks=("rm -rf -- '$tmp'")
  trap 'run_cleanup' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}
run_cleanup() {
  local rc=$? i
  for ((i = ${#cleanup_hooks[@]} - 1; i >= 0; i--)); do eval "${cleanup_hooks[i]}" || true; done
  exit "$rc"
}
on_exit() { cleanup_hooks+=("$1"); }

# stop_pid PID [SECONDS]: SIGTERM, wait (10 s by default), then SIGKILL.
stop_pid() {
  local pid=$1 grace=${2:-10} i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < grace * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# http_get PORT PATH: body of an HTTP GET to 127.0.0.1:PORT, bounded to 20 s; fails on non-200.
http_get() {
  curl --silent --show-error --fail --max-time 20 "http://127.0.0.1:$1$2"
}

# wait_listening LOGFILE SECONDS: the port the exporter logged ("msg=listening address=H:P").
wait_listening() {
  local log_file=$1 secs=$2 i port
  for ((i = 0; i < secs * 10; i++)); do
    port=$(sed -n 's/.*msg=listening address=[^ ]*:\([0-9][0-9]*\).*/\1/p' "$log_file" 2>/dev/null | head -n 1)
    if [ -n "$port" ]; then
      printf '%s\n' "$port"
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# count_samples TEXT METRIC VALUE: how many samples of METRIC have exactly VALUE.
count_samples() {
  awk -v m="$2" -v v="$3" '$1 ~ "^" m "({|$)" && $NF == v { n++ } END { print n + 0 }' <<<"$1"
}

# scrape_until_up PORT [WHY]: scrapes the exporter on PORT until it reports 3 Sentinels and 3
# data nodes up (10 s at most), else fails naming what is missing (WHY explains the data nodes).
metrics=""
scrape_until_up() {
  local i
  for ((i = 0; i < 50; i++)); do
    metrics=$(http_get "$1" /metrics) || fail "scrape of the exporter on port $1 failed"
    [ "$(count_samples "$metrics" redis_sentinel_up 1)" = 3 ] && [ "$(count_samples "$metrics" redis_up 1)" = 3 ] && return 0
    sleep 0.2
  done
  [ "$(count_samples "$metrics" redis_sentinel_up 1)" = 3 ] || fail "want 3 Sentinels up: $(grep '^redis_sentinel_up' <<<"$metrics")"
  fail "want 3 data nodes up${2:+ ($2)}: $(grep '^redis_up' <<<"$metrics")"
}

# stop_pids PID...: SIGTERM to all at once, then wait (10 s at most), then SIGKILL what is left.
stop_pids() {
  local pid i alive
  [ "$#" -gt 0 ] || return 0
  kill -TERM "$@" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    alive=0
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 1 ] || break
    sleep 0.1
  done
  kill -KILL "$@" 2>/dev/null || true
  for pid in "$@"; do wait "$pid" 2>/dev/null || true; done
}
