#!/usr/bin/env bash
# ctest "rules: render-runbook-urls rebases every runbook_url": rules/render-runbook-urls.sh on the
# rule file and on the PrometheusRule. Every alert gets BASE#AlertName and nothing else changes;
# the rendered PrometheusRule is the one generate-prometheusrule.sh makes from the rendered rule
# file; Prometheus loads the result and expands a templated, quoted base (promtool); a file with
# an alert lacking its runbook_url and a malformed base are refused.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
render="$root/rules/render-runbook-urls.sh"
rules="$root/rules/redis_sentinel.rules.yml"
prometheusrule="$root/deploy/kubernetes/prometheus-operator/prometheusrule.yaml"
tmp="$(mktemp -d /tmp/rse-render-runbook-XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
fail() {
  echo "test-render-runbook-urls: FAIL: $*" >&2
  exit 1
}
# "ALERT URL" per alert, in file order.
links() {
  awk '/^[[:space:]]*- alert:/ { a = $3 }
       /^[[:space:]]*runbook_url:/ { v = $0; sub(/^[[:space:]]*runbook_url:[[:space:]]*/, "", v); print a, v }' "$1"
}
base="https://wiki.example.com/ops/redis-sentinel"

# The rule file.
"$render" --runbook-url-base "$base" "$rules" >"$tmp/rules.yml"
promtool check rules "$tmp/rules.yml" >/dev/null || fail "promtool rejects the rendered rule file"
alerts="$(awk '/^[[:space:]]*- alert:/ { print $3 }' "$rules")"
[ "$(wc -l <<<"$alerts")" -ge 18 ] || fail "expected at least 18 alerts in $rules"
diff <(awk -v b="$base" '{ print $0, "\047" b "#" $0 "\047" }' <<<"$alerts") <(links "$tmp/rules.yml") >&2 ||
  fail "rendered rule file: not one runbook_url BASE#Alert per alert (diff above)"
diff <(grep -v 'runbook_url:' "$rules") <(grep -v 'runbook_url:' "$tmp/rules.yml") >&2 ||
  fail "rendered rule file: lines other than runbook_url changed (diff above)"

# The PrometheusRule: rendering it equals deriving it from the rendered rule file.
"$render" --runbook-url-base "$base" "$prometheusrule" >"$tmp/prometheusrule.yaml"
diff <(sed '/^spec:$/q' "$prometheusrule") <(sed '/^spec:$/q' "$tmp/prometheusrule.yaml") >&2 ||
  fail "rendered PrometheusRule: its header changed"
diff <(sed -e '/^[[:space:]]*---[[:space:]]*$/d' "$tmp/rules.yml") \
  <(sed -e '1,/^spec:$/d' -e 's/^  //' "$tmp/prometheusrule.yaml") >&2 ||
  fail "rendered PrometheusRule is not the rendered rule file under spec: (diff above)"

# A base with a template and a quote: Prometheus expands it per alert.
"$render" --runbook-url-base "https://{{ \$labels.instance }}/team's-runbook" "$rules" >"$tmp/templated.yml"
cat >"$tmp/templated.test.yml" <<'EOF'
rule_files:
  - templated.yml
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'redis_up{job="redis_sentinel",instance="exporter:9355",master_name="mymaster",addr="10.0.0.2:6379"}'
        values: '0x3'
    alert_rule_test:
      - eval_time: 2m
        alertname: RedisNodeDown
        exp_alerts:
          - exp_labels: {severity: warning, job: redis_sentinel, instance: "exporter:9355", master_name: mymaster, addr: "10.0.0.2:6379"}
            exp_annotations:
              summary: 'Master group mymaster: data node 10.0.0.2:6379 is down'
              description: >-
                Data node 10.0.0.2:6379 of master group mymaster has not answered the exporter
                exporter:9355 for 1 minute (the exporter's log gives the cause: refused, timeout,
                auth, ...).
              runbook_url: "https://exporter:9355/team's-runbook#RedisNodeDown"
EOF
(cd "$tmp" && promtool test rules templated.test.yml >&2) || fail "the templated base did not render as expected"

# Refusals.
expect_status() {
  local want="$1"
  shift
  local got=0
  "$render" "$@" >/dev/null 2>"$tmp/err" || got=$?
  [ "$got" = "$want" ] || fail "render-runbook-urls $* exited $got, expected $want ($(cat "$tmp/err"))"
}
grep -v 'runbook_url:.*#RedisNoMaster' "$rules" >"$tmp/missing.yml"
expect_status 1 --runbook-url-base "$base" "$tmp/missing.yml"
grep -q 'RedisNoMaster has no runbook_url' "$tmp/err" || fail "the missing runbook_url is not named: $(cat "$tmp/err")"
expect_status 1 --runbook-url-base "$base" "$tmp/does-not-exist.yml"
expect_status 2 "$rules"
expect_status 2 --runbook-url-base wiki.example.com "$rules"
expect_status 2 --runbook-url-base "$base#section" "$rules"
expect_status 2 --runbook-url-base "$(printf 'https://a.example.com/\nb')" "$rules"
echo "test-render-runbook-urls: ok"
