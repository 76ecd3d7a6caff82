#!/usr/bin/env bash
# ctest "deploy: grafana provisioning and dashboard": the provisioning files of the compose stack
# parse (YAML) and are complete (a Prometheus datasource at http://prometheus:9090, a file
# provider reading the directory the dashboard is mounted into); the dashboard
# (dashboards/redis-sentinel.json, skipped with a message while absent) is JSON with a title,
# uid and panels whose queries name the provisioned datasource or a datasource variable.
set -euo pipefail
check_name=check-grafana
# shellcheck source=deploy/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_tool node nodejs
need_lint_tools
cd "$root"
mapfile -t yamls < <(find compose/grafana/provisioning -type f \( -name '*.yml' -o -name '*.yaml' \) | sort)
[ "${#yamls[@]}" -ge 2 ] || fail "expected datasource and dashboard provisioning files under compose/grafana/provisioning"
node "$lint_dir/validate.mjs" yaml "${yamls[@]}" || fail "provisioning YAML (above)"
if present dashboards/redis-sentinel.json; then
  node "$lint_dir/validate.mjs" json dashboards/redis-sentinel.json || fail "dashboard JSON (above)"
fi
node "$lint_dir/validate.mjs" grafana "$root" || fail "see above"
log "ok"
