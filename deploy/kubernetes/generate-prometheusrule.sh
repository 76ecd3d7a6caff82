#!/usr/bin/env bash
# Writes prometheus-operator/prometheusrule.yaml from rules/redis_sentinel.rules.yml: the rule
# file's text, indented under `spec:`, so the PrometheusRule is always exactly the project's rules.
#   generate-prometheusrule.sh           regenerate the committed file
#   generate-prometheusrule.sh --check   exit 1 if the committed file is not up to date
#                                        (ctest "deploy: kubernetes PrometheusRule up to date")
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
rules="$root/rules/redis_sentinel.rules.yml"
out="$root/deploy/kubernetes/prometheus-operator/prometheusrule.yaml"
mode="write"
case "${1:-}" in
  --check) mode=check ;;
  "") ;;
  *)
    echo "usage: generate-prometheusrule.sh [--check]" >&2
    exit 2
    ;;
esac
[ -f "$rules" ] || {
  echo "generate-prometheusrule: $rules does not exist" >&2
  exit 1
}

generate() {
  cat <<'HEADER'
# GENERATED from rules/redis_sentinel.rules.yml by deploy/kubernetes/generate-prometheusrule.sh:
# do not edit; change the rule file and run the script (CI fails while this file is stale).
# If your Prometheus selects rules by label (kube-prometheus-stack: release=NAME), add it:
#   kubectl label prometheusrule redis-sentinel-exporter release=NAME
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: redis-sentinel-exporter
  labels:
    app.kubernetes.io/name: redis-sentinel-exporter
    app.kubernetes.io/component: exporter
spec:
HEADER
  # Document markers dropped; every non-empty line indented by two spaces (block scalars keep
  # their relative indentation, so their text is unchanged).
  sed -e '/^---[[:space:]]*$/d' -e '/^\.\.\.[[:space:]]*$/d' -e 's/^\(.\)/  \1/' -- "$rules"
}

if [ "$mode" = check ]; then
  if ! [ -f "$out" ]; then
    echo "generate-prometheusrule: ${out#"$root"/} is missing: run deploy/kubernetes/generate-prometheusrule.sh" >&2
    exit 1
  fi
  if ! diff -u "$out" <(generate) >&2; then
    echo "generate-prometheusrule: ${out#"$root"/} is stale (diff above): run deploy/kubernetes/generate-prometheusrule.sh" >&2
    exit 1
  fi
  echo "generate-prometheusrule: ${out#"$root"/} is up to date"
  exit 0
fi
generate >"$out.tmp"
mv -f "$out.tmp" "$out"
echo "generate-prometheusrule: wrote ${out#"$root"/}"
