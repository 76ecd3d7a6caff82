#!/usr/bin/env bash
# Failover drill: take the master of one Sentinel master group down with a pluggable command,
# wait (bounded) until the Sentinels agree on a new master, check that a marker written
# before is on it, bring the old master back and wait until it is a linked replica of the new
# one. Refuses to start unless the exporter's `check` says the group is healthy.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Defaults suit the compose stack (compose/docker-compose.yml): the Sentinels name every
# node by its container name (redis-master, redis-replica-1, redis-replica-2; Sentinels
# sentinel-1..3), so NODE_HOST is the container to stop and start.
# shellcheck disable=SC2016 # expand when the command runs
down_cmd=${OPS_DOWN_CMD:-'docker stop "$NODE_HOST"'}
# shellcheck disable=SC2016
up_cmd=${OPS_UP_CMD:-'docker start "$NODE_HOST"'}
failover_timeout=60 rejoin_timeout=90 down_timeout=30

script_usage() {
  cat <<'EOF'
Usage: failover-drill.sh [OPTIONS]

An unplanned-failover drill on one Sentinel master group:
  1. refuses unless `redis_sentinel_exporter check` exits 0 (healthy), changing nothing;
  2. records the master (the one `check` agrees on; every answering Sentinel must name it) and writes a marker key on it (WAIT: every replica has it);
  3. takes the master down with --down-cmd and waits until it stops answering;
  4. waits until every reachable Sentinel names one new master (role:master) [--failover-timeout];
  5. reads the marker on the new master;
  6. brings the old master back with --up-cmd and waits until it answers, reports
     role replica, follows the new master and has its link up [--rejoin-timeout];
  7. deletes the marker, waits until `check` is healthy, and reports the timings.
If the drill fails after step 3 the old master is brought back up all the same.

Options:
  --down-cmd CMD          takes a node down (bash; default: $OPS_DOWN_CMD, else
                          'docker stop "$NODE_HOST"', for the compose stack whose containers
                          are redis-master, redis-replica-1, redis-replica-2, sentinel-1..3)
  --up-cmd CMD            starts it again (default: $OPS_UP_CMD, else 'docker start "$NODE_HOST"')
                          Both see NODE_ADDR (host:port), NODE_HOST, NODE_PORT, NODE_ROLE
                          (master) and MASTER_NAME in their environment; quote the template
                          in single quotes so that they expand when it runs.
  --failover-timeout S    bound for the Sentinels to agree on a new master (default 60)
  --rejoin-timeout S      bound for the old master to become a linked replica (default 90)
  --down-timeout S        bound for the master to stop answering after --down-cmd (default 30)
  --action-timeout S      bound of each --down-cmd/--up-cmd run (default 120)
EOF
  common_usage
  cat <<'EOF'

Exit status: 0 done, 1 a step failed or timed out (the message says which), 2 refused
(the topology was not healthy; nothing was changed), 3 usage or configuration error.

Example (the local topology of scripts/topology.sh, started with --dir /tmp/topo):
  REDIS_SENTINEL_HOSTS=127.0.0.1:17003 REDIS_SENTINEL_MASTER=aragora-master \
  REDIS_PASSWORD_FILE=./password ops/failover-drill.sh \
    --down-cmd 'scripts/topology.sh stop-node --dir /tmp/topo --port "$NODE_PORT"' \
    --up-cmd 'scripts/topology.sh start-node --dir /tmp/topo --port "$NODE_PORT"'
EOF
}
script_option() {
  case "$1" in
    --down-cmd) down_cmd=$2 ;;
    --up-cmd) up_cmd=$2 ;;
    --failover-timeout) need_uint "$1" "$2" 1 86400 && failover_timeout=$((10#$2)) ;;
    --rejoin-timeout) need_uint "$1" "$2" 1 86400 && rejoin_timeout=$((10#$2)) ;;
    --down-timeout) need_uint "$1" "$2" 1 86400 && down_timeout=$((10#$2)) ;;
    --action-timeout) need_uint "$1" "$2" 1 86400 && hook_timeout=$((10#$2)) ;;
    *) return 1 ;;
  esac
}
ops_parse "$@"
[ -n "$down_cmd" ] || usage_error "--down-cmd is empty"
[ -n "$up_cmd" ] || usage_error "--up-cmd is empty"

marker_key="ops:failover-drill:$(date -u +%Y%m%dT%H%M%SZ):$$"
marker_value="drill-$$-$SRANDOM$SRANDOM"
old="" went_down=0 came_up=0

# After the master went down, a failed drill still brings it back (best effort).
script_cleanup() {
  if [ "$went_down" = 1 ] && [ "$came_up" = 0 ]; then
    log "bringing the old master $old back up after the failure"
    run_action up "$up_cmd" "$old" master || log "could not bring $old back up: $why"
  fi
}
fail() { die 1 "FAILED at '$1': $2"; }

marker_on() { # addr: the marker is there
  local v
  if ! v=$(data "$1" GET "$marker_key"); then
    why="$1: GET failed: $(last_error)"
    return 1
  fi
  [ "$v" = "$marker_value" ] || {
    why="$1 does not have the marker $marker_key (got '${v}')"
    return 1
  }
}

require_healthy
discover_sentinels
sentinels_agree || fail "record the master" "$why"
old=$agreed
log "master of $master_name: $old (named by $agreed_by Sentinels)"
read_replicas || fail "record the master" "$why"

# The marker, on every replica before the master goes (WAIT returns how many acknowledged).
out=$(data "$old" SET "$marker_key" "$marker_value" EX 3600) || fail "write the marker" "$old: $(last_error)"
acked=$(data "$old" WAIT "${#replicas[@]}" 5000) || fail "write the marker" "$old: WAIT: $(last_error)"
[ "$acked" -ge "${#replicas[@]}" ] ||
  fail "write the marker" "only $acked of ${#replicas[@]} replicas acknowledged $marker_key within 5 s"
log "marker $marker_key written on $old and acknowledged by $acked replica(s)"

update_now
t_down=$now_ms
went_down=1
run_action down "$down_cmd" "$old" master || fail "take the master down" "$why"
wait_until "the old master $old not answering" "$down_timeout" node_down data "$old" ||
  fail "take the master down" "$why (the down command did not stop it)"
t_gone=$(since "$t_down")

wait_until "all reachable Sentinels naming one new master" "$failover_timeout" new_master_agreed "$old" ||
  fail "failover" "$why"
new=$agreed
t_failover=$(since "$t_down")
log "new master: $new (named by $agreed_by Sentinels)"

marker_on "$new" || fail "verify the marker" "$why"
log "marker found on the new master $new"

update_now
t_up=$now_ms
run_action up "$up_cmd" "$old" master || fail "bring the old master back" "$why"
came_up=1
wait_until "the old master $old a linked replica of $new" "$rejoin_timeout" replica_ok "$old" "$new" ||
  fail "old master rejoins" "$why"
t_rejoin=$(since "$t_up")

data "$new" DEL "$marker_key" >/dev/null || log "could not delete the marker $marker_key: $(last_error)"
wait_until "check healthy again" "$rejoin_timeout" healthy || fail "healthy again" "$why"

cat <<EOF
failover drill of $master_name: done
  old master              $old
  new master              $new (named by $agreed_by Sentinels)
  marker                  $marker_key found on the new master
  master stopped          $t_gone s after the down command started
  new master agreed       $t_failover s after the down command started
  old master rejoined     $t_rejoin s after the up command started (linked replica of $new)
  total                   $(since "$start_ms") s
EOF
