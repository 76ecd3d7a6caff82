#!/usr/bin/env bash
# Rolling restart of one Sentinel master group: the replicas one at a time, a manual
# failover, the old master, then each Sentinel; every step waits (bounded) on real state
# and the restart stops at the first step that does not become healthy.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Default suits the compose stack (compose/docker-compose.yml): the Sentinels name every node
# by its container name (redis-master, redis-replica-1, redis-replica-2, sentinel-1..3).
# shellcheck disable=SC2016 # expands when the command runs
restart_cmd=${OPS_RESTART_CMD:-'docker restart "$NODE_HOST"'}
step_timeout=120

script_usage() {
  cat <<'EOF'
Usage: rolling-restart.sh [OPTIONS]

Restarts every node of one Sentinel master group, one at a time, without losing the master:
  0. refuses unless `redis_sentinel_exporter check` exits 0 (healthy), changing nothing;
  1. each replica: --restart-cmd, then wait until it answers with a new run_id, reports
     role replica following the master with its link up, is caught up (a lag of at most
     --check.max-lag-bytes),
     every reachable Sentinel lists it without s_down/o_down/disconnected, and `check` is
     healthy;
  2. a manual failover (SENTINEL FAILOVER; wait until all Sentinels name the new master and
     every other node is its linked, caught-up replica);
  3. the old master, now a replica, as in 1;
  4. each Sentinel: --restart-cmd, then wait until it answers with a new run_id, names the
     master with flags 'master', and every peer lists it in SENTINEL SENTINELS without
     s_down/o_down/disconnected and with a hello message received since the restart; then
     `check` is healthy.
Every wait is bounded by --step-timeout. At the first step that does not become healthy the
restart stops, says which step and why, and exits 1; later steps are not run.

Options:
  --restart-cmd CMD     restarts one node (bash; default: $OPS_RESTART_CMD, else
                        'docker restart "$NODE_HOST"' for the compose stack, whose containers are
                        redis-master, redis-replica-1, redis-replica-2, sentinel-1..3). It sees
                        NODE_ADDR (host:port), NODE_HOST, NODE_PORT, NODE_ROLE (replica, master
                        or sentinel) and MASTER_NAME in its environment; quote the template in
                        single quotes so that they expand when it runs.
  --step-timeout S      bound of each wait of a step (default 120)
  --action-timeout S    bound of each --restart-cmd run (default 120)
EOF
  common_usage
  cat <<'EOF'

Exit status: 0 done, 1 stopped at a step (the message says which and why), 2 refused (the
topology was not healthy; nothing was changed), 3 usage or configuration error.

Example (the local topology of scripts/topology.sh, started with --dir /tmp/topo):
  REDIS_SENTINEL_HOSTS=127.0.0.1:17003 REDIS_SENTINEL_MASTER=aragora-master \
  REDIS_PASSWORD_FILE=./password ops/rolling-restart.sh --restart-cmd \
    'scripts/topology.sh stop-node --dir /tmp/topo --port "$NODE_PORT" &&
     scripts/topology.sh start-node --dir /tmp/topo --port "$NODE_PORT"'
EOF
}
script_option() {
  case "$1" in
    --restart-cmd) restart_cmd=$2 ;;
    --step-timeout) need_uint "$1" "$2" 1 86400 && step_timeout=$((10#$2)) ;;
    --action-timeout) need_uint "$1" "$2" 1 86400 && hook_timeout=$((10#$2)) ;;
    *) return 1 ;;
  esac
}
ops_parse "$@"
[ -n "$restart_cmd" ] || usage_error "--restart-cmd is empty"

# ---------------------------------------------------------------- Sentinel views
has_bad_flag() { [[ ,$1, == *,s_down,* || ,$1, == *,o_down,* || ,$1, == *,disconnected,* ]]; }

# sentinels_list_replica ADDR: every reachable Sentinel lists ADDR as a replica, flags clean
sentinels_list_replica() {
  local s out ip p flags found
  for s in "${sentinels[@]}"; do
    if ! out=$(sent "$s" SENTINEL REPLICAS "$master_name"); then
      why="Sentinel $s does not answer: $(last_error)"
      return 1
    fi
    found=""
    while IFS=$'\t' read -r ip p flags; do
      [ "$(join_addr "$ip" "$p")" = "$1" ] && found=$flags
    done < <(records "$out" ip port flags)
    if [ -z "$found" ]; then
      why="Sentinel $s does not list $1 as a replica"
      return 1
    fi
    if has_bad_flag "$found"; then
      why="Sentinel $s sees $1 with flags $found"
      return 1
    fi
  done
}

# sentinel_rejoined ADDR MYID BACK_MS: the restarted Sentinel names the agreed master with
# flags 'master', and every other Sentinel lists it without s_down/o_down/disconnected and
# has received a hello message from it since BACK_MS (when it answered again).
sentinel_rejoined() {
  local addr=$1 myid=$2 back=$3 s out h p flags hello rid ip found
  if ! out=$(sent "$addr" SENTINEL GET-MASTER-ADDR-BY-NAME "$master_name"); then
    why="$addr does not answer: $(last_error)"
    return 1
  fi
  { read -r h && read -r p; } <<<"$out" || true
  if [ "$(join_addr "${h%$'\r'}" "${p%$'\r'}")" != "$master" ]; then
    why="$addr names ${h:-no master}${p:+:$p}, not $master"
    return 1
  fi
  out=$(sent "$addr" SENTINEL MASTER "$master_name") || {
    why="$addr: SENTINEL MASTER: $(last_error)"
    return 1
  }
  flags=$(awk 'NR % 2 == 1 { k = $0; next } k == "flags" { print; exit }' <<<"$out")
  if [ "$flags" != master ]; then
    why="$addr sees the master with flags ${flags:-?}"
    return 1
  fi
  for s in "${sentinels[@]}"; do
    [ "$s" != "$addr" ] || continue
    if ! out=$(sent "$s" SENTINEL SENTINELS "$master_name"); then
      why="peer $s does not answer: $(last_error)"
      return 1
    fi
    update_now
    found=0
    while IFS=$'\t' read -r rid ip p flags hello; do
      [ "$rid" = "$myid" ] || [ "$(join_addr "$ip" "$p")" = "$addr" ] || continue
      found=1
      if has_bad_flag "$flags"; then
        why="peer $s sees $addr with flags $flags"
        return 1
      fi
      if ! [[ $hello =~ ^[0-9]+$ ]] || [ "$hello" -ge $((now_ms - back)) ]; then
        why="peer $s has had no hello from $addr since its restart (last one ${hello:-?} ms ago)"
        return 1
      fi
    done < <(records "$out" runid ip port flags last-hello-message)
    if [ "$found" = 0 ]; then
      why="peer $s does not list $addr"
      return 1
    fi
  done
}

# ---------------------------------------------------------------- steps
steps=() step_times=() current=0 phase=""
stop_at() { # why
  local n=${#steps[@]} done_msg="none"
  [ "$current" -le 1 ] || done_msg="1-$((current - 1))"
  die 1 "STOPPED at step $current of $n ($(step_title "${steps[current - 1]}")), while waiting for: $phase: $1. Steps done: $done_msg; steps $current-$n not completed. The topology is left as it is now."
}
step_title() { # step spec -> words
  case "$1" in
    replica:*) echo "restart replica ${1#replica:}" ;;
    failover) echo "manual failover away from $first_master" ;;
    oldmaster:*) echo "restart the old master ${1#oldmaster:}" ;;
    sentinel:*) echo "restart Sentinel ${1#sentinel:}" ;;
  esac
}

