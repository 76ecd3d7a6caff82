#!/usr/bin/env bash
# ctest "deploy: kubernetes PrometheusRule up to date": the committed
# deploy/kubernetes/prometheus-operator/prometheusrule.yaml is exactly what
# deploy/kubernetes/generate-prometheusrule.sh makes from rules/redis_sentinel.rules.yml, and
# parsed, its spec.groups equal the rule file's groups (the generator's text transform is exact).
# Skipped (exit 77) while the rule file does not exist yet.
set -euo pipefail
check_name=check-prometheusrule
# shellcheck source=deploy/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
present rules/redis_sentinel.rules.yml || skip "rules/redis_sentinel.rules.yml is not in the checkout yet"
"$root/deploy/kubernetes/generate-prometheusrule.sh" --check || fail "see above"
need_tool node nodejs
need_lint_tools
node "$lint_dir/validate.mjs" prometheusrule "$root/rules/redis_sentinel.rules.yml" \
  "$root/deploy/kubernetes/prometheus-operator/prometheusrule.yaml" || fail "see above"
log "ok"
