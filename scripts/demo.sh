#!/usr/bin/env bash
# Installs the dependencies, builds, starts a local Sentinel topology shaped like the runbook
# (master aragora-master, two replicas, three Sentinels, quorum 2, a password on every data
# node) from real redis-server and redis-sentinel processes on 127.0.0.1, and runs the
# exporter against it in the foreground. Ctrl-C stops the exporter and the whole topology.
#
# Usage: demo.sh [--prometheus]
#   --prometheus  also start Debian's Prometheus with rules/ loaded, scraping the exporter, so
#                 the alerts show at http://localhost:9090/alerts (DEMO_PROMETHEUS_LISTEN).
# Environment: DEMO_BASE_PORT (first Redis port, default 17000),
#              DEMO_LISTEN (exporter address, default :9355),
#              DEMO_PROMETHEUS_LISTEN (Prometheus address with --prometheus, default :9090).
set -euo pipefail
# shellcheck source=scripts/lib/base.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/base.sh"
root="$rse_root"
build="${BUILD_DIR:-$root/build}"
base_port="${DEMO_BASE_PORT:-17000}"
listen="${DEMO_LISTEN:-:9355}"
prometheus_listen="${DEMO_PROMETHEUS_LISTEN:-:9090}"
with_prometheus=0
script_usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; }
script_option() { # NAME VALUE
  case "$1" in
    --prometheus) with_prometheus=1 ;;
    *) return 1 ;;
  esac
}
flag_options="--prometheus"
parse_options "$@"

bash "$root/scripts/install-deps.sh"
bash "$root/scripts/build.sh"

work="$(mktemp -d /tmp/rse-demo-XXXXXX)"
prometheus_pid=""
stop_all() {
  if [ -n "$prometheus_pid" ]; then kill -TERM "$prometheus_pid" 2>/dev/null || true; wait "$prometheus_pid" 2>/dev/null || true; fi
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
prometheus_line=""
if [ "$with_prometheus" -eq 1 ]; then
  command -v prometheus >/dev/null || die "$EX_FAILED" "prometheus is not installed (apt-get install prometheus)"
  mkdir -p "$work/prometheus"
  # The scrape target is this exporter; the rules are the repository's own, as shipped.
  cat >"$work/prometheus/prometheus.yml" <<YML
global: {scrape_interval: 15s, evaluation_interval: 15s}
rule_files: ["$root/rules/redis_sentinel.rules.yml"]
scrape_configs:
  - job_name: redis_sentinel
    static_configs: [{targets: ["127.0.0.1:${port}"]}]
YML
  prometheus --config.file="$work/prometheus/prometheus.yml" --storage.tsdb.path="$work/prometheus/data" \
    --web.listen-address="$prometheus_listen" >"$work/prometheus/log" 2>&1 &
  prometheus_pid=$!
  prometheus_line="  Prometheus: alerts at http://localhost:${prometheus_listen##*:}/alerts (rules/ loaded; log in $work/prometheus/log)"
fi

cat <<MSG

  Status page: http://localhost:${port}/status

  Topology: master group ${REDIS_SENTINEL_MASTER}, data nodes on ports ${TOPOLOGY_DATA_PORTS},
            Sentinels ${REDIS_SENTINEL_HOSTS}
  Exporter: metrics at http://localhost:${port}/metrics, landing page http://localhost:${port}/
${prometheus_line}
  Ctrl-C stops the exporter and every Redis and Sentinel process started here.

MSG
REDIS_SENTINEL_HOSTS="$REDIS_SENTINEL_HOSTS" REDIS_SENTINEL_MASTER="$REDIS_SENTINEL_MASTER" \
  "$build/redis_sentinel_exporter" --redis.password-file "$work/password" --web.listen-address "$listen" &
exporter=$!
# Forward Ctrl-C / TERM to the exporter, wait for it, then the EXIT trap stops the topology.
trap 'kill -TERM "$exporter" 2>/dev/null || true' INT TERM
wait "$exporter" || true
wait "$exporter" 2>/dev/null || true
