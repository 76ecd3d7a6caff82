#!/usr/bin/env bash
# ctest "deploy: image healthcheck": packaging/docker-healthcheck.sh, the image's HEALTHCHECK,
# against the real exporter binary on 127.0.0.1: exit 0 while it serves /-/healthy, non-zero
# when nothing listens. Usage: check-healthcheck.sh EXPORTER_BINARY
set -euo pipefail
check_name=check-healthcheck
# shellcheck source=deploy/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
binary=${1:?usage: check-healthcheck.sh EXPORTER_BINARY}
[ -x "$binary" ] || fail "$binary is not executable (build first)"
hc="$root/packaging/docker-healthcheck.sh"
make_tmp
env -u REDIS_SENTINEL_HOSTS -u REDIS_SENTINEL_MASTER -u REDIS_PASSWORD \
  "$binary" --web.listen-address="127.0.0.1:$(free_test_port)" >"$tmp/exporter.log" 2>&1 &
pid=$!
on_exit "stop_pid $pid"
port=$(wait_listening "$tmp/exporter.log" 10) || fail "exporter did not start: $(cat "$tmp/exporter.log")"
HEALTHCHECK_PORT=$port timeout 10 "$hc" || fail "healthcheck failed against a serving exporter on port $port"
log "healthy exporter on port $port: exit 0"
stop_pid "$pid"
if HEALTHCHECK_PORT=$port timeout 10 "$hc" 2>"$tmp/hc.err"; then
  fail "healthcheck passed with nothing listening on port $port"
fi
log "nothing on port $port: $(cat "$tmp/hc.err")"
log "ok"
