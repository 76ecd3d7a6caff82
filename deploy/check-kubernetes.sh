#!/usr/bin/env bash
# ctest "deploy: kubernetes manifests": every YAML document under deploy/kubernetes parses, and
# every manifest has a known kind with its apiVersion, a DNS-1123 name, no namespace, selectors
# that match their pods, Service/ServiceMonitor ports that exist, a non-root read-only pod whose
# password comes from a Secret file. Offline: no cluster, no kubectl. (Whether the PrometheusRule
# is up to date with the rule file: check-prometheusrule.sh.)
set -euo pipefail
check_name=check-kubernetes
# shellcheck source=deploy/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_tool node nodejs
need_lint_tools
cd "$root"
mapfile -t all < <(find deploy/kubernetes -type f \( -name '*.yaml' -o -name '*.yml' \) | sort)
node "$lint_dir/validate.mjs" yaml "${all[@]}" || fail "YAML (above)"
manifests=()
for f in "${all[@]}"; do
  case "$f" in
    */prometheus-scrape-config.yaml) ;; # a Prometheus config, checked by promtool
    */prometheusrule.yaml) present rules/redis_sentinel.rules.yml && manifests+=("$f") ;;
    *) manifests+=("$f") ;;
  esac
done
node "$lint_dir/validate.mjs" kubernetes "${manifests[@]}" || fail "manifests (above)"
log "ok"
