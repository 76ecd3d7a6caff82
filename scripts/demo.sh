#!/usr/bin/env bash
# Installs the dependencies, builds, starts a local Sentinel topology shaped like the runbook
# (master aragora-master, two replicas, three Sentinels, quorum 2, a password on every data
# node) from real redis-server and redis-sentinel processes on 127.0.0.1, and runs the
# exporter against it in the foreground. Ctrl-C stops the exporter and the whole topology.
#
# Environment: DEMO_BASE_PORT (first Redis port, default 17000),
#              DEMO_LISTEN (exporter address, default :9355).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
base_port="${DEMO_BASE_PORT:-17000}"
listen="${DEMO_LISTEN:-:9355}"

bash "$root/scripts/install-deps.sh"
bash "$root/scripts/build.sh"

work="$(mktemp -d /tmp/rse-demo-XXXXXX)"
stop_all() {
  bash "$root/scripts/topology.sh" stop --dir "$work/topology" || true
  rm -rf "$work"
}
trap stop_all EXIT
trap 'exit 130' INT TERM
trap '' PIPE # a closed terminal or pager must not cut the cleanup short

# A fresh random password for the data nodes, only ever in mode-600 files.
(umask 077 && head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$work/password")

bash "$root/scripts/topology.sh" start --dir "$work/topology" --base-port "$base_port" \
  --password-file "$work/password" >"$work/topology.env"
# shellcheck disable=SC1091
. "$work/topology.env"

port="${listen##*:}"
cat <<MSG

  Topology: master group ${REDIS_SENTINEL_MASTER}, data nodes on ports ${TOPOLOGY_DATA_PORTS},
            Sentinels ${REDIS_SENTINEL_HOSTS}
  Exporter: metrics at http://localhost:${port}/metrics, landing page http://localhost:${port}/
  Ctrl-C stops the exporter and every Redis and Sentinel process started here.

  Status page: http://localhost:${port}/status

MSG
REDIS_SENTINEL_HOSTS="$REDIS_SENTINEL_HOSTS" REDIS_SENTINEL_MASTER="$REDIS_SENTINEL_MASTER" \
  "$build/redis_sentinel_exporter" --redis.password-file "$work/password" --web.listen-address "$listen" &
exporter=$!
# Forward Ctrl-C / TERM to the exporter, wait for it, then the EXIT trap stops the topology.
trap 'kill -TERM "$exporter" 2>/dev/null || true' INT TERM
wait "$exporter" || true
wait "$exporter" 2>/dev/null || true
