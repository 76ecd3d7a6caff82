#!/usr/bin/env bash
# Manual failover of one Sentinel master group: SENTINEL FAILOVER, then wait (bounded) until
# every reachable Sentinel names the new master and every other node is its linked replica.
# Refuses to start unless the exporter's `check` says the group is healthy.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

timeout_s=60

script_usage() {
  cat <<'EOF'
Usage: manual-failover.sh [OPTIONS]

Moves the master of one Sentinel master group to a replica, the way Sentinel does it:
  1. refuses unless `redis_sentinel_exporter check` exits 0 (healthy), changing nothing;
  2. records the master every reachable Sentinel names (they must agree);
  3. SENTINEL FAILOVER on the first Sentinel that accepts it;
  4. waits until every reachable Sentinel names one new master that reports role:master;
  5. waits until every other node, the old master included, is its replica with the
     link up and a lag of at most --check.max-lag-bytes;
  6. waits until `check` is healthy again.
Each wait is bounded by --timeout. The report (old and new master, timings) goes to
stdout, progress to stderr.

Options:
  --timeout S           bound of each wait (default 60)
EOF
  common_usage
  cat <<'EOF'

Exit status: 0 done, 1 a step failed or timed out (the message says which), 2 refused
(the topology was not healthy; nothing was changed), 3 usage or configuration error.

Example (the local topology of scripts/topology.sh):
  REDIS_SENTINEL_HOSTS=127.0.0.1:17003 REDIS_SENTINEL_MASTER=aragora-master \
  REDIS_PASSWORD_FILE=./password ops/manual-failover.sh
EOF
}
script_option() {
  case "$1" in
    --timeout) need_uint "$1" "$2" 1 86400 && timeout_s=$((10#$2)) ;;
    *) return 1 ;;
  esac
}
ops_parse "$@"

require_healthy
discover_sentinels
if ! failover_and_wait "$timeout_s" "$max_lag_bytes"; then
  die 1 "FAILED at '$failed_phase': $why"
fi
wait_until "check healthy again" "$timeout_s" healthy || die 1 "FAILED at 'healthy again': $why"
t_healthy=$waited

cat <<EOF
manual failover of $master_name: done
  old master              $old_master
  new master              $new_master (named by $agreed_by Sentinels)
  failover accepted by    $failover_via after $t_accept s
  new master agreed       $t_agree s after SENTINEL FAILOVER
  all replicas linked     $t_link s later (${#group_nodes[@]} nodes in the group)
  check healthy           $t_healthy s later
  total                   $(since "$start_ms") s
EOF