restart_data_node() { # addr role
  local addr=$1 role=$2 id
  phase="its run_id before the restart"
  id=$(run_id_of data "$addr") || stop_at "$addr does not answer: $(last_error)"
  phase="the restart command"
  run_action restart "$restart_cmd" "$addr" "$role" || stop_at "$why"
  phase="$addr answering again (new run_id)"
  wait_until "$phase" "$step_timeout" restarted data "$addr" "$id" || stop_at "$why"
  phase="$addr a linked, caught-up replica of $master"
  wait_until "$phase" "$step_timeout" replica_ok "$addr" "$master" "$max_lag_bytes" || stop_at "$why"
  phase="every Sentinel listing $addr as a healthy replica"
  wait_until "$phase" "$step_timeout" sentinels_list_replica "$addr" || stop_at "$why"
  phase="check healthy"
  wait_until "$phase" "$step_timeout" healthy || stop_at "$why"
}

restart_sentinel() { # addr
  local addr=$1 id myid back
  phase="its run_id and myid before the restart"
  id=$(run_id_of sentinel "$addr") || stop_at "$addr does not answer: $(last_error)"
  myid=$(sent "$addr" SENTINEL MYID) || stop_at "$addr: SENTINEL MYID: $(last_error)"
  phase="the restart command"
  run_action restart "$restart_cmd" "$addr" sentinel || stop_at "$why"
  phase="$addr answering again (new run_id)"
  wait_until "$phase" "$step_timeout" restarted sentinel "$addr" "$id" || stop_at "$why"
  update_now
  back=$now_ms
  phase="$addr seeing the master and seen by its peers again"
  wait_until "$phase" "$step_timeout" sentinel_rejoined "$addr" "$myid" "$back" || stop_at "$why"
  phase="check healthy"
  wait_until "$phase" "$step_timeout" healthy || stop_at "$why"
}

require_healthy
discover_sentinels
sentinels_agree || die 2 "REFUSED: $why"
master=$agreed
read_replicas || die 2 "REFUSED: $why"
[ "${#replicas[@]}" -gt 0 ] || die 2 "REFUSED: $master_name has no replica: a rolling restart would take the master down"
first_master=$master

for r in "${replicas[@]}"; do steps+=("replica:$r"); done
steps+=(failover "oldmaster:$master")
for s in "${sentinels[@]}"; do steps+=("sentinel:$s"); done
log "plan: $(for s in "${steps[@]}"; do printf '[%s] ' "$(step_title "$s")"; done)"

for spec in "${steps[@]}"; do
  current=$((current + 1))
  update_now
  t0=$now_ms
  log "step $current/${#steps[@]}: $(step_title "$spec")"
  case "$spec" in
    replica:*) restart_data_node "${spec#replica:}" replica ;;
    failover)
      phase="check healthy before the failover"
      healthy || stop_at "$why"
      failover_and_wait "$step_timeout" "$max_lag_bytes" || { phase=$failed_phase && stop_at "$why"; }
      master=$new_master
      phase="check healthy"
      wait_until "$phase" "$step_timeout" healthy || stop_at "$why"
      ;;
    oldmaster:*) restart_data_node "${spec#oldmaster:}" replica ;;
    sentinel:*) restart_sentinel "${spec#sentinel:}" ;;
  esac
  step_times+=("$(since "$t0")")
  log "step $current/${#steps[@]} done in ${step_times[current - 1]} s"
done

{
  echo "rolling restart of $master_name: done, ${#steps[@]} steps"
  echo "  master before           $first_master"
  echo "  master after            $master"
  for ((i = 0; i < ${#steps[@]}; i++)); do
    printf '  step %-2d %-44s %6s s\n' $((i + 1)) "$(step_title "${steps[i]}")" "${step_times[i]}"
  done
  echo "  total                   $(since "$start_ms") s"
}
