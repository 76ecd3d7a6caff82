#!/usr/bin/env bash
# The benchmark's smoke test (ctest label "bench", from bench/tests.cmake): bench/run --smoke
# at 1 group, then checks that the table and the raw numbers are there and sane. It does not
# check the performance targets: a loaded CI machine must not fail it.
#   smoke.sh --exporter PATH --loadgen PATH --floor PATH --out-dir DIR
set -euo pipefail
export LC_ALL=C
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

exporter="" loadgen="" floor="" out_dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --exporter) exporter=$2 ;;
    --loadgen) loadgen=$2 ;;
    --floor) floor=$2 ;;
    --out-dir) out_dir=$2 ;;
    *)
      echo "smoke.sh: unknown argument $1" >&2
      exit 3
      ;;
  esac
  shift 2
done
[ -n "$out_dir" ] || {
  echo "smoke.sh: --out-dir is required" >&2
  exit 3
}
mkdir -p -- "$out_dir"
md="$out_dir/latest.md" tsv="$out_dir/latest.tsv"
rm -f -- "$md" "$tsv"

args=(--smoke --out "$md")
[ -z "$exporter" ] || args+=(--exporter "$exporter")
[ -z "$loadgen" ] || args+=(--loadgen "$loadgen")
[ -z "$floor" ] || args+=(--floor "$floor")
start=$SECONDS
bash "$here/run" "${args[@]}" >"$out_dir/stdout" 2>"$out_dir/stderr" || {
  echo "FAIL: bench/run exited $?" >&2
  tail -n 30 "$out_dir/stderr" >&2
  exit 1
}
took=$((SECONDS - start))

failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
[ -s "$md" ] || fail "no table at $md"
[ -s "$tsv" ] || fail "no raw numbers at $tsv"
cmp -s "$md" "$out_dir/stdout" || fail "the printed table differs from the written one"

# The table: header, one row per metric, every measured cell a number, a targets line.
if [ -s "$md" ]; then
  grep -q '^| groups (nodes) | metric | ours | theirs | ours / theirs | target | result |$' "$md" ||
    fail "table header missing"
  rows=$(grep -c '^| 1 (6) |' "$md" || true)
  # One more where the kernel runs DAMON threads (kdamond): their CPU has a row of its own.
  want=24
  if grep -q "^| 1 (6) | · of which the kernel's DAMON threads" "$md"; then want=25; fi
  [ "$rows" -eq "$want" ] || fail "expected $want rows for 1 group, found $rows"
  # Ours and theirs are numbers, but for the rows that are not numbers and those only ours has.
  bad=$(awk -F'|' '/^\| 1 \(6\) \|/ && $3 !~ /views measured|nodes seen|other processes|connections open at least/ {
          last = ($3 ~ /one more view without gzip|the machine.s floor/) ? 4 : 5
          for (i = 4; i <= last; i++) { v = $i; gsub(/ /, "", v); if (v !~ /^-?[0-9]+(\.[0-9]+)?$/) print $3 ":" v } }' "$md")
  [ -z "$bad" ] || fail "non-numeric cells: $bad"
  results=$(grep -c '| \(PASS\|FAIL\) |$' "$md" || true)
  [ "$results" -eq 4 ] || fail "expected 4 PASS/FAIL verdicts at 1 group, found $results"
  grep -q '^Targets: [0-9]* PASS, [0-9]* FAIL\.$' "$md" || fail "no targets line"
fi

# The raw numbers: both exporters saw the whole topology, nothing failed, and the counters
# behave as the methods assume (redis_exporter opens one connection per target and view).
declare -A v=()
if [ -s "$tsv" ]; then
  while IFS=$'\t' read -r size key value; do
    [ "$size" = 1 ] && v[$key]=$value
  done <"$tsv"
fi
num() { awk -v x="${v[$1]:-}" -v lo="$2" -v hi="$3" 'BEGIN { exit !(x != "" && x + 0 >= lo && x + 0 <= hi) }'; }
check() { num "$1" "$2" "$3" || fail "$1 = '${v[$1]:-missing}', expected within [$2, $3]"; }
check nodes 6 6
check ours.up_nodes 3 3
check ours.up_sentinels 3 3
check theirs.up_targets 6 6
check ours.views 200 200
check theirs.views 10 10
check ours.failed_requests 0 0
check theirs.failed_requests 0 0
check ours.p50_ms 0.01 5000
check theirs.p50_ms 0.01 5000
check ours.p99_ms 0.01 5000
check floor.views 200 200
check ours.event_streams_up 3 3
check ours.idle_cpu_ms_per_s 0 1000
check theirs.idle_cpu_ms_per_s 0 1000
check floor.p50_ms 0.01 5000
check floor.p99_ms 0.01 5000
check ours.cpu_ms_per_view 0 1000
check theirs.cpu_ms_per_view 0.001 1000
check ours.hwm_kb 500 1000000
check theirs.hwm_kb 500 1000000
check theirs.conns_per_view 5 7
check ours.conns_per_view -1 6
check ours.new_conns -1000 1000
check theirs.raw_new_conns 50 70
check ours.cmds_per_view 1 1000
check theirs.cmds_per_view 1 1000
check ours.bytes_per_view 1000 100000000
check ours.hung_reported_down 1 1
check theirs.hung_reported_down 1 1
check ours.hung_max_ms 900 60000
# As Prometheus: gzip asked for and given, one kept-alive connection reused across views.
check ours.gzip_share 1 1
check theirs.gzip_share 1 1
check ours.connects_per_view 0 0.1
check theirs.connects_per_view 0 0.7
# The other HTTP modes, and views while idle and slowloris connections are held open.
check ours.close_identity.cpu_ms_per_view 0 1000
check theirs.close_identity.cpu_ms_per_view 0.001 1000
check ours.close_identity.failed_requests 0 0
check ours.keepalive_identity.failed_requests 0 0
check ours.close_gzip.failed_requests 0 0
check ours.hostile_views 10 10
check ours.hostile_failed_requests 0 0
check theirs.hostile_failed_requests 0 0
check ours.hostile_min_open 100 120
check ours.hostile_server_open 101 130
check ours.idle_conn_kib -1000 1000
check theirs.hung_max_ms 900 60000

if [ "$failures" -gt 0 ]; then
  echo "--- table:" >&2
  cat "$md" >&2 2>/dev/null || true
  echo "--- bench/run stderr (tail):" >&2
  tail -n 20 "$out_dir/stderr" >&2
  echo "bench smoke run: $failures problem(s)" >&2
  exit 1
fi
echo "bench smoke run: table sane after ${took}s"
