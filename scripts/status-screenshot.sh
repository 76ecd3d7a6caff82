#!/usr/bin/env bash
# Renders docs/img/status.png: starts a local topology (scripts/topology.sh) and the exporter on
# 127.0.0.1, waits until the status page shows the group settled, takes a headless Chromium
# screenshot of /status, and stops everything it started.
#
# Environment: BUILD_DIR (default build), STATUS_BASE_PORT (first Redis port, default 17300),
#              STATUS_PORT (exporter port, default 9366), OUT (default docs/img/status.png).
set -euo pipefail
prog=status-screenshot
# shellcheck source=lib/base.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/base.sh"
# shellcheck source=lib/topology-env.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/topology-env.sh"
root=$rse_root
build="${BUILD_DIR:-$root/build}"
base_port="${STATUS_BASE_PORT:-17300}"
port="${STATUS_PORT:-9366}"
out="${OUT:-$root/docs/img/status.png}"
url="http://127.0.0.1:$port/status"

work="$(mktemp -d /tmp/rse-status-XXXXXX)"
exporter="" browser=""
stop_all() {
  # Chromium forks helpers: it runs in its own process group, killed as a whole.
  if [ -n "$browser" ]; then kill -KILL -- "-$browser" 2>/dev/null || true; fi
  if [ -n "$exporter" ]; then
    kill -TERM "$exporter" 2>/dev/null || true
    wait "$exporter" 2>/dev/null || true
  fi
  bash "$root/scripts/topology.sh" stop --dir "$work/topology" >/dev/null || true
  rm -rf "$work"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

(umask 077 && head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$work/password")
bash "$root/scripts/topology.sh" start --dir "$work/topology" --base-port "$base_port" \
  --password-file "$work/password" >"$work/topology.env"
read_topology_env <"$work/topology.env" || { echo "$prog: incomplete topology.env" >&2; exit 1; }

"$build/redis_sentinel_exporter" --sentinel.addr "$tenv_sentinel_hosts" --redis.password-file "$work/password" \
  --web.listen-address "127.0.0.1:$port" >"$work/exporter.log" 2>&1 &
exporter=$!

# Settled: the three Sentinels agree and both replicas are linked.
settled=0
for _ in $(seq 1 60); do
  page="$(curl -fsS --max-time 5 "$url" 2>/dev/null || true)"
  if grep -q '(named by 3 of 3 answering Sentinels; 3 known)' <<<"$page" && [ "$(grep -o 'link up</span>' <<<"$page" | wc -l)" -eq 2 ]; then
    settled=1
    break
  fi
  sleep 0.5
done
[ "$settled" -eq 1 ] || { echo "$prog: the status page did not settle; exporter log:" >&2; cat "$work/exporter.log" >&2; exit 1; }

mkdir -p "$(dirname "$out")"
setsid chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
  --hide-scrollbars --user-data-dir="$work/chromium" --screenshot="$out" --window-size=1200,900 "$url" \
  >"$work/chromium.log" 2>&1 &
browser=$!
for _ in $(seq 1 120); do
  kill -0 "$browser" 2>/dev/null || break
  sleep 0.5
done
kill -0 "$browser" 2>/dev/null && { echo "$prog: chromium did not finish within 60 s" >&2; exit 1; }
wait "$browser" || { echo "$prog: chromium failed:" >&2; cat "$work/chromium.log" >&2; exit 1; }
[ -s "$out" ] || { echo "$prog: no screenshot written" >&2; exit 1; }
echo "$prog: wrote $out"
