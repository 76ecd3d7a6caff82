#!/usr/bin/env bash
# ctest "deploy: prometheus and alertmanager configs": compose/prometheus/prometheus.yml passes
# `promtool check config` together with the rule file it loads (rules/redis_sentinel.rules.yml;
# while that file is absent, against an empty stand-in, said so), the sharded scrape config of
# deploy/kubernetes/sharding/ passes too, and compose/alertmanager/alertmanager.yml passes
# `amtool check-config`.
set -euo pipefail
check_name=check-monitoring-configs
# shellcheck source=deploy/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_tool promtool prometheus
need_tool amtool prometheus-alertmanager
make_tmp

# The compose Prometheus reads rules/ relative to its config (mounted at /etc/prometheus).
mkdir -p "$tmp/prometheus/rules"
cp "$root/compose/prometheus/prometheus.yml" "$tmp/prometheus/"
mapfile -t rule_refs < <(sed -n '/^rule_files:/,/^[^ ]/{s/^  - \(.*\)$/\1/p}' "$tmp/prometheus/prometheus.yml")
if [ "${#rule_refs[@]}" -ne 1 ] || [ "${rule_refs[0]}" != rules/redis_sentinel.rules.yml ]; then
  fail "prometheus.yml must load exactly rules/redis_sentinel.rules.yml (found: ${rule_refs[*]:-none})"
fi
if present rules/redis_sentinel.rules.yml; then
  ln -s "$root/rules/redis_sentinel.rules.yml" "$tmp/prometheus/rules/redis_sentinel.rules.yml"
else
  printf 'groups: []\n' >"$tmp/prometheus/rules/redis_sentinel.rules.yml"
fi
promtool check config "$tmp/prometheus/prometheus.yml" >&2 || fail "promtool check config: compose/prometheus/prometheus.yml"

# Every job the rule file's exporter-down alert expects exists (job names redis_sentinel*).
grep -q 'job_name: redis_sentinel$' "$tmp/prometheus/prometheus.yml" ||
  fail "compose/prometheus/prometheus.yml has no job redis_sentinel (the rule file's job name)"

sharded="$root/deploy/kubernetes/sharding/prometheus-scrape-config.yaml"
if [ -f "$sharded" ]; then
  promtool check config "$sharded" >&2 || fail "promtool check config: ${sharded#"$root"/}"
fi

am="$root/compose/alertmanager/alertmanager.yml"
amtool check-config "$am" >&2 || fail "amtool check-config: compose/alertmanager/alertmanager.yml"
# The example route: which receiver an alert of the rule file reaches.
route_of() { amtool config routes test --config.file="$am" "$@" 2>/dev/null; }
[ "$(route_of alertname=RedisNoMaster severity=critical master_name=aragora-master)" = redis-oncall-critical ] ||
  fail "a critical Redis alert does not reach redis-oncall-critical"
[ "$(route_of alertname=RedisReplicaLag severity=warning master_name=aragora-master)" = redis-oncall ] ||
  fail "a warning Redis alert does not reach redis-oncall"
[ "$(route_of alertname=Watchdog)" = default ] || fail "other alerts do not reach the default receiver"
log "amtool config routes test: critical -> redis-oncall-critical, warning -> redis-oncall, others -> default"
log "ok"
